/**
 * UEFI signature databases (db, dbx) as firmware holds them: sequences of EFI_SIGNATURE_LIST
 * (UEFI spec 2.10, 32.4.1 "Signature Database"), as `efi-readvar -o` writes them, with the
 * 4-byte attributes prefix an efivarfs file has, or after the EFI_VARIABLE_AUTHENTICATION_2
 * header of a signed update (`sign-efi-sig-list` output, 8.2.2). Also a plain certificate (PEM or
 * DER) and shim's `.vendor_cert` (its built-in db and dbx), for convenience.
 *
 *   typedef struct {
 *     EFI_GUID SignatureType;          // EFI_CERT_X509_GUID, EFI_CERT_SHA256_GUID ...
 *     UINT32   SignatureListSize;      // header + SignatureHeaderSize + n * SignatureSize
 *     UINT32   SignatureHeaderSize;
 *     UINT32   SignatureSize;          // each EFI_SIGNATURE_DATA
 *     // UINT8 SignatureHeader[SignatureHeaderSize];
 *     // EFI_SIGNATURE_DATA Signatures[...][SignatureSize];
 *   } EFI_SIGNATURE_LIST;
 *   typedef struct { EFI_GUID SignatureOwner; UINT8 SignatureData[]; } EFI_SIGNATURE_DATA;
 *
 *   typedef struct {
 *     EFI_TIME TimeStamp;                          // 16 bytes
 *     WIN_CERTIFICATE_UEFI_GUID AuthInfo;          // dwLength, wRevision 0x0200,
 *   } EFI_VARIABLE_AUTHENTICATION_2;               // wCertificateType 0x0EF1, CertType, CertData
 */
import * as asn1js from "asn1js";
import { Certificate, ContentInfo, SignedData } from "pkijs";
import { hex, toHexBytes, u16, u32 } from "../io/layout.js";
import type { Diagnostic } from "../model/report.js";
import type { DiagnosticCode } from "../model/codes.js";
import type {
  AuthenticationHeaderFacts,
  PolicyCertificate,
  PolicyFileFacts,
  PolicyHash,
  SignatureDatabaseFacts,
  SignatureListFacts,
} from "../model/secure-boot.js";
import { findPeSection } from "../formats/pe-secure-boot.js";
import { certificateFacts, nameToString, readCertificates } from "./certificates.js";
import { MAX_SIGNATURE_BYTES, MAX_SIGNATURE_DATABASE_BYTES, MAX_SIGNATURE_LISTS, MAX_SIGNATURES_PER_DATABASE } from "../io/limits.js";

export { MAX_SIGNATURE_BYTES, MAX_SIGNATURE_DATABASE_BYTES, MAX_SIGNATURE_LISTS, MAX_SIGNATURES_PER_DATABASE };

/** The signature types of UEFI spec 32.4.1, by GUID. */
export const SIGNATURE_TYPES: Readonly<Record<string, string>> = {
  "c1c41626-504c-4092-aca9-41f936934328": "EFI_CERT_SHA256_GUID",
  "3c5766e8-269c-4e34-aa14-ed776e85b3b6": "EFI_CERT_RSA2048_GUID",
  "e2b36190-879b-4a3d-ad8d-f2e7bba32784": "EFI_CERT_RSA2048_SHA256_GUID",
  "826ca512-cf10-4ac9-b187-be01496631bd": "EFI_CERT_SHA1_GUID",
  "67f8444f-8743-48f1-a328-1eaab8736080": "EFI_CERT_RSA2048_SHA1_GUID",
  "a5c059a1-94e4-4aa7-87b5-ab155c2bf072": "EFI_CERT_X509_GUID",
  "0b6e5233-a65c-44c9-9407-d9ab83bfc8bd": "EFI_CERT_SHA224_GUID",
  "ff3e5307-9fd0-48c9-85f1-8ad56c701e01": "EFI_CERT_SHA384_GUID",
  "093e0fae-a6c4-4f50-9f1b-d41e2b89c19a": "EFI_CERT_SHA512_GUID",
  "3bd2a492-96c0-4079-b420-fcf98ef103ed": "EFI_CERT_X509_SHA256_GUID",
  "7076876e-80c2-4ee6-aad2-28b349a6865b": "EFI_CERT_X509_SHA384_GUID",
  "446dbf63-2502-4cda-bcfa-2465d2b0fe9d": "EFI_CERT_X509_SHA512_GUID",
  "4aafd29d-68df-49ee-8aa9-347d375665a7": "EFI_CERT_TYPE_PKCS7_GUID",
};
const EFI_CERT_SHA256 = "c1c41626-504c-4092-aca9-41f936934328";
const EFI_CERT_X509 = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072";
const EFI_CERT_TYPE_PKCS7 = "4aafd29d-68df-49ee-8aa9-347d375665a7";
const WIN_CERT_TYPE_EFI_GUID = 0x0ef1;
const EFI_VARIABLE_ATTRIBUTES_MASK = 0x7f;

