/**
 * The Authenticode digest and the certificate table, against the real tools: pesign -h (hash),
 * sbsign (signing, 8-byte padding, a second signature), osslsigncode (LoongArch, which sbsign
 * 0.9.4 refuses). Every fixture is built by our builders and signed at test time.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { analyse } from "../src/api/index.js";
import { KimgError } from "../src/io/errors.js";
import { authenticodeDigest, authenticodeDigests, authenticodeLayout, hashedBytes } from "../src/signatures/authenticode.js";
import { peLayers, type PeLayer } from "../src/signatures/verify.js";
import { readCertificateTable } from "../src/signatures/wincert.js";
import { DEFAULT_LIMITS } from "../src/io/limits.js";
import { codeLike, concat } from "../support/builders/bytes.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildBzImage, buildLoongArchImage, buildRiscvImage, buildUki, buildZboot, zbootInputs } from "../support/builders/images.js";
import { DATA_FLAGS, MACHINE, TEXT_FLAGS, buildPe } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

/** Runs a real tool (the tests that run one skip without it: test/helpers/tools.ts). */
function tool(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 });
}

let dir = "";
let key = "";
let cert = "";
let key2 = "";
let cert2 = "";

before(() => {
  dir = mkdtempSync(join(tmpdir(), "kimg-authenticode-"));
  [key, cert, key2, cert2] = ["k1.pem", "c1.pem", "k2.pem", "c2.pem"].map((f) => join(dir, f)) as [string, string, string, string];
  if (needs("openssl")) return; // the tests that sign are skipped
  tool("openssl", ["req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kimg digest test", "-days", "3650", "-keyout", key, "-out", cert]);
  tool("openssl", ["req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kimg second", "-days", "3650", "-keyout", key2, "-out", cert2]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(bytes: Uint8Array): string {
  const path = join(dir, `f${counter++}.efi`);
  writeFileSync(path, bytes);
  return path;
}

function sbsign(bytes: Uint8Array, which: 1 | 2 = 1): Uint8Array {
  const input = file(bytes);
  const output = `${input}.signed`;
  tool("sbsign", ["--key", which === 1 ? key : key2, "--cert", which === 1 ? cert : cert2, "--output", output, input]);
  return new Uint8Array(readFileSync(output));
}

function pesignHash(bytes: Uint8Array, alg: "sha256" | "sha1" = "sha256"): string {
  const out = tool("pesign", ["-h", "-d", alg, "-i", file(bytes)]);
  const m = /^hash: ([0-9a-f]+)$/m.exec(out);
  assert.ok(m, `pesign -h printed ${out}`);
  return m[1] as string;
}

/** osslsigncode verify: the digest inside the signature and the one it computes. */
function osslsigncodeDigests(bytes: Uint8Array): { current: string; calculated: string } {
  let out: string;
  try {
    out = tool("osslsigncode", ["verify", "-in", file(bytes), "-CAfile", cert]);
  } catch (error) {
    out = String((error as { stdout?: string }).stdout ?? "");
  }
  const current = /Current message digest\s*:\s*([0-9A-F]+)/.exec(out)?.[1]?.toLowerCase();
  const calculated = /Calculated message digest\s*:\s*([0-9A-F]+)/.exec(out)?.[1]?.toLowerCase();
  assert.ok(current && calculated, `osslsigncode verify printed ${out}`);
  return { current, calculated };
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] ?? 0) ^ 0xff;
  return out;
}

async function outerPe(bytes: Uint8Array): Promise<PeLayer> {
  const { tree } = await analyse(bytes, { shallow: true });
  const pe = peLayers(tree)[0];
  assert.ok(pe, "no PE layer");
  return pe;
}

async function peAt(bytes: Uint8Array, path: string): Promise<PeLayer> {
  const { tree } = await analyse(bytes);
  const pe = peLayers(tree).find((p) => p.layer.path === path);
  assert.ok(
    pe,
    `no PE layer ${path}: ${peLayers(tree)
      .map((p) => p.layer.path)
      .join(", ")}`,
  );
  return pe;
}

async function digestOf(bytes: Uint8Array, alg: "sha256" | "sha1" = "sha256"): Promise<string> {
  const pe = await outerPe(bytes);
  return authenticodeDigest(pe.bytes, pe.layer.pe, alg);
}

const FIXTURES: Array<[string, () => Uint8Array]> = [
  ["arm64 Image", () => buildArm64Image()],
  ["RISC-V Image", () => buildRiscvImage()],
  ["zboot (gzip)", () => buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload: compressWith("gzip", buildArm64Image()) }).bytes],
  ["UKI", () => buildUki({ machine: MACHINE.ARM64, linux: buildArm64Image() })],
  ["bzImage", () => buildBzImage({ payload: compressWith("gzip", codeLike(0x3000)) })],
  [
    "PE32 i386 with gaps between sections",
    () =>
      buildPe({
        machine: MACHINE.I386,
        pe32plus: false,
        sections: [
          { name: ".text", data: codeLike(0x1234), characteristics: TEXT_FLAGS },
          { name: ".data", data: codeLike(0x333, 4), characteristics: DATA_FLAGS },
        ],
      }).bytes,
  ],
  [
    "PE32+ with data after the last section, size not 8-aligned",
    () =>
      buildPe({
        machine: MACHINE.AMD64,
        fileAlignment: 0x10,
        layout: "packed",
        sections: [{ name: ".text", data: codeLike(0x1235), characteristics: TEXT_FLAGS }],
        trailing: new Uint8Array([1, 2, 3, 4, 5]),
      }).bytes,
  ],
];

