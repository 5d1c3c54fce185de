/**
 * verifyImage, signatureSummary and the `kimg verify`/`kimg digest` commands on images signed at
 * test time by the real tools: openssl (a CA, an intermediate and signers), sbsign (signatures,
 * --addcert, a second signature), osslsigncode (a nested SHA-1 signature), sbverify and pesign as
 * the reference verdicts and digests.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { analyse, verifyImage } from "../src/api/index.js";
import { signatureSummary, peLayers } from "../src/signatures/verify.js";
import type { VerifyReport } from "../src/signatures/types.js";
import { codeLike, concat, randomBytes } from "../support/builders/bytes.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildElf, buildUki, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

/** Runs a real tool (the tests that run one skip without it: test/helpers/tools.ts). */
function tool(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 });
}

let dir = "";
const path = (name: string): string => join(dir, name);
let counter = 0;
function file(bytes: Uint8Array): string {
  const p = path(`f${counter++}.efi`);
  writeFileSync(p, bytes);
  return p;
}
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(path(name)));

function extfile(name: string, lines: string[]): string {
  writeFileSync(path(name), lines.join("\n") + "\n");
  return path(name);
}

/** A root CA, an intermediate, a signer under it (serial 0x4b494d47), an unrelated CA, and an EC signer. */
before(() => {
  dir = mkdtempSync(join(tmpdir(), "kimg-verify-"));
  if (needs("openssl")) return; // the tests are skipped
  const leaf = extfile("leaf.ext", [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=codeSigning",
    "authorityKeyIdentifier=keyid",
  ]);
  const sub = extfile("sub.ext", [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid",
  ]);
  tool("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    path("root.key"),
    "-out",
    path("root.pem"),
    "-subj",
    "/CN=kimg root CA",
    "-days",
    "3650",
    "-extensions",
    "v3_ca",
  ]);
  tool("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("int.key"), "-out", path("int.csr"), "-subj", "/CN=kimg intermediate CA"]);
  tool("openssl", [
    "x509",
    "-req",
    "-in",
    path("int.csr"),
    "-CA",
    path("root.pem"),
    "-CAkey",
    path("root.key"),
    "-set_serial",
    "0x1001",
    "-days",
    "3650",
    "-extfile",
    sub,
    "-out",
    path("int.pem"),
  ]);
  tool("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("signer.key"), "-out", path("signer.csr"), "-subj", "/CN=kimg test signer/O=kimg"]);
  tool("openssl", [
    "x509",
    "-req",
    "-in",
    path("signer.csr"),
    "-CA",
    path("int.pem"),
    "-CAkey",
    path("int.key"),
    "-set_serial",
    "0x4b494d47",
    "-days",
    "3650",
    "-extfile",
    leaf,
    "-out",
    path("signer.pem"),
  ]);
  tool("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    path("other.key"),
    "-out",
    path("other.pem"),
    "-subj",
    "/CN=kimg unrelated CA",
    "-days",
    "3650",
  ]);
  tool("openssl", ["x509", "-in", path("other.pem"), "-outform", "der", "-out", path("other.der")]);
  tool("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    path("ec.key"),
    "-out",
    path("ec.pem"),
    "-subj",
    "/CN=kimg EC signer",
    "-days",
    "30",
  ]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Signer = "signer" | "other" | "ec";
function sbsign(bytes: Uint8Array, signer: Signer = "signer"): Uint8Array {
  const input = file(bytes);
  const extra = signer === "signer" ? ["--addcert", path("int.pem")] : [];
  tool("sbsign", ["--key", path(`${signer}.key`), "--cert", path(`${signer}.pem`), ...extra, "--output", `${input}.signed`, input]);
  return new Uint8Array(readFileSync(`${input}.signed`));
}

function sbverifyAccepts(bytes: Uint8Array, cert: string): boolean {
  return spawnSync("sbverify", ["--cert", cert, file(bytes)], { stdio: "ignore" }).status === 0;
}

function pesignHash(bytes: Uint8Array, alg: "sha256" | "sha1" = "sha256"): string {
  const m = /^hash: ([0-9a-f]+)$/m.exec(tool("pesign", ["-h", "-d", alg, "-i", file(bytes)]));
  assert.ok(m);
  return m[1] as string;
}

/** openssl's view of a certificate: serial, dates, subject, issuer. */
function opensslFacts(pem: string): { serial: string; notBefore: string; notAfter: string } {
  const out = tool("openssl", ["x509", "-in", pem, "-noout", "-serial", "-startdate", "-enddate"]);
  const get = (k: string): string => (new RegExp(`^${k}=(.*)$`, "m").exec(out)?.[1] ?? "").trim();
  return { serial: get("serial").toLowerCase(), notBefore: new Date(get("notBefore")).toISOString(), notAfter: new Date(get("notAfter")).toISOString() };
}

const trust = (...names: string[]): Uint8Array[] => names.map((n) => read(n));

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1);
  return items[0] as T;
}

