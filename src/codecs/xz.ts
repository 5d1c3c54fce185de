/**
 * The .xz container: streams, blocks, filter chains, checks and the index.
 *
 * Spec: "The .xz File Format" version 1.2.1 (tukaani.org/xz/xz-file-format.txt); section numbers
 * below refer to it. The kernel writes one stream with one block (scripts/xz_wrap.sh:
 * `xz --check=crc32 --threads=1 [BCJ] --lzma2=...`); everything else the format allows is read
 * too: several blocks with or without sizes in their headers, filter chains of up to four
 * filters, every check type, stream padding and concatenated streams.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { BCJ_FILTERS } from "./bcj.js";
import { crc32 } from "./checksums.js";
import { decodeLzma2, lzma2DictionarySize, OutputBuffer, probabilityCount } from "./lzma-decoder.js";
import { LzmaWasm } from "./lzma-wasm.js";
import type { DecodeOptions, Decoder } from "./types.js";

/** 2.1.1.1 Header Magic Bytes. */
const HEADER_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
/** 2.1.2.4 Footer Magic Bytes ("YZ"). */
const FOOTER_MAGIC = [0x59, 0x5a] as const;
const STREAM_HEADER_SIZE = 12;
const STREAM_FOOTER_SIZE = 12;

/** 5.4 Filter IDs of the filters that are not BCJ filters. */
const FILTER_ID_DELTA = 0x03;
const FILTER_ID_LZMA2 = 0x21;

/** When nothing says how big the output is, start with this many times the input size. */
const UNKNOWN_SIZE_EXPANSION_GUESS = 4;

/** 2.1.1.2 Stream Flags, Check Types: 0x00 None, 0x01 CRC32, 0x04 CRC64, 0x0A SHA-256. */
export type XzCheckName = "none" | "crc32" | "crc64" | "sha256" | "reserved";

function checkName(id: number): XzCheckName {
  return id === 0x00 ? "none" : id === 0x01 ? "crc32" : id === 0x04 ? "crc64" : id === 0x0a ? "sha256" : "reserved";
}

/** 3.4 Check: the size follows from the ID even for reserved IDs (0, 4, 4, 4, 8, 8, 8, 16, ...). */
function checkSize(id: number): number {
  return id === 0 ? 0 : 4 << Math.floor((id - 1) / 3);
}

export interface XzStreamSummary {
  check: XzCheckName;
  checkId: number;
  /** False only for reserved check IDs, whose values are skipped. */
  checkVerified: boolean;
  blockCount: number;
  /** The first block's filter chain in encoding order, e.g. ["arm64", "lzma2"]. */
  filters: string[];
  /** The first block's LZMA2 dictionary size in bytes. */
  dictionaryBytes: number | undefined;
}

export interface XzDecodeResult {
  output: Uint8Array;
  streams: XzStreamSummary[];
  /**
   * Bytes after the last complete stream that are neither stream padding nor another stream.
   * The kernel's decoder ignores such bytes too (it stops at the end of the first stream).
   */
  trailingBytes: number;
}

/** Decodes an .xz file; see `decodeXzWithInfo`. */
export const decodeXz: Decoder = (input, options) => decodeXzWithInfo(input, options).output;

/**
 * Decodes every stream of an .xz file into one output, verifying the CRC32, CRC64 and SHA-256
 * checks, the header CRCs and the index. The output buffer is sized from, in order: the
 * indexes read backwards from the end, `expectedSize`, or a guess; it grows if that was wrong.
 */
export function decodeXzWithInfo(input: Uint8Array, options: DecodeOptions): XzDecodeResult {
  const indexedSize = totalUncompressedSize(input);
  if (indexedSize !== undefined && indexedSize > options.maxOutputBytes) {
    throw new KimgError(ErrorCode.LIMIT, `xz index declares ${indexedSize} bytes, over the limit of ${options.maxOutputBytes}`, {
      structure: "xz index",
      limit: options.maxOutputBytes,
      actual: indexedSize,
    });
  }
  // LZMA2 decodes in WebAssembly, into its memory: the output starts there (LZMA2's lc + lp <= 4).
  let wasm: LzmaWasm | null = null;
  const out = OutputBuffer.forDecode(
    "xz",
    options,
    input.length,
    UNKNOWN_SIZE_EXPANSION_GUESS,
    indexedSize,
    (capacity) => (wasm = LzmaWasm.create(input, probabilityCount(4), capacity))?.region ?? null,
  );
  const streams: XzStreamSummary[] = [];
  let pos = 0;
  for (;;) {
    const stream = decodeStream(input, pos, out, wasm, options.crc32 ?? crc32);
    streams.push(stream.summary);
    pos = stream.end;
    while (pos + 4 <= input.length && readUint32Le(input, pos) === 0) pos += 4;
    if (pos === input.length || !hasMagic(input, pos, HEADER_MAGIC)) break;
  }
  return { output: out.finish(), streams, trailingBytes: input.length - pos };
}

