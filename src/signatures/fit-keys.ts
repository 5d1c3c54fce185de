/**
 * The public keys a FIT signature is checked against (`kimg verify --cert`):
 * - a U-Boot control DTB as `mkimage -K` writes it (tools/image-host.c, lib/rsa/rsa-sign.c
 *   rsa_add_verify_data, lib/ecdsa/ecdsa-libcrypto.c ecdsa_add_verify_data): every subnode of
 *   /signature, RSA (`rsa,modulus`, `rsa,num-bits`, `rsa,exponent`, `rsa,r-squared`,
 *   `rsa,n0-inverse`) or ECDSA (`ecdsa,curve`, `ecdsa,x-point`, `ecdsa,y-point`), with its
 *   `required` ("image" or "conf") and /signature's `required-mode` ("all" or "any");
 * - a PEM or DER public key (SubjectPublicKeyInfo, or PKCS#1 RSAPublicKey) or X.509 certificate.
 * Every length is checked; an unreadable key node is reported and skipped.
 */
import * as asn1js from "asn1js";
import { Certificate, ECPublicKey, PublicKeyInfo, RSAPublicKey } from "pkijs";
import { FDT_MAGIC, getProperty, parseFdt, stringProperty, u32Property, findNode } from "../io/fdt.js";
import type { FdtNode } from "../io/fdt.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { FitKeyReport } from "../model/fit-verify.js";
import { MAX_CERTIFICATE_FILE_BYTES, nameToString } from "./certificates.js";

/** The curves U-Boot's ECDSA code knows (lib/ecdsa/ecdsa-verify.c ecdsa_key_size), by its name and Web Crypto's. */
export const FIT_CURVES: Readonly<Record<string, { webCrypto: "P-256" | "P-384"; bytes: number }>> = {
  prime256v1: { webCrypto: "P-256", bytes: 32 },
  secp384r1: { webCrypto: "P-384", bytes: 48 },
};

/** U-Boot's RSA_MAX_KEY_BITS (include/u-boot/rsa-mod-exp.h): rsa_verify_key refuses longer signatures. */
export const FIT_RSA_MAX_BITS = 4096;

/** One usable public key. */
export type FitPublicKey = {
  report: FitKeyReport;
} & (
  | { kind: "rsa"; bits: number; modulus: Uint8Array; exponent: bigint }
  | { kind: "ecdsa"; curve: "P-256" | "P-384"; bytes: number; x: Uint8Array; y: Uint8Array }
);

/** What reading the key files gave: the keys, /signature's required-mode, and the key nodes that could not be used. */
export interface FitKeySet {
  keys: FitPublicKey[];
  /** /signature `required-mode` of a control DTB: "any" lets one required configuration key suffice; default "all". */
  requiredMode: "all" | "any";
  problems: string[];
}

function bad(source: string, message: string): never {
  throw new KimgError(ErrorCode.BAD_SIGNATURE, `${source}: ${message}`, { structure: "public key" });
}