async function tableOf(bytes: Uint8Array): Promise<{ offset: number; size: number }> {
  const { tree } = await analyse(bytes, { shallow: true });
  const table = peLayers(tree)[0]?.layer.pe.certificateTable;
  assert.ok(table);
  return table;
}

describe("one sbsign signature, signer under an intermediate CA", { skip: needs("openssl", "sbsign", "pesign", "sbverify") }, () => {
  let signed: Uint8Array = new Uint8Array(0);
  before(() => {
    signed = sbsign(buildArm64Image());
  });

  it("reports the digest, the signer and the chain to the root", async () => {
    const report = await verifyImage(signed, { trustedCertificates: trust("root.pem") });
    assert.equal(report.verified, true);
    const layer = only(report.layers);
    assert.equal(layer.path, "/pe");
    assert.equal(layer.format, "arm64-image");
    assert.equal(layer.signed, true);
    assert.equal(layer.digest.sha256, pesignHash(signed));
    assert.deepEqual(layer.kernel, { accepted: true, reason: null });
    const s = only(report.signatures);
    assert.equal(s.layer, "/pe");
    assert.equal(s.entryOffset, (await tableOf(signed)).offset);
    assert.equal(s.nested, false);
    assert.equal(s.digestAlgorithm, "sha256");
    assert.equal(s.digest, pesignHash(signed));
    assert.equal(s.digestMatches, true);
    assert.equal(s.signatureValid, true);
    assert.equal(s.chainValid, true);
    assert.deepEqual(s.chainPath, ["CN=kimg test signer, O=kimg", "CN=kimg intermediate CA", "CN=kimg root CA"]);
    assert.deepEqual(s.signer, {
      subject: "CN=kimg test signer, O=kimg",
      issuer: "CN=kimg intermediate CA",
      ...opensslFacts(path("signer.pem")),
      key: "RSA 2048",
      selfSigned: false,
    });
    assert.equal(s.signer?.serial, "4b494d47");
    assert.deepEqual(s.certificates.map((c) => c.subject).sort(), ["CN=kimg intermediate CA", "CN=kimg test signer, O=kimg"]);
    assert.deepEqual(report.trusted, ["CN=kimg root CA"]);
    assert.ok(sbverifyAccepts(signed, path("root.pem")));
  });

  it("without --cert the chain is not checked; an unrelated CA fails only the chain", async () => {
    const plain = await verifyImage(signed);
    // Intact but from an unchecked signer: anyone can make such a signature, so it is not "verified".
    assert.equal(plain.verdict, "intact");
    assert.equal(plain.verified, false);
    assert.equal(plain.accepted, false);
    assert.equal(only(plain.signatures).status, "intact");
    assert.equal(only(plain.signatures).intact, true);
    assert.equal(only(plain.signatures).chainValid, null);
    assert.match(
      plain.verdictLine,
      /^verified: no - 1 signature intact \(digest matches, signature valid\); signed by CN=kimg test signer, O=kimg, but not checked against any trusted certificate/,
    );
    const integrity = await verifyImage(signed, { integrityOnly: true });
    assert.equal(integrity.verified, false);
    assert.equal(integrity.accepted, true);
    assert.match(integrity.verdictLine, /^integrity: intact - .*trust not checked \(--integrity-only\)/);

    const other = await verifyImage(signed, { trustedCertificates: trust("other.der") });
    const s = only(other.signatures);
    assert.equal(other.verified, false);
    assert.equal(s.digestMatches, true);
    assert.equal(s.signatureValid, true);
    assert.equal(s.chainValid, false);
    assert.match(s.reasons.join("\n"), /^chain: /m);
    // sbverify 0.9.4 accepts this image with other.pem: it trusts the intermediate CA that
    // --addcert put into the signature. A chain must end at a certificate the user gave.
  });

  it("the intermediate or the signer's own certificate are trust anchors too", async () => {
    assert.equal((await verifyImage(signed, { trustedCertificates: trust("int.pem") })).verified, true);
    const self = await verifyImage(signed, { trustedCertificates: trust("signer.pem") });
    assert.equal(self.verified, true);
    assert.deepEqual(only(self.signatures).chainPath, ["CN=kimg test signer, O=kimg"]);
    const bundle = concat(read("other.pem"), read("root.pem"));
    assert.equal((await verifyImage(signed, { trustedCertificates: [bundle] })).verified, true);
  });

  it("an EC P-256 signer", async () => {
    const ec = sbsign(buildArm64Image(), "ec");
    const report = await verifyImage(ec, { trustedCertificates: trust("ec.pem") });
    assert.equal(report.verified, true);
    assert.equal(only(report.signatures).signer?.key, "EC P-256");
    assert.equal(only(report.signatures).signer?.selfSigned, true);
  });
});