interface BlockRecord {
  unpaddedSize: number;
  uncompressedSize: number;
}

function decodeStream(
  input: Uint8Array,
  start: number,
  out: OutputBuffer,
  wasm: LzmaWasm | null,
  blockCrc32: (data: Uint8Array) => number,
): { summary: XzStreamSummary; end: number } {
  const flags = readStreamHeader(input, start);
  const checkId = flags & 0x0f;
  const records: BlockRecord[] = [];
  const summary: XzStreamSummary = {
    check: checkName(checkId),
    checkId,
    checkVerified: checkName(checkId) !== "reserved",
    blockCount: 0,
    filters: [],
    dictionaryBytes: undefined,
  };
  let pos = start + STREAM_HEADER_SIZE;
  for (;;) {
    need(input, pos, 1, "xz block header");
    // 3.1.1: a Block Header Size of 0x00 is the Index Indicator instead.
    if (input[pos] === 0x00) break;
    const block = decodeBlock(input, pos, checkId, out, wasm, blockCrc32);
    if (records.length === 0) {
      summary.filters = block.filterNames;
      summary.dictionaryBytes = block.dictionaryBytes;
    }
    records.push(block.record);
    pos = block.end;
  }
  summary.blockCount = records.length;

  const indexStart = pos;
  const index = readIndex(input, indexStart);
  if (index.records.length !== records.length) {
    throw corrupt("xz index", indexStart, `the index lists ${index.records.length} blocks, the stream has ${records.length}`);
  }
  for (let i = 0; i < records.length; i++) {
    const listed = index.records[i]!;
    const actual = records[i]!;
    if (listed.unpaddedSize !== actual.unpaddedSize || listed.uncompressedSize !== actual.uncompressedSize) {
      throw corrupt("xz index", indexStart, `index record ${i} does not match block ${i}`, {
        expected: `${listed.unpaddedSize}/${listed.uncompressedSize}`,
        actual: `${actual.unpaddedSize}/${actual.uncompressedSize}`,
      });
    }
  }
  const footer = readStreamFooter(input, index.end);
  if (footer.backwardSize !== index.end - indexStart) {
    throw corrupt("xz stream footer", index.end, `Backward Size ${footer.backwardSize} does not match the index size ${index.end - indexStart}`);
  }
  if (footer.flags !== flags) throw corrupt("xz stream footer", index.end, "Stream Flags differ from the stream header");
  return { summary, end: index.end + STREAM_FOOTER_SIZE };
}

/**
 * 2.1.1 Stream Header:
 *   +---+---+---+---+---+---+-------+------+--+--+--+--+
 *   |  Header Magic Bytes   | Stream Flags |   CRC32   |
 *   +---+---+---+---+---+---+-------+------+--+--+--+--+
 * Stream Flags: a null byte, then the Check ID in bits 0-3 (bits 4-7 reserved, 0).
 * Returns the 16-bit Stream Flags.
 */
function readStreamHeader(input: Uint8Array, start: number): number {
  need(input, start, STREAM_HEADER_SIZE, "xz stream header");
  if (!hasMagic(input, start, HEADER_MAGIC)) {
    throw corrupt("xz stream header", start, "not an xz stream (bad header magic)", { reason: "bad magic" });
  }
  checkCrc32(input, start + 6, start + 8, readUint32Le(input, start + 8), "xz stream header");
  const flags = (input[start + 6]! << 8) | input[start + 7]!;
  if (flags & 0xfff0) throw unsupported("xz stream header", start + 6, `reserved Stream Flags bits are set (0x${flags.toString(16)})`);
  return flags;
}

/**
 * 2.1.2 Stream Footer:
 *   +-+-+-+-+---+---+---+---+-------+------+----------+---------+
 *   | CRC32 | Backward Size | Stream Flags | Footer Magic Bytes |
 *   +-+-+-+-+---+---+---+---+-------+------+----------+---------+
 * Backward Size is stored as (real size / 4) - 1 and is the size of the index.
 */
