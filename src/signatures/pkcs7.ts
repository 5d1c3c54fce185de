/**
 * The PKCS#7 SignedData inside a WIN_CERTIFICATE and the Authenticode content it signs.
 * Source: Authenticode_PE.docx ("PKCS #7 SignedData Structure", "SpcIndirectDataContent");
 * RFC 2315 / RFC 5652 (SignedData, SignerInfo).
 *
 *   SpcIndirectDataContent ::= SEQUENCE {
 *       data                    SpcAttributeTypeAndOptionalValue,
 *       messageDigest           DigestInfo }
 *   SpcAttributeTypeAndOptionalValue ::= SEQUENCE {
 *       type                    ObjectID,            -- SPC_PE_IMAGE_DATAOBJ
 *       value                   [0] EXPLICIT ANY OPTIONAL }
 *   DigestInfo ::= SEQUENCE {
 *       digestAlgorithm         AlgorithmIdentifier,
 *       digest                  OCTETSTRING }        -- the Authenticode image digest
 *
 * A signer may carry more signatures as the unsigned attribute SPC_NESTED_SIGNATURE_OBJID
 * (1.3.6.1.4.1.311.2.4.1), each a ContentInfo with its own SignedData ("dual signing").
 */
import * as asn1js from "asn1js";
import { Certificate, CertificateChainValidationEngine, ContentInfo, IssuerAndSerialNumber, SignedData, type SignerInfo } from "pkijs";
import { ErrorCode, KimgError } from "../io/errors.js";
import { toHexBytes } from "../io/layout.js";
import { digestNameForOid } from "./authenticode.js";
import { certificateFacts, type CertificateFacts } from "./certificates.js";
import {
  OID_SIGNED_DATA,
  OID_SPC_INDIRECT_DATA,
  OID_SPC_PE_IMAGE_DATA,
  OID_SPC_NESTED_SIGNATURE,
  OID_SIGNING_TIME,
  OID_RFC3161_TIMESTAMP,
  OID_COUNTER_SIGNATURE,
  MAX_NESTING_DEPTH,
} from "./oids.js";

export {
  OID_SIGNED_DATA,
  OID_SPC_INDIRECT_DATA,
  OID_SPC_PE_IMAGE_DATA,
  OID_SPC_NESTED_SIGNATURE,
  OID_SIGNING_TIME,
  OID_RFC3161_TIMESTAMP,
  OID_COUNTER_SIGNATURE,
  MAX_NESTING_DEPTH,
};

/** One signer of one SignedData: the unit that is verified. */
export interface AuthenticodeSignature {
  /** 0 for the WIN_CERTIFICATE's own SignedData, 1 for a signature nested in it, ... */
  depth: number;
  /** Index in the flattened list of the entry's signatures of the one this is nested in; null at depth 0. */
  parent: number | null;
  /** Why this signature could not be read; the fields below are then empty. */
  error: string | null;
  /** The digest algorithm named in the SpcIndirectDataContent ("sha256"), or its OID when unknown. */
  digestAlgorithm: string | null;
  /** The image digest the signature vouches for, lowercase hex. */
  digest: string | null;
  /** The SpcAttributeTypeAndOptionalValue type; SPC_PE_IMAGE_DATAOBJ for PE images. */
  dataType: string | null;
  signer: CertificateFacts | null;
  certificates: CertificateFacts[];
  /** The signed signingTime attribute, ISO 8601, when present. */
  signingTime: string | null;
  /** True when an RFC 3161 timestamp or a PKCS#9 countersignature is attached (not verified). */
  timestamped: boolean;
  signedData: SignedData | null;
  signerIndex: number;
  signerCertificate: Certificate | null;
}

export interface ParseLimits {
  /** Most signatures (this one and nested ones together). */
  maxSignatures: number;
}

