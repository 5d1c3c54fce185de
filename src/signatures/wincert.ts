/**
 * The attribute certificate table (data directory 4) of a PE image: a run of WIN_CERTIFICATE
 * entries, each 8-byte aligned. Source: Microsoft PE format specification, "The Attribute
 * Certificate Table (Image Only)"; include/linux/pe.h.
 *
 *   struct win_certificate {
 *           uint32_t length;      // dwLength: header + bCertificate, without the alignment padding
 *           uint16_t revision;    // wRevision: WIN_CERT_REVISION_2_0 = 0x0200
 *           uint16_t cert_type;   // wCertificateType: WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
 *   };                            // followed by bCertificate[dwLength - 8]
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { alignUp } from "../io/bytes.js";
import { defineLayout, hex, readStruct } from "../io/layout.js";
import type { Limits } from "../io/limits.js";
import type { PeInfo } from "../model/report.js";
import type { ReportCode } from "../model/codes.js";
import { peBase } from "./authenticode.js";

export const WIN_CERTIFICATE = defineLayout("WIN_CERTIFICATE", 8, [
  { name: "dwLength", offset: 0, type: "u32" },
  { name: "wRevision", offset: 4, type: "u16" },
  { name: "wCertificateType", offset: 6, type: "u16" },
] as const);

export const WIN_CERT_REVISION_1_0 = 0x0100;
export const WIN_CERT_REVISION_2_0 = 0x0200;
export const WIN_CERT_TYPE_X509 = 0x0001;
export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
export const WIN_CERT_TYPE_EFI_GUID = 0x0ef1;

const CERT_TYPE_NAMES: Readonly<Record<number, string>> = {
  [WIN_CERT_TYPE_X509]: "X509",
  [WIN_CERT_TYPE_PKCS_SIGNED_DATA]: "PKCS_SIGNED_DATA",
  [WIN_CERT_TYPE_EFI_GUID]: "EFI_GUID",
};

export function certificateTypeName(type: number): string {
  return CERT_TYPE_NAMES[type] ?? hex(type);
}

export interface WinCertificate {
  /** Position in the table, from 0. */
  index: number;
  /** Offset of the entry in the layer space of the PE. */
  offset: number;
  dwLength: number;
  wRevision: number;
  wCertificateType: number;
  /** bCertificate: the PKCS#7 SignedData for PKCS_SIGNED_DATA entries (a view, not a copy). */
  content: Uint8Array;
}

/** Something wrong with the table that does not stop the walk; the entries before it stay usable. */
export interface TableProblem {
  code: ReportCode;
  /** "error" when a signature may have been missed, so nothing can count as verified. */
  severity: "warning" | "error";
  message: string;
  /** Layer-space offset. */
  offset: number;
}

/** What Linux's verify_pefile.c (KEXEC_SIG, pefile_strip_sig_wrapper) would say of this table. */
export interface KernelTableCheck {
  accepted: boolean;
  /** Why not, in the kernel's terms; null when accepted. */
  reason: string | null;
}

export interface CertificateTable {
  /** Layer-space offset and size of the whole table. */
  offset: number;
  size: number;
  entries: WinCertificate[];
  problems: TableProblem[];
  kernel: KernelTableCheck;
}

/**
 * The kernel reads only the first entry and insists that it fills the table:
 * `round_up(wrapper.length, 8) == certs.size`, revision 2.0, type PKCS_SIGNED_DATA. So a second
 * signature (sbsign run twice) makes the kernel reject the image even though firmware accepts it.
 */