describe("tampering", { skip: needs("openssl", "sbsign", "pesign", "sbverify") }, () => {
  let signed: Uint8Array = new Uint8Array(0);
  let textOffset = 0;
  let checkSumOffset = 0;
  before(async () => {
    signed = sbsign(buildArm64Image());
    const { tree } = await analyse(signed, { shallow: true });
    const pe = peLayers(tree)[0]?.layer.pe;
    assert.ok(pe);
    textOffset = pe.sections[0]?.pointerToRawData ?? 0;
    checkSumOffset = pe.checkSumOffset;
  });

  const flip = (bytes: Uint8Array, at: number): Uint8Array => {
    const out = bytes.slice();
    out[at] = (out[at] ?? 0) ^ 0x01;
    return out;
  };

  it("one flipped bit in a hashed section: the digest no longer matches", async () => {
    const tampered = flip(signed, textOffset + 0x200);
    const report = await verifyImage(tampered, { trustedCertificates: trust("root.pem") });
    const s = only(report.signatures);
    assert.equal(report.verified, false);
    assert.equal(s.digestMatches, false);
    assert.equal(s.signatureValid, true);
    assert.equal(s.chainValid, true);
    assert.equal(only(report.layers).digest.sha256, pesignHash(tampered));
    assert.match(s.reasons.join("\n"), /changed after signing/);
    assert.equal(sbverifyAccepts(tampered, path("root.pem")), false);
  });

  it("a changed CheckSum still verifies", async () => {
    const changed = signed.slice();
    new DataView(changed.buffer).setUint32(checkSumOffset, 0x12345678, true);
    const report = await verifyImage(changed, { trustedCertificates: trust("root.pem") });
    assert.equal(report.verified, true);
    assert.ok(sbverifyAccepts(changed, path("root.pem")));
  });

  it("appended data is hashed as the spec says ([SUM, size - table size)), so the digest no longer matches", async () => {
    const appended = concat(signed, codeLike(64));
    const report = await verifyImage(appended);
    assert.equal(report.verdict, "failed");
    assert.equal(only(report.signatures).digestMatches, false);
    assert.equal(only(report.layers).digest.sha256, pesignHash(appended));
    assert.equal(sbverifyAccepts(appended, path("root.pem")), false);
  });

  it("a flipped bit in the signer's signature value: the signature is invalid, the digest still matches", async () => {
    const table = await tableOf(signed);
    const length = new DataView(signed.buffer, signed.byteOffset).getUint32(table.offset, true);
    // sbsign puts no unsigned attributes after the SignerInfo, so the signature value ends the DER.
    const broken = flip(signed, table.offset + length - 16);
    const report = await verifyImage(broken);
    const s = only(report.signatures);
    assert.equal(s.digestMatches, true);
    assert.equal(s.signatureValid, false);
    assert.equal(report.verdict, "failed");
    // Our own words, not the PKI library's.
    assert.deepEqual(s.reasons, ["signature: the signature does not verify with the signer certificate's key"]);
    assert.equal(sbverifyAccepts(broken, path("root.pem")), false);
  });
});