function failure(depth: number, parent: number | null, error: string): AuthenticodeSignature {
  return {
    depth,
    parent,
    error,
    digestAlgorithm: null,
    digest: null,
    dataType: null,
    signer: null,
    certificates: [],
    signingTime: null,
    timestamped: false,
    signedData: null,
    signerIndex: 0,
    signerCertificate: null,
  };
}

/** A structural problem kimg itself found; its message is ours and may be shown as is. */
class ShapeError extends Error {}

/**
 * Our own wording for a failure: a ShapeError keeps its message; anything the ASN.1 or PKI
 * library threw becomes `fallback`, so a library's internal text never reaches the report.
 */
function message(error: unknown, fallback = "its ASN.1 structure could not be read"): string {
  return error instanceof ShapeError || error instanceof KimgError ? error.message : fallback;
}

function elements(node: unknown, what: string, count: number): asn1js.AsnType[] {
  if (!(node instanceof asn1js.Sequence) || node.valueBlock.value.length < count) throw new ShapeError(`${what} is not a SEQUENCE of ${count}`);
  return node.valueBlock.value;
}

/** Reads SpcIndirectDataContent: the data type and the DigestInfo. */
function readIndirectData(eContent: unknown): { dataType: string; digestOid: string; digest: Uint8Array } {
  const [data, digestInfo] = elements(eContent, "SpcIndirectDataContent", 2);
  const [type] = elements(data, "SpcAttributeTypeAndOptionalValue", 1);
  const [algorithm, digest] = elements(digestInfo, "DigestInfo", 2);
  const [algorithmOid] = elements(algorithm, "DigestInfo.digestAlgorithm", 1);
  if (!(type instanceof asn1js.ObjectIdentifier)) throw new ShapeError("SpcAttributeTypeAndOptionalValue.type is not an OID");
  if (!(algorithmOid instanceof asn1js.ObjectIdentifier)) throw new ShapeError("DigestInfo.digestAlgorithm.algorithm is not an OID");
  if (!(digest instanceof asn1js.OctetString)) throw new ShapeError("DigestInfo.digest is not an OCTET STRING");
  return { dataType: type.valueBlock.toString(), digestOid: algorithmOid.valueBlock.toString(), digest: new Uint8Array(digest.getValue()) };
}

function findSignerCertificate(signedData: SignedData, signerInfo: SignerInfo): Certificate | null {
  const certificates = (signedData.certificates ?? []).filter((c): c is Certificate => c instanceof Certificate);
  const sid = signerInfo.sid as unknown;
  if (sid instanceof IssuerAndSerialNumber) {
    return certificates.find((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber)) ?? null;
  }
  // [0] SubjectKeyIdentifier: match the certificate's subjectKeyIdentifier extension.
  const keyId = (sid as { valueBlock?: { valueHexView?: Uint8Array } }).valueBlock?.valueHexView;
  if (!keyId) return null;
  const wanted = toHexBytes(keyId);
  return (
    certificates.find((c) => {
      const ext = c.extensions?.find((e) => e.extnID === "2.5.29.14");
      const value = ext?.parsedValue as asn1js.OctetString | undefined;
      return value instanceof asn1js.OctetString && toHexBytes(new Uint8Array(value.getValue())) === wanted;
    }) ?? null
  );
}

function signingTime(signerInfo: SignerInfo): string | null {
  const attr = signerInfo.signedAttrs?.attributes.find((a) => a.type === OID_SIGNING_TIME);
  const value = attr?.values[0] as unknown;
  if (value instanceof asn1js.UTCTime || value instanceof asn1js.GeneralizedTime) {
    const date = value.toDate();
    return Number.isNaN(date.getTime()) ? null : date.toISOString();
  }
  return null;
}

function contentInfoToSignedData(node: asn1js.AsnType): SignedData {
  const info = new ContentInfo({ schema: node });
  if (info.contentType !== OID_SIGNED_DATA) throw new ShapeError(`ContentInfo type ${info.contentType} is not signedData`);
  return new SignedData({ schema: info.content });
}

