/**
 * cpio archives as the kernel unpacks them into its rootfs (init/initramfs.c,
 * Documentation/driver-api/early-userspace/buffer-format.rst), and the concatenated initramfs
 * that holds them: an uncompressed early (microcode) archive, then one or more compressed
 * archives, with zero bytes between.
 *
 * An entry is a 110-byte ASCII header (13 fields of 8 hex digits after a 6-byte magic), the
 * name (c_namesize bytes including its NUL) padded so the data starts on a 4-byte boundary,
 * then c_filesize bytes of data padded to 4 bytes. A symlink's data is its target. The entry
 * named "TRAILER!!!" ends the archive. In "070702" (crc) archives c_check is the 32-bit sum of
 * the data bytes; in "070701" (newc) it is 0.
 */
import { sniffCodec } from "../codecs/sniff.js";
import { alignUp, hex } from "../io/bytes.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { defineLayout } from "../io/layout.js";
import type { Limits } from "../io/limits.js";
import type { ArchiveEntry, ArchiveEntryType, ArchiveListing, InitramfsSegment } from "../model/archive.js";
import type { Field, Layer } from "../model/report.js";
import type { ChildSpec, FormatInput, FormatParser } from "./types.js";

/** The newc header (buffer-format.rst, "cpio_file_header"): every field 8 ASCII hex digits. */
export const CPIO_NEWC_HEADER = defineLayout("cpio newc header", 110, [
  { name: "c_magic", offset: 0, type: "ascii", size: 6 },
  { name: "c_ino", offset: 6, type: "ascii", size: 8 },
  { name: "c_mode", offset: 14, type: "ascii", size: 8 },
  { name: "c_uid", offset: 22, type: "ascii", size: 8 },
  { name: "c_gid", offset: 30, type: "ascii", size: 8 },
  { name: "c_nlink", offset: 38, type: "ascii", size: 8 },
  { name: "c_mtime", offset: 46, type: "ascii", size: 8 },
  { name: "c_filesize", offset: 54, type: "ascii", size: 8 },
  { name: "c_maj", offset: 62, type: "ascii", size: 8 },
  { name: "c_min", offset: 70, type: "ascii", size: 8 },
  { name: "c_rmaj", offset: 78, type: "ascii", size: 8 },
  { name: "c_rmin", offset: 86, type: "ascii", size: 8 },
  { name: "c_namesize", offset: 94, type: "ascii", size: 8 },
  { name: "c_chksum", offset: 102, type: "ascii", size: 8 },
] as const);

const HEADER_BYTES = 110;
const TRAILER = "TRAILER!!!";
/** The kernel refuses names and symlink targets longer than PATH_MAX (init/initramfs.c, do_header). */
export const CPIO_PATH_MAX = 4096;

const S_IFMT = 0o170000;
const TYPES: ReadonlyMap<number, ArchiveEntryType> = new Map([
  [0o100000, "file"],
  [0o040000, "dir"],
  [0o120000, "symlink"],
  [0o020000, "char"],
  [0o060000, "block"],
  [0o010000, "fifo"],
  [0o140000, "socket"],
]);
const TYPE_LETTER: Readonly<Record<ArchiveEntryType, string>> = {
  file: "-",
  dir: "d",
  symlink: "l",
  char: "c",
  block: "b",
  fifo: "p",
  socket: "s",
  unknown: "?",
};

/** The entry type of a c_mode. */
export function entryType(mode: number): ArchiveEntryType {
  return TYPES.get(mode & S_IFMT) ?? "unknown";
}

/** "drwxr-xr-x", with s/S and t/T for the setuid, setgid and sticky bits, as ls shows them. */
export function modeText(mode: number): string {
  const bit = (b: number, c: string): string => (mode & b ? c : "-");
  const special = (x: number, s: number, set: string): string => (mode & s ? (mode & x ? set : set.toUpperCase()) : bit(x, "x"));
  return (
    TYPE_LETTER[entryType(mode)] +
    bit(0o400, "r") +
    bit(0o200, "w") +
    special(0o100, 0o4000, "s") +
    bit(0o040, "r") +
    bit(0o020, "w") +
    special(0o010, 0o2000, "s") +
    bit(0o004, "r") +
    bit(0o002, "w") +
    special(0o001, 0o1000, "t")
  );
}

