/**
 * Measured boot (`kimg pcr`, `measureImage`): PCR 11 of UKIs built with objcopy from Debian's
 * systemd-stub, compared with `systemd-measure calculate` on the same sections in every bank and
 * phase; multi-profile UKIs and `.pcrsig` from `systemd-measure sign` against a newer systemd
 * (trixie's 257, from scripts/fetch-systemd-measure.sh's cache); add-ons; PCR 4 against pesign;
 * hostile `.pcrsig`, `.pcrpkey` and section sizes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { measureImage } from "../src/api/index.js";
import { DEFAULT_PHASES } from "../src/measure/pcr.js";
import type { MeasureReport, PcrBank } from "../src/measure/types.js";
import { codeLike, text } from "../support/builders/bytes.js";
import { buildUki } from "../support/builders/images.js";
import { MACHINE, RODATA_FLAGS, TEXT_FLAGS, buildPe, type SectionSpec } from "../support/builders/pe.js";
import { needs, TOOLS } from "./helpers/tools.js";

const BANKS: PcrBank[] = ["sha1", "sha256", "sha384", "sha512"];
const MEASURE_252 = TOOLS["systemd-measure"].command;
const STUB_252 = TOOLS["systemd-stub"].command;
const UKI_CACHE = process.env.KIMG_UKI_CACHE ?? "/var/cache/kimg-uki";
const MEASURE_257 = join(UKI_CACHE, "trixie", "systemd-measure");
const STUB_257 = join(UKI_CACHE, "trixie", "linuxx64.efi.stub");
const ADDON_STUB_257 = join(UKI_CACHE, "trixie", "addonx64.efi.stub");
const HAVE_257 = existsSync(MEASURE_257) && existsSync(STUB_257);
const NO_257 =
  process.env.KIMG_REQUIRE_TOOLS === "1" && !HAVE_257
    ? assert.fail(`KIMG_REQUIRE_TOOLS=1 but no systemd 257 in ${UKI_CACHE}: run scripts/fetch-systemd-measure.sh`)
    : HAVE_257
      ? false
      : `no systemd 257 in ${UKI_CACHE}: run scripts/fetch-systemd-measure.sh (KIMG_UKI_CACHE to put it elsewhere)`;
/** Debian 12's amd64 kernel from scripts/fetch-debian-kernels.sh's cache, else a stand-in (the stub measures bytes, whatever they are). */
const DEBIAN_KERNEL = join(process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian", "bookworm", "amd64-amd64", "vmlinuz-6.1.0-50-amd64");

let dir = "";
let counter = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "kimg-measure-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(data: Uint8Array | string, name = `f${counter++}`): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** The stub's ImageBase (trixie's stubs are linked above 4 GiB; section addresses for objcopy are absolute). */
function imageBase(stub: string): bigint {
  const m = /^ImageBase\s+([0-9a-f]+)$/m.exec(execFileSync("objdump", ["-p", stub], { encoding: "utf8" }));
  return BigInt(`0x${m?.[1] ?? "0"}`);
}

/** A UKI as systemd 252's documentation builds one: objcopy adds each section to the stub at its own address. */
function objcopyUki(stub: string, sections: Array<[string, string]>): string {
  const out = join(dir, `uki${counter++}.efi`);
  const args: string[] = [];
  const base = imageBase(stub);
  for (const [i, [name, path]] of sections.entries()) {
    args.push("--add-section", `${name}=${path}`, "--change-section-vma", `${name}=0x${(base + BigInt(0x1000000 + i * 0x1000000)).toString(16)}`);
  }
  execFileSync("objcopy", [...args, stub, out]);
  return out;
}

type Calculated = Record<string, Array<{ phase: string; pcr: number; hash: string }>>;

function calculate(measure: string, sections: Array<[string, string]>, phases: readonly string[] = DEFAULT_PHASES): Calculated {
  const args = ["calculate", "--json=short", ...BANKS.map((b) => `--bank=${b}`), ...phases.map((p) => `--phase=${p}`)];
  for (const [name, path] of sections) args.push(`--${name.slice(1)}=${path}`);
  return JSON.parse(execFileSync(measure, args, { encoding: "utf8" })) as Calculated;
}

async function measure(path: string, options: Parameters<typeof measureImage>[1] = {}): Promise<MeasureReport> {
  return measureImage(new Uint8Array(readFileSync(path)), options);
}

const kernel = (): string => (existsSync(DEBIAN_KERNEL) ? DEBIAN_KERNEL : file(codeLike(300_001, 3), "vmlinuz"));

describe("PCR 11 equals systemd-measure calculate (Debian 12: systemd 252 and its stub)", { skip: needs("objcopy", "systemd-measure", "systemd-stub") }, () => {
  it("a UKI of Debian's kernel, initrd, cmdline and os-release: every bank, every phase", async () => {
    const sections: Array<[string, string]> = [
      [".osrel", file('NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')],
      [".cmdline", file("console=ttyS0 root=/dev/vda1 ro")],
      [".linux", kernel()],
      [".initrd", file(codeLike(70_001, 9))],
    ];
    const uki = objcopyUki(STUB_252, sections);
    // shallow: the kernel's payload need not be decompressed for PCR 11 (it measures the section's bytes).
    const report = await measure(uki, { shallow: true });
    const [image] = report.images;
    assert.ok(image);
    assert.equal(image.kind, "uki");
    assert.equal(image.stubVersion, 252);
    assert.match(image.loaderInfo ?? "", /^#### LoaderInfo: systemd-stub 252\./);
    // The 252 stub measures no .sbat (its own section is present): systemd-measure 252 has no --sbat.
    assert.deepEqual(image.notMeasured, [".sbat"]);
    const [profile] = image.profiles;
    assert.ok(profile);
    assert.deepEqual(
      profile.sections.map((s) => s.name),
      [".linux", ".osrel", ".cmdline", ".initrd"],
    );
    // objcopy pads SizeOfRawData to FileAlignment; the stub measures VirtualSize bytes.
    const cmdline = profile.sections.find((s) => s.name === ".cmdline");
    assert.equal(cmdline?.size, 31);
    assert.deepEqual(profile.calculate, calculate(MEASURE_252, sections));
  });

  it("a section whose VirtualSize exceeds SizeOfRawData is measured with the zeros the loader fills in", async () => {
    const cmdline = "quiet";
    const sections: Array<[string, string]> = [
      [".cmdline", file(cmdline)],
      [".linux", file(codeLike(4097, 5))],
    ];
    const bytes = new Uint8Array(readFileSync(objcopyUki(STUB_252, sections)));
    // Raise .cmdline's VirtualSize (header +8) to 0x300: past its 0x200 bytes of raw data.
    const report0 = await measureImage(bytes);
    const header = report0.images[0]?.profiles[0]?.sections.find((s) => s.name === ".cmdline")?.headerOffset ?? 0;
    new DataView(bytes.buffer).setUint32(header + 8, 0x300, true);
    const patched = file(bytes);
    const report = await measure(patched);
    const section = report.images[0]?.profiles[0]?.sections.find((s) => s.name === ".cmdline");
    assert.deepEqual([section?.size, section?.fileBytes, section?.zeroFill], [0x300, 0x200, 0x100]);
    const memory = new Uint8Array(0x300);
    memory.set(bytes.subarray(section?.offset ?? 0, (section?.offset ?? 0) + 0x200));
    const expected = calculate(MEASURE_252, [
      [".linux", sections[1]?.[1] ?? ""],
      [".cmdline", file(memory)],
    ]);
    assert.deepEqual(report.images[0]?.profiles[0]?.calculate, expected);
  });

  it("kimg pcr --phase takes phases as systemd-measure does (empty words skipped)", async () => {
    const sections: Array<[string, string]> = [[".linux", file(codeLike(5000, 2))]];
    // Given phases are normalised (empty words dropped), sorted and deduplicated, as systemd-measure does.
    const phases = ["sysinit::ready", "enter-initrd", ":", "enter-initrd", "", "sysinit:ready"];
    const report = await measure(objcopyUki(STUB_252, sections), { phases });
    assert.deepEqual(report.images[0]?.profiles[0]?.calculate, calculate(MEASURE_252, sections, phases));
  });

  it("PCR 4: the outer UKI's and the inner kernel's Authenticode sha256, as pesign -h computes it", { skip: needs("pesign") }, async () => {
    const uki = objcopyUki(STUB_252, [[".linux", kernel()]]);
    const report = await measure(uki, { shallow: true });
    const outer = report.pcr4[0];
    assert.equal(outer?.layer, "/pe");
    assert.equal(outer?.loadedByFirmware, true);
    const out = execFileSync("pesign", ["-h", "-d", "sha256", "-i", uki], { encoding: "utf8" });
    assert.equal(outer?.sha256, /^hash: ([0-9a-f]+)$/m.exec(out)?.[1]);
  });
});

/** A multi-profile UKI as ukify 257 lays it out: base sections, then each profile from its .profile to the next. */
function multiProfileUki(base: Array<[string, Uint8Array]>, profiles: Array<Array<[string, Uint8Array]>>, loaderInfo: string): Uint8Array {
  const ro = (name: string, data: Uint8Array): SectionSpec => ({ name, data, characteristics: RODATA_FLAGS });
  const sections: SectionSpec[] = [{ name: ".text", data: codeLike(0x1000, 31), characteristics: TEXT_FLAGS }];
  sections.push(ro(".sdmagic", text(`${loaderInfo}\0`)));
  for (const [name, data] of base) sections.push(ro(name, data));
  for (const p of profiles) for (const [name, data] of p) sections.push(ro(name, data));
  return buildPe({ machine: MACHINE.AMD64, layout: "packed", fileAlignment: 0x200, sectionAlignment: 0x1000, sections }).bytes;
}

describe("multi-profile UKIs and .pcrsig against systemd 257 (trixie)", { skip: NO_257 || needs("objcopy", "openssl") }, () => {
  it("each profile: the base sections overridden by the profile's, .profile measured, equal to systemd-measure 257", async () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const base: Array<[string, Uint8Array]> = [
      [".osrel", enc("ID=debian\nVERSION_ID=13\n")],
      [".cmdline", enc("root=/dev/vda1 ro quiet")],
      [".uname", enc("6.12.117+deb13-amd64")],
      [".sbat", enc("sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n")],
      [".linux", codeLike(20_003, 4)],
      [".initrd", codeLike(9_999, 6)],
    ];
    const profiles: Array<Array<[string, Uint8Array]>> = [
      [[".profile", enc("ID=main\nTITLE=Default\n")]],
      [
        [".profile", enc("ID=debug\nTITLE=Debug\n")],
        [".cmdline", enc("root=/dev/vda1 ro debug")],
      ],
    ];
    const effective = (i: number): Array<[string, string]> => {
      const m = new Map(base);
      for (const [name, data] of profiles[i] ?? []) m.set(name, data);
      return [...m].map(([name, data]) => [name, file(data)]);
    };
    // Profile @1 carries its own .pcrsig, signed by systemd-measure 257 for its sections (as ukify signs each profile).
    const key = join(dir, "profile-key.pem");
    execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key], { stdio: "ignore" });
    const sign = ["sign", "--json=short", "--bank=sha256", `--private-key=${key}`, ...effective(1).map(([name, path]) => `--${name.slice(1)}=${path}`)];
    const signature = new TextEncoder().encode(execFileSync(MEASURE_257, sign, { encoding: "utf8" }));
    const uki = multiProfileUki(
      base,
      [profiles[0] ?? [], [...(profiles[1] ?? []), [".pcrsig", signature]]],
      "#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####",
    );
    const report = await measureImage(uki);
    const image = report.images[0];
    assert.equal(image?.stubVersion, 257);
    assert.deepEqual(
      image?.profiles.map((p) => [p.profile, p.profileId]),
      [
        [0, "main"],
        [1, "debug"],
      ],
    );
    for (const i of [0, 1]) {
      assert.deepEqual(image?.profiles[i]?.calculate, calculate(MEASURE_257, effective(i)), `profile @${i}`);
      assert.deepEqual(
        image?.profiles[i]?.sections.map((s) => s.name),
        [".linux", ".osrel", ".cmdline", ".initrd", ".uname", ".sbat", ".profile"],
      );
    }
    assert.equal(image?.pcrsig, null);
    assert.equal(image?.profiles[0]?.pcrsig, null);
    assert.deepEqual(
      image?.profiles[1]?.pcrsig?.entries.map((e) => e.matches),
      DEFAULT_PHASES.slice(0, 4).map((phase) => ({ profile: 1, phase })),
    );
    assert.equal(image?.profiles[1]?.sections.find((s) => s.name === ".cmdline")?.fromProfile, 1);
  });

  it(".pcrsig from systemd-measure sign: every entry's policy matches a predicted phase, signed by the .pcrpkey key", async () => {
    const key = join(dir, "pcr-key.pem");
    const pub = join(dir, "pcr-pub.pem");
    execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key], { stdio: "ignore" });
    execFileSync("openssl", ["pkey", "-in", key, "-pubout", "-out", pub]);
    // The 257 stub measures its own .sbat too: systemd-measure signs it as ukify would pass it.
    const sbat = join(dir, "stub.sbat");
    execFileSync("objcopy", ["-O", "binary", "--only-section=.sbat", STUB_257, sbat]);
    const sections: Array<[string, string]> = [
      [".osrel", file("ID=debian\n")],
      [".cmdline", file("root=/dev/vda1")],
      [".linux", file(codeLike(30_000, 8))],
      [".pcrpkey", pub],
    ];
    const args = ["sign", `--sbat=${sbat}`, "--json=short", ...BANKS.map((b) => `--bank=${b}`), `--private-key=${key}`, `--public-key=${pub}`];
    for (const [name, path] of sections) args.push(`--${name.slice(1)}=${path}`);
    const pcrsig = file(execFileSync(MEASURE_257, args, { encoding: "utf8" }));
    const uki = objcopyUki(STUB_257, [...sections, [".pcrsig", pcrsig]]);
    const report = await measure(uki);
    const image = report.images[0];
    // systemd's pkfp: SHA-256 of i2d_PublicKey, for RSA the PKCS#1 RSAPublicKey.
    const der = execFileSync("openssl", ["rsa", "-pubin", "-in", pub, "-RSAPublicKey_out", "-outform", "DER"], { stdio: ["ignore", "pipe", "ignore"] });
    assert.equal(image?.pcrpkey?.fingerprint, createHash("sha256").update(der).digest("hex"));
    assert.equal(image?.pcrpkey?.algorithm, "rsaEncryption");
    const entries = image?.pcrsig?.entries ?? [];
    assert.equal(entries.length, 4 * 4); // 4 banks x systemd-measure's 4 default phases
    assert.equal(image?.pcrsig?.unmatched, 0);
    for (const e of entries) {
      assert.deepEqual(e.matches, { profile: null, phase: DEFAULT_PHASES[e.index] });
      assert.equal(e.pkfpMatches, true);
      assert.equal(e.signatureBytes, 256);
    }
    assert.deepEqual(
      report.diagnostics.filter((d) => d.code.startsWith("PCR")),
      [],
    );
  });

  it("an add-on from trixie's addon stub: recognised, its .cmdline measured into PCR 12 as UTF-16", async () => {
    const addon = join(dir, "debug.addon.efi");
    const vma = `0x${(imageBase(ADDON_STUB_257) + 0x1000000n).toString(16)}`;
    execFileSync("objcopy", ["--add-section", `.cmdline=${file("  debug\tloglevel=7\n")}`, "--change-section-vma", `.cmdline=${vma}`, ADDON_STUB_257, addon]);
    const report = await measure(addon);
    const image = report.images[0];
    assert.equal(image?.kind, "uki-addon");
    assert.match(image?.loaderInfo ?? "", /systemd-addon 257/);
    const [event] = image?.addon ?? [];
    // Control characters become spaces, trailing spaces go; leading ones stay.
    assert.equal(event?.text, "  debug loglevel=7");
    assert.equal(event?.digest.sha256, createHash("sha256").update(Buffer.from("  debug loglevel=7\0", "utf16le")).digest("hex"));
  });
});

