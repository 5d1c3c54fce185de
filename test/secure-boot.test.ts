/**
 * Secure Boot policy (issue 17) on images built here and signed by the real tools: openssl test
 * keys, sbsign signatures, db/dbx lists made by efitools (cert-to-efi-sig-list,
 * hash-to-efi-sig-list, sign-efi-sig-list), SBAT sections and policies in shim's format; the
 * EX_DLLCHARACTERISTICS debug entry; hostile signature lists and SBAT text.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { controlFlowCheck } from "../src/analysis/protection.js";
import { inspect, verifyImage } from "../src/api/index.js";
import { parseSbatLevel, parseSbatPolicy, parseSbatSection, sbatGeneration, sbatPolicyIsNotOlder, sbatRevocation } from "../src/formats/sbat.js";
import { MAX_SIGNATURE_BYTES, readSignatureDatabase } from "../src/signatures/efi-sig-list.js";
import type { VerifyReport } from "../src/signatures/types.js";
import { concat, text } from "../support/builders/bytes.js";
import { buildPe, MACHINE, RODATA_FLAGS, TEXT_FLAGS } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

const skip = needs("openssl", "sbsign", "cert-to-efi-sig-list", "hash-to-efi-sig-list", "sign-efi-sig-list");

function tool(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

let dir = "";
const path = (name: string): string => join(dir, name);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(path(name)));
const put = (name: string, bytes: Uint8Array): string => {
  writeFileSync(path(name), bytes);
  return path(name);
};

const SHIM_SBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n";
/** The 4-byte flags the type-20 debug entry points at. */
const EX_FLAGS = 0x41;

/** An AMD64 EFI application with a .sbat section and a debug directory holding an EX_DLLCHARACTERISTICS entry. */
let debugAt = 0;
function buildImage(sbat: string): Uint8Array {
  const debug = new Uint8Array(32);
  const spec = {
    machine: MACHINE.AMD64,
    layout: "packed" as const,
    dllCharacteristics: 0x0100,
    sections: [
      { name: ".text", data: new Uint8Array(0x400).fill(0xc3), characteristics: TEXT_FLAGS },
      { name: ".rdata", data: debug, characteristics: RODATA_FLAGS },
      { name: ".sbat", data: text(sbat), characteristics: RODATA_FLAGS },
    ],
  };
  const built = buildPe(spec);
  const rdata = built.sections[1];
  assert.ok(rdata);
  const view = new DataView(built.bytes.buffer, built.bytes.byteOffset, built.bytes.byteLength);
  // IMAGE_DEBUG_DIRECTORY: Type 20, SizeOfData 4, AddressOfRawData, PointerToRawData; then the flags.
  view.setUint32(rdata.rawOffset + 12, 20, true);
  view.setUint32(rdata.rawOffset + 16, 4, true);
  view.setUint32(rdata.rawOffset + 20, rdata.rva + 28, true);
  view.setUint32(rdata.rawOffset + 24, rdata.rawOffset + 28, true);
  view.setUint32(rdata.rawOffset + 28, EX_FLAGS, true);
  const dirs = built.peOffset + 24 + 112;
  view.setUint32(dirs + 6 * 8, rdata.rva, true);
  view.setUint32(dirs + 6 * 8 + 4, 28, true);
  debugAt = rdata.rawOffset;
  return built.bytes;
}

function x509(name: string, subject: string, issuer: string | null, ext: string[]): void {
  writeFileSync(path(`${name}.ext`), ext.join("\n") + "\n");
  if (issuer === null) {
    tool("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      path(`${name}.key`),
      "-out",
      path(`${name}.pem`),
      "-subj",
      subject,
      "-days",
      "3650",
      "-extensions",
      "v3_ca",
    ]);
    return;
  }
  tool("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path(`${name}.key`), "-out", path(`${name}.csr`), "-subj", subject]);
  tool("openssl", [
    "x509",
    "-req",
    "-in",
    path(`${name}.csr`),
    "-CA",
    path(`${issuer}.pem`),
    "-CAkey",
    path(`${issuer}.key`),
    "-set_serial",
    "0x5b",
    "-days",
    "3650",
    "-extfile",
    path(`${name}.ext`),
    "-out",
    path(`${name}.pem`),
  ]);
}