function isMagicAt(bytes: Uint8Array, at: number): "newc" | "crc" | null {
  // "07070" then "1" (newc) or "2" (crc)
  if (at + 6 > bytes.length) return null;
  if (bytes[at] !== 0x30 || bytes[at + 1] !== 0x37 || bytes[at + 2] !== 0x30 || bytes[at + 3] !== 0x37 || bytes[at + 4] !== 0x30) return null;
  return bytes[at + 5] === 0x31 ? "newc" : bytes[at + 5] === 0x32 ? "crc" : null;
}

/** True when the bytes start with a newc or crc cpio header magic. */
export function isCpio(bytes: Uint8Array): boolean {
  return isMagicAt(bytes, 0) !== null;
}

/** Reads one 8-digit hex field; anything but hex digits is a coded error at the field. */
function hexField(bytes: Uint8Array, at: number, name: string, base: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = bytes[at + i] ?? -1;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) {
      throw new KimgError(ErrorCode.BAD_FIELD, `cpio header field ${name} is not 8 hex digits`, {
        structure: "cpio newc header",
        offset: base + at,
        field: name,
      });
    }
    v = v * 16 + d;
  }
  return v;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** What reading an archive needs: its limits, and where to report. */
export interface CpioReadOptions {
  limits: Pick<Limits, "maxArchiveEntries" | "maxArchiveNameBytes">;
  /** Offset of bytes[0] in the layer's space. */
  base: number;
  /** Start of the archive within `bytes` (a multiple of 4 from the segment start). */
  start?: number;
}

/** An archive read until its trailer, or until the first malformed header (then `error` holds it). */
export interface CpioRead extends ArchiveListing {
  /** The error that stopped the listing: a coded KimgError with its offset in the layer's space. */
  error: KimgError | null;
  /** Entries whose crc check did not match (crc archives), by header offset. */
  checksumMismatches: Array<{ offset: number; name: string; expected: number; actual: number }>;
}

/**
 * Reads a cpio archive from `start` to its TRAILER!!! entry. Every header field is checked
 * (magic, hex digits, the name's NUL, the name and data inside the bytes, PATH_MAX); the first
 * malformed one stops the listing with a coded error at its offset, keeping the entries before.
 */
