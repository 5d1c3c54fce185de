/**
 * The signature algorithms of U-Boot's FIT verification (boot/image-sig.c `checksum_algos`,
 * `crypto_algos`, `padding_algos`): sha1/sha256/sha384/sha512 with rsa2048/rsa3072/rsa4096
 * (PKCS#1 v1.5 or PSS padding) or ecdsa256/ecdsa384 (the signature is r || s, each as wide as
 * the curve, lib/ecdsa/ecdsa-libcrypto.c).
 *
 * Web Crypto does the hashing, PKCS#1 v1.5 and ECDSA. PSS is decoded here after the RSA public
 * operation, as lib/rsa/rsa-verify.c padding_pss_verify does, because U-Boot accepts any salt
 * length (mkimage 2023.01 signs with OpenSSL's default, the longest salt; newer ones with the
 * digest's length) while Web Crypto needs the salt length in advance.
 */
import type { FitPublicKey } from "./fit-keys.js";

export type FitChecksum = "sha1" | "sha256" | "sha384" | "sha512";

const WEB_CRYPTO_HASH: Readonly<Record<FitChecksum, { name: string; bytes: number }>> = {
  sha1: { name: "SHA-1", bytes: 20 },
  sha256: { name: "SHA-256", bytes: 32 },
  sha384: { name: "SHA-384", bytes: 48 },
  sha512: { name: "SHA-512", bytes: 64 },
};

/** A signature node's `algo` read: "sha256,rsa2048" is checksum sha256 with RSA 2048. */
export type FitAlgo = { checksum: FitChecksum } & ({ kind: "rsa"; bits: number } | { kind: "ecdsa"; curve: "P-256" | "P-384"; bytes: number });

/** Parses `algo` as U-Boot's image_get_checksum_algo / image_get_crypto_algo do; null when either half is unknown. */
export function parseFitAlgo(algo: string): FitAlgo | null {
  const [checksum, crypto, ...rest] = algo.split(",");
  if (rest.length > 0 || checksum === undefined || !(checksum in WEB_CRYPTO_HASH)) return null;
  const sum = checksum as FitChecksum;
  switch (crypto) {
    case "rsa2048":
    case "rsa3072":
    case "rsa4096":
      return { checksum: sum, kind: "rsa", bits: Number(crypto.slice(3)) };
    case "ecdsa256":
      return { checksum: sum, kind: "ecdsa", curve: "P-256", bytes: 32 };
    case "ecdsa384":
      return { checksum: sum, kind: "ecdsa", curve: "P-384", bytes: 48 };
    default:
      return null;
  }
}

/** The length `value` must have for `algo`: the modulus size for RSA (rsa_verify_key), r || s for ECDSA. */
export function signatureLength(algo: FitAlgo): number {
  return algo.kind === "rsa" ? algo.bits / 8 : 2 * algo.bytes;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error("Web Crypto (crypto.subtle) is not available here");
  return s;
}

type Buffer = Uint8Array<ArrayBuffer>;