/** A GUID's text form: the first three fields little-endian (UEFI spec, Appendix A). */
export function guidText(bytes: Uint8Array, at: number): string | null {
  if (at < 0 || at + 16 > bytes.length) return null;
  const b = (i: number): string => (bytes[at + i] ?? 0).toString(16).padStart(2, "0");
  const run = (idx: number[]): string => idx.map(b).join("");
  return `${run([3, 2, 1, 0])}-${run([5, 4])}-${run([7, 6])}-${run([8, 9])}-${run([10, 11, 12, 13, 14, 15])}`;
}

/** A db or dbx as kimg uses it: the certificates (pkijs objects) and hashes, with the facts for the report. */
export interface SignatureDatabase {
  facts: SignatureDatabaseFacts;
  certificates: Certificate[];
  diagnostics: Diagnostic[];
}

/** One file given as --db or --dbx. */
export interface PolicyFile {
  /** The name the report shows (the path). */
  name: string;
  data: Uint8Array;
}

class DatabaseReader {
  readonly certificates: Certificate[] = [];
  readonly certFacts: PolicyCertificate[] = [];
  readonly hashes: PolicyHash[] = [];
  readonly diagnostics: Diagnostic[] = [];
  private signatures = 0;

  constructor(private readonly what: string) {}

  diagnose(code: DiagnosticCode, severity: Diagnostic["severity"], message: string, offset: number | null, file: string): void {
    this.diagnostics.push({ code, severity, message: `${this.what} ${file}: ${message}`, offset, layer: "/" });
  }

  /** Reads the EFI_SIGNATURE_LISTs of `bytes` from `start`; offsets are file offsets. */
  readLists(bytes: Uint8Array, start: number, file: string): SignatureListFacts[] {
    const lists: SignatureListFacts[] = [];
    let at = start;
    while (at < bytes.length) {
      if (lists.length >= MAX_SIGNATURE_LISTS) {
        this.diagnose("ESL_TOO_MANY", "error", `more than MAX_SIGNATURE_LISTS (${MAX_SIGNATURE_LISTS}) lists; the rest were not read`, at, file);
        break;
      }
      if (at + 28 > bytes.length) {
        this.diagnose("ESL_TRUNCATED", "error", `${bytes.length - at} bytes at ${hex(at)} are too few for an EFI_SIGNATURE_LIST header (28)`, at, file);
        break;
      }
      const type = guidText(bytes, at) ?? "";
      const listSize = u32(bytes, at + 16) ?? 0;
      const headerSize = u32(bytes, at + 20) ?? 0;
      const signatureSize = u32(bytes, at + 24) ?? 0;
      const typeName = SIGNATURE_TYPES[type] ?? null;
      const body = listSize - 28 - headerSize;
      if (listSize < 28 || headerSize > listSize - 28 || signatureSize < 16 || signatureSize > MAX_SIGNATURE_BYTES || body % signatureSize !== 0) {
        this.diagnose(
          "ESL_BAD_SIZE",
          "error",
          `EFI_SIGNATURE_LIST at ${hex(at)}: SignatureListSize ${hex(listSize)}, SignatureHeaderSize ${hex(headerSize)} and SignatureSize ${hex(signatureSize)} do not fit together (SignatureSize 16..${MAX_SIGNATURE_BYTES}, the body a whole number of signatures); the rest of the file was not read`,
          at,
          file,
        );
        break;
      }
      if (listSize > bytes.length - at) {
        this.diagnose("ESL_TRUNCATED", "error", `EFI_SIGNATURE_LIST at ${hex(at)} declares ${hex(listSize)} bytes, ${hex(bytes.length - at)} remain`, at, file);
        break;
      }
      const count = body / signatureSize;
      const used = type === EFI_CERT_X509 || (type === EFI_CERT_SHA256 && signatureSize === 48);
      lists.push({ offset: at, type, typeName, signatureListSize: listSize, signatureHeaderSize: headerSize, signatureSize, count, used });
      if (!used) {
        this.diagnose(
          "ESL_TYPE_IGNORED",
          "info",
          `EFI_SIGNATURE_LIST at ${hex(at)} of type ${typeName ?? type}${type === EFI_CERT_SHA256 ? ` with SignatureSize ${signatureSize} (not 48)` : ""}: ${count} signature${count === 1 ? "" : "s"} ignored`,
          at,
          file,
        );
      } else {
        for (let i = 0; i < count; i++) {
          if (this.signatures >= MAX_SIGNATURES_PER_DATABASE) {
            this.diagnose(
              "ESL_TOO_MANY",
              "error",
              `more than MAX_SIGNATURES_PER_DATABASE (${MAX_SIGNATURES_PER_DATABASE}) signatures; the rest were not read`,
              at,
              file,
            );
            return lists;
          }
          this.signatures++;
          const dataAt = at + 28 + headerSize + i * signatureSize;
          const owner = guidText(bytes, dataAt);
          const data = bytes.subarray(dataAt + 16, dataAt + signatureSize);
          if (type === EFI_CERT_SHA256) this.hashes.push({ offset: dataAt, owner, sha256: toHexBytes(data) });
          else this.readCertificate(data, dataAt, owner, file);
        }
      }
      at += listSize;
    }
    return lists;
  }