describe("Authenticode digest equals pesign -h", { skip: needs("openssl", "sbsign", "pesign", "osslsigncode", "gzip") }, () => {
  for (const [name, build] of FIXTURES) {
    it(`${name}: unsigned and signed by sbsign, sha256 and sha1`, async () => {
      const unsigned = build();
      assert.equal(await digestOf(unsigned), pesignHash(unsigned));
      assert.equal(await digestOf(unsigned, "sha1"), pesignHash(unsigned, "sha1"));
      const signed = sbsign(unsigned);
      const pe = await outerPe(signed);
      assert.ok(pe.layer.pe.certificateTable, "sbsign wrote no certificate table");
      const ours = await authenticodeDigests(pe.bytes, pe.layer.pe, ["sha256", "sha1"]);
      assert.equal(ours.sha256, pesignHash(signed));
      assert.equal(ours.sha1, pesignHash(signed, "sha1"));
    });
  }

  it("LoongArch Image signed by osslsigncode (sbsign 0.9.4 rejects its machine type)", async () => {
    const unsigned = buildLoongArchImage();
    const input = file(unsigned);
    tool("osslsigncode", ["sign", "-certs", cert, "-key", key, "-h", "sha256", "-in", input, "-out", `${input}.signed`]);
    const signed = new Uint8Array(readFileSync(`${input}.signed`));
    const { current, calculated } = osslsigncodeDigests(signed);
    assert.equal(await digestOf(signed), calculated);
    assert.equal(await digestOf(signed), current);
    assert.equal(await digestOf(signed), pesignHash(unsigned), "signing must not change the digest (the image was 8-aligned already)");
  });

  it("sha384 and sha512 hash the same ranges (checked against node's own hash over hashedBytes)", async () => {
    const signed = sbsign(buildArm64Image());
    const pe = await outerPe(signed);
    const data = hashedBytes(pe.bytes, authenticodeLayout(pe.bytes, pe.layer.pe));
    const { createHash } = await import("node:crypto");
    const ours = await authenticodeDigests(pe.bytes, pe.layer.pe, ["sha384", "sha512", "sha256"]);
    assert.equal(ours.sha384, createHash("sha384").update(data).digest("hex"));
    assert.equal(ours.sha512, createHash("sha512").update(data).digest("hex"));
    assert.equal(ours.sha256, pesignHash(signed));
  });
});

