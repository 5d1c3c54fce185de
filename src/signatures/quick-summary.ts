/**
 * The signature summary `inspect` shows (count, digest algorithm, signer subject), read with a
 * small DER walker instead of the PKI library, which is most of the CLI's code and about 35 ms
 * of start-up. It reads only the plain, well-formed case: definite-length DER, signers named by
 * issuer and serial, subjects in UTF8String, PrintableString or IA5String. For anything else it
 * returns null and the caller asks pkijs (signatureSummary in verify.ts), so both always agree;
 * the tests hold the two to the same answers on real signed kernels.
 *
 *   ContentInfo ::= SEQUENCE { contentType OID (signedData), content [0] EXPLICIT SignedData }
 *   SignedData ::= SEQUENCE { version INTEGER, digestAlgorithms SET, encapContentInfo SEQUENCE,
 *                  certificates [0] IMPLICIT SET OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }
 *   encapContentInfo ::= SEQUENCE { eContentType OID (SPC_INDIRECT_DATA), eContent [0] EXPLICIT SpcIndirectDataContent }
 *   SpcIndirectDataContent ::= SEQUENCE { data SEQUENCE { type OID, ... }, DigestInfo SEQUENCE { AlgorithmIdentifier, OCTET STRING } }
 *   SignerInfo ::= SEQUENCE { version INTEGER, sid IssuerAndSerialNumber, digestAlgorithm SEQUENCE,
 *                  signedAttrs [0] IMPLICIT OPTIONAL, signatureAlgorithm SEQUENCE, signature OCTET STRING,
 *                  unsignedAttrs [1] IMPLICIT SET OF Attribute OPTIONAL }
 *   Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial INTEGER,
 *                  signature SEQUENCE, issuer Name, validity SEQUENCE, subject Name, ... }, ... }
 */
import { resolveLimits, type Limits } from "../io/limits.js";
import type { PeInfo } from "../model/report.js";
import { digestNameForOid } from "./authenticode.js";
import { NAME_TYPES } from "./names.js";
import { OID_SIGNED_DATA, OID_SPC_INDIRECT_DATA, OID_SPC_NESTED_SIGNATURE, MAX_NESTING_DEPTH } from "./oids.js";
import type { SignatureSummary } from "./types.js";
import { readCertificateTable, WIN_CERT_TYPE_PKCS_SIGNED_DATA } from "./wincert.js";

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const OID = 0x06;
const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const IA5_STRING = 0x16;
const CONTEXT_0 = 0xa0;
const CONTEXT_1 = 0xa1;

/** Not the plain case: hand over to pkijs. */
class NotPlain extends Error {}

interface Node {
  tag: number;
  /** The whole element, header included (compared byte for byte, as pkijs compares names and serials). */
  start: number;
  /** The contents. */
  body: number;
  end: number;
}

/** One DER element at `at`, inside `[at, limit)`: single-byte tag, definite length. */
function read(der: Uint8Array, at: number, limit: number): Node {
  if (at + 2 > limit) throw new NotPlain();
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new NotPlain();
  let length = der[at + 1]!;
  let body = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || body + bytes > limit) throw new NotPlain();
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[body + i]!;
    body += bytes;
  }
  if (length > limit - body) throw new NotPlain();
  return { tag, start: at, body, end: body + length };
}