  private readCertificate(der: Uint8Array, offset: number, owner: string | null, file: string): void {
    try {
      const asn = asn1js.fromBER(der);
      if (asn.offset === -1 || asn.result.error) throw new Error("not DER");
      const cert = new Certificate({ schema: asn.result });
      const facts = certificateFacts(cert);
      this.certificates.push(cert);
      this.certFacts.push({ offset, owner, subject: facts.subject, issuer: facts.issuer, serial: facts.serial });
    } catch {
      this.diagnose("ESL_BAD_CERTIFICATE", "error", `the EFI_CERT_X509_GUID signature at ${hex(offset)} is not a readable X.509 certificate`, offset, file);
    }
  }

  addCertificates(certs: Certificate[], offset: number, owner: string | null): void {
    for (const cert of certs) {
      const facts = certificateFacts(cert);
      this.certificates.push(cert);
      this.certFacts.push({ offset, owner, subject: facts.subject, issuer: facts.issuer, serial: facts.serial });
    }
  }
}

const EFI_TIME_BYTES = 16;

/** The EFI_VARIABLE_AUTHENTICATION_2 header at the start of `bytes`, or null when there is none. */
function readAuthenticationHeader(bytes: Uint8Array): { facts: AuthenticationHeaderFacts; problem: string | null } | null {
  const length = u32(bytes, EFI_TIME_BYTES);
  const revision = u16(bytes, EFI_TIME_BYTES + 4);
  const certificateType = u16(bytes, EFI_TIME_BYTES + 6);
  const certType = guidText(bytes, EFI_TIME_BYTES + 8);
  if (length === undefined || revision !== 0x0200 || certificateType !== WIN_CERT_TYPE_EFI_GUID || certType === null) return null;
  const year = u16(bytes, 0) ?? 0;
  const two = (v: number | undefined): string => String(v ?? 0).padStart(2, "0");
  const timestamp = `${String(year).padStart(4, "0")}-${two(bytes[2])}-${two(bytes[3])}T${two(bytes[4])}:${two(bytes[5])}:${two(bytes[6])}Z`;
  const dataOffset = EFI_TIME_BYTES + length;
  const facts: AuthenticationHeaderFacts = { timestamp, length, certType, signers: [], dataOffset };
  if (length < 24 || dataOffset > bytes.length)
    return { facts, problem: `WIN_CERTIFICATE dwLength ${hex(length)} runs past the end of the file (${hex(bytes.length)} bytes)` };
  if (certType !== EFI_CERT_TYPE_PKCS7) return { facts, problem: `CertType ${certType} is not EFI_CERT_TYPE_PKCS7_GUID` };
  const der = bytes.subarray(EFI_TIME_BYTES + 24, dataOffset);
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1 || asn.result.error) throw new Error("not DER");
    // sign-efi-sig-list writes a bare SignedData (EDK2 accepts it with or without the ContentInfo wrapper).
    let signed: SignedData;
    try {
      const info = new ContentInfo({ schema: asn.result });
      signed = new SignedData({ schema: info.content });
    } catch {
      signed = new SignedData({ schema: asn.result });
    }
    facts.signers = (signed.certificates ?? []).filter((c): c is Certificate => c instanceof Certificate).map((c) => nameToString(c.subject));
    return { facts, problem: null };
  } catch {
    return { facts, problem: "its PKCS#7 signature cannot be read (described only: kimg does not require it to verify)" };
  }
}