function readStreamFooter(input: Uint8Array, start: number): { backwardSize: number; flags: number } {
  need(input, start, STREAM_FOOTER_SIZE, "xz stream footer");
  if (!hasMagic(input, start + 10, FOOTER_MAGIC)) throw corrupt("xz stream footer", start + 10, "bad footer magic");
  checkCrc32(input, start + 4, start + 10, readUint32Le(input, start), "xz stream footer");
  return { backwardSize: (readUint32Le(input, start + 4) + 1) * 4, flags: (input[start + 8]! << 8) | input[start + 9]! };
}

interface FilterSpec {
  id: number;
  name: string;
  /** Start offset (BCJ), distance (Delta) or dictionary size (LZMA2). */
  parameter: number;
}

/**
 * 3.1 Block Header:
 *   +-------------------+-------------+=================+===================+
 *   | Block Header Size | Block Flags | Compressed Size | Uncompressed Size |
 *   +-------------------+-------------+=================+===================+
 *   +======================+================+--+--+--+--+
 *   | List of Filter Flags | Header Padding | CRC32       |
 *   +======================+================+--+--+--+--+
 * Block Header Size is stored as (real size / 4) - 1. Block Flags: bits 0-1 number of filters
 * - 1, bits 2-5 reserved, bit 6 Compressed Size present, bit 7 Uncompressed Size present.
 * 3.1.5 Filter Flags: Filter ID (VLI), Size of Properties (VLI), Filter Properties.
 */
function readBlockHeader(input: Uint8Array, start: number) {
  const structure = "xz block header";
  const headerSize = (input[start]! + 1) * 4;
  need(input, start, headerSize, structure);
  const end = start + headerSize - 4;
  checkCrc32(input, start, end, readUint32Le(input, end), structure);
  const blockFlags = input[start + 1]!;
  if (blockFlags & 0x3c) throw unsupported(structure, start + 1, `reserved Block Flags bits are set (0x${blockFlags.toString(16)})`);
  const cursor = { pos: start + 2, end, structure };
  let compressedSize: number | undefined;
  let uncompressedSize: number | undefined;
  if (blockFlags & 0x40) {
    compressedSize = readVli(input, cursor);
    if (compressedSize === 0) throw corrupt(structure, start, "Compressed Size is 0");
  }
  if (blockFlags & 0x80) uncompressedSize = readVli(input, cursor);

  const filters: FilterSpec[] = [];
  const filterCount = (blockFlags & 0x03) + 1;
  for (let i = 0; i < filterCount; i++) {
    const idOffset = cursor.pos;
    const id = readVli(input, cursor);
    const propertiesSize = readVli(input, cursor);
    if (propertiesSize > cursor.end - cursor.pos) throw corrupt(structure, cursor.pos, "filter properties run past the block header");
    const properties = input.subarray(cursor.pos, cursor.pos + propertiesSize);
    cursor.pos += propertiesSize;
    filters.push(readFilter(id, properties, i === filterCount - 1, idOffset));
  }
  // 3.1.6 Header Padding: null bytes up to the CRC32.
  for (let i = cursor.pos; i < end; i++) {
    if (input[i] !== 0) throw corrupt(structure, i, "non-null byte in the block header padding");
  }
  return { headerSize, compressedSize, uncompressedSize, filters };
}

/** 5.3 Filters: the properties of each filter, and where in the chain it may stand. */
function readFilter(id: number, properties: Uint8Array, isLast: boolean, offset: number): FilterSpec {
  const structure = "xz filter flags";
  if (id === FILTER_ID_LZMA2) {
    if (!isLast) throw corrupt(structure, offset, "LZMA2 is not the last filter of the chain");
    // 5.3.1: one byte, bits 0-5 dictionary size, bits 6-7 reserved.
    const dictionaryBytes = properties.length === 1 ? lzma2DictionarySize(properties[0]!) : undefined;
    if (dictionaryBytes === undefined) throw corrupt(structure, offset, "invalid LZMA2 properties");
    return { id, name: "lzma2", parameter: dictionaryBytes };
  }
  if (isLast) throw corrupt(structure, offset, `filter 0x${id.toString(16)} cannot be the last filter of the chain`);
  if (id === FILTER_ID_DELTA) {
    // 5.3.2: one byte, distance - 1.
    if (properties.length !== 1) throw corrupt(structure, offset, "invalid Delta properties");
    return { id, name: "delta", parameter: properties[0]! + 1 };
  }
  const bcj = BCJ_FILTERS.get(id);
  if (bcj === undefined) throw unsupported(structure, offset, `unknown filter ID 0x${id.toString(16)}`);
  // 5.3.3: no properties, or a 32-bit start offset.
  if (properties.length !== 0 && properties.length !== 4) throw corrupt(structure, offset, `invalid ${bcj.name} filter properties`);
  return { id, name: bcj.name, parameter: properties.length === 4 ? readUint32Le(properties, 0) : 0 };
}

