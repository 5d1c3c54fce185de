/**
 * The Authenticode image digest of a PE/COFF file: which bytes are hashed, in which order, and
 * the digest over them. Source: Microsoft "Windows Authenticode Portable Executable Signature
 * Format" (Authenticode_PE.docx), "Calculating the PE Image Hash"; the Linux kernel's
 * crypto/asymmetric_keys/verify_pefile.c (pefile_digest_pe_contents), which follows the same
 * steps. See docs/formats.md §6.
 *
 *   1. Hash the headers from 0 to SizeOfHeaders, leaving out CheckSum (4 bytes) and the
 *      Certificate Table data-directory entry (8 bytes).
 *   2. SUM_OF_BYTES_HASHED = SizeOfHeaders.
 *   3. Sort the section headers by PointerToRawData; hash each section's SizeOfRawData bytes
 *      (sections with SizeOfRawData 0 are skipped) and add them to SUM.
 *   4. If FILE_SIZE > SUM, hash [SUM, FILE_SIZE - CertificateTable.Size): data after the last
 *      section; the certificate table is assumed to be last and is never hashed.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { hex, u32 } from "../io/layout.js";
import { DEFAULT_LIMITS } from "../io/limits.js";
import type { PeInfo, PeSection } from "../model/report.js";

/** The digest algorithms Authenticode signatures use and `kimg digest --alg` takes. */
export type DigestName = "sha1" | "sha256" | "sha384" | "sha512";

/** The digests Authenticode signatures use, by the OID a DigestInfo names them with (RFC 5754, RFC 3279). */
export const DIGEST_ALGORITHMS: Readonly<Record<DigestName, { oid: string; webCrypto: string; bytes: number }>> = {
  sha1: { oid: "1.3.14.3.2.26", webCrypto: "SHA-1", bytes: 20 },
  sha256: { oid: "2.16.840.1.101.3.4.2.1", webCrypto: "SHA-256", bytes: 32 },
  sha384: { oid: "2.16.840.1.101.3.4.2.2", webCrypto: "SHA-384", bytes: 48 },
  sha512: { oid: "2.16.840.1.101.3.4.2.3", webCrypto: "SHA-512", bytes: 64 },
};

export function isDigestName(name: string): name is DigestName {
  return Object.hasOwn(DIGEST_ALGORITHMS, name);
}

export function digestNameForOid(oid: string): DigestName | null {
  for (const [name, alg] of Object.entries(DIGEST_ALGORITHMS)) if (alg.oid === oid) return name as DigestName;
  return null;
}

/** A run of bytes, `[start, end)`, relative to the PE's own bytes. */
export interface ByteRange {
  start: number;
  end: number;
  /** What the bytes are: "headers", a section name, "after sections", "CheckSum" ... */
  label: string;
}

/** The byte ranges of a PE image that its Authenticode digest covers (everything but the checksum, the certificate-table entry and the certificates), with their offsets. */
export interface AuthenticodeLayout {
  /** Offset of the PE's first byte in its layer space; add it to a range to get a layer-space offset. */
  base: number;
  /** The ranges hashed, in hashing order. */
  hashed: ByteRange[];
  /** The ranges left out of the digest (CheckSum, the certificate-table entry, the table, trimmed padding). */
  skipped: ByteRange[];
  /** Length of the image the digest is computed over: the data, or the end of the certificate table when trimmed. */
  imageLength: number;
  /** Zero bytes after the certificate table that were cut off before hashing. */
  trimmedZeroBytes: number;
  /** Sum of the hashed range lengths. */
  hashedBytes: number;
}

export interface LayoutOptions {
  /**
   * Cut the image at the end of its certificate table when only zero bytes follow (v6.4+ zboot
   * pads the inner Image to image_size). kexec-tools does this before kexec_file_load (commit
   * 6aecc32), so the kernel sees the image as signed. Default true.
   */
  trim?: boolean;
  /**
   * Most bytes the ranges may add up to (default DEFAULT_LIMITS.maxOutputBytes). Sections may
   * overlap, and each is hashed in full, so a hostile section table could otherwise ask for
   * many times the file size.
   */
  maxHashedBytes?: number;
}

