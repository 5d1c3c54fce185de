/**
 * The `.pcrsig` and `.pcrpkey` sections of a UKI. `.pcrsig` is the JSON `systemd-measure sign`
 * writes: per bank, an array of `{ "pcrs": [11], "pkfp": hex, "pol": hex, "sig": base64 }`, where
 * `pol` is the TPM2 PolicyPCR digest signed and `pkfp` the SHA-256 of the signing key as OpenSSL's
 * i2d_PublicKey encodes it (the RSAPublicKey or EC point inside the SubjectPublicKeyInfo). `.pcrpkey` is that public key in PEM. Both are untrusted: their size is
 * bounded and malformed JSON, entries or keys become coded diagnostics, never exceptions.
 */
import type { Diagnostic } from "../model/report.js";
import { digest, toHex } from "./pcr.js";
import type { PcrPublicKey, PcrSignatureEntry } from "./types.js";

/** Largest `.pcrsig` read, in bytes (systemd-measure writes about 1 KiB per bank and phase). */
export const PCRSIG_MAX_BYTES = 1024 * 1024;
/** Most `.pcrsig` entries read, over all banks. */
export const PCRSIG_MAX_ENTRIES = 1024;
/** Largest `.pcrpkey` read, in bytes (a 4096-bit RSA key in PEM is about 800). */
export const PCRPKEY_MAX_BYTES = 64 * 1024;

type Diagnose = (code: Diagnostic["code"], severity: Diagnostic["severity"], message: string, offset: number | null) => void;

const isHex = (v: unknown): v is string => typeof v === "string" && /^(?:[0-9a-fA-F]{2})*$/.test(v);

/** Reads the `.pcrsig` JSON into its entries (not yet compared); malformed input is diagnosed at `offset`. */
export function readPcrSignatures(data: Uint8Array, offset: number, diagnose: Diagnose): PcrSignatureEntry[] {
  if (data.length > PCRSIG_MAX_BYTES) {
    diagnose("PCRSIG_TOO_LARGE", "error", `.pcrsig is ${data.length} bytes, more than the ${PCRSIG_MAX_BYTES} kimg reads`, offset);
    return [];
  }
  // The stub hands the section to userspace as is; trailing NULs from padding are not JSON.
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(0, end)));
  } catch (error) {
    diagnose("PCRSIG_BAD_JSON", "error", `.pcrsig is not valid JSON: ${(error as Error).message}`, offset);
    return [];
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    diagnose("PCRSIG_BAD_JSON", "error", ".pcrsig is not a JSON object of banks", offset);
    return [];
  }
  const entries: PcrSignatureEntry[] = [];
  for (const [bank, list] of Object.entries(json)) {
    if (!Array.isArray(list)) {
      diagnose("PCRSIG_BAD_JSON", "error", `.pcrsig bank "${bank}" is not an array`, offset);
      continue;
    }
    for (const [index, item] of list.entries()) {
      if (entries.length >= PCRSIG_MAX_ENTRIES) {
        diagnose("PCRSIG_TOO_LARGE", "error", `.pcrsig has more than ${PCRSIG_MAX_ENTRIES} entries; the rest were not read`, offset);
        return entries;
      }
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        diagnose("PCRSIG_BAD_JSON", "error", `.pcrsig ${bank}[${index}] is not an object`, offset);
        continue;
      }
      const e = item as Record<string, unknown>;
      const pcrs = Array.isArray(e.pcrs) && e.pcrs.every((p) => Number.isInteger(p) && p >= 0 && p < 24) ? (e.pcrs as number[]) : null;
      const pol = isHex(e.pol) ? e.pol.toLowerCase() : null;
      const pkfp = isHex(e.pkfp) ? e.pkfp.toLowerCase() : null;
      if (pcrs === null || pol === null || (e.pkfp !== undefined && pkfp === null) || (e.sig !== undefined && typeof e.sig !== "string")) {
        diagnose("PCRSIG_BAD_JSON", "error", `.pcrsig ${bank}[${index}] lacks a valid "pcrs" or "pol", or has a malformed "pkfp"/"sig"`, offset);
      }
      entries.push({
        bank,
        index,
        pcrs: pcrs ?? [],
        pkfp,
        pol,
        signatureBytes: typeof e.sig === "string" ? base64Length(e.sig) : null,
        matches: null,
        pkfpMatches: null,
      });
    }
  }
  return entries;
}