/** 3 Block: Block Header, Compressed Data, Block Padding (to a multiple of four), Check. */
function decodeBlock(input: Uint8Array, start: number, checkId: number, out: OutputBuffer, wasm: LzmaWasm | null, blockCrc32: (data: Uint8Array) => number) {
  const header = readBlockHeader(input, start);
  const dataStart = start + header.headerSize;
  let dataEnd = input.length;
  if (header.compressedSize !== undefined) {
    need(input, dataStart, header.compressedSize, "xz block");
    dataEnd = dataStart + header.compressedSize;
  }

  const outStart = out.length;
  const lzma2End = decodeLzma2(input, dataStart, dataEnd, out, "xz LZMA2 data", wasm);
  const compressedSize = lzma2End - dataStart;
  if (header.compressedSize !== undefined && compressedSize !== header.compressedSize) {
    throw corrupt("xz block", lzma2End, `Compressed Size says ${header.compressedSize} bytes, the data has ${compressedSize}`);
  }
  const uncompressedSize = out.length - outStart;
  if (header.uncompressedSize !== undefined && uncompressedSize !== header.uncompressedSize) {
    throw corrupt("xz block", lzma2End, `Uncompressed Size says ${header.uncompressedSize} bytes, the data has ${uncompressedSize}`);
  }

  // The LZMA2 output is the input of the last non-LZMA2 filter: undo the filters in reverse.
  const data = out.bytes.subarray(outStart, out.length);
  for (let i = header.filters.length - 2; i >= 0; i--) {
    const filter = header.filters[i]!;
    if (filter.id === FILTER_ID_DELTA) decodeDelta(data, filter.parameter);
    else BCJ_FILTERS.get(filter.id)!.decode(data, filter.parameter);
  }

  // 3.3 Block Padding: null bytes making Compressed Data a multiple of four.
  let pos = lzma2End;
  const paddedEnd = dataStart + roundUpTo4(compressedSize);
  need(input, pos, paddedEnd - pos, "xz block padding");
  for (; pos < paddedEnd; pos++) {
    if (input[pos] !== 0) throw corrupt("xz block padding", pos, "non-null byte in the block padding");
  }
  const size = checkSize(checkId);
  need(input, pos, size, "xz block check");
  verifyCheck(checkId, data, input.subarray(pos, pos + size), pos, blockCrc32);

  return {
    end: pos + size,
    record: { unpaddedSize: header.headerSize + compressedSize + size, uncompressedSize },
    filterNames: header.filters.map((filter) => filter.name),
    dictionaryBytes: header.filters[header.filters.length - 1]!.parameter,
  };
}

/** 5.3.2 Delta: each byte was stored minus the byte `distance` before it. */
function decodeDelta(data: Uint8Array, distance: number): void {
  for (let i = distance; i < data.length; i++) data[i] = data[i]! + data[i - distance]!;
}

function verifyCheck(checkId: number, data: Uint8Array, stored: Uint8Array, offset: number, blockCrc32: (data: Uint8Array) => number): void {
  const structure = "xz block check";
  if (checkId === 0x01) {
    const actual = blockCrc32(data) >>> 0;
    const expected = readUint32Le(stored, 0);
    if (actual !== expected) throw checksumError(structure, offset, "CRC32", expected, actual);
  } else if (checkId === 0x04) {
    const actual = crc64(data);
    const expectedLow = readUint32Le(stored, 0);
    const expectedHigh = readUint32Le(stored, 4);
    if (actual.low !== expectedLow || actual.high !== expectedHigh) {
      throw checksumError(structure, offset, "CRC64", hex64(expectedHigh, expectedLow), hex64(actual.high, actual.low));
    }
  } else if (checkId === 0x0a) {
    const actual = sha256(data);
    for (let i = 0; i < 32; i++) {
      if (actual[i] !== stored[i]) throw checksumError(structure, offset, "SHA-256", toHex(stored), toHex(actual));
    }
  }
}

