/**
 * FIT verification (`kimg verify`) against FITs signed by the real `mkimage -f x.its -k keydir
 * -K control.dtb -r` (Debian u-boot-tools 2023.01): image signatures (RSA 2048 PKCS#1 v1.5,
 * RSA 4096 PKCS#1 v1.5 and PSS), configuration signatures (RSA 2048 PSS, RSA 3072 PSS, ECDSA
 * P-256) over the regions U-Boot
 * computes, every hash node (sha256, md5, crc32), keys from the control DTB mkimage wrote and
 * from PEM/DER files; a copy with one byte changed in the kernel data, one in a hashed property
 * and one in a signature value each fail with their reason.
 *
 * What the Debian tools do not offer, and how the test does without:
 * - `fit_check_sign` is not shipped by Debian's u-boot-tools (`dpkg -L u-boot-tools` lists
 *   dumpimage, mkimage, mkenvimage, mkeficapsule, kwboot, mksunxiboot), so the reference is
 *   mkimage's own signing: a signature it made must verify, a changed byte must not.
 * - mkimage 2023.01 signs ECDSA on prime256v1 only (its crypto_algos have no ecdsa384), so the
 *   P-384 signature is made by `openssl dgst -sha384 -sign` over the image data and put in the
 *   .its as the node's `value` (mkimage without -k keeps it), and its control DTB written by dtc.
 * - mkimage 2023.01 fails ("Could not create 'ec256' node: FDT_ERR_EXISTS") when it must grow
 *   the FIT and retry after writing an ECDSA key to the control DTB, so the ECDSA configuration
 *   signature comes after the RSA one, and the control DTB is made with room (dtc -p).
 *
 * Cost: the keys are made once per run (RSA 4096 generation takes one to a few seconds).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { verifyImage } from "../src/api/verify.js";
import { findNode, parseFdt } from "../src/io/fdt.js";
import { serializeFdt, stringValue } from "../src/kexec/fdt.js";
import type { FdtNode } from "../src/io/fdt.js";
import { FIT_MAX_SIGNATURE_NODES } from "../src/io/limits.js";
import type { FitSignatureVerdict, FitVerifyReport } from "../src/model/fit-verify.js";
import type { VerifyReport } from "../src/signatures/types.js";
import { analyse } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

const skip = needs("mkimage", "dtc", "openssl");

const BOARD_DTS = `/dts-v1/;
/ {
	model = "kimg signed board";
	compatible = "kimg,signed-board";
};
`;

/** The signed FIT: kernel-1 and fdt-1 signed twice (RSA 2048 and 4096, PKCS#1 v1.5 and PSS), conf-1 twice (RSA 3072 PSS first, ECDSA P-256 last). */
const SIGNED_ITS = `/dts-v1/;
/ {
	description = "kimg signed FIT";
	#address-cells = <1>;
	images {
		kernel-1 {
			description = "kernel";
			data = /incbin/("kernel.bin");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x40080000>; entry = <0x40080000>;
			hash-1 { algo = "sha256"; };
			signature-1 { algo = "sha256,rsa2048"; key-name-hint = "r2k"; };
			signature-2 { algo = "sha512,rsa4096"; key-name-hint = "r4k"; padding = "pss"; };
		};
		fdt-1 {
			data = /incbin/("board.dtb");
			type = "flat_dt"; arch = "arm64"; compression = "none";
			hash-1 { algo = "md5"; };
			hash-2 { algo = "crc32"; };
			signature-1 { algo = "sha384,rsa2048"; key-name-hint = "r2k"; };
			signature-2 { algo = "sha256,rsa4096"; key-name-hint = "r4k"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 {
			kernel = "kernel-1"; fdt = "fdt-1";
			signature-1 { algo = "sha256,rsa3072"; key-name-hint = "r3k"; padding = "pss"; sign-images = "kernel", "fdt"; };
			signature-2 { algo = "sha256,ecdsa256"; key-name-hint = "ec256"; sign-images = "kernel", "fdt"; };
		};
	};
};
`;