function sbsign(name: string, bytes: Uint8Array, signer: string): Uint8Array {
  const input = put(`${name}.unsigned.efi`, bytes);
  tool("sbsign", ["--key", path(`${signer}.key`), "--cert", path(`${signer}.pem`), "--output", path(`${name}.efi`), input]);
  return read(`${name}.efi`);
}

const LEAF = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=codeSigning", "authorityKeyIdentifier=keyid"];

let good: Uint8Array = new Uint8Array(0);
let otherSigned: Uint8Array = new Uint8Array(0);
let oldShim: Uint8Array = new Uint8Array(0);

before(() => {
  dir = mkdtempSync(join(tmpdir(), "kimg-secure-boot-"));
  if (skip) return;
  x509("ca", "/CN=kimg db CA", null, []);
  x509("signer", "/CN=kimg db signer", "ca", LEAF);
  x509("other", "/CN=kimg other CA", null, []);
  x509("kek", "/CN=kimg KEK", null, []);
  good = sbsign("good", buildImage(`${SHIM_SBAT}grub,5,Free Software Foundation,grub,2.12,https://www.gnu.org/software/grub/\n`), "signer");
  otherSigned = sbsign("other-signed", buildImage(SHIM_SBAT), "other");
  // shim's policy revokes shim below generation 4 (Debian shim 16.1's .sbatlevel).
  oldShim = sbsign("old-shim", buildImage(`${SHIM_SBAT}shim,3,UEFI shim,shim,1,https://github.com/rhboot/shim\n`), "signer");
  tool("cert-to-efi-sig-list", ["-g", "11111111-2222-3333-4444-555555555555", path("ca.pem"), path("db.esl")]);
  tool("cert-to-efi-sig-list", [path("signer.pem"), path("dbx-signer.esl")]);
  tool("cert-to-efi-sig-list", [path("ca.pem"), path("dbx-ca.esl")]);
  tool("hash-to-efi-sig-list", [path("good.efi"), path("good-hash.esl")]);
  tool("hash-to-efi-sig-list", [path("other-signed.efi"), path("other-hash.esl")]);
  tool("sign-efi-sig-list", ["-t", "2026-12-07 01:02:03", "-k", path("kek.key"), "-c", path("kek.pem"), "db", path("db.esl"), path("db.auth")]);
  writeFileSync(
    path("policy.txt"),
    "sbat,1,2025021800\nshim,4\ngrub,5\n", // Debian shim 16.1's automatic policy
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string): { name: string; data: Uint8Array } => ({ name, data: read(name) });

async function verdict(
  image: Uint8Array,
  options: Parameters<typeof verifyImage>[1],
): Promise<VerifyReport & { secureBoot: NonNullable<VerifyReport["secureBoot"]> }> {
  const report = await verifyImage(image, options);
  assert.ok(report.secureBoot, "a policy was given, so the report has a Secure Boot verdict");
  return report as VerifyReport & { secureBoot: NonNullable<VerifyReport["secureBoot"]> };
}

describe("db and dbx, lists made by efitools", { skip }, () => {
  it("reads cert-to-efi-sig-list's list: one X.509 certificate with its owner GUID, at 0x1c", () => {
    const db = readSignatureDatabase([file("db.esl")], "db");
    assert.deepEqual(db.diagnostics, []);
    const [list] = db.facts.files[0]?.lists ?? [];
    assert.equal(list?.typeName, "EFI_CERT_X509_GUID");
    assert.equal(list?.count, 1);
    assert.equal(list?.signatureListSize, read("db.esl").length);
    assert.deepEqual(
      db.facts.certificates.map((c) => [c.offset, c.owner, c.subject]),
      [[0x1c, "11111111-2222-3333-4444-555555555555", "CN=kimg db CA"]],
    );
  });

  it("allows an image signed by a chain to a db certificate", async () => {
    const r = await verdict(good, { db: [file("db.esl")] });
    assert.equal(r.secureBoot.firmware, "allowed");
    assert.equal(r.secureBoot.boots, true);
    assert.equal(r.accepted, true);
    assert.deepEqual(r.secureBoot.signatures[0]?.dbChain, ["CN=kimg db signer", "CN=kimg db CA"]);
    assert.match(r.secureBoot.verdictLine, /^secure boot: yes - \/ would boot: signed by a chain to db/);
  });

  it("hash-to-efi-sig-list's hash is kimg's Authenticode SHA-256, and a db holding it allows an image no db certificate signed", async () => {
    const hashes = readSignatureDatabase([file("other-hash.esl")], "db").facts.hashes;
    const r = await verdict(otherSigned, { db: [file("db.esl"), file("other-hash.esl")] });
    assert.equal(hashes[0]?.sha256, r.layers[0]?.digest.sha256);
    assert.equal(r.secureBoot.hashInDb?.sha256, r.secureBoot.sha256);
    assert.equal(r.secureBoot.signatures[0]?.dbChain, null);
    assert.equal(r.secureBoot.boots, true);
  });

  it("refuses an image whose hash is in dbx, even when db allows its signer", async () => {
    const r = await verdict(good, { db: [file("db.esl")], dbx: [file("good-hash.esl")] });
    assert.equal(r.secureBoot.reason, "dbx-hash");
    assert.equal(r.secureBoot.boots, false);
    assert.equal(r.accepted, false);
    assert.equal(r.secureBoot.hashInDbx?.offset, 0x1c);
    assert.match(r.secureBoot.verdictLine, /^secure boot: no - \/ would be refused: its Authenticode hash is in dbx \(sha256 [0-9a-f]{64}\)/);
  });

  it("refuses an image whose signer is in dbx, and one whose CA is", async () => {
    const signer = await verdict(good, { db: [file("db.esl")], dbx: [file("dbx-signer.esl")] });
    assert.equal(signer.secureBoot.reason, "dbx-certificate");
    assert.deepEqual(signer.secureBoot.signatures[0]?.dbxChain, ["CN=kimg db signer"]);
    const ca = await verdict(good, { db: [file("db.esl")], dbx: [file("dbx-ca.esl")] });
    assert.equal(ca.secureBoot.reason, "dbx-certificate");
    assert.deepEqual(ca.secureBoot.signatures[0]?.dbxChain, ["CN=kimg db signer", "CN=kimg db CA"]);
    assert.equal(ca.secureBoot.boots, false);
  });

  it("refuses an image signed outside db (no chain to db), and one changed after signing (digest mismatch)", async () => {
    const other = await verdict(otherSigned, { db: [file("db.esl")] });
    assert.equal(other.secureBoot.reason, "no-db-chain");
    const changed = good.slice();
    const textAt = changed.indexOf(0xc3);
    changed[textAt] = 0x90;
    const r = await verdict(changed, { db: [file("db.esl")] });
    assert.equal(r.secureBoot.signatures[0]?.digestMatches, false);
    assert.equal(r.secureBoot.reason, "digest-mismatch");
  });

  it("reads sign-efi-sig-list's .auth (header described, not verified) and an efivarfs dump with its attributes", async () => {
    const auth = await verdict(good, { db: [file("db.auth")] });
    const facts = auth.secureBoot.db?.files[0];
    assert.equal(facts?.kind, "authenticated-variable");
    assert.equal(facts?.auth?.timestamp, "2026-12-07T01:02:03Z");
    assert.equal(facts?.auth?.certType, "4aafd29d-68df-49ee-8aa9-347d375665a7");
    assert.deepEqual(facts?.auth?.signers, ["CN=kimg KEK"]);
    assert.equal(facts?.auth?.dataOffset, read("db.auth").length - read("db.esl").length);
    assert.equal(auth.secureBoot.boots, true);
    put("db.efivarfs", concat(new Uint8Array([0x27, 0, 0, 0]), read("db.esl")));
    const efivarfs = await verdict(good, { db: [file("db.efivarfs")] });
    assert.equal(efivarfs.secureBoot.db?.files[0]?.kind, "efivarfs");
    assert.equal(efivarfs.secureBoot.db?.files[0]?.attributes, 0x27);
    assert.equal(efivarfs.secureBoot.db?.certificates[0]?.offset, 4 + 0x1c);
    assert.equal(efivarfs.secureBoot.boots, true);
  });

  it("kimg verify --db --dbx: the last line is the verdict; exit 0 when it boots, 5 when it would not", () => {
    const kimg = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", "verify", ...args], { encoding: "utf8" });
    const ok = kimg(path("good.efi"), "--db", path("db.esl"));
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout.trimEnd().split("\n").at(-1) ?? "", /^secure boot: yes - /);
    const no = kimg(path("good.efi"), "--db", path("db.esl"), "--dbx", path("good-hash.esl"), "--json");
    assert.equal(no.status, 5);
    assert.equal(JSON.parse(no.stdout).secureBoot.reason, "dbx-hash");
  });
});

describe("SBAT", () => {
  it("parses a .sbat section as shim does: six fields, offsets, atoi generations", () => {
    const source = `\ufeff${SHIM_SBAT}grub,3,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/,extra\r\n\nx,07b,v,p,1,u\n\0garbage`;
    const body = text(source);
    const at = (s: string): number => 0x1000 + 2 + source.indexOf(s); // the BOM is 1 character, 3 bytes
    const { entries, problems, valid } = parseSbatSection(body, 0x1000);
    assert.equal(valid, true);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      entries.map((e) => [e.component, e.generation, e.generationNumber, e.vendorUrl, e.offset, e.line]),
      [
        ["sbat", "1", 1, "https://github.com/rhboot/shim/blob/main/SBAT.md", 0x1003, 1],
        ["grub", "3", 3, "https://www.gnu.org/software/grub/", at("grub,3"), 2],
        ["x", "07b", 7, "u", at("x,07b"), 5],
      ],
    );
    assert.equal(sbatGeneration("70000"), 70000 % 65536);
    assert.equal(sbatGeneration("abc"), 0);
  });

  it("malformed lines are coded problems with offsets, and make the section invalid", () => {
    const { entries, problems, valid } = parseSbatSection(text(`${SHIM_SBAT}grub,3,FSF\nshim,,v,p,1,u\n`), 0);
    assert.equal(valid, false);
    assert.equal(entries.length, 1);
    assert.deepEqual(
      problems.map((p) => [p.code, p.offset]),
      [
        ["SBAT_MALFORMED_LINE", SHIM_SBAT.length],
        ["SBAT_MALFORMED_LINE", SHIM_SBAT.length + "grub,3,FSF\n".length],
      ],
    );
    const many = parseSbatSection(text("a,1,v,p,1,u\n".repeat(300)), 0);
    assert.equal(many.entries.length, 256);
    assert.equal(many.problems[0]?.code, "SBAT_TOO_MANY_ENTRIES");
    assert.equal(parseSbatSection(new Uint8Array(70000).fill(0x61), 0).problems[0]?.code, "SBAT_TOO_LARGE");
  });

  it("revokes as verify_sbat does: the first policy line of the component decides; the sbat,1,DATE line compares by generation", () => {
    const policy = parseSbatPolicy(text("sbat,1,2025051000\nshim,4\ngrub,5\ngrub,2\n"), 0).policy;
    assert.equal(policy.datestamp, "2025051000");
    const image = parseSbatSection(text(`${SHIM_SBAT}grub,4,FSF,grub,2.06,u\n`), 0).entries;
    assert.deepEqual(sbatRevocation(image, policy)?.rule, { component: "grub", generation: "5", generationNumber: 5, datestamp: null, offset: 25 });
    const newer = parseSbatSection(text(`${SHIM_SBAT}grub,5,FSF,grub,2.12,u\n`), 0).entries;
    assert.equal(sbatRevocation(newer, policy), null);
    const sbat2 = parseSbatPolicy(text("sbat,2,2025051000\n"), 0).policy;
    assert.equal(sbatRevocation(image, sbat2)?.entry.component, "sbat");
    const older = parseSbatPolicy(text("sbat,1,2024010900\nshim,2\n"), 0).policy;
    assert.equal(sbatPolicyIsNotOlder(policy, older), true);
    assert.equal(sbatPolicyIsNotOlder(older, policy), false);
  });

  it("reads a .sbatlevel section: format version, the two offsets, both policies; bad offsets throw a coded error", () => {
    const automatic = "sbat,1,2025021800\nshim,4\ngrub,5\n\0";
    const latest = "sbat,1,2025051000\nshim,4\ngrub,5\ngrub.proxmox,2\n\0";
    const header = new Uint8Array(12);
    new DataView(header.buffer).setUint32(4, 8, true);
    new DataView(header.buffer).setUint32(8, 8 + automatic.length, true);
    const { level } = parseSbatLevel(concat(header, text(automatic), text(latest)), 0x8c000);
    assert.equal(level.automatic.offset, 0x8c000 + 12);
    assert.equal(level.latest.offset, 0x8c000 + 12 + automatic.length);
    assert.deepEqual(
      level.latest.entries.map((e) => `${e.component},${e.generationNumber}`),
      ["sbat,1", "shim,4", "grub,5", "grub.proxmox,2"],
    );
    new DataView(header.buffer).setUint32(8, 0xffffff00, true);
    assert.throws(() => parseSbatLevel(concat(header, text(automatic)), 0), /latest_offset 0xffffff00 points outside/);
  });

  it("an image whose shim generation is below the policy is revoked; --sbat-level takes a policy text or an SbatLevel dump", { skip }, async () => {
    const r = await verdict(oldShim, { db: [file("db.esl")], sbatLevel: file("policy.txt") });
    assert.equal(r.secureBoot.firmware, "allowed");
    assert.equal(r.secureBoot.reason, "sbat-revoked");
    assert.deepEqual(r.secureBoot.sbat[0]?.revoked && { ...r.secureBoot.sbat[0].revoked, offset: 0, policyOffset: 0 }, {
      component: "shim",
      generation: 3,
      policyGeneration: 4,
      offset: 0,
      policyOffset: 0,
    });
    assert.match(r.secureBoot.verdictLine, /would be refused: SBAT generation too low: shim generation 3 < 4/);
    put("SbatLevel-efivarfs", concat(new Uint8Array([0x06, 0, 0, 0]), read("policy.txt")));
    const dump = await verdict(good, { sbatLevel: file("SbatLevel-efivarfs") });
    assert.equal(dump.secureBoot.sbatLevel?.file.kind, "sbatlevel-variable");
    assert.equal(dump.secureBoot.sbat[0]?.status, "pass");
    assert.equal(dump.secureBoot.boots, true);
  });

  it("inspect shows the .sbat entries and the EX_DLLCHARACTERISTICS flags with offsets, and the control-flow check", async () => {
    const image = buildImage(SHIM_SBAT);
    const report = await inspect(image);
    const pe = report.root.pe;
    assert.equal(pe?.sbat?.entries[0]?.component, "sbat");
    assert.deepEqual(pe?.exDllCharacteristics && { ...pe.exDllCharacteristics }, {
      entryOffset: debugAt,
      offset: debugAt + 28,
      value: EX_FLAGS,
      flags: ["CET_COMPAT", "FORWARD_CFI_COMPAT"],
      cetCompat: true,
      forwardCfiCompat: true,
    });
    assert.ok(debugAt > 0);
    assert.ok(pe);
    const check = controlFlowCheck(report.root, pe);
    assert.deepEqual([check.id, check.info, check.offset], ["control-flow", true, debugAt + 28]);
    assert.match(check.message, /CET_COMPAT set, FORWARD_CFI_COMPAT set/);
    const fields = report.root.structures.find((st) => st.name === ".sbat (SBAT entries)")?.fields;
    assert.deepEqual(
      fields?.map((f) => [f.name, f.value]),
      [["sbat", "1"]],
    );
  });
});

