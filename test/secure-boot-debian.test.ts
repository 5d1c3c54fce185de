/**
 * SBAT and `.sbatlevel` of Debian's real boot loaders (shim-signed, systemd-boot-efi,
 * grub-efi-amd64-signed), fetched by scripts/fetch-debian-boot.sh into $KIMG_DEBIAN_CACHE
 * (default /var/cache/kimg-debian)/boot/trixie-amd64, compared with what objcopy extracts; and the
 * Secure Boot verdict on the shim -> GRUB -> kernel chain with shim's own policies. Without the
 * cache the tests skip, unless KIMG_REQUIRE_TOOLS=1 (CI), where a missing binary fails.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { inspect, verifyImage } from "../src/api/index.js";
import type { PeInfo } from "../src/model/report.js";
import { text } from "../support/builders/bytes.js";
import { buildPe, MACHINE, RODATA_FLAGS } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

const CACHE = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
const BOOT = join(CACHE, "boot", "trixie-amd64");
const SHIM = join(BOOT, "shim-signed", "shimx64.efi.signed");
const GRUB = join(BOOT, "grub-efi-amd64-signed", "grubx64.efi.signed");
const SYSTEMD_BOOT = join(BOOT, "systemd-boot-efi", "systemd-bootx64.efi");
const STUB = join(BOOT, "systemd-boot-efi", "linuxx64.efi.stub");
const KERNEL_DIR = join(CACHE, "trixie", "amd64-amd64");

function missing(): string | false {
  const absent = [SHIM, GRUB, SYSTEMD_BOOT, STUB].filter((f) => !existsSync(f));
  if (absent.length === 0) return needs("objcopy");
  const reason = `Debian boot loaders not cached (${absent.join(", ")}): run scripts/fetch-debian-boot.sh`;
  if (process.env.KIMG_REQUIRE_TOOLS === "1") throw new Error(`KIMG_REQUIRE_TOOLS=1, but ${reason}`);
  return reason;
}
const skip = missing();
const version = (file: string): string => (readFileSync(join(file, "..", "package"), "utf8").split(" ")[1] ?? "").trim();

const dir = mkdtempSync(join(tmpdir(), "kimg-sb-debian-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** objcopy's copy of a section's file bytes, and the section's file offset from objdump -h. */
function objcopySection(file: string, section: string): { bytes: Uint8Array; offset: number } {
  const out = join(dir, `${section}.bin`);
  execFileSync("objcopy", ["-O", "binary", `--only-section=${section}`, file, out]);
  const table = execFileSync("objdump", ["-h", file], { encoding: "utf8" });
  const row = table.split("\n").find((l) => l.trim().split(/\s+/)[1] === section);
  const offset = Number.parseInt(row?.trim().split(/\s+/)[5] ?? "", 16);
  return { bytes: new Uint8Array(readFileSync(out)), offset };
}

/** The SBAT CSV lines as objcopy's bytes hold them: [offset, six fields]. */
function objcopySbat(file: string): Array<[number, string[]]> {
  const { bytes, offset } = objcopySection(file, ".sbat");
  const end = bytes.indexOf(0);
  const body = new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
  const rows: Array<[number, string[]]> = [];
  let at = 0;
  for (const line of body.split("\n")) {
    if (line) rows.push([offset + at, line.split(",")]);
    at += line.length + 1;
  }
  return rows;
}

async function peOf(file: string): Promise<PeInfo> {
  const report = await inspect(new Uint8Array(readFileSync(file)), { shallow: true });
  assert.ok(report.root.pe);
  return report.root.pe;
}

