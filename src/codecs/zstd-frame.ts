/**
 * The zstd frame and block headers walked without decoding (RFC 8878): the bound on a stream's
 * output that every zstd decoder here sizes its buffer by. Apart from zstd.ts, so that Node's
 * native decoders take it without loading the WebAssembly decoder.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { u32 } from "../io/layout.js";

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames: 0x184D2A50 to 0x184D2A5F (RFC 8878 §3.1.2). */
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size is min(Window_Size, 128 KiB) (RFC 8878 §3.1.1.2.4). */
export const BLOCK_MAX_BYTES = 128 * 1024;

function corrupt(message: string, offset: number): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, message, { structure: "zstd frame", offset });
}

/**
 * The most bytes a stream of zstd frames can decode to, from its headers alone (RFC 8878 §3.1.1):
 *
 *   Magic_Number (4) | Frame_Header (2-14) | Data_Block (1+) | [Content_Checksum (4)]
 *   Frame_Header_Descriptor: FCS_Flag (bits 7-6), Single_Segment (5), Reserved (3), Checksum (2), Dict_ID_Flag (1-0)
 *   Block_Header, 3 bytes LE: Last_Block (bit 0), Block_Type (bits 1-2), Block_Size (bits 3-23)
 *
 * A Raw or RLE block decodes to Block_Size bytes, a Compressed one to at most Block_Maximum_Size.
 * Throws E_CORRUPT_STREAM when the headers do not tile the input exactly.
 */
export function zstdOutputBound(input: Uint8Array): number {
  if (input.length === 0) throw corrupt("empty zstd stream", 0);
  let bound = 0;
  let at = 0;
  while (at < input.length) {
    const magic = u32(input, at);
    if (magic === undefined) throw corrupt(`${input.length - at} stray bytes after the last frame`, at);
    if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
      const size = u32(input, at + 4);
      if (size === undefined || at + 8 + size > input.length) throw corrupt("skippable frame runs past the end of the stream", at);
      at += 8 + size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw corrupt(`no zstd frame magic at 0x${at.toString(16)}`, at);
    const descriptor = input[at + 4];
    if (descriptor === undefined) throw corrupt("frame header is cut short", at + 4);
    if (descriptor & 0x08) throw corrupt("reserved bit set in Frame_Header_Descriptor", at + 4);
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    let p = at + 5;
    let windowBytes = 0;
    if (!singleSegment) {
      const wd = input[p++];
      if (wd === undefined) throw corrupt("frame header is cut short", p - 1);
      const base = 2 ** (10 + (wd >> 3));
      windowBytes = base + (base / 8) * (wd & 7);
    }
    p += [0, 1, 2, 4][descriptor & 3] ?? 0;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag] ?? 0;
    if (p + fcsBytes > input.length) throw corrupt("frame header is cut short", at + 4);
    if (singleSegment) {
      // Window_Size is Frame_Content_Size here; the 2-byte form is stored minus 256.
      let fcs = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + (input[p + i] ?? 0);
      windowBytes = fcsBytes === 2 ? fcs + 256 : fcs;
    }
    p += fcsBytes;
    const blockMax = Math.min(windowBytes, BLOCK_MAX_BYTES);
    for (;;) {
      if (p + 3 > input.length) throw corrupt("block header is cut short", p);
      const header = (input[p] ?? 0) | ((input[p + 1] ?? 0) << 8) | ((input[p + 2] ?? 0) << 16);
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw corrupt("reserved Block_Type", p);
      const content = type === 1 ? 1 : size;
      if (p + 3 + content > input.length) throw corrupt(`block of ${content} bytes runs past the end of the stream`, p);
      bound += type === 2 ? blockMax : size;
      p += 3 + content;
      if (header & 1) break;
    }
    if (descriptor & 0x04) p += 4;
    if (p > input.length) throw corrupt("content checksum is cut short", p - 4);
    at = p;
  }
  return bound;
}
