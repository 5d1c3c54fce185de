/**
 * X.509 certificates (RFC 5280) as the signature report shows them, and reading the certificates
 * a user trusts from PEM or DER.
 */
import * as asn1js from "asn1js";
import { Certificate, type RelativeDistinguishedNames } from "pkijs";
import { ErrorCode, KimgError } from "../io/errors.js";
import { toHexBytes } from "../io/layout.js";
import { NAME_TYPES } from "./names.js";

/** One certificate, for people and scripts. */
export type CertificateFacts = {
  /** Attributes in certificate order, "TYPE=value" joined by ", ": "CN=Debian Secure Boot Signer 2022 - linux". */
  subject: string;
  issuer: string;
  /** Serial number, lowercase hex without leading zero bytes. */
  serial: string;
  /** ISO 8601 times. */
  notBefore: string;
  notAfter: string;
  /** "RSA 2048", "EC P-256", "Ed25519", or the algorithm OID. */
  key: string;
  selfSigned: boolean;
};

const CURVES: Readonly<Record<string, string>> = {
  "1.2.840.10045.3.1.7": "P-256",
  "1.3.132.0.34": "P-384",
  "1.3.132.0.35": "P-521",
};

const KEY_ALGORITHMS: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.1.1": "RSA",
  "1.2.840.113549.1.1.10": "RSA-PSS",
  "1.2.840.10045.2.1": "EC",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
};

export function nameToString(name: RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => {
      const block = (tv.value as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock;
      const value = typeof block?.value === "string" ? block.value : `#${toHexBytes(new Uint8Array(tv.value.toBER()))}`;
      return `${NAME_TYPES[tv.type] ?? tv.type}=${value}`;
    })
    .join(", ");
}

function integerHex(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return toHexBytes(bytes.subarray(start));
}

function keyDescription(cert: Certificate): string {
  const spki = cert.subjectPublicKeyInfo;
  const oid = spki.algorithm.algorithmId;
  const name = KEY_ALGORITHMS[oid] ?? oid;
  try {
    if (name === "RSA" || name === "RSA-PSS") {
      const parsed = spki.parsedKey as { modulus?: asn1js.Integer } | undefined;
      const modulus = parsed?.modulus?.valueBlock.valueHexView;
      if (modulus) {
        const hexDigits = integerHex(modulus);
        const top = parseInt(hexDigits.slice(0, 2), 16);
        return `${name} ${(hexDigits.length / 2 - 1) * 8 + (top ? Math.floor(Math.log2(top)) + 1 : 0)}`;
      }
    }
    if (name === "EC" && spki.algorithm.algorithmParams instanceof asn1js.ObjectIdentifier) {
      const curve = spki.algorithm.algorithmParams.valueBlock.toString();
      return `EC ${CURVES[curve] ?? curve}`;
    }
  } catch {
    // An undecodable key still has a name.
  }
  return name;
}

export function certificateFacts(cert: Certificate): CertificateFacts {
  const iso = (d: Date): string => (Number.isNaN(d.getTime()) ? "invalid" : d.toISOString());
  return {
    subject: nameToString(cert.subject),
    issuer: nameToString(cert.issuer),
    serial: integerHex(cert.serialNumber.valueBlock.valueHexView),
    notBefore: iso(cert.notBefore.value),
    notAfter: iso(cert.notAfter.value),
    key: keyDescription(cert),
    selfSigned: cert.subject.isEqual(cert.issuer),
  };
}

/** Largest certificate file read for --cert, in bytes; real CA bundles are well below. */
export const MAX_CERTIFICATE_FILE_BYTES = 4 * 1024 * 1024;
/** Most certificates taken from one file. */
export const MAX_CERTIFICATES_PER_FILE = 256;

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text.replace(/\s+/g, ""));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function certificateFromDer(der: Uint8Array, source: string): Certificate {
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1 || asn.result.error) throw new Error(asn.result.error || "not DER");
    return new Certificate({ schema: asn.result });
  } catch (error) {
    throw new KimgError(ErrorCode.BAD_SIGNATURE, `${source}: not an X.509 certificate (${error instanceof Error ? error.message : String(error)})`, {
      structure: "X.509 certificate",
    });
  }
}

/** Reads every certificate of a PEM file (any number of "BEGIN CERTIFICATE" blocks) or one DER certificate. */
export function readCertificates(data: Uint8Array, source = "certificate"): Certificate[] {
  if (data.length > MAX_CERTIFICATE_FILE_BYTES) {
    throw new KimgError(ErrorCode.LIMIT, `${source}: ${data.length} bytes is more than a certificate file may hold (${MAX_CERTIFICATE_FILE_BYTES})`, {
      structure: "X.509 certificate",
    });
  }
  if (data[0] === 0x30) return [certificateFromDer(data, source)];
  const text = new TextDecoder("latin1").decode(data);
  const blocks = [...text.matchAll(/-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g)];
  if (blocks.length === 0)
    throw new KimgError(ErrorCode.BAD_SIGNATURE, `${source}: neither a DER certificate nor a PEM file with a CERTIFICATE block`, {
      structure: "X.509 certificate",
    });
  if (blocks.length > MAX_CERTIFICATES_PER_FILE) {
    throw new KimgError(ErrorCode.LIMIT, `${source}: more than ${MAX_CERTIFICATES_PER_FILE} certificates`, { structure: "X.509 certificate" });
  }
  return blocks.map((m, i) => {
    let der: Uint8Array;
    try {
      der = base64ToBytes(m[1] ?? "");
    } catch {
      throw new KimgError(ErrorCode.BAD_SIGNATURE, `${source}: certificate ${i + 1} is not valid base64`, { structure: "X.509 certificate" });
    }
    return certificateFromDer(der, `${source} (certificate ${i + 1})`);
  });
}