function base64Length(text: string): number {
  const clean = text.replace(/\s/g, "");
  const pad = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((clean.length * 3) / 4) - pad);
}

function base64Decode(text: string): Uint8Array | null {
  try {
    const bin = atob(text.replace(/\s/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** A DER tag-length header: [tag, header bytes, content length], or null when it does not fit. */
function derHeader(der: Uint8Array, at: number): [number, number, number] | null {
  const tag = der[at];
  const first = der[at + 1];
  if (tag === undefined || first === undefined) return null;
  if (first < 0x80) return [tag, 2, first];
  const n = first & 0x7f;
  if (n === 0 || n > 4) return null;
  let len = 0;
  for (let i = 0; i < n; i++) {
    const b = der[at + 2 + i];
    if (b === undefined) return null;
    len = len * 256 + b;
  }
  return [tag, 2 + n, len];
}

const KEY_OIDS: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.1.1": "rsaEncryption",
  "1.2.840.10045.2.1": "id-ecPublicKey",
  "1.3.101.112": "Ed25519",
};

function oidText(bytes: Uint8Array): string {
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  return [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40)), ...parts].join(".");
}

/**
 * The key algorithm and the public key of a DER SubjectPublicKeyInfo
 * (SEQUENCE { SEQUENCE { OID, ... }, BIT STRING }), or null when it is not one. The key is the BIT
 * STRING's content: what OpenSSL's i2d_PublicKey writes (an RSAPublicKey, an EC point).
 */
function readSpki(der: Uint8Array): { algorithm: string; key: Uint8Array } | null {
  const outer = derHeader(der, 0);
  if (outer?.[0] !== 0x30 || outer[1] + outer[2] !== der.length) return null;
  const algAt = outer[1];
  const alg = derHeader(der, algAt);
  if (alg?.[0] !== 0x30) return null;
  const oid = derHeader(der, algAt + alg[1]);
  if (oid?.[0] !== 0x06) return null;
  const oidAt = algAt + alg[1] + oid[1];
  if (oidAt + oid[2] > der.length) return null;
  const text = oidText(der.subarray(oidAt, oidAt + oid[2]));
  const bitsAt = algAt + alg[1] + alg[2];
  const bits = derHeader(der, bitsAt);
  if (bits?.[0] !== 0x03 || bits[2] < 2 || bitsAt + bits[1] + bits[2] !== der.length || der[bitsAt + bits[1]] !== 0) return null;
  return { algorithm: KEY_OIDS[text] ?? text, key: der.subarray(bitsAt + bits[1] + 1, der.length) };
}

/** Reads `.pcrpkey` (a PEM "PUBLIC KEY") and its SHA-256 fingerprint; null, with a diagnostic, when it is not one. */
export async function readPcrPublicKey(data: Uint8Array, offset: number, diagnose: Diagnose): Promise<PcrPublicKey | null> {
  if (data.length > PCRPKEY_MAX_BYTES) {
    diagnose("PCRPKEY_BAD", "error", `.pcrpkey is ${data.length} bytes, more than the ${PCRPKEY_MAX_BYTES} kimg reads`, offset);
    return null;
  }
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  const pem = new TextDecoder("utf-8").decode(data.subarray(0, end));
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
  const der = m?.[1] ? base64Decode(m[1]) : null;
  const spki = der ? readSpki(der) : null;
  if (!der || !spki) {
    diagnose("PCRPKEY_BAD", "error", '.pcrpkey is not a PEM "PUBLIC KEY" (a DER SubjectPublicKeyInfo)', offset);
    return null;
  }
  // systemd's pubkey_fingerprint hashes i2d_PublicKey's encoding, the key inside the SPKI.
  return { offset, size: data.length, algorithm: spki.algorithm, fingerprint: toHex(await digest("sha256", spki.key)), pem };
}