function kernelCheck(first: WinCertificate | undefined, tableSize: number): KernelTableCheck {
  if (!first) return { accepted: false, reason: "no WIN_CERTIFICATE entry" };
  if (alignUp(first.dwLength, 8) !== tableSize) {
    return {
      accepted: false,
      reason: `round_up(dwLength ${hex(first.dwLength)}, 8) != certificate table size ${hex(tableSize)} (more than one signature, or a badly sized table): "Signature wrapper len wrong"`,
    };
  }
  if (first.wRevision !== WIN_CERT_REVISION_2_0) return { accepted: false, reason: `wRevision ${hex(first.wRevision)} is not WIN_CERT_REVISION_2_0` };
  if (first.wCertificateType !== WIN_CERT_TYPE_PKCS_SIGNED_DATA)
    return { accepted: false, reason: `wCertificateType ${hex(first.wCertificateType)} is not PKCS_SIGNED_DATA` };
  return { accepted: true, reason: null };
}

/** Walks the WIN_CERTIFICATE entries of a signed PE; null when the image has no certificate table. */
export function readCertificateTable(
  bytes: Uint8Array,
  pe: PeInfo,
  limits: Pick<Limits, "maxCertificateTableBytes" | "maxSignatureCount">,
): CertificateTable | null {
  const table = pe.certificateTable;
  if (!table) return null;
  const base = peBase(bytes, pe);
  if (table.size > limits.maxCertificateTableBytes) {
    throw new KimgError(ErrorCode.LIMIT, `certificate table of ${table.size} bytes exceeds maxCertificateTableBytes (${limits.maxCertificateTableBytes})`, {
      structure: "certificate table",
      offset: table.entryOffset,
      actual: table.size,
      expected: limits.maxCertificateTableBytes,
    });
  }
  if (table.offset < pe.sizeOfHeaders || table.offset > bytes.length || table.size > bytes.length - table.offset) {
    throw new KimgError(
      ErrorCode.BAD_OFFSET,
      `certificate table [${hex(table.offset)}, +${hex(table.size)}) is not inside the image (headers end at ${hex(pe.sizeOfHeaders)}, data at ${hex(bytes.length)})`,
      {
        structure: "certificate table",
        offset: table.entryOffset,
      },
    );
  }
  const end = table.offset + table.size;
  const entries: WinCertificate[] = [];
  const problems: TableProblem[] = [];
  if (table.offset % 8 !== 0) {
    problems.push({
      code: "CERT_TABLE_UNALIGNED",
      severity: "warning",
      message: `the certificate table starts at ${hex(table.offset)}, not on the 8-byte boundary the PE specification requires`,
      offset: base + table.offset,
    });
  }
  let at = table.offset;
  while (at < end) {
    if (end - at < 8) {
      const rest = bytes.subarray(at, end);
      if (rest.some((b) => b !== 0))
        problems.push({
          code: "CERT_TABLE_TRAILING_BYTES",
          severity: "warning",
          message: `${end - at} bytes after the last entry are too short for a WIN_CERTIFICATE`,
          offset: base + at,
        });
      break;
    }
    if (entries.length >= limits.maxSignatureCount) {
      problems.push({
        code: ErrorCode.LIMIT,
        severity: "error",
        message: `more than maxSignatureCount (${limits.maxSignatureCount}) entries; the rest were not read`,
        offset: base + at,
      });
      break;
    }
    const h = readStruct(WIN_CERTIFICATE, bytes, at).record;
    if (h.dwLength === 0 && bytes.subarray(at, end).every((b) => b === 0)) break;
    if (h.dwLength < 8 || h.dwLength > end - at) {
      problems.push({
        code: "CERT_ENTRY_BAD_LENGTH",
        severity: "error",
        message: `WIN_CERTIFICATE dwLength ${hex(h.dwLength)} at ${hex(base + at)} is below 8 or runs past the table end ${hex(base + end)}`,
        offset: base + at,
      });
      break;
    }
    entries.push({
      index: entries.length,
      offset: base + at,
      dwLength: h.dwLength,
      wRevision: h.wRevision,
      wCertificateType: h.wCertificateType,
      content: bytes.subarray(at + 8, at + h.dwLength),
    });
    at += alignUp(h.dwLength, 8);
  }
  return { offset: base + table.offset, size: table.size, entries, problems, kernel: kernelCheck(entries[0], table.size) };
}