export async function hashBytes(checksum: FitChecksum, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest(WEB_CRYPTO_HASH[checksum].name, data as Buffer));
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function bigIntBytes(v: bigint, length?: number): Uint8Array {
  let hexText = v.toString(16);
  if (hexText.length % 2) hexText = `0${hexText}`;
  const raw = Uint8Array.from(hexText.match(/../g) ?? [], (h) => parseInt(h, 16));
  if (length === undefined || raw.length >= length) return raw;
  const out = new Uint8Array(length);
  out.set(raw, length - raw.length);
  return out;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** MGF1 (RFC 8017 B.2.1) with the signature's checksum, as lib/rsa/rsa-verify.c mask_generation_function1. */
async function mgf1(checksum: FitChecksum, seed: Uint8Array, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  for (let counter = 0, at = 0; at < length; counter++) {
    new DataView(input.buffer).setUint32(seed.length, counter);
    const block = await hashBytes(checksum, input);
    out.set(block.subarray(0, Math.min(block.length, length - at)), at);
    at += block.length;
  }
  return out;
}

/** EMSA-PSS verification as padding_pss_verify: em is the k-byte result of the public operation. */
async function pssVerify(checksum: FitChecksum, em: Uint8Array, message: Uint8Array): Promise<string | null> {
  const hashLength = WEB_CRYPTO_HASH[checksum].bytes;
  const dbLength = em.length - hashLength - 1;
  if (dbLength <= 0) return "the key is too short for PSS with this hash";
  if (em[em.length - 1] !== 0xbc) return "invalid PSS padding (0xbc is missing)";
  const maskedDb = em.subarray(0, dbLength);
  const h = em.subarray(dbLength, dbLength + hashLength);
  if ((maskedDb[0] ?? 0) & 0x80) return "invalid PSS padding (leftmost bit of maskedDB not zero)";
  const mask = await mgf1(checksum, h, dbLength);
  const db = maskedDb.map((b, i) => b ^ (mask[i] ?? 0));
  db[0] = (db[0] ?? 0) & 0x7f;
  let pad = 0;
  while (db[pad] === 0 && pad < dbLength - 1) pad++;
  if (db[pad] !== 0x01) return "invalid PSS padding (the byte after the zero padding is not 0x01)";
  const salt = db.subarray(pad + 1);
  const mHash = await hashBytes(checksum, message);
  const prime = new Uint8Array(8 + hashLength + salt.length);
  prime.set(mHash, 8);
  prime.set(salt, 8 + hashLength);
  const hPrime = await hashBytes(checksum, prime);
  return hPrime.every((b, i) => b === h[i]) ? null : "the PSS hash does not match: the signed data or the signature was changed, or another key signed";
}

/**
 * Verifies `signature` over `message` with `key`. Returns null when it verifies, or why not.
 * Lengths are checked first; nothing here throws for a hostile signature.
 */
export async function verifyFitSignature(
  key: FitPublicKey,
  algo: FitAlgo,
  padding: "pkcs-1.5" | "pss",
  message: Uint8Array,
  signature: Uint8Array,
): Promise<string | null> {
  const hash = WEB_CRYPTO_HASH[algo.checksum].name;
  if (key.kind === "rsa") {
    if (algo.kind !== "rsa") return `the key is ${key.report.key}, the signature is ECDSA`;
    if (key.bits !== algo.bits) return `the key is ${key.report.key}, the signature's algo says rsa${algo.bits}`;
    if (signature.length !== key.bits / 8) return `the signature has ${signature.length} bytes, an RSA ${key.bits} signature has ${key.bits / 8}`;
    const n = bytesToBigInt(key.modulus);
    const s = bytesToBigInt(signature);
    if (s >= n) return "the signature is not below the modulus";
    if (padding === "pss") return pssVerify(algo.checksum, bigIntBytes(modPow(s, key.exponent, n), key.bits / 8), message);
    try {
      const jwk: JsonWebKey = { kty: "RSA", n: base64url(key.modulus), e: base64url(bigIntBytes(key.exponent)), ext: true };
      const cryptoKey = await subtle().importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["verify"]);
      const ok = await subtle().verify("RSASSA-PKCS1-v1_5", cryptoKey, signature as Buffer, message as Buffer);
      return ok ? null : "the PKCS#1 v1.5 signature does not match: the signed data or the signature was changed, or another key signed";
    } catch (error) {
      return `Web Crypto refused the RSA key: ${(error as Error).message}`;
    }
  }
  if (algo.kind !== "ecdsa") return `the key is ${key.report.key}, the signature is RSA`;
  if (key.curve !== algo.curve) return `the key is ${key.report.key}, the signature's algo says ${algo.curve}`;
  if (signature.length !== 2 * key.bytes) return `the signature has ${signature.length} bytes, an ECDSA ${key.curve} signature (r || s) has ${2 * key.bytes}`;
  let cryptoKey: CryptoKey;
  try {
    const jwk: JsonWebKey = { kty: "EC", crv: key.curve, x: base64url(key.x), y: base64url(key.y), ext: true };
    cryptoKey = await subtle().importKey("jwk", jwk, { name: "ECDSA", namedCurve: key.curve }, false, ["verify"]);
  } catch (error) {
    return `Web Crypto refused the EC key (not a point of ${key.curve}?): ${(error as Error).message}`;
  }
  const ok = await subtle().verify({ name: "ECDSA", hash }, cryptoKey, signature as Buffer, message as Buffer);
  return ok ? null : "the ECDSA signature does not match: the signed data or the signature was changed, or another key signed";
}
