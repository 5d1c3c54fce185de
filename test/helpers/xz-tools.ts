/**
 * Helpers for the xz and lzma codec tests: running the real tools, sample data, assertions, and
 * a small .xz writer (from "The .xz File Format" 1.2.1) that wraps raw LZMA2 data made by the real
 * `xz --format=raw`, for filter chains and properties the installed xz cannot write itself.
 * Checksums here come from node:zlib and node:crypto, not from the code under test.
 */
import { createHash } from "node:crypto";
import { crc32 as zlibCrc32 } from "node:zlib";
import { concat, run } from "./codec-testing.js";

export * from "./codec-testing.js";

function crc32(data: Uint8Array): number {
  return zlibCrc32(data) >>> 0;
}

function u32le(value: number): Uint8Array {
  return new Uint8Array([value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff]);
}

/** 1.2 Multibyte integers: 7 bits per byte, low first, high bit = more bytes follow. */
export function vli(value: number): Uint8Array {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return new Uint8Array(bytes);
}

function padTo4(data: Uint8Array): Uint8Array {
  return concat(data, new Uint8Array((4 - (data.length % 4)) % 4));
}

/** The LZMA2 filter's properties byte for a dictionary size (5.3.1): the smallest that fits. */
export function lzma2DictionaryByte(dictionaryBytes: number): number {
  for (let b = 0; b < 40; b++) {
    if ((2 | (b & 1)) * 2 ** ((b >>> 1) + 11) >= dictionaryBytes) return b;
  }
  return 40;
}

export interface FilterFlags {
  id: number;
  properties: Uint8Array;
}

export interface XzBlock {
  /** Non-LZMA2 filters in encoding order; LZMA2 is appended. */
  filters: FilterFlags[];
  /** Raw LZMA2 data, ending with its 0x00 end byte (`xz --format=raw --lzma2=...`). */
  lzma2: Uint8Array;
  lzma2DictionaryByte: number;
  /** The uncompressed data, for the check and the index. */
  uncompressed: Uint8Array;
  /** Write Compressed Size and Uncompressed Size into the block header. */
  sizesInHeader?: boolean;
}

/** Check ID -> the check value of `data` (0x00 none, 0x01 CRC32, 0x0A SHA-256). */
function checkValue(checkId: number, data: Uint8Array): Uint8Array {
  if (checkId === 0x00) return new Uint8Array(0);
  if (checkId === 0x01) return u32le(crc32(data));
  if (checkId === 0x0a) return new Uint8Array(createHash("sha256").update(data).digest());
  throw new Error(`the test writer does not compute check 0x${checkId.toString(16)}`);
}

/** Writes one .xz stream (2.1) with the given blocks. */
export function buildXz(blocks: XzBlock[], checkId: number): Uint8Array {
  const flags = new Uint8Array([0x00, checkId]);
  const header = concat(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), flags, u32le(crc32(flags)));
  const parts: Uint8Array[] = [header];
  const records: Uint8Array[] = [];
  for (const block of blocks) {
    const filterFlags = [...block.filters, { id: 0x21, properties: new Uint8Array([block.lzma2DictionaryByte]) }].map((f) =>
      concat(vli(f.id), vli(f.properties.length), f.properties),
    );
    const sizes = block.sizesInHeader ? concat(vli(block.lzma2.length), vli(block.uncompressed.length)) : new Uint8Array(0);
    const blockFlags = block.filters.length | (block.sizesInHeader ? 0xc0 : 0);
    const body = concat(new Uint8Array([0, blockFlags]), sizes, ...filterFlags);
    const withPadding = padTo4(concat(body, new Uint8Array(4))).subarray(0, -4);
    withPadding[0] = (withPadding.length + 4) / 4 - 1;
    const blockHeader = concat(withPadding, u32le(crc32(withPadding)));
    const check = checkValue(checkId, block.uncompressed);
    parts.push(blockHeader, padTo4(block.lzma2), check);
    records.push(vli(blockHeader.length + block.lzma2.length + check.length), vli(block.uncompressed.length));
  }
  const indexBody = padTo4(concat(new Uint8Array([0x00]), vli(blocks.length), ...records));
  const index = concat(indexBody, u32le(crc32(indexBody)));
  const backward = concat(u32le(index.length / 4 - 1), flags);
  const footer = concat(u32le(crc32(backward)), backward, new Uint8Array([0x59, 0x5a]));
  return concat(...parts, index, footer);
}

/** Raw LZMA2 data from the real encoder. */
export function rawLzma2(data: Uint8Array, options: string): Uint8Array {
  return run("xz", ["--format=raw", `--lzma2=${options}`, "-c"], data);
}