export function readCpio(bytes: Uint8Array, options: CpioReadOptions): CpioRead {
  const { base, limits } = options;
  const start = options.start ?? 0;
  const entries: ArchiveEntry[] = [];
  const checksumMismatches: CpioRead["checksumMismatches"] = [];
  let at = start;
  let format: "newc" | "crc" | null = null;
  const fail = (error: KimgError): CpioRead => ({
    format: format ?? "newc",
    entries,
    trailerOffset: null,
    end: base + at,
    incomplete: true,
    error,
    checksumMismatches,
  });
  for (;;) {
    if (at + HEADER_BYTES > bytes.length) {
      const left = bytes.length - at;
      return fail(
        new KimgError(ErrorCode.TRUNCATED, left === 0 ? "cpio archive ends without its TRAILER!!! entry" : `cpio header needs 110 bytes, ${left} left`, {
          structure: "cpio newc header",
          offset: base + at,
        }),
      );
    }
    const magic = isMagicAt(bytes, at);
    if (magic === null) {
      const seen = Array.from(bytes.subarray(at, at + 6), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
      return fail(
        new KimgError(ErrorCode.BAD_MAGIC, `no cpio header magic ("070701" or "070702") here: "${seen}"`, {
          structure: "cpio newc header",
          offset: base + at,
          actual: seen,
        }),
      );
    }
    if (format === null) format = magic;
    else if (magic !== format) {
      return fail(
        new KimgError(ErrorCode.BAD_MAGIC, `a ${magic} header inside a ${format} archive`, { structure: "cpio newc header", offset: base + at, actual: magic }),
      );
    }
    let f: number[];
    try {
      f = [];
      for (let i = 0; i < 13; i++) f.push(hexField(bytes, at + 6 + i * 8, CPIO_NEWC_HEADER.fields[i + 1]?.name ?? "", base));
    } catch (error) {
      return fail(error as KimgError);
    }
    const [ino, mode, uid, gid, nlink, mtime, size, devMajor, devMinor, rdevMajor, rdevMinor, nameSize, check] = f as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const headerAt = at;
    if (nameSize === 0) {
      return fail(
        new KimgError(ErrorCode.BAD_FIELD, "c_namesize is 0: a name needs at least its NUL", { structure: "cpio newc header", offset: base + at + 94 }),
      );
    }
    if (nameSize > limits.maxArchiveNameBytes + 1) {
      return fail(
        new KimgError(ErrorCode.LIMIT, `c_namesize ${nameSize} is over maxArchiveNameBytes (${limits.maxArchiveNameBytes})`, {
          structure: "cpio newc header",
          offset: base + at + 94,
          limit: "maxArchiveNameBytes",
        }),
      );
    }
    const nameAt = at + HEADER_BYTES;
    if (nameAt + nameSize > bytes.length) {
      return fail(
        new KimgError(ErrorCode.TRUNCATED, `the name (${nameSize} bytes) runs past the end of the data`, {
          structure: "cpio newc header",
          offset: base + at + 94,
        }),
      );
    }
    if (bytes[nameAt + nameSize - 1] !== 0) {
      return fail(new KimgError(ErrorCode.BAD_FIELD, "the name is not NUL-terminated", { structure: "cpio entry name", offset: base + nameAt + nameSize - 1 }));
    }
    const nameBytes = bytes.subarray(nameAt, nameAt + nameSize - 1);
    // A NUL inside the name shows as U+FFFD: the listing never hides one (extraction refuses the entry).
    const name = decoder.decode(nameBytes).replaceAll("\0", "\uFFFD");
    const dataAt = alignUp(nameAt + nameSize - start, 4) + start;
    if (dataAt + size > bytes.length || dataAt > bytes.length) {
      return fail(
        new KimgError(ErrorCode.TRUNCATED, `${name}: c_filesize ${size} runs past the end of the data (${Math.max(0, bytes.length - dataAt)} bytes left)`, {
          structure: "cpio newc header",
          offset: base + at + 54,
        }),
      );
    }
    if (name === TRAILER && nameBytes.length === TRAILER.length) {
      const end = Math.min(bytes.length, alignUp(dataAt + size - start, 4) + start);
      return { format, entries, trailerOffset: base + headerAt, end: base + end, incomplete: false, error: null, checksumMismatches };
    }
    if (entries.length >= limits.maxArchiveEntries) {
      return fail(
        new KimgError(ErrorCode.LIMIT, `more than maxArchiveEntries (${limits.maxArchiveEntries}) entries; the listing stops here`, {
          structure: "cpio archive",
          offset: base + at,
          limit: "maxArchiveEntries",
        }),
      );
    }
    const type = entryType(mode);
    const entry: ArchiveEntry = {
      offset: base + headerAt,
      name,
      type,
      mode,
      modeText: modeText(mode),
      ino,
      uid,
      gid,
      nlink,
      mtime,
      size,
      devMajor,
      devMinor,
      rdevMajor,
      rdevMinor,
      check,
      dataOffset: base + dataAt,
    };
    if (type === "symlink") {
      if (size > CPIO_PATH_MAX) {
        return fail(
          new KimgError(ErrorCode.BAD_FIELD, `${name}: a symlink target of ${size} bytes is over PATH_MAX (${CPIO_PATH_MAX})`, {
            structure: "cpio newc header",
            offset: base + at + 54,
          }),
        );
      }
      entry.target = decoder.decode(bytes.subarray(dataAt, dataAt + size)).replaceAll("\0", "\uFFFD");
    }
    if (format === "crc") {
      let sum = 0;
      for (let i = dataAt; i < dataAt + size; i++) sum = (sum + (bytes[i] ?? 0)) >>> 0;
      if (sum !== check) checksumMismatches.push({ offset: base + headerAt, name, expected: check, actual: sum });
    }
    entries.push(entry);
    at = alignUp(dataAt + size - start, 4) + start;
  }
}

/** The fields of one entry's header, for the layer's structures (the first entries only: an archive may have thousands). */
function headerStructure(bytes: Uint8Array, at: number, base: number, name: string): { name: string; offset: number; size: number; fields: Field[] } {
  const fields: Field[] = CPIO_NEWC_HEADER.fields.map((spec) => {
    const raw = Array.from(bytes.subarray(at + spec.offset, at + spec.offset + (spec.size ?? 0)), (b) => String.fromCharCode(b)).join("");
    const value = spec.name === "c_magic" ? raw : Number.parseInt(raw, 16);
    return {
      name: spec.name,
      offset: base + at + spec.offset,
      size: spec.size ?? 0,
      value: Number.isNaN(value) ? raw : value,
      ...(typeof value === "number" && !Number.isNaN(value) ? { hex: hex(value) } : {}),
    };
  });
  return { name: `cpio header (${name})`, offset: base + at, size: HEADER_BYTES, fields };
}

/** How many entry headers a cpio layer shows field by field (the listing has them all). */
const HEADER_STRUCTURES_SHOWN = 4;

function fillArchiveLayer(input: FormatInput, layer: Layer, read: CpioRead): void {
  for (const e of read.entries.slice(0, HEADER_STRUCTURES_SHOWN))
    layer.structures.push(headerStructure(input.bytes, e.offset - input.base, input.base, e.name));
  if (read.trailerOffset !== null) layer.structures.push(headerStructure(input.bytes, read.trailerOffset - input.base, input.base, TRAILER));
  layer.archive = { format: read.format, entries: read.entries, trailerOffset: read.trailerOffset, end: read.end, incomplete: read.incomplete };
  const files = read.entries.filter((e) => e.type === "file");
  layer.info.archiveFormat = read.format;
  layer.info.entries = read.entries.length;
  layer.info.files = files.length;
  layer.info.dataBytes = files.reduce((n, e) => n + e.size, 0);
  for (const m of read.checksumMismatches) {
    input.diagnose("CPIO_CHECKSUM_MISMATCH", "error", `${m.name}: c_chksum ${hex(m.expected)} but the data sums to ${hex(m.actual)}`, m.offset - input.base);
  }
  layer.title = `cpio archive (${read.format}), ${read.entries.length} entries${read.incomplete ? " (incomplete)" : ""}`;
}

/** One cpio archive (newc or crc): its entries in `layer.archive`, facts `cpio`. */
export const cpioFormat: FormatParser = {
  format: "cpio",
  probe: isCpio,
  parse(input, layer): ChildSpec[] {
    const read = readCpio(input.bytes, { limits: input.limits, base: input.base });
    fillArchiveLayer(input, layer, read);
    input.setFacts({ kind: "cpio", format: read.format, entries: read.entries.length, end: read.end - input.base, complete: !read.incomplete });
    const after = read.end - input.base;
    if (!read.incomplete) {
      let i = after;
      while (i < input.bytes.length && input.bytes[i] === 0) i++;
      if (i < input.bytes.length) {
        input.diagnose("CPIO_TRAILING_DATA", "warning", `${input.bytes.length - i} bytes after the archive's trailer that are neither zero nor an archive`, i);
      }
    }
    // The walker records the coded error with its offset; the entries before it stay listed.
    if (read.error) throw read.error;
    return [];
  },
};

/** Skips the zero padding the kernel skips between segments (unpack_to_rootfs: zero bytes, then a header on a 4-byte boundary). */
function skipZeros(bytes: Uint8Array, at: number): number {
  let i = at;
  while (i < bytes.length && bytes[i] === 0) i++;
  return i;
}

/**
 * Where a compressed segment ends when another segment follows it: the next strong codec magic
 * or aligned cpio magic that comes right after zero padding. The decoders report no length, so
 * this is a search; without a candidate the segment runs to the end.
 */
function compressedEnd(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 6 <= bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    let j = i;
    while (j < bytes.length && bytes[j] === 0) j++;
    if (j - i >= 4 && j < bytes.length && ((isMagicAt(bytes, j) !== null && j % 4 === 0) || strongCodecAt(bytes, j))) return i;
    i = j;
  }
  return bytes.length;
}