describe("hostile .sbat sections", () => {
  it("two .sbat sections, and SizeOfRawData below VirtualSize, are SBAT_SECTION_REJECTED with the section header's offset", async () => {
    const sbat = { name: ".sbat", data: text(SHIM_SBAT), characteristics: RODATA_FLAGS };
    const two = buildPe({
      machine: MACHINE.AMD64,
      layout: "packed",
      sections: [{ name: ".text", data: new Uint8Array(16), characteristics: TEXT_FLAGS }, sbat, sbat],
    });
    const report = await inspect(two.bytes);
    const rejected = report.diagnostics.filter((d) => d.code === "SBAT_SECTION_REJECTED");
    assert.deepEqual(
      rejected.map((d) => d.offset),
      [two.peOffset + 24 + 112 + 16 * 8 + 2 * 40],
    );
    assert.equal(report.root.pe?.sbat?.valid, false);
    const short = buildPe({ machine: MACHINE.AMD64, layout: "packed", sections: [{ ...sbat, virtualSize: 0x10000 }] });
    const r2 = await inspect(short.bytes);
    assert.equal(r2.root.pe?.sbat?.size, 0);
    assert.match(r2.diagnostics.find((d) => d.code === "SBAT_SECTION_REJECTED")?.message ?? "", /shim ignores the section/);
  });
});