describe("several signatures", { skip: needs("openssl", "sbsign", "osslsigncode", "pesign") }, () => {
  it("sbsign twice: two WIN_CERTIFICATE entries, both verified; the kernel's KEXEC_SIG rule would reject the table", async () => {
    const twice = sbsign(sbsign(buildArm64Image()), "other");
    const report = await verifyImage(twice, { trustedCertificates: trust("root.pem", "other.pem") });
    assert.equal(report.verified, true);
    assert.deepEqual(
      report.signatures.map((s) => [s.index, s.entryIndex, s.nested, s.signer?.subject]),
      [
        [0, 0, false, "CN=kimg test signer, O=kimg"],
        [1, 1, false, "CN=kimg unrelated CA"],
      ],
    );
    const [a, b] = report.signatures;
    assert.ok(a && b && b.entryOffset > a.entryOffset);
    assert.equal(only(report.layers).kernel?.accepted, false);
    assert.ok(report.diagnostics.some((d) => d.code === "KEXEC_SIG_WOULD_REJECT" && d.severity === "warning"));
    const onlyRoot = await verifyImage(twice, { trustedCertificates: trust("root.pem") });
    assert.equal(onlyRoot.verified, false);
    assert.deepEqual(
      onlyRoot.signatures.map((s) => s.chainValid),
      [true, false],
    );
  });

  it("a nested SHA-1 signature (osslsigncode -nest): depth 1, parent 0, its own digest algorithm", async () => {
    const signed = sbsign(buildArm64Image());
    const input = file(signed);
    tool("osslsigncode", ["sign", "-certs", path("other.pem"), "-key", path("other.key"), "-h", "sha1", "-nest", "-in", input, "-out", `${input}.nested`]);
    const nested = new Uint8Array(readFileSync(`${input}.nested`));
    const report = await verifyImage(nested, { trustedCertificates: trust("root.pem", "other.pem") });
    assert.equal(report.verified, true);
    assert.equal(report.signatures.length, 2);
    const [outer, inner] = report.signatures;
    assert.ok(outer && inner);
    assert.equal(outer.nested, false);
    assert.deepEqual([inner.nested, inner.depth, inner.parent, inner.entryIndex], [true, 1, 0, 0]);
    assert.equal(inner.digestAlgorithm, "sha1");
    assert.equal(inner.digest, pesignHash(nested, "sha1"));
    assert.equal(inner.signer?.subject, "CN=kimg unrelated CA");
    assert.equal(only(report.layers).digest.sha1, pesignHash(nested, "sha1"));
    assert.equal(only(report.layers).signatureCount, 2);
    assert.deepEqual(signatureSummary(nested, peLayers((await analyse(nested, { shallow: true })).tree)[0]!.layer.pe), {
      signed: true,
      signatureCount: 2,
      digestAlgorithm: "sha256",
      signerSubject: "CN=kimg test signer, O=kimg",
      problem: null,
    });
  });
});