/** Offset of the PE's first byte in its layer space, from e_lfanew and `pe.peOffset`. */
export function peBase(bytes: Uint8Array, pe: PeInfo): number {
  const lfanew = u32(bytes, 0x3c);
  if (lfanew === undefined || lfanew > pe.peOffset) {
    throw new KimgError(ErrorCode.BAD_FIELD, "the PE facts do not belong to these bytes (e_lfanew disagrees with peOffset)", {
      structure: "MS-DOS header",
      offset: 0x3c,
      expected: pe.peOffset,
      actual: lfanew ?? "missing",
    });
  }
  return pe.peOffset - lfanew;
}

/** Offset (in the PE's bytes) of data directory 4, the certificate-table entry, or null when there is none. */
export function certificateEntryOffset(pe: PeInfo, base: number): number | null {
  return pe.numberOfRvaAndSizes > 4 ? pe.dataDirectoryOffset - base + 4 * 8 : null;
}

/**
 * Section order for hashing: by PointerToRawData, ties broken as verify_pefile.c's insertion sort
 * does (VirtualAddress, then name, VirtualSize, SizeOfRawData), so equal offsets hash in one order.
 */
export function hashOrder(sections: readonly PeSection[]): PeSection[] {
  return [...sections].sort(
    (a, b) =>
      a.pointerToRawData - b.pointerToRawData ||
      a.virtualAddress - b.virtualAddress ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
      a.virtualSize - b.virtualSize ||
      a.sizeOfRawData - b.sizeOfRawData,
  );
}

/** The bytes the Authenticode digest covers, every offset checked against the data. */
export function authenticodeLayout(bytes: Uint8Array, pe: PeInfo, options: LayoutOptions = {}): AuthenticodeLayout {
  const base = peBase(bytes, pe);
  const fail = (message: string, structure: string, offset: number): never => {
    throw new KimgError(ErrorCode.BAD_OFFSET, message, { structure, offset: base + offset });
  };
  const table = pe.certificateTable;
  if (table && (table.offset > bytes.length || table.size > bytes.length - table.offset)) {
    fail(
      `certificate table [${hex(table.offset)}, +${hex(table.size)}) runs past the end of the data (${hex(bytes.length)})`,
      "certificate table",
      table.entryOffset - base,
    );
  }
  const trimmedZeroBytes = table && (options.trim ?? true) ? Math.min(pe.trailingZeroBytes, bytes.length - (table.offset + table.size)) : 0;
  const imageLength = bytes.length - trimmedZeroBytes;

  const checkSum = pe.checkSumOffset - base;
  const entry = certificateEntryOffset(pe, base);
  const headersEnd = pe.sizeOfHeaders;
  if (checkSum < 0 || checkSum + 4 > headersEnd || (entry !== null && (entry < checkSum + 4 || entry + 8 > headersEnd))) {
    fail(`SizeOfHeaders ${hex(headersEnd)} does not cover the CheckSum field and the certificate-table entry`, "optional header", checkSum);
  }
  if (headersEnd > imageLength) fail(`SizeOfHeaders ${hex(headersEnd)} is past the end of the image (${hex(imageLength)})`, "optional header", checkSum - 4);

  const hashed: ByteRange[] = [];
  const skipped: ByteRange[] = [{ start: checkSum, end: checkSum + 4, label: "CheckSum" }];
  const add = (start: number, end: number, label: string): void => {
    if (end > start) hashed.push({ start, end, label });
  };
  if (entry === null) {
    add(0, checkSum, "headers to CheckSum");
    add(checkSum + 4, headersEnd, "headers after CheckSum");
  } else {
    add(0, checkSum, "headers to CheckSum");
    add(checkSum + 4, entry, "headers to certificate-table entry");
    skipped.push({ start: entry, end: entry + 8, label: "certificate-table entry" });
    add(entry + 8, headersEnd, "headers after certificate-table entry");
  }

  let sum = headersEnd;
  for (const s of hashOrder(pe.sections)) {
    if (s.sizeOfRawData === 0) continue;
    if (s.pointerToRawData > imageLength || s.sizeOfRawData > imageLength - s.pointerToRawData) {
      fail(
        `section ${s.name} raw data [${hex(s.pointerToRawData)}, +${hex(s.sizeOfRawData)}) runs past the end of the image (${hex(imageLength)})`,
        `section header (${s.name})`,
        s.headerOffset - base + 16,
      );
    }
    add(s.pointerToRawData, s.pointerToRawData + s.sizeOfRawData, s.name);
    sum += s.sizeOfRawData;
  }

  const tableSize = table?.size ?? 0;
  if (imageLength > sum && imageLength - tableSize > sum) add(sum, imageLength - tableSize, "after sections");
  if (table) skipped.push({ start: table.offset, end: table.offset + table.size, label: "certificate table" });
  if (trimmedZeroBytes > 0) skipped.push({ start: imageLength, end: bytes.length, label: "zero padding after the certificate table" });

  const hashedBytes = hashed.reduce((n, r) => n + (r.end - r.start), 0);
  const maxHashedBytes = options.maxHashedBytes ?? DEFAULT_LIMITS.maxOutputBytes;
  if (hashedBytes > maxHashedBytes) {
    throw new KimgError(ErrorCode.LIMIT, `the sections add up to ${hashedBytes} bytes to hash, more than maxOutputBytes (${maxHashedBytes}); they overlap`, {
      structure: "section table",
      offset: pe.sections[0]?.headerOffset ?? base,
      actual: hashedBytes,
      expected: maxHashedBytes,
    });
  }
  return { base, hashed, skipped, imageLength, trimmedZeroBytes, hashedBytes };
}