describe("hostile signature lists", () => {
  const list = (type: number[], listSize: number, headerSize: number, signatureSize: number, body: number): Uint8Array => {
    const out = new Uint8Array(28 + body);
    out.set(type, 0);
    const v = new DataView(out.buffer);
    v.setUint32(16, listSize, true);
    v.setUint32(20, headerSize, true);
    v.setUint32(24, signatureSize, true);
    return out;
  };
  // EFI_CERT_SHA256_GUID c1c41626-504c-4092-aca9-41f936934328, bytes as stored
  const SHA256 = [0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28];
  const SHA1 = [0x12, 0xa5, 0x6c, 0x82, 0x10, 0xcf, 0xc9, 0x4a, 0xb1, 0x87, 0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd];
  const codes = (bytes: Uint8Array): string[] => readSignatureDatabase([{ name: "x", data: bytes }], "dbx").diagnostics.map((d) => `${d.code}@${d.offset}`);

  it("a list running past the file, an absurd SignatureSize and a body of partial signatures are coded diagnostics", () => {
    assert.deepEqual(codes(list(SHA256, 28 + 48 * 2, 0, 48, 48)), ["ESL_TRUNCATED@0"]);
    assert.deepEqual(codes(list(SHA256, 28 + 48, 0, MAX_SIGNATURE_BYTES + 1, 48)), ["ESL_BAD_SIZE@0"]);
    assert.deepEqual(codes(list(SHA256, 28 + 50, 0, 48, 50)), ["ESL_BAD_SIZE@0"]);
    assert.deepEqual(codes(list(SHA256, 0xffffffff, 0xffffffff, 0, 0)), ["ESL_BAD_SIZE@0"]);
    assert.deepEqual(codes(concat(list(SHA256, 28 + 48, 0, 48, 48), new Uint8Array(10))), ["ESL_TRUNCATED@76"]);
  });

  it("other signature types are listed and ignored; many lists stop at the named limit", () => {
    const db = readSignatureDatabase([{ name: "x", data: list(SHA1, 28 + 36, 0, 36, 36) }], "db");
    assert.deepEqual(
      db.diagnostics.map((d) => [d.code, d.severity]),
      [["ESL_TYPE_IGNORED", "info"]],
    );
    assert.equal(db.facts.files[0]?.lists[0]?.typeName, "EFI_CERT_SHA1_GUID");
    const many = concat(...Array.from({ length: 1100 }, () => list(SHA256, 28, 0, 48, 0)));
    assert.deepEqual(codes(many), ["ESL_TOO_MANY@28672"]);
    assert.deepEqual(codes(text("hello")), ["POLICY_FILE_UNKNOWN@0"]);
  });

  it("a signed update whose dwLength runs past the file is AUTH_HEADER_BAD; an unreadable SbatLevel is SBAT_POLICY_UNREADABLE and the image does not boot", async () => {
    const auth = new Uint8Array(40);
    const v = new DataView(auth.buffer);
    v.setUint16(0, 2026, true);
    v.setUint32(16, 0x7fffffff, true); // dwLength
    v.setUint16(20, 0x0200, true);
    v.setUint16(22, 0x0ef1, true);
    auth.set([0x9d, 0xd2, 0xaf, 0x4a, 0xdf, 0x68, 0xee, 0x49, 0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7], 24); // EFI_CERT_TYPE_PKCS7_GUID
    const db = readSignatureDatabase([{ name: "x.auth", data: auth }], "db");
    assert.deepEqual(
      db.diagnostics.map((d) => `${d.code}@${d.offset}`),
      ["AUTH_HEADER_BAD@16"],
    );
    assert.equal(db.facts.files[0]?.kind, "authenticated-variable");
    const report = await verifyImage(buildImage(SHIM_SBAT), { sbatLevel: { name: "junk", data: text("not a policy") } });
    assert.deepEqual(
      report.diagnostics.filter((d) => d.code === "SBAT_POLICY_UNREADABLE").map((d) => d.offset),
      [0],
    );
    assert.equal(report.secureBoot?.boots, false);
    assert.equal(report.accepted, false);
  });
});