describe("every PE layer of the tree", { skip: needs("openssl", "sbsign", "pesign", "gzip") }, () => {
  it("zboot: the outer program and the inner Image, padded by v6.4+ zboot, are both verified", async () => {
    const image = sbsign(buildArm64Image());
    const { toCompress: padded, trailer } = zbootInputs(image, "v6.4", "gzip");
    const payload = compressWith("gzip", padded);
    const zboot = sbsign(buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload: concat(payload, trailer(payload)) }).bytes, "other");
    const report = await verifyImage(zboot, { trustedCertificates: trust("root.pem", "other.pem") });
    assert.equal(report.verified, true);
    assert.deepEqual(
      report.layers.map((l) => [l.path, l.format, l.trimmed]),
      [
        ["/pe", "zboot", false],
        ["/payload/decompressed/pe", "arm64-image", true],
      ],
    );
    const inner = report.layers[1];
    assert.ok(inner);
    assert.equal(inner.trailingZeroBytes, padded.length - image.length);
    assert.equal(inner.digest.sha256, pesignHash(image));
    assert.ok(inner.paddingNote?.includes(pesignHash(padded)), inner.paddingNote);
    assert.match(inner.paddingNote ?? "", /does not match the signature/);
    assert.equal(report.layers[0]?.digest.sha256, pesignHash(zboot));
    assert.deepEqual(
      report.signatures.map((s) => [s.layer, s.signer?.subject]),
      [
        ["/pe", "CN=kimg unrelated CA"],
        ["/payload/decompressed/pe", "CN=kimg test signer, O=kimg"],
      ],
    );

    const innerOnly = await verifyImage(zboot, { layers: ["/payload/decompressed"], trustedCertificates: trust("root.pem") });
    assert.equal(innerOnly.verified, true);
    assert.deepEqual(
      innerOnly.layers.map((l) => l.path),
      ["/payload/decompressed/pe"],
    );
  });

  it("UKI: the UKI and its .linux", async () => {
    const uki = sbsign(buildUki({ machine: MACHINE.ARM64, linux: sbsign(buildArm64Image()) }), "other");
    const report = await verifyImage(uki, { trustedCertificates: trust("root.pem", "other.pem") });
    assert.equal(report.verified, true);
    assert.deepEqual(
      report.layers.map((l) => [l.path, l.format, l.signed]),
      [
        ["/pe", "uki", true],
        ["/.linux/pe", "arm64-image", true],
      ],
    );
  });

  it("nothing signed, or nothing PE: verified is false and the report says why", async () => {
    const unsigned = await verifyImage(buildArm64Image());
    assert.equal(unsigned.verdict, "unsigned");
    assert.equal(unsigned.verdictLine, "verified: no - not signed");
    assert.deepEqual(unsigned.signatures, []);
    assert.equal(only(unsigned.layers).signed, false);
    assert.equal(only(unsigned.layers).kernel, null);
    assert.ok(unsigned.diagnostics.some((d) => d.code === "NOT_SIGNED"));
    const elf = await verifyImage(buildElf());
    assert.equal(elf.verdict, "unsigned");
    assert.equal(elf.verdictLine, "verified: no - no PE/COFF image in this file, so nothing carries a signature");
    assert.deepEqual(elf.layers, []);
    assert.ok(elf.diagnostics.some((d) => d.code === "NO_PE_IMAGE"));
  });
});