/** Signed with r2k only: no configuration signature, fdt-1 unsigned; checked against the control DTB whose keys are required. */
const PARTLY_SIGNED_ITS = `/dts-v1/;
/ {
	description = "kimg partly signed FIT";
	#address-cells = <1>;
	images {
		kernel-1 {
			data = /incbin/("kernel.bin");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x40080000>; entry = <0x40080000>;
			hash-1 { algo = "sha256"; };
			signature-1 { algo = "sha256,rsa2048"; key-name-hint = "r2k"; };
		};
		fdt-1 {
			data = /incbin/("board.dtb");
			type = "flat_dt"; arch = "arm64"; compression = "none";
			hash-1 { algo = "sha1"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 { kernel = "kernel-1"; fdt = "fdt-1"; };
	};
};
`;

/** conf-1 boots a ramdisk its signature does not sign (sign-images = kernel, fdt): U-Boot 2023.01 verifies hashed-nodes, v2026.04+ would hash the ramdisk too. */
const LOOSE_ITS = `/dts-v1/;
/ {
	description = "kimg FIT with an unsigned ramdisk";
	#address-cells = <1>;
	images {
		kernel-1 {
			data = /incbin/("kernel.bin");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x40080000>; entry = <0x40080000>;
			hash-1 { algo = "sha256"; };
		};
		fdt-1 {
			data = /incbin/("board.dtb");
			type = "flat_dt"; arch = "arm64"; compression = "none";
			hash-1 { algo = "sha256"; };
		};
		ramdisk-1 {
			data = /incbin/("board.dts");
			type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none";
			hash-1 { algo = "sha1"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 {
			kernel = "kernel-1"; fdt = "fdt-1"; ramdisk = "ramdisk-1";
			signature-1 { algo = "sha256,rsa2048"; key-name-hint = "r2k"; padding = "pss"; sign-images = "kernel", "fdt"; };
		};
	};
};
`;

let dir = "";
const files = {} as Record<"signed" | "external" | "partly" | "loose" | "p384" | "control" | "p384Control", Uint8Array>;

function run(command: string, args: string[], cwd = dir): void {
  execFileSync(command, args, { cwd, stdio: "pipe" });
}

function read(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, name)));
}

/** An ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) as U-Boot's r || s, each `size` bytes. */
function rawEcdsa(der: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(2 * size);
  let at = 2;
  for (let i = 0; i < 2; i++) {
    assert.equal(der[at], 0x02);
    const length = der[at + 1] ?? 0;
    const value = der.subarray(at + 2, at + 2 + length);
    const trimmed = value[0] === 0 ? value.subarray(1) : value;
    out.set(trimmed, (i + 1) * size - trimmed.length);
    at += 2 + length;
  }
  return out;
}

const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

function fitOf(report: VerifyReport): FitVerifyReport {
  assert.ok(report.fit, "the report has a FIT part");
  return report.fit;
}

function signature(report: VerifyReport, path: string): FitSignatureVerdict {
  const found = fitOf(report).fits[0]?.signatures.find((s) => s.path === path);
  assert.ok(found, path);
  return found;
}

/** Every signature as [path, status, key or code]. */
function verdicts(report: VerifyReport): Array<[string, string, string | null]> {
  return (fitOf(report).fits[0]?.signatures ?? []).map((s) => [s.path, s.status, s.status === "verified" ? s.key : s.code]);
}

const ALL_VERIFIED: Array<[string, string, string | null]> = [
  ["/images/kernel-1/signature-1", "verified", "key-r2k"],
  ["/images/kernel-1/signature-2", "verified", "key-r4k"],
  ["/images/fdt-1/signature-1", "verified", "key-r2k"],
  ["/images/fdt-1/signature-2", "verified", "key-r4k"],
  ["/configurations/conf-1/signature-1", "verified", "key-r3k"],
  ["/configurations/conf-1/signature-2", "verified", "ec256"],
];

function changed(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = (copy[offset] ?? 0) ^ 0x01;
  return copy;
}