function strongCodecAt(bytes: Uint8Array, at: number): boolean {
  const s = sniffCodec(bytes.subarray(at, at + 64));
  return s !== null && s.magicLength >= 4;
}

/**
 * The segments of a concatenated initramfs, as unpack_to_rootfs walks them: zero bytes are
 * skipped, a cpio magic starts an uncompressed archive (read to its trailer), a codec magic a
 * compressed one. A segment that is neither stops the walk with a coded error.
 */
export function initramfsSegments(bytes: Uint8Array, limits: CpioReadOptions["limits"]): { segments: InitramfsSegment[]; error: KimgError | null } {
  const segments: InitramfsSegment[] = [];
  let at = 0;
  while (at < bytes.length) {
    const name = `segment-${segments.length}`;
    if (segments.length >= limits.maxArchiveEntries) {
      return { segments, error: new KimgError(ErrorCode.LIMIT, "more segments than maxArchiveEntries", { offset: at, limit: "maxArchiveEntries" }) };
    }
    let end: number;
    let kind: InitramfsSegment["kind"];
    if (isMagicAt(bytes, at) !== null) {
      const read = readCpio(bytes, { limits, base: 0, start: at });
      end = read.end;
      kind = "cpio";
      if (read.incomplete) end = bytes.length;
    } else {
      const sniffed = sniffCodec(bytes.subarray(at, at + 64));
      if (!sniffed) {
        return {
          segments,
          error: new KimgError(ErrorCode.BAD_MAGIC, "neither a cpio archive nor a compressed stream after the padding", {
            structure: "initramfs segment",
            offset: at,
          }),
        };
      }
      kind = sniffed.codec;
      end = compressedEnd(bytes, at + sniffed.magicLength);
    }
    const next = skipZeros(bytes, end);
    segments.push({ name, kind, offset: at, size: end - at, paddingBytes: next - end });
    at = next;
  }
  return { segments, error: null };
}