describe("Debian's signed boot loaders", { skip }, () => {
  for (const file of [SHIM, GRUB, SYSTEMD_BOOT, STUB]) {
    it(`${file.split("/").slice(-2).join("/")}: every .sbat entry and offset as objcopy extracts it`, async () => {
      const pe = await peOf(file);
      assert.equal(pe.sbat?.valid, true);
      assert.deepEqual(
        pe.sbat?.entries.map((e) => [e.offset, [e.component, e.generation, e.vendorName, e.vendorPackage, e.vendorVersion, e.vendorUrl]]),
        objcopySbat(file),
      );
    });
  }

  it("the entries Debian ships: generations and the vendor versions of the packages", async () => {
    const line = (e: { component: string; generationNumber: number; vendorName: string; vendorPackage: string; vendorVersion: string }): string =>
      `${e.component},${e.generationNumber},${e.vendorName},${e.vendorPackage},${e.vendorVersion}`;
    const shim = (await peOf(SHIM)).sbat?.entries.map(line);
    const shimUpstream = /\+([0-9.]+)-[^+]*$/.exec(version(SHIM))?.[1];
    assert.deepEqual(shim, ["sbat,1,SBAT Version,sbat,1", "shim,4,UEFI shim,shim,1", `shim.debian,1,Debian,shim,${shimUpstream}`]);
    const systemd = version(SYSTEMD_BOOT);
    assert.deepEqual((await peOf(SYSTEMD_BOOT)).sbat?.entries.map(line), [
      "sbat,1,SBAT Version,sbat,1",
      `systemd-boot,1,The systemd Developers,systemd,${systemd.split(".")[0]}`,
      `systemd-boot.debian,1,Debian GNU/Linux,systemd,${systemd}`,
    ]);
    const grub = version(GRUB).replace(/^1\+/, "").replace("+", "-");
    assert.deepEqual((await peOf(GRUB)).sbat?.entries.slice(0, 3).map(line), [
      "sbat,1,SBAT Version,sbat,1",
      "grub,7,Free Software Foundation,grub,2.12",
      `grub.debian,5,Debian,grub2,${grub}`,
    ]);
  });

  it("shim's .sbatlevel: the header's offsets and both policies, as objcopy's bytes hold them", async () => {
    const level = (await peOf(SHIM)).sbatLevel;
    const { bytes, offset } = objcopySection(SHIM, ".sbatlevel");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const policyAt = (field: number): number => 4 + view.getUint32(field, true);
    const textAt = (at: number): string => new TextDecoder().decode(bytes.subarray(at, bytes.indexOf(0, at)));
    assert.equal(level?.formatVersion, view.getUint32(0, true));
    assert.equal(level?.automatic.offset, offset + policyAt(4));
    assert.equal(level?.latest.offset, offset + policyAt(8));
    assert.equal(level?.automatic.text, textAt(policyAt(4)));
    assert.equal(level?.latest.text, textAt(policyAt(8)));
    // What every shim policy since 2024 holds: shim 4 and grub 5 revoked below.
    for (const policy of [level?.automatic, level?.latest]) {
      assert.equal(policy?.version, "1");
      assert.match(policy?.datestamp ?? "", /^20\d{8}$/);
      assert.deepEqual(
        policy?.entries.filter((e) => e.component === "shim" || e.component === "grub").map((e) => `${e.component},${e.generationNumber}`),
        ["shim,4", "grub,5"],
      );
    }
  });

  it("--sbat-level with a shim applies its automatic policy, --sbat-latest its latest: grub.proxmox 1 passes one and is revoked by the other", async () => {
    const shim = await peOf(SHIM);
    const rule = shim.sbatLevel?.latest.entries.find((e) => e.component === "grub.proxmox");
    assert.ok(rule, "Debian shim 16.1's latest policy names grub.proxmox");
    assert.equal(
      shim.sbatLevel?.automatic.entries.find((e) => e.component === "grub.proxmox"),
      undefined,
    );
    const image = buildPe({
      machine: MACHINE.AMD64,
      layout: "packed",
      sections: [
        {
          name: ".sbat",
          data: text(`sbat,1,SBAT Version,sbat,1,x\ngrub.proxmox,${rule.generationNumber - 1},Proxmox,grub2,2.12,x\n`),
          characteristics: RODATA_FLAGS,
        },
      ],
    }).bytes;
    const shimFile = { name: "shimx64.efi.signed", data: new Uint8Array(readFileSync(SHIM)) };
    const automatic = await verifyImage(image, { sbatLevel: shimFile });
    assert.equal(automatic.secureBoot?.sbat[0]?.status, "pass");
    assert.equal(automatic.secureBoot?.sbatLevel?.which, "automatic");
    const latest = await verifyImage(image, { sbatLevel: shimFile, sbatPolicy: "latest" });
    assert.equal(latest.secureBoot?.reason, "sbat-revoked");
    assert.equal(latest.secureBoot?.sbat[0]?.revoked?.policyOffset, rule.offset);
    assert.equal(latest.accepted, false);
  });

  it("the chain under shim's policy and its vendor certificate as db: shim passes its own policy, GRUB and the kernel boot", async () => {
    const shimFile = { name: "shimx64.efi.signed", data: new Uint8Array(readFileSync(SHIM)) };
    const policy = { db: [shimFile], dbx: [shimFile], sbatLevel: shimFile };
    const grub = await verifyImage(new Uint8Array(readFileSync(GRUB)), policy);
    assert.equal(grub.secureBoot?.db?.certificates[0]?.subject, "CN=Debian Secure Boot CA");
    assert.equal(grub.secureBoot?.sbat[0]?.status, "pass");
    assert.equal(grub.secureBoot?.boots, true);
    const kernel = readFileSync(
      join(
        KERNEL_DIR,
        execFileSync("ls", [KERNEL_DIR], { encoding: "utf8" })
          .split("\n")
          .find((f) => f.startsWith("vmlinuz")) ?? "",
      ),
    );
    const k = await verifyImage(new Uint8Array(kernel), policy);
    assert.equal(k.secureBoot?.firmware, "allowed");
    assert.deepEqual(k.secureBoot?.signatures[0]?.dbChain?.at(-1), "CN=Debian Secure Boot CA");
    assert.equal(k.secureBoot?.sbat[0]?.status, "absent");
    assert.equal(k.secureBoot?.boots, true);
    assert.equal((k.secureBoot?.dbx?.hashes.length ?? 0) > 0, true, "shim's vendor_dbx holds hashes");
  });
});