/** The elements of a constructed node. */
function children(der: Uint8Array, node: Node): Node[] {
  const out: Node[] = [];
  for (let at = node.body; at < node.end; ) {
    const child = read(der, at, node.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** BOOLEAN, INTEGER, BIT STRING, OCTET STRING, NULL, OID, ENUMERATED, the name string types and the two times. */
const PLAIN_PRIMITIVES = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1e]);

/**
 * The whole tree must be well formed, as asn1js's fromBER requires before pkijs reads anything:
 * constructed elements tiled exactly by their children, and the primitive encodings it checks.
 */
function wellFormed(der: Uint8Array, node: Node, depth = 0): void {
  if (depth > 64) throw new NotPlain();
  const length = node.end - node.body;
  const universal = (node.tag & 0xc0) === 0;
  if (node.tag & 0x20) {
    // Constructed universal elements other than SEQUENCE and SET (BER's constructed strings,
    // or damage) are left to asn1js.
    if (universal && node.tag !== SEQUENCE && node.tag !== SET) throw new NotPlain();
    for (const child of children(der, node)) wellFormed(der, child, depth + 1);
    return;
  }
  if (universal && !PLAIN_PRIMITIVES.has(node.tag)) throw new NotPlain();
  if ((node.tag === 0x01 && length !== 1) || (node.tag === 0x05 && length !== 0) || (node.tag === INTEGER && length === 0)) throw new NotPlain();
  if (node.tag === OID) {
    // Minimal subidentifiers (no leading 0x80), each below 2^32, the last one complete.
    if (length === 0 || (der[node.end - 1]! & 0x80) !== 0) throw new NotPlain();
    for (let i = node.body, digits = 0; i < node.end; i++) {
      if (digits === 0 && der[i] === 0x80) throw new NotPlain();
      digits = der[i]! & 0x80 ? digits + 1 : 0;
      if (digits > 4) throw new NotPlain();
    }
  }
  if (node.tag === 0x03 && (length === 0 || der[node.body]! > 7)) throw new NotPlain();
}

function expect(node: Node | undefined, tag: number): Node {
  if (!node || node.tag !== tag) throw new NotPlain();
  return node;
}

function oidString(der: Uint8Array, node: Node): string {
  expect(node, OID);
  const parts: number[] = [];
  let value = 0;
  for (let i = node.body; i < node.end; i++) {
    const b = der[i]!;
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift();
  if (first === undefined) throw new NotPlain();
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join(".");
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
function algorithm(der: Uint8Array, node: Node | undefined): string {
  const [oid, params, ...rest] = children(der, expect(node, SEQUENCE));
  if (!oid || rest.length || (params && params.tag !== 0x05 && params.tag !== SEQUENCE)) throw new NotPlain();
  return oidString(der, oid);
}

const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const BIT_STRING = 0x03;

/** Validity ::= SEQUENCE { notBefore Time, notAfter Time }, digits as pkijs reads them. */
function validity(der: Uint8Array, node: Node | undefined): void {
  const times = children(der, expect(node, SEQUENCE));
  if (times.length !== 2) throw new NotPlain();
  for (const t of times) {
    const text = String.fromCharCode(...der.subarray(t.body, t.end));
    if (!(t.tag === UTC_TIME ? /^\d{12}Z$/ : t.tag === GENERALIZED_TIME ? /^\d{14}Z$/ : /(?!)/).test(text)) throw new NotPlain();
  }
}

function same(der: Uint8Array, a: Node, b: Node): boolean {
  if (a.end - a.start !== b.end - b.start) return false;
  for (let i = 0; i < a.end - a.start; i++) if (der[a.start + i] !== der[b.start + i]) return false;
  return true;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** "CN=..., O=..." as certificates.ts nameToString writes it, for the string types both read alike. */
function nameString(der: Uint8Array, name: Node): string {
  const parts: string[] = [];
  for (const rdn of children(der, expect(name, SEQUENCE))) {
    for (const atv of children(der, expect(rdn, SET))) {
      const [type, value] = children(der, expect(atv, SEQUENCE));
      if (!type || !value) throw new NotPlain();
      const bytes = der.subarray(value.body, value.end);
      let text: string;
      if (value.tag === UTF8_STRING) {
        try {
          text = utf8.decode(bytes);
        } catch {
          throw new NotPlain();
        }
      } else if (value.tag === PRINTABLE_STRING || value.tag === IA5_STRING) {
        if (bytes.some((b) => b >= 0x80)) throw new NotPlain();
        text = String.fromCharCode(...bytes);
      } else throw new NotPlain();
      const oid = oidString(der, type);
      parts.push(`${NAME_TYPES[oid] ?? oid}=${text}`);
    }
  }
  return parts.join(", ");
}

interface Found {
  digestAlgorithm: string;
  signerSubject: string;
}

/** Every signature of one ContentInfo, nested ones after their parent, as pkcs7.ts collects them. */
function collect(der: Uint8Array, contentInfo: Node, depth: number, out: Found[], max: number): void {
  if (depth > MAX_NESTING_DEPTH) throw new NotPlain();
  const [type, content, ...rest] = children(der, expect(contentInfo, SEQUENCE));
  if (!type || rest.length || oidString(der, type) !== OID_SIGNED_DATA) throw new NotPlain();
  const [signedData, ...more] = children(der, expect(content, CONTEXT_0));
  if (!signedData || more.length) throw new NotPlain();
  const fields = children(der, expect(signedData, SEQUENCE));
  expect(fields[0], INTEGER);
  for (const digestAlgorithm of children(der, expect(fields[1], SET))) algorithm(der, digestAlgorithm);
  const [eContentType, eContent, ...extra] = children(der, expect(fields[2], SEQUENCE));
  if (!eContentType || extra.length || oidString(der, eContentType) !== OID_SPC_INDIRECT_DATA) throw new NotPlain();
  let next = 3;
  const certificates = fields[next]?.tag === CONTEXT_0 ? children(der, fields[next++]!) : [];
  if (fields[next]?.tag === CONTEXT_1) next++;
  const signerInfos = children(der, expect(fields[next++], SET));
  if (next !== fields.length || signerInfos.length === 0) throw new NotPlain();

  // SpcIndirectDataContent: the digest algorithm of the image hash.
  const [indirect, ...afterIndirect] = children(der, expect(eContent, CONTEXT_0));
  if (!indirect || afterIndirect.length) throw new NotPlain();
  const [data, digestInfo] = children(der, expect(indirect, SEQUENCE));
  expect(children(der, expect(data, SEQUENCE))[0], OID);
  const [digestAlgorithmNode, digest, ...afterDigest] = children(der, expect(digestInfo, SEQUENCE));
  if (afterDigest.length) throw new NotPlain();
  expect(digest, OCTET_STRING);
  const digestOid = algorithm(der, digestAlgorithmNode);
  const digestAlgorithm = digestNameForOid(digestOid) ?? digestOid;

  // Each certificate's issuer, serial and subject.
  const certs = certificates.map((cert) => {
    const [tbs, signatureAlgorithm, signature, ...rest] = children(der, expect(cert, SEQUENCE));
    algorithm(der, signatureAlgorithm);
    expect(signature, BIT_STRING);
    if (rest.length) throw new NotPlain();
    const t = children(der, expect(tbs, SEQUENCE));
    const base = t[0]?.tag === CONTEXT_0 ? 1 : 0;
    if (base) expect(children(der, t[0]!)[0], INTEGER);
    algorithm(der, t[base + 1]);
    validity(der, t[base + 3]);
    const [spkiAlgorithm, key] = children(der, expect(t[base + 5], SEQUENCE));
    algorithm(der, spkiAlgorithm);
    expect(key, BIT_STRING);
    // issuerUniqueID [1], subjectUniqueID [2], extensions [3] SEQUENCE OF { OID, critical BOOLEAN OPTIONAL, OCTET STRING }
    let k = base + 6;
    if (t[k]?.tag === 0x81) k++;
    if (t[k]?.tag === 0x82) k++;
    if (t[k]?.tag === 0xa3) {
      const [list, ...others] = children(der, t[k++]!);
      if (others.length) throw new NotPlain();
      for (const extension of children(der, expect(list, SEQUENCE))) {
        const e = children(der, expect(extension, SEQUENCE));
        oidString(der, e[0] ?? expect(undefined, OID));
        if (e.length === 3) expect(e[1], 0x01);
        if ((e.length !== 2 && e.length !== 3) || e[e.length - 1]?.tag !== OCTET_STRING) throw new NotPlain();
      }
    }
    if (k !== t.length) throw new NotPlain();
    const c = { serial: expect(t[base], INTEGER), issuer: expect(t[base + 2], SEQUENCE), subject: expect(t[base + 4], SEQUENCE) };
    nameString(der, c.issuer);
    nameString(der, c.subject);
    return c;
  });

  for (const signerInfo of signerInfos) {
    if (out.length >= max) throw new NotPlain();
    const s = children(der, expect(signerInfo, SEQUENCE));
    expect(s[0], INTEGER);
    // version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature, [1] unsignedAttrs
    let k = 2;
    algorithm(der, s[k++]);
    if (s[k]?.tag === CONTEXT_0) {
      for (const attribute of children(der, s[k++]!)) {
        const [attrType, values, ...more] = children(der, expect(attribute, SEQUENCE));
        if (!attrType || more.length) throw new NotPlain();
        oidString(der, attrType);
        children(der, expect(values, SET));
      }
    }
    algorithm(der, s[k++]);
    expect(s[k++], OCTET_STRING);
    if (s[k]?.tag === CONTEXT_1) k++;
    if (k !== s.length) throw new NotPlain();
    const [issuer, serial, ...sidRest] = children(der, expect(s[1], SEQUENCE));
    if (!issuer || !serial || sidRest.length) throw new NotPlain();
    const signer = certs.find((c) => same(der, c.issuer, issuer) && same(der, c.serial, serial));
    if (!signer) throw new NotPlain();
    out.push({ digestAlgorithm, signerSubject: nameString(der, signer.subject) });
    const last = s[s.length - 1];
    if (last?.tag !== CONTEXT_1) continue;
    for (const attribute of children(der, last)) {
      const [attrType, values, ...more] = children(der, expect(attribute, SEQUENCE));
      if (!attrType || more.length) throw new NotPlain();
      const nested = children(der, expect(values, SET));
      if (oidString(der, attrType) !== OID_SPC_NESTED_SIGNATURE) continue;
      for (const contentInfo of nested) collect(der, contentInfo, depth + 1, out, max);
    }
  }
}

/** The summary of a PE layer's signatures, or null when only pkijs can say (see above). */
export function quickSignatureSummary(peBytes: Uint8Array, pe: PeInfo, limits?: Partial<Limits>): SignatureSummary | null {
  if (!pe.certificateTable) return { signed: false, signatureCount: 0, digestAlgorithm: null, signerSubject: null, problem: null };
  try {
    const resolved = resolveLimits(limits);
    const table = readCertificateTable(peBytes, pe, resolved);
    if (!table || table.problems.length || table.entries.length === 0) return null;
    const found: Found[] = [];
    for (const entry of table.entries) {
      if (entry.wCertificateType !== WIN_CERT_TYPE_PKCS_SIGNED_DATA) return null;
      const der = entry.content;
      const root = read(der, 0, der.length);
      wellFormed(der, root);
      collect(der, root, 0, found, resolved.maxSignatureCount);
    }
    const first = found[0];
    if (!first) return null;
    return { signed: true, signatureCount: found.length, digestAlgorithm: first.digestAlgorithm, signerSubject: first.signerSubject, problem: null };
  } catch {
    // NotPlain, or anything this walker did not expect: pkijs reads it and says what is wrong.
    return null;
  }
}