/** Most headers the probe steps over before it gives up (the parse applies maxArchiveEntries). */
const PROBE_MAX_ENTRIES = 1 << 20;

/**
 * Where the archive starting at 0 ends (after its trailer, 4-aligned), stepping over headers
 * without decoding them; -1 when it is not a whole archive within PROBE_MAX_ENTRIES. For the probe.
 */
export function quickEnd(bytes: Uint8Array, walked?: { to: number }): number {
  const hex8 = (at: number): number => {
    let v = 0;
    for (let i = 0; i < 8; i++) {
      const c = bytes[at + i] ?? -1;
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  };
  let at = 0;
  for (let n = 0; n < PROBE_MAX_ENTRIES; n++) {
    if (walked) walked.to = at;
    if (isMagicAt(bytes, at) === null || at + HEADER_BYTES > bytes.length) return -1;
    const size = hex8(at + 54);
    const nameSize = hex8(at + 94);
    if (size < 0 || nameSize < 1) return -1;
    const dataAt = alignUp(at + HEADER_BYTES + nameSize, 4);
    const next = alignUp(dataAt + size, 4);
    if (dataAt + size > bytes.length) return -1;
    // "TRAILER!!!\0": 11 bytes of name
    if (nameSize === 11 && bytes[at + HEADER_BYTES] === 0x54 && decoder.decode(bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + 10)) === TRAILER) {
      return Math.min(bytes.length, next);
    }
    at = next;
  }
  return -1;
}

/** True when the bytes hold a cpio archive followed by another segment: a concatenated initramfs. */
function isConcatenated(bytes: Uint8Array): boolean {
  if (!isCpio(bytes)) return false;
  const end = quickEnd(bytes);
  return end > 0 && skipZeros(bytes, end) < bytes.length;
}

/** The error that stopped a segment walk, raised in `finish` so the walker records it after the children were read. */
const segmentErrors = new WeakMap<Layer, KimgError>();

/** A concatenated initramfs: each segment a child, an uncompressed archive as "cpio", a compressed one decompressed by the walker. */
export const initramfsFormat: FormatParser = {
  format: "initramfs",
  probe: isConcatenated,
  parse(input, layer): ChildSpec[] {
    const { segments, error } = initramfsSegments(input.bytes, input.limits);
    input.setFacts({ kind: "initramfs", segments });
    layer.info.segments = segments.map((s) => ({ name: s.name, kind: s.kind, offset: input.base + s.offset, size: s.size, paddingBytes: s.paddingBytes }));
    layer.structures.push({
      name: "initramfs segments",
      offset: input.base,
      size: input.bytes.length,
      fields: segments.map((s) => ({
        name: s.name,
        offset: input.base + s.offset,
        size: s.size,
        value: s.kind,
        meaning: `${s.kind === "cpio" ? "uncompressed cpio archive" : `${s.kind} stream`}, ${s.size} bytes${s.paddingBytes ? ` + ${s.paddingBytes} zero bytes` : ""}`,
      })),
    });
    if (error) segmentErrors.set(layer, new KimgError(error.code, error.message, { ...error.data, offset: input.base + (error.offset ?? 0) }));
    layer.title = `initramfs, ${segments.length} segments (${segments.map((s) => s.kind).join(", ")})`;
    return segments.map(
      (s): ChildSpec =>
        s.kind === "cpio"
          ? { name: s.name, offset: s.offset, length: s.size, format: "cpio" }
          : { name: s.name, offset: s.offset, length: s.size, compressed: {} },
    );
  },
  finish(_input, layer): void {
    const error = segmentErrors.get(layer);
    if (error) throw error;
  },
};