describe("hostile certificate tables", { skip: needs("openssl", "sbsign", "osslsigncode") }, () => {
  let signed: Uint8Array = new Uint8Array(0);
  let table = { offset: 0, size: 0 };
  before(async () => {
    signed = sbsign(buildArm64Image());
    table = await tableOf(signed);
  });

  async function expectFailure(bytes: Uint8Array, code: string): Promise<VerifyReport> {
    const report = await verifyImage(bytes);
    assert.equal(report.verdict, "failed");
    assert.ok(
      report.diagnostics.some((d) => d.code === code && d.severity === "error"),
      JSON.stringify(report.diagnostics),
    );
    return report;
  }

  it("garbage instead of the SignedData is E_BAD_SIGNATURE", async () => {
    const bad = signed.slice();
    bad.set(codeLike(table.size - 8, 77), table.offset + 8);
    await expectFailure(bad, "E_BAD_SIGNATURE");
    const { tree } = await analyse(bad, { shallow: true });
    const summary = signatureSummary(bad, peLayers(tree)[0]!.layer.pe);
    assert.equal(summary.signed, true);
    assert.equal(summary.signatureCount, 0);
    assert.match(summary.problem ?? "", /PKCS#7/);
  });

  it("BER nested thousands deep is refused, not a stack overflow", async () => {
    const bad = signed.slice();
    const deep = new Uint8Array(table.size - 8);
    for (let i = 0; i + 1 < deep.length; i += 2) deep.set([0x30, 0x80], i);
    bad.set(deep, table.offset + 8);
    await expectFailure(bad, "E_BAD_SIGNATURE");
  });

  it("a truncated SignedData, a wrong entry type and a dwLength past the table end", async () => {
    const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset);
    const truncated = signed.slice();
    view(truncated).setUint32(table.offset, 8 + 300, true);
    await expectFailure(truncated, "E_BAD_SIGNATURE");
    const x509 = signed.slice();
    view(x509).setUint16(table.offset + 6, 0x0001, true);
    await expectFailure(x509, "CERT_ENTRY_NOT_PKCS7");
    const long = signed.slice();
    view(long).setUint32(table.offset, table.size + 64, true);
    await expectFailure(long, "CERT_ENTRY_BAD_LENGTH");
    const outside = signed.slice();
    const { tree } = await analyse(signed, { shallow: true });
    view(outside).setUint32((peLayers(tree)[0]?.layer.pe.dataDirectoryOffset ?? 0) + 36, table.size + 0x10000, true);
    const report = await verifyImage(outside);
    assert.equal(report.verdict, "failed");
  });

  it("random byte changes: never an exception, and verified only when the changed byte is in the certificate table or CheckSum", async () => {
    const nested = (() => {
      const input = file(signed);
      tool("osslsigncode", ["sign", "-certs", path("other.pem"), "-key", path("other.key"), "-h", "sha1", "-nest", "-in", input, "-out", `${input}.nested`]);
      return new Uint8Array(readFileSync(`${input}.nested`));
    })();
    const t = await tableOf(nested);
    const checkSum = peLayers((await analyse(nested, { shallow: true })).tree)[0]?.layer.pe.checkSumOffset ?? -1;
    const random = randomBytes(4 * 150, 0x5eed);
    for (let i = 0; i < 150; i++) {
      const r = (k: number): number => random[4 * i + k] ?? 0;
      const at = r(0) < 180 ? t.offset + (((r(1) << 8) | r(2)) % t.size) : ((r(1) << 8) | r(2)) % 0x400;
      const changed = nested.slice();
      changed[at] = r(3);
      const report = await verifyImage(changed);
      const { tree } = await analyse(changed, { shallow: true });
      for (const pe of peLayers(tree)) signatureSummary(pe.bytes, pe.layer.pe);
      const harmless = changed[at] === nested[at] || (at >= t.offset && at < t.offset + t.size) || (at >= checkSum && at < checkSum + 4);
      if (report.verdict !== "failed") assert.ok(harmless, `verified with a change at ${at}`);
    }
  });

  it("signatureSummary of signed and unsigned images", async () => {
    const { tree } = await analyse(signed, { shallow: true });
    assert.deepEqual(signatureSummary(signed, peLayers(tree)[0]!.layer.pe), {
      signed: true,
      signatureCount: 1,
      digestAlgorithm: "sha256",
      signerSubject: "CN=kimg test signer, O=kimg",
      problem: null,
    });
    const unsigned = buildArm64Image();
    const u = await analyse(unsigned, { shallow: true });
    assert.deepEqual(signatureSummary(unsigned, peLayers(u.tree)[0]!.layer.pe), {
      signed: false,
      signatureCount: 0,
      digestAlgorithm: null,
      signerSubject: null,
      problem: null,
    });
  });
});