/** Flattens one SignedData and everything nested in it into `out`, depth first. */
function collect(
  signedData: SignedData,
  depth: number,
  parent: number | null,
  out: AuthenticodeSignature[],
  limits: ParseLimits,
  overflow: { hit: boolean },
): void {
  const contentType = signedData.encapContentInfo.eContentType;
  let indirect: ReturnType<typeof readIndirectData> | null = null;
  let contentError: string | null = null;
  if (contentType !== OID_SPC_INDIRECT_DATA) contentError = `SignedData content type ${contentType} is not SPC_INDIRECT_DATA_OBJID (${OID_SPC_INDIRECT_DATA})`;
  else {
    try {
      indirect = readIndirectData(signedData.encapContentInfo.eContent);
    } catch (error) {
      contentError = message(error);
    }
  }
  const certificates = (signedData.certificates ?? []).filter((c): c is Certificate => c instanceof Certificate);
  if (signedData.signerInfos.length === 0) {
    out.push(failure(depth, parent, "SignedData has no SignerInfo"));
    return;
  }
  signedData.signerInfos.forEach((signerInfo, signerIndex) => {
    if (out.length >= limits.maxSignatures) {
      overflow.hit = true;
      return;
    }
    const signerCertificate = findSignerCertificate(signedData, signerInfo);
    const self = out.length;
    out.push({
      depth,
      parent,
      error: contentError ?? (signerCertificate ? null : "the signer's certificate is not in the SignedData"),
      digestAlgorithm: indirect ? (digestNameForOid(indirect.digestOid) ?? indirect.digestOid) : null,
      digest: indirect ? toHexBytes(indirect.digest) : null,
      dataType: indirect?.dataType ?? null,
      signer: signerCertificate ? certificateFacts(signerCertificate) : null,
      certificates: certificates.map(certificateFacts),
      signingTime: signingTime(signerInfo),
      timestamped: signerInfo.unsignedAttrs?.attributes.some((a) => a.type === OID_RFC3161_TIMESTAMP || a.type === OID_COUNTER_SIGNATURE) ?? false,
      signedData,
      signerIndex,
      signerCertificate,
    });
    for (const attr of signerInfo.unsignedAttrs?.attributes ?? []) {
      if (attr.type !== OID_SPC_NESTED_SIGNATURE) continue;
      for (const value of attr.values as asn1js.AsnType[]) {
        if (out.length >= limits.maxSignatures) {
          overflow.hit = true;
          return;
        }
        if (depth + 1 > MAX_NESTING_DEPTH) {
          out.push(failure(depth + 1, self, `nested more than ${MAX_NESTING_DEPTH} deep; not read`));
          continue;
        }
        try {
          collect(contentInfoToSignedData(value), depth + 1, self, out, limits, overflow);
        } catch (error) {
          out.push(failure(depth + 1, self, `nested signature: ${message(error)}`));
        }
      }
    }
  });
}

export interface ParsedSignatures {
  signatures: AuthenticodeSignature[];
  /** True when maxSignatures cut the list short. */
  truncated: boolean;
}

/**
 * Parses the bCertificate of a PKCS_SIGNED_DATA entry: the SignedData, its signers, and the
 * signatures nested in them. Throws E_BAD_SIGNATURE when the outer ContentInfo/SignedData cannot
 * be read; problems further in become signatures with `error` set.
 */
export function parseAuthenticode(der: Uint8Array, limits: ParseLimits): ParsedSignatures {
  let signedData: SignedData;
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1 || asn.result.error) throw new ShapeError("its BER/DER encoding is malformed");
    signedData = contentInfoToSignedData(asn.result);
  } catch (error) {
    throw new KimgError(ErrorCode.BAD_SIGNATURE, `not a PKCS#7 SignedData: ${message(error)}`, { structure: "PKCS#7 SignedData" });
  }
  const signatures: AuthenticodeSignature[] = [];
  const overflow = { hit: false };
  try {
    collect(signedData, 0, null, signatures, limits, overflow);
  } catch (error) {
    throw new KimgError(ErrorCode.BAD_SIGNATURE, `PKCS#7 SignedData: ${message(error)}`, { structure: "PKCS#7 SignedData" });
  }
  return { signatures, truncated: overflow.hit };
}