describe("hashed ranges", { skip: needs("openssl", "sbsign", "osslsigncode") }, () => {
  it("skip CheckSum, the certificate-table entry and the table; sections follow the headers", async () => {
    const signed = sbsign(buildArm64Image());
    const pe = await outerPe(signed);
    const info = pe.layer.pe;
    const layout = authenticodeLayout(pe.bytes, info);
    const table = info.certificateTable;
    assert.ok(table);
    const entry = info.dataDirectoryOffset + 32;
    const text = info.sections[0];
    const data = info.sections[1];
    assert.ok(text && data);
    assert.deepEqual(layout.hashed, [
      { start: 0, end: info.checkSumOffset, label: "headers to CheckSum" },
      { start: info.checkSumOffset + 4, end: entry, label: "headers to certificate-table entry" },
      { start: entry + 8, end: info.sizeOfHeaders, label: "headers after certificate-table entry" },
      { start: text.pointerToRawData, end: text.pointerToRawData + text.sizeOfRawData, label: ".text" },
      { start: data.pointerToRawData, end: data.pointerToRawData + data.sizeOfRawData, label: ".data" },
    ]);
    assert.deepEqual(layout.skipped, [
      { start: info.checkSumOffset, end: info.checkSumOffset + 4, label: "CheckSum" },
      { start: entry, end: entry + 8, label: "certificate-table entry" },
      { start: table.offset, end: table.offset + table.size, label: "certificate table" },
    ]);
    assert.equal(layout.hashedBytes, table.offset - 12);
    assert.equal(layout.imageLength, signed.length);
    assert.equal(layout.base, 0);
  });

  it("sort sections by PointerToRawData, not by their order in the section table", async () => {
    const built = buildPe({
      machine: MACHINE.AMD64,
      layout: "packed",
      sections: [
        { name: ".text", data: codeLike(0x800), characteristics: TEXT_FLAGS },
        { name: ".data", data: codeLike(0x400, 9), characteristics: DATA_FLAGS },
      ],
    });
    const swapped = built.bytes.slice();
    const table = built.peOffset + 24 + 112 + 16 * 8;
    swapped.set(built.bytes.subarray(table, table + 40), table + 40);
    swapped.set(built.bytes.subarray(table + 40, table + 80), table);
    const pe = await outerPe(swapped);
    assert.deepEqual(
      pe.layer.pe.sections.map((s) => s.name),
      [".data", ".text"],
    );
    assert.deepEqual(
      authenticodeLayout(pe.bytes, pe.layer.pe)
        .hashed.slice(3)
        .map((r) => r.label),
      [".text", ".data"],
    );
    // sbsign and osslsigncode sort as the spec says; pesign 0.112 -h hashes in table order.
    const signed = sbsign(swapped);
    const { current, calculated } = osslsigncodeDigests(signed);
    assert.equal(await digestOf(signed), current);
    assert.equal(await digestOf(signed), calculated);
  });
});