/**
 * 4 Index:
 *   +-----------------+===================+=================+===============+-+-+-+-+
 *   | Index Indicator | Number of Records | List of Records | Index Padding | CRC32 |
 *   +-----------------+===================+=================+===============+-+-+-+-+
 * 4.3 Record: Unpadded Size (VLI), Uncompressed Size (VLI).
 */
function readIndex(input: Uint8Array, start: number): { records: BlockRecord[]; end: number } {
  const structure = "xz index";
  need(input, start, 1, structure);
  if (input[start] !== 0x00) throw corrupt(structure, start, "missing Index Indicator");
  const cursor = { pos: start + 1, end: input.length, structure };
  const count = readVli(input, cursor);
  // Each record takes at least two bytes, so a larger count cannot be true.
  if (count > (input.length - cursor.pos) / 2) throw corrupt(structure, start, `Number of Records ${count} does not fit in the input`);
  const records: BlockRecord[] = [];
  for (let i = 0; i < count; i++) {
    const unpaddedSize = readVli(input, cursor);
    const uncompressedSize = readVli(input, cursor);
    if (unpaddedSize < 5) throw corrupt(structure, cursor.pos, `Unpadded Size ${unpaddedSize} is too small`);
    records.push({ unpaddedSize, uncompressedSize });
  }
  // 4.4 Index Padding: null bytes to a multiple of four.
  const crcOffset = start + roundUpTo4(cursor.pos - start);
  need(input, cursor.pos, crcOffset + 4 - cursor.pos, structure);
  for (let i = cursor.pos; i < crcOffset; i++) {
    if (input[i] !== 0) throw corrupt(structure, i, "non-null byte in the index padding");
  }
  checkCrc32(input, start, crcOffset, readUint32Le(input, crcOffset), structure);
  return { records, end: crcOffset + 4 };
}

/**
 * The total uncompressed size from the indexes, walking the streams backwards from the end of
 * the input (as `xz --list` does), or undefined if that walk does not work out. Only used to
 * size the output buffer; the forward pass verifies everything.
 */
function totalUncompressedSize(input: Uint8Array): number | undefined {
  let end = input.length;
  let total = 0;
  try {
    while (end > 0) {
      while (end >= 4 && readUint32Le(input, end - 4) === 0) end -= 4;
      if (end < STREAM_HEADER_SIZE + STREAM_FOOTER_SIZE) return undefined;
      const footerStart = end - STREAM_FOOTER_SIZE;
      const footer = readStreamFooter(input, footerStart);
      const indexStart = footerStart - footer.backwardSize;
      if (indexStart < STREAM_HEADER_SIZE) return undefined;
      const index = readIndex(input, indexStart);
      if (index.end !== footerStart) return undefined;
      let blocksSize = 0;
      for (const record of index.records) {
        blocksSize += roundUpTo4(record.unpaddedSize);
        total += record.uncompressedSize;
      }
      const streamStart = indexStart - blocksSize - STREAM_HEADER_SIZE;
      if (streamStart < 0 || !hasMagic(input, streamStart, HEADER_MAGIC)) return undefined;
      end = streamStart;
    }
  } catch {
    return undefined;
  }
  return total;
}

/**
 * 1.2 Multibyte Integers: 7 bits per byte, least significant first, the high bit set on all
 * but the last byte; at most nine bytes, and no unneeded trailing zero byte. Values above 2^53
 * lose precision, which is harmless: no input here is that large, so they fail a later check.
 */
function readVli(input: Uint8Array, cursor: { pos: number; end: number; structure: string }): number {
  const start = cursor.pos;
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (cursor.pos >= cursor.end) throw corrupt(cursor.structure, cursor.pos, "variable-length integer runs past the end", { reason: "truncated" });
    const byte = input[cursor.pos++]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw corrupt(cursor.structure, start, "variable-length integer is not minimally encoded");
      return value;
    }
  }
  throw corrupt(cursor.structure, start, "variable-length integer is longer than nine bytes");
}