describe("FIT verification against mkimage's signatures", { skip }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "kimg-fitsig-"));
    run("mkdir", ["keys", "other"]);
    for (const [name, bits] of [
      ["r2k", 2048],
      ["r3k", 3072],
      ["r4k", 4096],
    ] as const) {
      run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`, "-out", `keys/${name}.key`]);
      run("openssl", ["req", "-batch", "-new", "-x509", "-key", `keys/${name}.key`, "-out", `keys/${name}.crt`, "-subj", `/CN=kimg test ${name}`]);
    }
    // mkimage 2023.01 reads an ECDSA key from <keydir>/<hint>.pem (lib/ecdsa/ecdsa-libcrypto.c); without it, it leaves the node unsigned and exits 0.
    run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "keys/ec256.pem"]);
    run("openssl", ["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "keys/ec384.key"]);
    // Another RSA 2048 key that goes by the name r2k: the wrong key.
    run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "other/r2k.key"]);
    run("openssl", ["pkey", "-in", "other/r2k.key", "-pubout", "-out", "other/r2k.pem"]);
    run("openssl", ["pkey", "-in", "keys/r4k.key", "-pubout", "-outform", "DER", "-out", "r4k.der"]);
    run("openssl", ["pkey", "-in", "keys/ec256.pem", "-pubout", "-out", "ec256.pem"]);
    run("openssl", ["pkey", "-in", "keys/ec384.key", "-pubout", "-out", "ec384.pem"]);

    const kernel = Uint8Array.from({ length: 5000 }, (_, i) => (i * 151 + (i >> 7)) & 0xff);
    writeFileSync(join(dir, "kernel.bin"), kernel);
    writeFileSync(join(dir, "board.dts"), BOARD_DTS);
    run("dtc", ["-O", "dtb", "-o", "board.dtb", "board.dts"]);
    writeFileSync(join(dir, "signed.its"), SIGNED_ITS);
    writeFileSync(join(dir, "partly.its"), PARTLY_SIGNED_ITS);
    // The control DTB mkimage -K fills, with room for the keys (see the header).
    run("dtc", ["-p", "16384", "-O", "dtb", "-o", "control.dtb", "board.dts"]);
    run("mkimage", ["-f", "signed.its", "-k", "keys", "-K", "control.dtb", "-r", "signed.itb"]);
    run("dtc", ["-p", "16384", "-O", "dtb", "-o", "control-e.dtb", "board.dts"]);
    run("mkimage", ["-E", "-f", "signed.its", "-k", "keys", "-K", "control-e.dtb", "-r", "external.itb"]);
    run("mkimage", ["-f", "partly.its", "-k", "keys", "partly.itb"]);
    writeFileSync(join(dir, "loose.its"), LOOSE_ITS);
    run("mkimage", ["-f", "loose.its", "-k", "keys", "loose.itb"]);

    // P-384: openssl signs the image data, the .its carries the value, dtc writes the key node.
    run("openssl", ["dgst", "-sha384", "-sign", "keys/ec384.key", "-out", "ec384.sig", "kernel.bin"]);
    const raw = rawEcdsa(read("ec384.sig"), 48);
    const p384Its = SIGNED_ITS.replace(/\t\t\tsignature-[12] \{[^\n]*\n/g, "").replace(
      '\t\t\thash-1 { algo = "sha256"; };',
      `\t\t\thash-1 { algo = "sha256"; };\n\t\t\tsignature-1 { algo = "sha384,ecdsa384"; key-name-hint = "ec384"; value = [${hexOf(raw)}]; };`,
    );
    writeFileSync(join(dir, "p384.its"), p384Its);
    run("mkimage", ["-f", "p384.its", "p384.itb"]);
    const spki = new Uint8Array(execFileSync("openssl", ["pkey", "-pubin", "-in", join(dir, "ec384.pem"), "-outform", "DER"]));
    const point = spki.subarray(spki.length - 97);
    assert.equal(point[0], 0x04, "an uncompressed point");
    writeFileSync(
      join(dir, "p384-control.dts"),
      `/dts-v1/;\n/ { signature { key-ec384 { algo = "sha384,ecdsa384"; key-name-hint = "ec384"; ecdsa,curve = "secp384r1"; ecdsa,x-point = [${hexOf(point.subarray(1, 49))}]; ecdsa,y-point = [${hexOf(point.subarray(49))}]; }; }; };\n`,
    );
    run("dtc", ["-O", "dtb", "-o", "p384-control.dtb", "p384-control.dts"]);

    files.signed = read("signed.itb");
    files.external = read("external.itb");
    files.partly = read("partly.itb");
    files.loose = read("loose.itb");
    files.p384 = read("p384.itb");
    files.control = read("control.dtb");
    files.p384Control = read("p384-control.dtb");
  });
  after(() => {
    if (dir && !process.env.KIMG_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  it("verifies every signature and hash mkimage made, with the control DTB it wrote (embedded and external data)", async () => {
    for (const bytes of [files.signed, files.external]) {
      const report = await verifyImage(bytes, { trustedCertificates: [files.control], trustedCertificateNames: ["control.dtb"] });
      assert.equal(report.verdict, "verified", report.verdictLine);
      assert.equal(report.accepted, true);
      assert.deepEqual(verdicts(report), ALL_VERIFIED);
      const fit = fitOf(report);
      assert.deepEqual(
        fit.fits[0]?.hashes.map((h) => [h.path, h.algo, h.status, h.computed === h.value]),
        [
          ["/images/kernel-1/hash-1", "sha256", "ok", true],
          ["/images/fdt-1/hash-1", "md5", "ok", true],
          ["/images/fdt-1/hash-2", "crc32", "ok", true],
        ],
      );
      // The keys as mkimage -K -r wrote them: RSA nodes key-<hint> with required, the ECDSA node named by its hint.
      assert.deepEqual(fit.keys.map((k) => [k.name, k.key, k.required, k.requirementMet]).sort(), [
        ["ec256", "EC P-256", null, null],
        ["key-r2k", "RSA 2048", "image", true],
        ["key-r3k", "RSA 3072", "conf", true],
        ["key-r4k", "RSA 4096", "image", true],
      ]);
      assert.deepEqual(
        report.diagnostics.filter((d) => d.severity !== "info"),
        [],
      );
      // The node's fields as mkimage wrote them.
      const pss = signature(report, "/images/kernel-1/signature-2");
      assert.deepEqual([pss.algo, pss.padding, pss.keyNameHint, pss.valueLength, pss.signedBytes], ["sha512,rsa4096", "pss", "r4k", 512, 5000]);
      const conf = signature(report, "/configurations/conf-1/signature-2");
      assert.deepEqual([conf.algo, conf.padding, conf.valueLength], ["sha256,ecdsa256", null, 64]);
      // The value offset points at the value: the same bytes the tree holds.
      const node = findNode(parseFdt(bytes, { maxBytes: bytes.length }), "/configurations/conf-1/signature-2");
      const value = node?.properties.find((p) => p.name === "value");
      assert.equal(conf.valueOffset, value?.offset);
      // The last region is the strings block as far as hashed-strings says.
      const strings = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12);
      assert.equal(conf.regions.at(-1)?.[0], strings);
    }
  });

  it("reads the signature nodes into the inspect report, with their offsets", async () => {
    const { report } = await analyse(files.signed);
    const configurations = report.root.info.configurations as Array<{ signatures: Array<Record<string, unknown>> }>;
    const s = configurations[0]?.signatures[0];
    assert.deepEqual(
      [s?.node, s?.algo, s?.padding, s?.keyNameHint, s?.signerName, s?.valueLength],
      ["signature-1", "sha256,rsa3072", "pss", "r3k", "mkimage", 384],
    );
    assert.deepEqual(s?.hashedNodes, [
      "/",
      "/configurations/conf-1",
      "/images/kernel-1",
      "/images/kernel-1/hash-1",
      "/images/fdt-1",
      "/images/fdt-1/hash-1",
      "/images/fdt-1/hash-2",
    ]);
    assert.equal(typeof s?.signerVersion, "string");
    const images = report.root.info.images as Array<{ signatures: Array<Record<string, unknown>> }>;
    assert.deepEqual(
      images[0]?.signatures.map((x) => [x.node, x.algo, x.padding]),
      [
        ["signature-1", "sha256,rsa2048", "pkcs-1.5"],
        ["signature-2", "sha512,rsa4096", "pss"],
      ],
    );
    assert.ok(report.root.structures.some((st) => st.name === "FIT /configurations/conf-1/signature-2"));
  });

  it("fails a copy with one byte changed in the kernel data: its hash and both image signatures, not the configuration's", async () => {
    const { report: inspected } = await analyse(files.signed);
    const kernelAt = Number((inspected.root.info.images as Array<{ dataOffset: number }>)[0]?.dataOffset);
    const report = await verifyImage(changed(files.signed, kernelAt + 1234), { trustedCertificates: [files.control] });
    assert.equal(report.verdict, "failed");
    assert.equal(report.accepted, false);
    assert.deepEqual(verdicts(report), [
      ["/images/kernel-1/signature-1", "failed", "FIT_SIGNATURE_INVALID"],
      ["/images/kernel-1/signature-2", "failed", "FIT_SIGNATURE_INVALID"],
      ["/images/fdt-1/signature-1", "verified", "key-r2k"],
      ["/images/fdt-1/signature-2", "verified", "key-r4k"],
      // The configuration signature covers the hash node, not the data (fit_config_check_sig leaves `data` out).
      ["/configurations/conf-1/signature-1", "verified", "key-r3k"],
      ["/configurations/conf-1/signature-2", "verified", "ec256"],
    ]);
    assert.deepEqual(
      fitOf(report).fits[0]?.hashes.map((h) => [h.path, h.status, h.code]),
      [
        ["/images/kernel-1/hash-1", "failed", "FIT_HASH_MISMATCH"],
        ["/images/fdt-1/hash-1", "ok", null],
        ["/images/fdt-1/hash-2", "ok", null],
      ],
    );
    assert.match(report.verdictLine, /^verified: no - FIT: 2 of 6 signatures failed, 1 of 3 hash nodes failed/);
  });

  it("fails a copy with one byte changed in a hashed property (the kernel's load address): the configuration signatures", async () => {
    const { report: inspected } = await analyse(files.signed);
    const load = inspected.root.structures.find((s) => s.name === "FIT /images/kernel-1")?.fields.find((f) => f.name === "load");
    assert.ok(load);
    const report = await verifyImage(changed(files.signed, load.offset + 3), { trustedCertificates: [files.control] });
    assert.equal(report.verdict, "failed");
    assert.deepEqual(verdicts(report), [
      ["/images/kernel-1/signature-1", "verified", "key-r2k"],
      ["/images/kernel-1/signature-2", "verified", "key-r4k"],
      ["/images/fdt-1/signature-1", "verified", "key-r2k"],
      ["/images/fdt-1/signature-2", "verified", "key-r4k"],
      ["/configurations/conf-1/signature-1", "failed", "FIT_SIGNATURE_INVALID"],
      ["/configurations/conf-1/signature-2", "failed", "FIT_SIGNATURE_INVALID"],
    ]);
    assert.match(signature(report, "/configurations/conf-1/signature-1").reasons[0] ?? "", /^key-r3k: the PSS hash does not match/);
    // The required conf key verified nothing now: U-Boot refuses to boot conf-1.
    assert.ok(report.diagnostics.some((d) => d.code === "FIT_REQUIRED_KEY_UNUSED" && /conf-1/.test(d.message)));
    assert.ok(fitOf(report).fits[0]?.hashes.every((h) => h.status === "ok"));
  });

  it("fails a copy with one byte changed in a signature value: that signature only", async () => {
    const valueAt = signature(await verifyImage(files.signed, { trustedCertificates: [files.control] }), "/images/kernel-1/signature-1").valueOffset;
    assert.ok(valueAt !== null);
    const report = await verifyImage(changed(files.signed, valueAt + 17), { trustedCertificates: [files.control] });
    assert.equal(report.verdict, "failed");
    assert.deepEqual(verdicts(report)[0], ["/images/kernel-1/signature-1", "failed", "FIT_SIGNATURE_INVALID"]);
    assert.deepEqual(verdicts(report).slice(1), ALL_VERIFIED.slice(1));
    assert.match(signature(report, "/images/kernel-1/signature-1").reasons[0] ?? "", /^key-r2k: the PKCS#1 v1\.5 signature does not match/);
  });

  it("reports absurd signature lengths as failed verifications with FIT_SIGNATURE_BAD_LENGTH, never an exception", async () => {
    for (const length of [0, 3, 255, 257, 1 << 20]) {
      const fdt = parseFdt(files.signed, { maxBytes: files.signed.length });
      const node = findNode(fdt, "/images/kernel-1/signature-1");
      const value = node?.properties.find((p) => p.name === "value");
      assert.ok(value);
      value.value = new Uint8Array(length).fill(0xa5);
      const report = await verifyImage(serializeFdt(fdt), { trustedCertificates: [files.control] });
      const s = signature(report, "/images/kernel-1/signature-1");
      assert.deepEqual([s.status, s.code, s.valueLength], ["failed", "FIT_SIGNATURE_BAD_LENGTH", length], String(length));
      assert.equal(report.verdict, "failed");
      // The other image signatures still verify: their data did not move relative to their nodes.
      assert.equal(signature(report, "/images/kernel-1/signature-2").status, "verified");
    }
  });

  it("says what it could not check without a key, and accepts matching hashes only with --integrity-only", async () => {
    const report = await verifyImage(files.signed);
    assert.equal(report.verdict, "intact");
    assert.equal(report.accepted, false);
    assert.ok(verdicts(report).every(([, status, code]) => status === "no-key" && code === "FIT_SIGNATURE_NO_KEY"));
    assert.match(report.verdictLine, /^verified: no - FIT: 3 hash nodes match, 6 signatures not checked: give --cert/);
    const relaxed = await verifyImage(files.signed, { integrityOnly: true });
    assert.equal(relaxed.accepted, true);
    assert.equal(relaxed.verified, false);
  });

  it("takes PEM certificates and DER public keys, named as mkimage's keydir names them, and refuses a wrong key", async () => {
    const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
    const report = await verifyImage(files.signed, {
      trustedCertificates: [read("keys/r2k.crt"), read("r4k.der"), read("ec256.pem")],
      trustedCertificateNames: [join(dir, "keys/r2k.crt"), join(dir, "r4k.der"), join(dir, "ec256.pem")],
    });
    assert.equal(report.verdict, "verified", report.verdictLine);
    assert.deepEqual(
      verdicts(report).map(([path, status, key]) => [path, status, key?.replace(dir, "")]),
      [
        ["/images/kernel-1/signature-1", "verified", "/keys/r2k.crt"],
        ["/images/kernel-1/signature-2", "verified", "/r4k.der"],
        ["/images/fdt-1/signature-1", "verified", "/keys/r2k.crt"],
        ["/images/fdt-1/signature-2", "verified", "/r4k.der"],
        // r3k was not given: not checked, not failed.
        ["/configurations/conf-1/signature-1", "no-key", "FIT_SIGNATURE_NO_KEY"],
        ["/configurations/conf-1/signature-2", "verified", "/ec256.pem"],
      ],
    );
    const wrong = await verifyImage(files.signed, { trustedCertificates: [read("other/r2k.pem")], trustedCertificateNames: ["other/r2k.pem"] });
    assert.equal(wrong.verdict, "failed");
    assert.deepEqual(verdicts(wrong)[0], ["/images/kernel-1/signature-1", "failed", "FIT_SIGNATURE_INVALID"]);
  });

  it("verifies an ECDSA P-384 signature (openssl's, r || s) with the key from a control DTB or a PEM", async () => {
    for (const [key, name] of [
      [files.p384Control, "p384-control.dtb"],
      [new Uint8Array(readFileSync(join(dir, "ec384.pem"))), "ec384.pem"],
    ] as const) {
      const report = await verifyImage(files.p384, { trustedCertificates: [key], trustedCertificateNames: [name] });
      assert.equal(report.verdict, "verified", report.verdictLine);
      assert.deepEqual(verdicts(report), [["/images/kernel-1/signature-1", "verified", name === "ec384.pem" ? name : "key-ec384"]]);
    }
    const { report: inspected } = await analyse(files.p384);
    const kernelAt = Number((inspected.root.info.images as Array<{ dataOffset: number }>)[0]?.dataOffset);
    const bad = await verifyImage(changed(files.p384, kernelAt + 7), { trustedCertificates: [files.p384Control] });
    assert.deepEqual(verdicts(bad), [["/images/kernel-1/signature-1", "failed", "FIT_SIGNATURE_INVALID"]]);
  });

  it("fails when keys the control DTB marks required verified nothing they must, as U-Boot refuses", async () => {
    const report = await verifyImage(files.partly, { trustedCertificates: [files.control] });
    assert.equal(report.verdict, "failed");
    assert.deepEqual(verdicts(report), [["/images/kernel-1/signature-1", "verified", "key-r2k"]]);
    const keys = Object.fromEntries(fitOf(report).keys.map((k) => [k.name, k.requirementMet]));
    assert.deepEqual(keys, { ec256: null, "key-r2k": false, "key-r3k": false, "key-r4k": false });
    const messages = report.diagnostics.filter((d) => d.code === "FIT_REQUIRED_KEY_UNUSED").map((d) => d.message);
    assert.equal(messages.length, 3, messages.join("\n"));
    assert.ok(messages.some((m) => /key-r4k is marked required for images/.test(m)));
    assert.ok(messages.some((m) => /fdt-1 carry no signature that verifies/.test(m)));
    assert.ok(messages.some((m) => /configuration conf-1: .*key-r3k/.test(m)));
  });

  it("verifies a configuration signature over hashed-nodes as mkimage wrote them, and warns when newer U-Boot would hash other nodes", async () => {
    const crt = new Uint8Array(readFileSync(join(dir, "keys/r2k.crt")));
    const report = await verifyImage(files.loose, { trustedCertificates: [crt], trustedCertificateNames: ["r2k.crt"] });
    assert.equal(report.verdict, "verified", report.verdictLine);
    assert.deepEqual(verdicts(report), [["/configurations/conf-1/signature-1", "verified", "r2k.crt"]]);
    const warnings = report.diagnostics.filter((d) => d.code === "FIT_HASHED_NODES_DIFFER");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.message ?? "", /\/images\/ramdisk-1, \/images\/ramdisk-1\/hash-1/);
    assert.equal(warnings[0]?.severity, "warning");
  });

  it("kimg verify prints the verdict per node and exits 0, or 5 when anything fails", () => {
    const kimg = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8" });
    const ok = kimg("verify", join(dir, "signed.itb"), "--cert", join(dir, "control.dtb"));
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /signature \/images\/kernel-1\/signature-2: VERIFIED with key-r4k/);
    assert.match(ok.stdout, /hash \/images\/fdt-1\/hash-1: md5 [0-9a-f]{32} at 0x[0-9a-f]+: OK/);
    assert.match(ok.stdout, /verified: yes - FIT: 6 of 6 signatures verified/);
    const bad = kimg("verify", join(dir, "partly.itb"), "--cert", join(dir, "control.dtb"), "--json");
    assert.equal(bad.status, 5, bad.stderr);
    const json = JSON.parse(bad.stdout) as VerifyReport;
    assert.equal(json.verdict, "failed");
    assert.ok(json.fit?.keys.some((k) => k.name === "key-r4k" && k.requirementMet === false));
  });
});

/** A FIT made in memory (kexec's serialiser): one image, one configuration, with the signature nodes given. */
function hostileFit(imageSignatures: FdtNode[], configSignatures: FdtNode[]): Uint8Array {
  const u32 = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const kernel: FdtNode = {
    name: "kernel-1",
    properties: [
      { name: "type", value: stringValue("kernel") },
      { name: "data", value: new Uint8Array(64).fill(7) },
    ],
    children: imageSignatures,
  };
  const conf: FdtNode = { name: "conf-1", properties: [{ name: "kernel", value: stringValue("kernel-1") }], children: configSignatures };
  const root: FdtNode = {
    name: "",
    properties: [{ name: "timestamp", value: u32(0) }],
    children: [
      { name: "images", properties: [], children: [kernel] },
      { name: "configurations", properties: [{ name: "default", value: stringValue("conf-1") }], children: [conf] },
    ],
  };
  return serializeFdt({ bootCpuidPhys: 0, reservations: [], root });
}

function signatureNode(name: string, algo: string, valueLength: number, extra: FdtNode["properties"] = []): FdtNode {
  return {
    name,
    properties: [{ name: "algo", value: stringValue(algo) }, { name: "value", value: new Uint8Array(valueLength).fill(0x5a) }, ...extra],
    children: [],
  };
}

describe("FIT verification of hostile signature nodes", () => {
  it("fails unknown algorithms, absurd lengths and bad regions with their codes, never an exception", async () => {
    const list = (...items: string[]): Uint8Array => new TextEncoder().encode(items.map((i) => `${i}\0`).join(""));
    const strings = (size: number): Uint8Array => Uint8Array.of(0, 0, 0, 0, size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff);
    const bytes = hostileFit(
      [
        signatureNode("signature-1", "sha256,rsa1024", 128),
        signatureNode("signature-2", "sha256,ecdsa256", 65),
        signatureNode("signature-3", "md5,rsa2048", 256),
      ],
      [
        signatureNode("signature-1", "sha256,rsa2048", 256, [{ name: "hashed-nodes", value: list("/", "/images/kernel-1") }]),
        signatureNode("signature-2", "sha256,rsa2048", 256, [
          { name: "hashed-nodes", value: list("/", "/configurations/conf-1") },
          { name: "hashed-strings", value: strings(0x7fffffff) },
        ]),
        signatureNode("signature-3", "sha256,rsa2048", 256),
        signatureNode("signature-4", "sha256,rsa2048", 256, [{ name: "hashed-nodes", value: list("/", "/configurations/conf-1") }]),
      ],
    );
    const report = await verifyImage(bytes);
    assert.deepEqual(verdicts(report), [
      ["/images/kernel-1/signature-1", "failed", "FIT_SIGNATURE_UNKNOWN_ALGO"],
      ["/images/kernel-1/signature-2", "failed", "FIT_SIGNATURE_BAD_LENGTH"],
      ["/images/kernel-1/signature-3", "failed", "FIT_SIGNATURE_UNKNOWN_ALGO"],
      ["/configurations/conf-1/signature-1", "failed", "FIT_SIGNATURE_REGIONS"],
      ["/configurations/conf-1/signature-2", "failed", "FIT_SIGNATURE_REGIONS"],
      ["/configurations/conf-1/signature-3", "failed", "FIT_SIGNATURE_REGIONS"],
      // Well-formed, but no key given: the regions are computed, nothing is judged.
      ["/configurations/conf-1/signature-4", "no-key", "FIT_SIGNATURE_NO_KEY"],
    ]);
    assert.match(signature(report, "/configurations/conf-1/signature-1").reasons[0] ?? "", /Selected config not in hashed nodes/);
    assert.match(signature(report, "/configurations/conf-1/signature-2").reasons[0] ?? "", /Strings region is out of bounds/);
    assert.ok(signature(report, "/configurations/conf-1/signature-4").regions.length > 0);
    assert.equal(report.verdict, "failed");
  });

  it("verifies at most FIT_MAX_SIGNATURE_NODES signature nodes and says so", async () => {
    const many = Array.from({ length: FIT_MAX_SIGNATURE_NODES + 5 }, (_, i) => signatureNode(`signature-${i + 1}`, "sha256,rsa2048", 256));
    const report = await verifyImage(hostileFit(many, []));
    assert.equal(fitOf(report).fits[0]?.signatures.length, FIT_MAX_SIGNATURE_NODES);
    assert.ok(report.diagnostics.some((d) => d.code === "E_LIMIT"));
    assert.equal(report.verdict, "failed");
  });
});