describe("what changes the digest", { skip: needs("openssl", "sbsign", "pesign", "gzip") }, () => {
  it("CheckSum and the certificate table do not; a byte in a section and appended data do", async () => {
    const signed = sbsign(buildArm64Image());
    const pe = await outerPe(signed);
    const original = await digestOf(signed);

    const checksum = signed.slice();
    new DataView(checksum.buffer).setUint32(pe.layer.pe.checkSumOffset, 0xdeadbeef, true);
    assert.equal(await digestOf(checksum), original);

    const table = pe.layer.pe.certificateTable;
    assert.ok(table);
    const inTable = flip(signed, table.offset + table.size - 20);
    assert.equal(await digestOf(inTable), original);

    const text = pe.layer.pe.sections[0];
    assert.ok(text);
    const tampered = flip(signed, text.pointerToRawData + 0x123);
    assert.notEqual(await digestOf(tampered), original);
    assert.equal(await digestOf(tampered), pesignHash(tampered));

    // The spec hashes [SUM, length - table size): with data appended, the table is no longer last.
    const appended = concat(signed, new TextEncoder().encode("appended"));
    assert.notEqual(await digestOf(appended), original);
    assert.equal(await digestOf(appended), pesignHash(appended));
  });

  it("zero padding after the certificate table (zboot v6.4+) is trimmed, as kexec-tools does; untrimmed equals pesign on the padded file", async () => {
    const signedImage = sbsign(buildArm64Image());
    const { toCompress: padded, trailer } = zbootInputs(signedImage, "v6.4", "gzip");
    assert.ok(padded.length > signedImage.length);
    const payload = compressWith("gzip", padded);
    const zboot = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload: concat(payload, trailer(payload)) }).bytes;
    const inner = await peAt(zboot, "/payload/decompressed/pe");
    assert.equal(inner.layer.pe.trailingZeroBytes, padded.length - signedImage.length);
    const layout = authenticodeLayout(inner.bytes, inner.layer.pe);
    assert.equal(layout.imageLength, signedImage.length);
    assert.equal(layout.trimmedZeroBytes, padded.length - signedImage.length);
    assert.deepEqual(layout.skipped.at(-1), { start: signedImage.length, end: padded.length, label: "zero padding after the certificate table" });
    assert.equal(await authenticodeDigest(inner.bytes, inner.layer.pe), pesignHash(signedImage));
    assert.equal(await authenticodeDigest(inner.bytes, inner.layer.pe, "sha256", { trim: false }), pesignHash(padded));
    assert.notEqual(pesignHash(signedImage), pesignHash(padded));
  });
});

describe("hostile headers", () => {
  async function expectCode(bytes: Uint8Array, code: string, mutatePe?: (pe: PeLayer) => void): Promise<void> {
    const pe = await outerPe(bytes);
    mutatePe?.(pe);
    await assert.rejects(authenticodeDigest(pe.bytes, pe.layer.pe), (e: unknown) => e instanceof KimgError && e.code === code);
  }

  it("a section past the end of the data is E_BAD_OFFSET", async () => {
    const bytes = buildArm64Image();
    const pe = await outerPe(bytes);
    const header = (pe.layer.pe.sections[1]?.headerOffset ?? 0) + 16;
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(header, 0x7fff0000, true);
    await expectCode(bad, "E_BAD_OFFSET");
  });

  it("SizeOfHeaders that does not cover the certificate-table entry is E_BAD_OFFSET", async () => {
    const bytes = buildArm64Image();
    const pe = await outerPe(bytes);
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(pe.layer.pe.checkSumOffset - 4, 0x80, true);
    await expectCode(bad, "E_BAD_OFFSET");
  });

  it("sections that overlap many times over are refused by the byte limit (E_LIMIT), not allocated", async () => {
    const bytes = buildArm64Image();
    const pe = await outerPe(bytes);
    const info = pe.layer.pe;
    info.sections = Array.from({ length: 96 }, (_, i) => ({
      ...(info.sections[0] as NonNullable<(typeof info.sections)[0]>),
      name: `s${i}`,
      pointerToRawData: 0,
      sizeOfRawData: bytes.length,
    }));
    assert.throws(
      () => authenticodeLayout(pe.bytes, info, { maxHashedBytes: 16 * bytes.length }),
      (e: unknown) => e instanceof KimgError && e.code === "E_LIMIT",
    );
    assert.equal(authenticodeLayout(pe.bytes, info, { maxHashedBytes: 97 * bytes.length }).hashed.length, 3 + 96);
  });

  it("a certificate table past the end is E_BAD_OFFSET; PE facts from other bytes are E_BAD_FIELD", { skip: needs("openssl", "sbsign") }, async () => {
    const signed = sbsign(buildArm64Image());
    await expectCode(signed, "E_BAD_OFFSET", (pe) => {
      const t = pe.layer.pe.certificateTable;
      assert.ok(t);
      pe.layer.pe.certificateTable = { ...t, size: t.size + 0x100 };
    });
    await expectCode(signed, "E_BAD_FIELD", (pe) => {
      pe.layer.pe.peOffset = 0x10;
    });
  });
});