/**
 * Copies the hashed ranges into one buffer. WebCrypto has no incremental digest, and its native
 * speed (≈1-2 GB/s) beats a JS SHA-256 by about ten times; the price is one transient copy of
 * the hashed bytes (as large as the image, at most maxOutputBytes), built once for all algorithms.
 */
export function hashedBytes(bytes: Uint8Array, layout: AuthenticodeLayout): Uint8Array {
  const out = new Uint8Array(layout.hashedBytes);
  let at = 0;
  for (const r of layout.hashed) {
    out.set(bytes.subarray(r.start, r.end), at);
    at += r.end - r.start;
  }
  return out;
}

export async function digestHex(data: Uint8Array, algorithm: DigestName): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new KimgError(ErrorCode.UNSUPPORTED, "WebCrypto (crypto.subtle) is not available here", { structure: "Authenticode digest" });
  const digest = new Uint8Array(await subtle.digest(DIGEST_ALGORITHMS[algorithm].webCrypto, data as Uint8Array<ArrayBuffer>));
  let out = "";
  for (const b of digest) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Authenticode digests of a PE image, as lowercase hex, one per algorithm asked for. */
export async function authenticodeDigests(
  bytes: Uint8Array,
  pe: PeInfo,
  algorithms: readonly DigestName[] = ["sha256"],
  options: LayoutOptions = {},
): Promise<Partial<Record<DigestName, string>>> {
  const data = hashedBytes(bytes, authenticodeLayout(bytes, pe, options));
  const out: Partial<Record<DigestName, string>> = {};
  for (const alg of new Set(algorithms)) out[alg] = await digestHex(data, alg);
  return out;
}

/** The Authenticode digest of a PE image as lowercase hex (what `pesign -h` prints). */
export async function authenticodeDigest(bytes: Uint8Array, pe: PeInfo, algorithm: DigestName = "sha256", options: LayoutOptions = {}): Promise<string> {
  return (await authenticodeDigests(bytes, pe, [algorithm], options))[algorithm] ?? "";
}