describe("measured boot on hostile and odd UKIs (no tools)", () => {
  const uki = (extra: SectionSpec[]): Uint8Array => buildUki({ linux: codeLike(3000, 1), extra });
  const ro = (name: string, data: Uint8Array, virtualSize?: number): SectionSpec => ({
    name,
    data,
    characteristics: RODATA_FLAGS,
    ...(virtualSize === undefined ? {} : { virtualSize }),
  });

  it("malformed .pcrsig JSON is a PCRSIG_BAD_JSON diagnostic, not an exception", async () => {
    const report = await measureImage(uki([ro(".pcrsig", text('{"sha256": [ {"pcrs": [11], "pol": '))]));
    const d = report.diagnostics.find((x) => x.code === "PCRSIG_BAD_JSON");
    assert.ok(d);
    assert.equal(d.severity, "error");
    assert.equal(report.images[0]?.pcrsig?.entries.length, 0);
  });

  it("a .pcrsig entry with a malformed pol is diagnosed and kept unmatched", async () => {
    const report = await measureImage(uki([ro(".pcrsig", text('{"sha256":[{"pcrs":[11],"pol":"xyz"}],"sha1":{}}'))]));
    assert.equal(report.diagnostics.filter((x) => x.code === "PCRSIG_BAD_JSON").length, 2);
    assert.deepEqual(
      report.images[0]?.pcrsig?.entries.map((e) => [e.bank, e.pol, e.matches]),
      [["sha256", null, null]],
    );
  });

  it("a policy no phase produces is PCRSIG_UNMATCHED", async () => {
    const report = await measureImage(uki([ro(".pcrsig", text(`{"sha256":[{"pcrs":[11],"pol":"${"ab".repeat(32)}"}]}`))]));
    assert.equal(report.images[0]?.pcrsig?.unmatched, 1);
    assert.equal(report.diagnostics.find((x) => x.code === "PCRSIG_UNMATCHED")?.severity, "warning");
  });

  it("a .pcrsig over 1 MiB is PCRSIG_TOO_LARGE; a .pcrpkey that is no key is PCRPKEY_BAD", async () => {
    const report = await measureImage(
      uki([ro(".pcrsig", new Uint8Array(1024 * 1024 + 1).fill(0x20)), ro(".pcrpkey", text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))]),
    );
    assert.deepEqual(
      report.diagnostics.filter((d) => d.code.startsWith("PCRSIG") || d.code.startsWith("PCRPKEY")).map((d) => d.code),
      ["PCRPKEY_BAD", "PCRSIG_TOO_LARGE"],
    );
    assert.equal(report.images[0]?.pcrpkey, null);
  });

  it("a section whose VirtualSize exceeds maxOutputBytes is PCR_SECTION_TOO_LARGE, not an allocation", async () => {
    const report = await measureImage(uki([ro(".splash", codeLike(100, 1), 0x40000000)]), { limits: { maxOutputBytes: 1 << 20 } });
    const d = report.diagnostics.find((x) => x.code === "PCR_SECTION_TOO_LARGE");
    assert.ok(d);
    assert.deepEqual(
      report.images[0]?.profiles[0]?.sections.map((s) => s.name),
      [".linux", ".osrel", ".cmdline"],
    );
  });

  it("a UKI without .sdmagic: the newest known list is assumed and said so", async () => {
    const report = await measureImage(uki([]), { banks: ["sha256"], phases: ["enter-initrd"] });
    assert.equal(report.images[0]?.sectionsOf, 258);
    assert.ok(report.diagnostics.some((d) => d.code === "PCR_STUB_VERSION_UNKNOWN"));
    assert.deepEqual(report.banks, ["sha256"]);
    assert.deepEqual(Object.keys(report.images[0]?.profiles[0]?.calculate ?? {}), ["sha256"]);
  });

  it("a PE with .dtb and no .linux is a UKI add-on; its .dtb is a PCR 12 event of its bytes", async () => {
    const dtb = codeLike(777, 3);
    const pe = buildPe({
      machine: MACHINE.AMD64,
      layout: "packed",
      fileAlignment: 0x200,
      sectionAlignment: 0x1000,
      sections: [{ name: ".text", data: codeLike(0x200, 1), characteristics: TEXT_FLAGS }, ro(".dtb", dtb)],
    }).bytes;
    const report = await measureImage(pe, { banks: ["sha256", "sha1"] });
    assert.equal(report.images[0]?.kind, "uki-addon");
    assert.deepEqual(
      report.images[0]?.addon.map((a) => [a.section, a.measured, a.digest.sha1, a.digest.sha256]),
      [[".dtb", "bytes", createHash("sha1").update(dtb).digest("hex"), createHash("sha256").update(dtb).digest("hex")]],
    );
  });
});