function need(input: Uint8Array, offset: number, length: number, structure: string): void {
  if (offset + length > input.length) {
    throw corrupt(structure, Math.min(offset, input.length), `needs ${length} bytes, ${Math.max(0, input.length - offset)} left`, {
      reason: "truncated",
    });
  }
}

function hasMagic(input: Uint8Array, offset: number, magic: readonly number[]): boolean {
  if (offset + magic.length > input.length) return false;
  return magic.every((byte, i) => input[offset + i] === byte);
}

function roundUpTo4(value: number): number {
  return Math.ceil(value / 4) * 4;
}

function readUint32Le(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

function checkCrc32(input: Uint8Array, start: number, end: number, expected: number, structure: string): void {
  const actual = crc32(input.subarray(start, end));
  if (actual !== expected) throw checksumError(structure, start, "CRC32", expected, actual);
}

function corrupt(structure: string, offset: number, message: string, data: Record<string, unknown> = {}): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, `${structure}: ${message}`, { structure, offset, ...data });
}

function unsupported(structure: string, offset: number, message: string): KimgError {
  return new KimgError(ErrorCode.UNSUPPORTED, `${structure}: ${message}`, { structure, offset });
}

function checksumError(structure: string, offset: number, kind: string, expected: number | string, actual: number | string): KimgError {
  const show = (value: number | string) => (typeof value === "number" ? `0x${value.toString(16)}` : value);
  return new KimgError(ErrorCode.CHECKSUM, `${structure}: ${kind} mismatch (stored ${show(expected)}, computed ${show(actual)})`, {
    structure,
    offset,
    expected: show(expected),
    actual: show(actual),
  });
}

function hex64(high: number, low: number): string {
  return `0x${high.toString(16).padStart(8, "0")}${low.toString(16).padStart(8, "0")}`;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------
// Checks (3.4, 7). CRC32 is the shared one (ISO 3309, as in gzip); CRC64 is the reflected CRC
// with polynomial 0xC96C5795D7870F42 (ECMA-182), section 7 of the spec.

let crc64Tables: { low: Uint32Array; high: Uint32Array } | undefined;

function getCrc64Tables(): { low: Uint32Array; high: Uint32Array } {
  if (crc64Tables !== undefined) return crc64Tables;
  const low = new Uint32Array(256);
  const high = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let k = 0; k < 8; k++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi >>>= 1;
      if (carry) {
        lo = (lo ^ 0xd7870f42) >>> 0;
        hi = (hi ^ 0xc96c5795) >>> 0;
      }
    }
    low[n] = lo;
    high[n] = hi;
  }
  crc64Tables = { low, high };
  return crc64Tables;
}

/** CRC64 as two 32-bit halves, since a double cannot hold 64 bits exactly. */
export function crc64(data: Uint8Array): { low: number; high: number } {
  const { low: tableLow, high: tableHigh } = getCrc64Tables();
  let lo = 0xffffffff;
  let hi = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    const index = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ tableLow[index]!;
    hi = (hi >>> 8) ^ tableHigh[index]!;
  }
  return { low: (lo ^ 0xffffffff) >>> 0, high: (hi ^ 0xffffffff) >>> 0 };
}

/** SHA-256 (FIPS 180-4), for the rare .xz file that uses it as its check. */
export function sha256(data: Uint8Array): Uint8Array {
  const h = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Int32Array(64);
  const fullBlocks = Math.floor(data.length / 64);
  for (let b = 0; b < fullBlocks; b++) sha256Block(h, w, data, b * 64);
  // 5.1.1 Padding: 0x80, zeros, then the length in bits as a 64-bit big-endian integer.
  const rest = data.length - fullBlocks * 64;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(fullBlocks * 64));
  tail[rest] = 0x80;
  const bits = data.length * 8;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(tail.length - 4, bits >>> 0);
  for (let offset = 0; offset < tail.length; offset += 64) sha256Block(h, w, tail, offset);
  const digest = new Uint8Array(32);
  const digestView = new DataView(digest.buffer);
  for (let i = 0; i < 8; i++) digestView.setInt32(i * 4, h[i]!);
  return digest;
}

const SHA256_K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function sha256Block(h: Int32Array, w: Int32Array, data: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (data[j]! << 24) | (data[j + 1]! << 16) | (data[j + 2]! << 8) | data[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let hh = h[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choice = (e & f) ^ (~e & g);
    const t1 = (hh + s1 + choice + SHA256_K[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + majority) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + hh) | 0;
}