describe("kimg verify and kimg digest", { skip: needs("openssl", "sbsign", "pesign", "gzip") }, () => {
  const main = pathToFileURL(resolve("src/cli/main.ts")).href;
  const script = `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(process.argv.slice(1));`;
  function kimg(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, ...args], { encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  let signed = "";
  let zboot = "";
  let padded: Uint8Array = new Uint8Array(0);
  let image: Uint8Array = new Uint8Array(0);
  before(() => {
    image = sbsign(buildArm64Image());
    signed = file(image);
    const inputs = zbootInputs(image, "v6.4", "gzip");
    padded = inputs.toCompress;
    const payload = compressWith("gzip", padded);
    zboot = file(buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload: concat(payload, inputs.trailer(payload)) }).bytes);
  });

  it("verify --json: exit 0 and the keys scripts rely on", () => {
    const r = kimg("verify", signed, "--cert", path("root.pem"), "--json");
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as VerifyReport;
    assert.equal(report.verified, true);
    const s = only(report.signatures);
    assert.equal(s.digestMatches, true);
    assert.equal(s.signatureValid, true);
    assert.equal(s.chainValid, true);
    assert.equal(s.signer?.subject, "CN=kimg test signer, O=kimg");
  });

  it("verify: exit 5 with the wrong certificate, and when nothing is signed", () => {
    const wrong = kimg("verify", signed, "--cert", path("other.der"));
    assert.equal(wrong.status, 5);
    assert.match(wrong.stdout, /does NOT reach a given certificate/);
    assert.match(wrong.stdout, /^verified: no - 1 of 1 signature failed$/m);
    const unsigned = kimg("verify", file(buildArm64Image()));
    assert.equal(unsigned.status, 5);
    // Said once, in the verdict line.
    assert.equal(unsigned.stdout.match(/not signed/g)?.length, 2, unsigned.stdout); // the layer line and the verdict
    assert.match(unsigned.stdout, /^verified: no - not signed$/m);
  });

  it("verify without --cert: an intact signature from an unchecked signer is not verified (exit 5) unless --integrity-only", () => {
    const plain = kimg("verify", signed);
    assert.equal(plain.status, 5);
    assert.match(plain.stdout, /INTACT \(trust not checked\)/);
    assert.match(plain.stdout, /^verified: no - 1 signature intact .*give --cert to check the chain/m);
    const integrity = kimg("verify", signed, "--integrity-only");
    assert.equal(integrity.status, 0, integrity.stderr);
    assert.match(integrity.stdout, /^integrity: intact - /m);
    assert.doesNotMatch(integrity.stdout, /verified: yes/);
    assert.equal(kimg("verify", signed, "--integrity-only", "--cert", path("root.pem")).status, 2);
  });

  it("digest: one hex line, the outermost PE layer by default, --layer and --alg for others", () => {
    assert.equal(kimg("digest", signed).stdout, `${pesignHash(image)}\n`);
    assert.equal(kimg("digest", signed, "--alg", "sha1").stdout, `${pesignHash(image, "sha1")}\n`);
    const outer = new Uint8Array(readFileSync(zboot));
    assert.equal(kimg("digest", zboot).stdout, `${pesignHash(outer)}\n`);
    assert.equal(kimg("digest", zboot, "--layer", "/payload/decompressed/pe").stdout, `${pesignHash(image)}\n`);
    assert.equal(kimg("digest", zboot, "--layer", "/payload/decompressed", "--no-trim").stdout, `${pesignHash(padded)}\n`);
    assert.equal(kimg("digest", zboot, "--all").stdout, `${pesignHash(outer)}  /pe\n${pesignHash(image)}  /payload/decompressed/pe\n`);
    const bad = kimg("digest", signed, "--alg", "md5");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /E_USAGE/);
  });
});