describe("kimg pcr on the command line, and its JSON against docs/measure-report.schema.json", () => {
  const kimg = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
    JSON.parse(readFileSync("docs/measure-report.schema.json", "utf8")) as object,
  );

  it("--json prints measureImage's report, which the schema accepts; the text names every phase", async () => {
    const bytes = buildUki({
      linux: codeLike(2000, 1),
      extra: [{ name: ".pcrsig", data: text('{"sha256":[{"pcrs":[11],"pol":"00"}]}'), characteristics: RODATA_FLAGS }],
    });
    const path = file(bytes, "cli.efi");
    const json = kimg("pcr", path, "--json", "--bank", "SHA256", "--bank", "sha1");
    assert.equal(json.status, 0, json.stderr);
    const printed = JSON.parse(json.stdout) as MeasureReport;
    assert.deepEqual(printed, JSON.parse(JSON.stringify(await measureImage(bytes, { name: "cli.efi", banks: ["sha1", "sha256"] }))));
    assert.ok(validate(printed), JSON.stringify(validate.errors));
    assert.equal(printed.images[0]?.pcrsig?.unmatched, 1);
  });

  it("the text view; a bad --bank is a usage error (exit 2); a malformed .pcrsig exits 3 with the report printed", () => {
    const path = file(buildUki({ linux: codeLike(2000, 1), extra: [{ name: ".pcrsig", data: text("{"), characteristics: RODATA_FLAGS }] }), "bad.efi");
    const usage = kimg("pcr", path, "--bank", "md5");
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^kimg: E_USAGE: --bank md5/);
    const bad = kimg("pcr", path, "--phase", "enter-initrd");
    assert.equal(bad.status, 3);
    assert.match(bad.stdout, /^ *# PCR\[11\] phase <enter-initrd>$/m);
    assert.match(bad.stdout, /^ *11:sha512=[0-9a-f]{128}$/m);
    assert.match(bad.stdout, /^error PCRSIG_BAD_JSON at 0x[0-9a-f]+ \(\/\): \.pcrsig is not valid JSON/m);
  });
});