/** Big-endian bytes without leading zeros. */
function stripZeros(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

function bitLength(bytes: Uint8Array): number {
  const v = stripZeros(bytes);
  const top = v[0] ?? 0;
  return top === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(top));
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** mkimage's key directory names a key <key-name-hint>.crt / .key: the file's base name without its extension is the hint. */
function fileHint(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/#\d+$/, "").replace(/\.[^.]*$/, "");
}

function baseReport(name: string, hint: string, key: string, source: string): FitKeyReport {
  return { name, hint, key, algo: null, required: null, source, verified: [], requirementMet: null };
}

/** One /signature subnode of a control DTB. */
function keyFromNode(node: FdtNode, source: string): FitPublicKey {
  const where = `${source} /signature/${node.name}`;
  const hint = stringProperty(node, "key-name-hint") ?? node.name.replace(/^key-/, "");
  const requiredText = stringProperty(node, "required");
  const required: FitKeyReport["required"] = requiredText === "image" || requiredText === "conf" ? requiredText : null;
  const algo = stringProperty(node, "algo") ?? null;
  const curveName = stringProperty(node, "ecdsa,curve");
  if (curveName !== undefined) {
    const curve = FIT_CURVES[curveName];
    if (!curve) bad(where, `ecdsa,curve "${curveName}" is not one U-Boot knows (prime256v1, secp384r1)`);
    const x = getProperty(node, "ecdsa,x-point");
    const y = getProperty(node, "ecdsa,y-point");
    if (!x || !y) bad(where, "ecdsa,x-point or ecdsa,y-point is missing");
    if (x.length > curve.bytes || y.length > curve.bytes) bad(where, `the point has ${x.length}+${y.length} bytes, more than ${curve.bytes} per coordinate`);
    const pad = (v: Uint8Array): Uint8Array => {
      const out = new Uint8Array(curve.bytes);
      out.set(v, curve.bytes - v.length);
      return out;
    };
    const report = { ...baseReport(node.name, hint, `EC ${curve.webCrypto}`, where), algo, required };
    return { report, kind: "ecdsa", curve: curve.webCrypto, bytes: curve.bytes, x: pad(x), y: pad(y) };
  }
  const modulus = getProperty(node, "rsa,modulus");
  const bits = u32Property(node, "rsa,num-bits");
  if (!modulus || bits === undefined) bad(where, "neither an ECDSA key (ecdsa,curve) nor an RSA key (rsa,modulus and rsa,num-bits)");
  if (bits === 0 || bits > FIT_RSA_MAX_BITS || bits % 8 !== 0)
    bad(where, `rsa,num-bits is ${bits}: U-Boot verifies keys of 8 to ${FIT_RSA_MAX_BITS} bits, whole bytes`);
  if (modulus.length !== bits / 8 || bitLength(modulus) !== bits)
    bad(where, `rsa,modulus has ${bitLength(modulus)} bits in ${modulus.length} bytes, rsa,num-bits says ${bits}`);
  const exponentBytes = getProperty(node, "rsa,exponent");
  // rsa-verify.c rsa_verify_with_keynode: no rsa,exponent means RSA_DEFAULT_PUBEXP (65537).
  if (exponentBytes !== undefined && exponentBytes.length !== 8) bad(where, `rsa,exponent has ${exponentBytes.length} bytes, not 8`);
  const exponent = exponentBytes ? bytesToBigInt(exponentBytes) : 65537n;
  if (exponent < 3n || exponent % 2n === 0n) bad(where, `rsa,exponent ${exponent} is not an odd number of 3 or more`);
  // rsa_verify_with_keynode also insists on rsa,r-squared (the Montgomery constant it computes with); check it is the right one.
  const rSquared = getProperty(node, "rsa,r-squared");
  if (!rSquared) bad(where, "rsa,r-squared is missing (U-Boot refuses such a key)");
  const n = bytesToBigInt(modulus);
  if (bytesToBigInt(rSquared) !== (1n << BigInt(2 * bits)) % n) bad(where, "rsa,r-squared is not 2^(2*num-bits) mod the modulus: the key node is damaged");
  const report = { ...baseReport(node.name, hint, `RSA ${bits}`, where), algo, required };
  return { report, kind: "rsa", bits, modulus, exponent };
}

/** A SubjectPublicKeyInfo as a key (RSA or EC P-256/P-384). */
function keyFromSpki(spki: PublicKeyInfo, name: string, source: string): FitPublicKey {
  const parsed = spki.parsedKey;
  if (parsed instanceof RSAPublicKey) {
    const modulus = stripZeros(parsed.modulus.valueBlock.valueHexView);
    const bits = bitLength(modulus);
    if (bits === 0 || bits > FIT_RSA_MAX_BITS || bits % 8 !== 0)
      bad(source, `an RSA key of ${bits} bits: U-Boot verifies keys of 8 to ${FIT_RSA_MAX_BITS} bits, whole bytes`);
    const exponent = bytesToBigInt(parsed.publicExponent.valueBlock.valueHexView);
    return { report: baseReport(name, fileHint(name), `RSA ${bits}`, source), kind: "rsa", bits, modulus, exponent };
  }
  if (parsed instanceof ECPublicKey) {
    // pkijs names the curve ("P-256") or gives its OID.
    const oids: Readonly<Record<string, string>> = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384" };
    const curveName = oids[parsed.namedCurve] ?? parsed.namedCurve;
    const entry = Object.values(FIT_CURVES).find((c) => c.webCrypto === curveName);
    if (!entry) bad(source, `an EC key on curve ${parsed.namedCurve}, not P-256 or P-384`);
    const x = new Uint8Array(parsed.x);
    const y = new Uint8Array(parsed.y);
    return { report: baseReport(name, fileHint(name), `EC ${entry.webCrypto}`, source), kind: "ecdsa", curve: entry.webCrypto, bytes: entry.bytes, x, y };
  }
  bad(source, `a ${spki.algorithm.algorithmId} key, neither RSA nor EC`);
}

function fromDer(der: Uint8Array, label: string | null, name: string, source: string): FitPublicKey {
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1 || asn.result.error) bad(source, `not DER (${asn.result.error || "unreadable"})`);
  const attempts: Array<[string, () => FitPublicKey]> = [
    [
      "CERTIFICATE",
      () => {
        const cert = new Certificate({ schema: asn.result });
        const subject = nameToString(cert.subject);
        return keyFromSpki(cert.subjectPublicKeyInfo, name, `${source}: certificate ${subject}`);
      },
    ],
    ["PUBLIC KEY", () => keyFromSpki(new PublicKeyInfo({ schema: asn.result }), name, `${source}: public key`)],
    [
      "RSA PUBLIC KEY",
      () => {
        const rsa = new RSAPublicKey({ schema: asn.result });
        const modulus = stripZeros(rsa.modulus.valueBlock.valueHexView);
        const bits = bitLength(modulus);
        if (bits === 0 || bits > FIT_RSA_MAX_BITS || bits % 8 !== 0) bad(source, `an RSA key of ${bits} bits`);
        return {
          report: baseReport(name, fileHint(name), `RSA ${bits}`, `${source}: RSA public key`),
          kind: "rsa",
          bits,
          modulus,
          exponent: bytesToBigInt(rsa.publicExponent.valueBlock.valueHexView),
        };
      },
    ],
  ];
  const problems: string[] = [];
  for (const [kind, attempt] of attempts) {
    if (label !== null && label !== kind && !(label.endsWith("CERTIFICATE") && kind === "CERTIFICATE")) continue;
    try {
      return attempt();
    } catch (error) {
      if (error instanceof KimgError) throw error;
      problems.push(`${kind.toLowerCase()}: ${(error as Error).message}`);
    }
  }
  bad(source, `no certificate or public key in it (${problems.join("; ")})`);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text.replace(/\s+/g, ""));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** True when `data` is a device tree (a control DTB): its magic. */