describe("certificate table (WIN_CERTIFICATE walk)", () => {
  it("one sbsign signature: one entry filling the table, accepted by the kernel's rule", { skip: needs("openssl", "sbsign") }, async () => {
    const signed = sbsign(buildArm64Image());
    const pe = await outerPe(signed);
    const table = readCertificateTable(pe.bytes, pe.layer.pe, DEFAULT_LIMITS);
    assert.ok(table);
    const t = pe.layer.pe.certificateTable;
    assert.ok(t);
    assert.equal(table.entries.length, 1);
    const entry = table.entries[0];
    assert.ok(entry);
    assert.equal(entry.offset, t.offset);
    assert.equal(entry.wRevision, 0x0200);
    assert.equal(entry.wCertificateType, 0x0002);
    assert.equal(Math.ceil(entry.dwLength / 8) * 8, t.size);
    assert.equal(entry.content[0], 0x30);
    assert.deepEqual(table.kernel, { accepted: true, reason: null });
    assert.deepEqual(table.problems, []);
  });

  it("two signatures (sbsign twice): two 8-aligned entries, and verify_pefile.c would reject the table", {
    skip: needs("openssl", "sbsign", "sbverify", "pesign"),
  }, async () => {
    const twice = sbsign(sbsign(buildArm64Image()), 2);
    const listed = tool("sbverify", ["--list", file(twice)]);
    assert.match(listed, /signature 2/);
    const pe = await outerPe(twice);
    const table = readCertificateTable(pe.bytes, pe.layer.pe, DEFAULT_LIMITS);
    assert.ok(table);
    const [first, second] = table.entries;
    assert.ok(first && second);
    assert.equal(second.offset, first.offset + Math.ceil(first.dwLength / 8) * 8);
    assert.equal(second.offset + Math.ceil(second.dwLength / 8) * 8, table.offset + table.size);
    assert.equal(table.kernel.accepted, false);
    assert.match(table.kernel.reason ?? "", /Signature wrapper len wrong/);
    assert.equal(await digestOf(twice), pesignHash(buildArm64Image()));

    const one = readCertificateTable(pe.bytes, pe.layer.pe, { ...DEFAULT_LIMITS, maxSignatureCount: 1 });
    assert.equal(one?.entries.length, 1);
    assert.equal(one?.problems[0]?.code, "E_LIMIT");
    assert.equal(one?.problems[0]?.severity, "error");
  });

  it("a dwLength past the table end is a problem, not a crash; an oversized table is E_LIMIT", { skip: needs("openssl", "sbsign") }, async () => {
    const signed = sbsign(buildArm64Image());
    const pe = await outerPe(signed);
    const t = pe.layer.pe.certificateTable;
    assert.ok(t);
    const bad = signed.slice();
    new DataView(bad.buffer).setUint32(t.offset, t.size + 8, true);
    const table = readCertificateTable(bad, pe.layer.pe, DEFAULT_LIMITS);
    assert.equal(table?.entries.length, 0);
    assert.equal(table?.problems[0]?.code, "CERT_ENTRY_BAD_LENGTH");
    assert.equal(table?.problems[0]?.offset, t.offset);
    assert.equal(table?.kernel.accepted, false);
    assert.throws(
      () => readCertificateTable(signed, pe.layer.pe, { ...DEFAULT_LIMITS, maxCertificateTableBytes: 1024 }),
      (e: unknown) => e instanceof KimgError && e.code === "E_LIMIT",
    );
  });

  it("an unsigned image has no table", async () => {
    const pe = await outerPe(buildArm64Image());
    assert.equal(readCertificateTable(pe.bytes, pe.layer.pe, DEFAULT_LIMITS), null);
  });
});