export interface CheckResult {
  valid: boolean;
  /** Why not; null when valid. */
  reason: string | null;
}

/**
 * Checks the signer's signature: the messageDigest attribute against the SpcIndirectDataContent
 * and the signature over the signed attributes, with the signer certificate's key (WebCrypto).
 */
export async function checkSignature(signature: AuthenticodeSignature): Promise<CheckResult> {
  if (!signature.signedData || signature.error) return { valid: false, reason: signature.error ?? "not read" };
  try {
    const ok = await signature.signedData.verify({ signer: signature.signerIndex, checkChain: false });
    return ok ? { valid: true, reason: null } : { valid: false, reason: "the signature does not verify with the signer certificate's key" };
  } catch (error) {
    return {
      valid: false,
      reason: message(error, "the signature could not be checked: the signer's key type, the algorithms or the signed attributes are not usable"),
    };
  }
}

/**
 * When the chain is checked: a time the signer certificate was valid at (its signingTime when
 * that lies inside the validity, else notBefore). UEFI firmware and the kernel ignore certificate
 * expiry, so an expired signer must not fail the chain.
 */
function chainDate(signature: AuthenticodeSignature, cert: Certificate): Date {
  const signed = signature.signingTime ? new Date(signature.signingTime) : null;
  if (signed && signed >= cert.notBefore.value && signed <= cert.notAfter.value) return signed;
  return cert.notBefore.value;
}

export interface ChainResult extends CheckResult {
  /** Subjects from the signer to the trusted certificate, when a path was found. */
  path: string[];
}

const NO_CHAIN = "the signer's certificate does not chain, through the certificates in the signature, to any certificate given to check against";

/** Whether the signer's certificate chains, through the certificates in the SignedData, to one of `trusted`. */
export async function checkChain(signature: AuthenticodeSignature, trusted: readonly Certificate[]): Promise<ChainResult> {
  const signer = signature.signerCertificate;
  if (!signature.signedData || !signer) return { valid: false, reason: signature.error ?? "no signer certificate", path: [] };
  // pkijs's chain engine takes the last certificate left after removing duplicates as the leaf,
  // so a trusted certificate that is the signer itself would make it validate the wrong one.
  if (trusted.some((t) => sameCertificate(t, signer))) return { valid: true, reason: null, path: [certificateFacts(signer).subject] };
  const intermediates = (signature.signedData.certificates ?? []).filter(
    (c): c is Certificate => c instanceof Certificate && !(c.issuer.isEqual(signer.issuer) && c.serialNumber.isEqual(signer.serialNumber)) && isCa(c),
  );
  try {
    const engine = new CertificateChainValidationEngine({
      certs: [...intermediates, signer],
      trustedCerts: [...trusted],
      checkDate: chainDate(signature, signer),
    });
    const result = await engine.verify();
    const path = (result.certificatePath ?? []).map((c) => certificateFacts(c).subject);
    return result.result ? { valid: true, reason: null, path } : { valid: false, reason: NO_CHAIN, path };
  } catch {
    return { valid: false, reason: NO_CHAIN, path: [] };
  }
}

function sameCertificate(a: Certificate, b: Certificate): boolean {
  return (
    toHexBytes(a.tbsView) === toHexBytes(b.tbsView) &&
    toHexBytes(a.signatureValue.valueBlock.valueHexView) === toHexBytes(b.signatureValue.valueBlock.valueHexView)
  );
}

function isCa(cert: Certificate): boolean {
  return cert.extensions?.some((e) => e.extnID === "2.5.29.19" && (e.parsedValue as { cA?: boolean } | undefined)?.cA === true) ?? false;
}