/** shim's `.vendor_cert` (shim.h cert_table): sizes and offsets of its built-in db (a certificate or a list) and dbx. */
function shimVendorTables(bytes: Uint8Array): { db: Uint8Array; dbx: Uint8Array; dbOffset: number; dbxOffset: number } | null {
  const section = findPeSection(bytes, ".vendor_cert");
  if (!section) return null;
  const raw = section.pointerToRawData;
  const authSize = u32(bytes, raw) ?? 0;
  const deauthSize = u32(bytes, raw + 4) ?? 0;
  const dbOffset = raw + (u32(bytes, raw + 8) ?? 0);
  const dbxOffset = raw + (u32(bytes, raw + 12) ?? 0);
  if (raw + 16 > bytes.length || dbOffset + authSize > bytes.length || dbxOffset + deauthSize > bytes.length) return null;
  return { db: bytes.subarray(dbOffset, dbOffset + authSize), dbx: bytes.subarray(dbxOffset, dbxOffset + deauthSize), dbOffset, dbxOffset };
}

/** Whether `bytes[at..]` starts an EFI_SIGNATURE_LIST of a known type. */
function startsList(bytes: Uint8Array, at: number): boolean {
  const type = guidText(bytes, at);
  return type !== null && Object.hasOwn(SIGNATURE_TYPES, type) && type !== EFI_CERT_TYPE_PKCS7;
}

/**
 * Reads the files of one database (db or dbx: `what`). Each may be a raw signature-list dump, an
 * efivarfs file (4-byte attributes first), a signed `.auth` update, a certificate (PEM or DER),
 * or a shim binary (its `.vendor_cert`: the built-in certificate as db, vendor_dbx as dbx).
 * Problems are diagnostics; nothing throws for bad data.
 */
export function readSignatureDatabase(files: readonly PolicyFile[], what: "db" | "dbx"): SignatureDatabase {
  const reader = new DatabaseReader(what);
  const facts: PolicyFileFacts[] = [];
  for (const { name, data } of files) {
    const file: PolicyFileFacts = { name, kind: "efi-signature-list", size: data.length, attributes: null, auth: null, lists: [] };
    facts.push(file);
    if (data.length > MAX_SIGNATURE_DATABASE_BYTES) {
      reader.diagnose(
        "ESL_TOO_MANY",
        "error",
        `${data.length} bytes, more than MAX_SIGNATURE_DATABASE_BYTES (${MAX_SIGNATURE_DATABASE_BYTES}); not read`,
        0,
        name,
      );
      continue;
    }
    if (data.length === 0) continue; // an empty variable: no entries
    if (startsList(data, 0)) {
      file.lists = reader.readLists(data, 0, name);
      continue;
    }
    const attributes = u32(data, 0) ?? 0;
    if (attributes <= EFI_VARIABLE_ATTRIBUTES_MASK && startsList(data, 4)) {
      file.kind = "efivarfs";
      file.attributes = attributes;
      file.lists = reader.readLists(data, 4, name);
      continue;
    }
    const auth = readAuthenticationHeader(data);
    if (auth) {
      file.kind = "authenticated-variable";
      file.auth = auth.facts;
      if (auth.problem) reader.diagnose("AUTH_HEADER_BAD", auth.facts.dataOffset > data.length ? "error" : "warning", auth.problem, 16, name);
      if (auth.facts.dataOffset <= data.length) file.lists = reader.readLists(data, auth.facts.dataOffset, name);
      continue;
    }
    const shim = shimVendorTables(data);
    if (shim) {
      file.kind = "shim";
      const table = what === "db" ? shim.db : shim.dbx;
      const offset = what === "db" ? shim.dbOffset : shim.dbxOffset;
      if (table.length > 0) {
        if (startsList(table, 0)) file.lists = reader.readLists(data.subarray(0, offset + table.length), offset, name);
        else {
          try {
            reader.addCertificates(readCertificates(table, `${name} .vendor_cert`), offset, null);
          } catch {
            reader.diagnose(
              "ESL_BAD_CERTIFICATE",
              "error",
              `shim's .vendor_cert ${what} at ${hex(offset)} is neither a certificate nor a signature list`,
              offset,
              name,
            );
          }
        }
      }
      continue;
    }
    try {
      const certs = readCertificates(data, name);
      file.kind = "certificate";
      reader.addCertificates(certs, 0, null);
    } catch {
      reader.diagnose("POLICY_FILE_UNKNOWN", "error", "neither an EFI signature list (raw, efivarfs or .auth), a certificate nor a shim binary", 0, name);
    }
  }
  return {
    facts: { files: facts, certificates: reader.certFacts, hashes: reader.hashes },
    certificates: reader.certificates,
    diagnostics: reader.diagnostics,
  };
}