export function isDeviceTree(data: Uint8Array): boolean {
  return data.length >= 4 && new DataView(data.buffer, data.byteOffset, 4).getUint32(0) === FDT_MAGIC;
}

/**
 * Reads the keys of one `--cert` file. Throws a KimgError naming `source` when the file holds no
 * usable key (a control DTB without /signature, a private key, a PEM without a public key).
 */
export function readFitKeys(data: Uint8Array, source: string): FitKeySet {
  if (data.length > MAX_CERTIFICATE_FILE_BYTES) bad(source, `${data.length} bytes is more than a key file may hold (${MAX_CERTIFICATE_FILE_BYTES})`);
  if (isDeviceTree(data)) {
    let signature: FdtNode | undefined;
    try {
      signature = findNode(parseFdt(data, { maxBytes: data.length }), "/signature");
    } catch (error) {
      bad(source, `a device tree that cannot be read: ${(error as Error).message}`);
    }
    if (!signature || signature.children.length === 0) bad(source, "a device tree without /signature key nodes (write one with mkimage -K)");
    const keys: FitPublicKey[] = [];
    const problems: string[] = [];
    for (const node of signature.children) {
      try {
        keys.push(keyFromNode(node, `control DTB ${source}`));
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    if (keys.length === 0) bad(source, `no usable key node under /signature: ${problems.join("; ")}`);
    return { keys, requiredMode: stringProperty(signature, "required-mode") === "any" ? "any" : "all", problems };
  }
  if (data[0] === 0x30) return { keys: [fromDer(data, null, source, source)], requiredMode: "all", problems: [] };
  const text = new TextDecoder("latin1").decode(data);
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*?)-----END \1-----/g)];
  const keys: FitPublicKey[] = [];
  for (const [i, m] of blocks.entries()) {
    const label = m[1] ?? "";
    if (label.includes("PRIVATE KEY")) bad(source, `block ${i + 1} is a ${label}: give the public key or the certificate, never the private key`);
    if (!/PUBLIC KEY$|CERTIFICATE$/.test(label)) continue;
    let der: Uint8Array;
    try {
      der = base64ToBytes(m[2] ?? "");
    } catch {
      bad(source, `block ${i + 1} (${label}) is not valid base64`);
    }
    keys.push(fromDer(der, label.replace(/^(X509|TRUSTED) /, ""), blocks.length > 1 ? `${source}#${i + 1}` : source, source));
  }
  if (keys.length === 0) bad(source, "neither a control DTB, a DER key or certificate, nor a PEM file with a PUBLIC KEY or CERTIFICATE block");
  return { keys, requiredMode: "all", problems: [] };
}
