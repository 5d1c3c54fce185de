/**
 * lzo decoder for what the kernel build writes: `lzop -9` (scripts/Makefile.lib, cmd_lzo), the
 * lzop file format that lib/decompress_unlzo.c reads, with blocks in LZO1X. There is no published
 * specification: the container follows lzop 1.04 (src/lzop.c read_header, src/lzo.c decompress),
 * the block format Documentation/staging/lzo.rst, including the version-1 (lzo-rle) bitstream.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { adler32, crc32 } from "./checksums.js";
import type { DecodeOptions, Decoder } from "./types.js";
import { OutputBuffer } from "./output.js";
import { copyLiterals, copyMatch } from "./lz-match.js";
import { LzWasm } from "./lz-wasm.js";

const MiB = 1024 * 1024;

/** lzop magic: 89 'L' 'Z' 'O' 00 0D 0A 1A 0A. */
const LZOP_MAGIC = [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a] as const;
/** The newest lzop (1.04) writes version 0x1040; files needing a newer reader are refused by it. */
const LZOP_VERSION = 0x1040;
/** Versions from 0x0940 on carry version_needed_to_extract, level and mtime_high. */
const LZOP_VERSION_WITH_LEVEL = 0x0940;
/** lzop's MAX_BLOCK_SIZE: no block decompresses to more than 64 MiB. */
const LZOP_MAX_BLOCK_BYTES = 64 * MiB;

/** Header flags (lzop src/conf.h). */
const F_ADLER32_D = 0x00000001;
const F_ADLER32_C = 0x00000002;
const F_H_EXTRA_FIELD = 0x00000040;
const F_CRC32_D = 0x00000100;
const F_CRC32_C = 0x00000200;
const F_H_FILTER = 0x00000800;
const F_H_CRC32 = 0x00001000;
/** Bits outside F_MASK (0x3FFF), F_OS_MASK (0xFF000000) and F_CS_MASK (0x00F00000). */
const F_RESERVED = 0x000fc000;

/** Methods M_LZO1X_1, M_LZO1X_1_15, M_LZO1X_999 all decode with LZO1X. */
const LZO1X_METHODS = new Set([1, 2, 3]);

const PROGRESS_STEP_BYTES = 4 * MiB;

function corrupt(message: string, offset: number, structure: string, extra: Record<string, unknown> = {}): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, message, { offset, structure, ...extra });
}

function readU32be(input: Uint8Array, offset: number): number {
  return ((input[offset]! << 24) | (input[offset + 1]! << 16) | (input[offset + 2]! << 8) | input[offset + 3]!) >>> 0;
}

/**
 * Decompresses one LZO1X block from input[inputStart, inputEnd) into output[outputStart,
 * outputEnd) and returns the output end. The block must end with the end-of-stream instruction
 * exactly at inputEnd. Instruction encoding (lzo.rst, "Byte sequences"); "state" is the number of
 * literals the previous instruction copied (4 meaning four or more):
 *   first byte 17        bitstream version follows (1 = lzo-rle), if the block has >= 5 bytes
 *   first byte 18..255   copy (byte - 17) literals
 *   0000LLLL, state 0    copy 3 + (L ?: 15 + 255 * zero bytes + next byte) literals
 *   0000DDSS, state 1-3  copy 2 bytes from distance (H << 2) + D + 1, H = next byte
 *   0000DDSS, state 4    copy 3 bytes from distance (H << 2) + D + 2049
 *   0001HLLL             copy 2 + (L ?: 7 + ...) bytes from distance 16384 + (H << 14) + D,
 *                        LE16 DDDDDDDDDDDDDDSS follows; distance 16384 ends the stream;
 *                        version 1: H = 1 and D all ones is a run of ((X << 3) | L) + 4 zeros
 *   001LLLLL             copy 2 + (L ?: 31 + ...) bytes from distance D + 1, LE16 as above
 *   01LDDDSS             copy 3 + L bytes from distance (H << 3) + D + 1
 *   1LLDDDSS             copy 5 + L bytes from distance (H << 3) + D + 1
 * Every instruction but a literal run is followed by S (0..3) literals.
 */
export function lzo1xDecompress(input: Uint8Array, inputStart: number, inputEnd: number, output: Uint8Array, outputStart: number, outputEnd: number): number {
  // No closures over ip/op here: captured variables would live in a heap context, not registers.
  let ip = inputStart;
  let op = outputStart;
  // The copies may write a few bytes past a match (see lz-match.ts) up to the end of the whole
  // buffer, not just this block: the next block overwrites them, so the short-copy paths are
  // only left at the very end of the output (leaving them earlier costs V8 a deoptimisation).
  const scratchEnd = output.length;
  let state = 0;
  let zeroRuns = false;

  if (inputEnd - ip >= 5 && input[ip] === 17) {
    zeroRuns = input[ip + 1] !== 0;
    ip += 2;
  }
  if (ip < inputEnd && input[ip]! > 17) {
    const count = input[ip++]! - 17;
    if (count > inputEnd - ip) throw inputOverrun(ip);
    if (count > outputEnd - op) throw outputOverrun(ip, outputEnd - outputStart);
    copyLiterals(input, ip, output, op, count, scratchEnd);
    ip += count;
    op += count;
    state = Math.min(count, 4);
  }

  for (;;) {
    if (ip >= inputEnd) throw inputOverrun(ip);
    const instruction = input[ip++]!;
    let length: number;
    let distance: number;
    let trailing: number;

    if (instruction < 16) {
      if (state === 0) {
        let count = instruction + 3;
        if (instruction === 0) {
          const last = lastLengthByte(input, ip, inputEnd);
          count = 15 + 255 * (last - ip) + input[last]! + 3;
          ip = last + 1;
        }
        if (count > inputEnd - ip) throw inputOverrun(ip);
        if (count > outputEnd - op) throw outputOverrun(ip, outputEnd - outputStart);
        copyLiterals(input, ip, output, op, count, scratchEnd);
        ip += count;
        op += count;
        state = 4;
        continue;
      }
      if (ip >= inputEnd) throw inputOverrun(ip);
      const high = input[ip++]!;
      trailing = instruction & 3;
      if (state === 4) {
        length = 3;
        distance = (high << 2) + (instruction >>> 2) + 2049;
      } else {
        length = 2;
        distance = (high << 2) + (instruction >>> 2) + 1;
      }
    } else if (instruction >= 64) {
      if (ip >= inputEnd) throw inputOverrun(ip);
      length = (instruction >>> 5) + 1;
      distance = (input[ip++]! << 3) + ((instruction >>> 2) & 7) + 1;
      trailing = instruction & 3;
    } else if (instruction >= 32) {
      length = (instruction & 31) + 2;
      if ((instruction & 31) === 0) {
        const last = lastLengthByte(input, ip, inputEnd);
        length = 31 + 255 * (last - ip) + input[last]! + 2;
        ip = last + 1;
      }
      if (inputEnd - ip < 2) throw inputOverrun(ip);
      const word = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
      distance = (word >>> 2) + 1;
      trailing = word & 3;
    } else {
      if (inputEnd - ip < 2) throw inputOverrun(ip);
      const peek = input[ip]! | (input[ip + 1]! << 8);
      if (zeroRuns && (instruction & 8) !== 0 && (peek & 0xfffc) === 0xfffc) {
        if (inputEnd - ip < 3) throw inputOverrun(ip);
        const run = ((input[ip + 2]! << 3) | (instruction & 7)) + 4;
        ip += 3;
        if (run > outputEnd - op) throw outputOverrun(ip, outputEnd - outputStart);
        output.fill(0, op, op + run);
        op += run;
        trailing = peek & 3;
        if (trailing > inputEnd - ip) throw inputOverrun(ip);
        if (trailing > outputEnd - op) throw outputOverrun(ip, outputEnd - outputStart);
        for (let k = 0; k < trailing; k++) output[op++] = input[ip++]!;
        state = trailing;
        continue;
      }
      length = (instruction & 7) + 2;
      if ((instruction & 7) === 0) {
        const last = lastLengthByte(input, ip, inputEnd);
        length = 7 + 255 * (last - ip) + input[last]! + 2;
        ip = last + 1;
      }
      if (inputEnd - ip < 2) throw inputOverrun(ip);
      const word = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
      distance = 16384 + ((instruction & 8) << 11) + (word >>> 2);
      trailing = word & 3;
      if (distance === 16384) {
        // End of stream: lzo1x_decompress_safe requires the canonical 11 00 00 and no input after it.
        if (length !== 3) throw corrupt("LZO1X end-of-stream marker has a bad length", ip - 3, LZO1X_BLOCK);
        if (ip !== inputEnd) {
          throw corrupt("LZO1X block has data after its end-of-stream marker", ip, LZO1X_BLOCK, { actual: inputEnd - ip });
        }
        return op;
      }
    }

    if (distance > op - outputStart) {
      throw corrupt(`LZO1X match distance ${distance} points before the start of the block`, ip, LZO1X_BLOCK);
    }
    if (length > outputEnd - op) throw outputOverrun(ip, outputEnd - outputStart);
    copyMatch(output, op, distance, length, scratchEnd);
    op += length;
    if (trailing > inputEnd - ip) throw inputOverrun(ip);
    if (trailing > outputEnd - op) throw outputOverrun(ip, outputEnd - outputStart);
    // 0-3 trailing literals: with room for three, copy three (the next instruction overwrites
    // the extra), which saves branches on the count.
    if (scratchEnd - op >= 3 && input.length - ip >= 3) {
      output[op] = input[ip]!;
      output[op + 1] = input[ip + 1]!;
      output[op + 2] = input[ip + 2]!;
    } else {
      for (let k = 0; k < trailing; k++) output[op + k] = input[ip + k]!;
    }
    op += trailing;
    ip += trailing;
    state = trailing;
  }
}

const LZO1X_BLOCK = "LZO1X block";

function inputOverrun(ip: number): KimgError {
  return corrupt("LZO1X block ends in the middle of an instruction", ip, LZO1X_BLOCK);
}

function outputOverrun(ip: number, declaredBytes: number): KimgError {
  return corrupt("LZO1X block decompresses to more than its declared size", ip, LZO1X_BLOCK, { expected: declaredBytes });
}

/**
 * Extended lengths: each zero byte adds 255, the first non-zero byte adds itself and ends the
 * length. Returns the index of that last byte.
 */
function lastLengthByte(input: Uint8Array, ip: number, inputEnd: number): number {
  let at = ip;
  while (at < inputEnd && input[at] === 0) at++;
  if (at >= inputEnd) throw inputOverrun(at);
  return at;
}

interface LzopHeader {
  flags: number;
  /** Offset of the first block. */
  end: number;
}

function hasMagic(input: Uint8Array, offset: number): boolean {
  if (input.length - offset < LZOP_MAGIC.length) return false;
  return LZOP_MAGIC.every((byte, i) => input[offset + i] === byte);
}

function checkHeaderChecksum(input: Uint8Array, start: number, end: number, flags: number, structure: string): void {
  if (input.length - end < 4) throw corrupt(`${structure} is cut short`, end, structure);
  const stored = readU32be(input, end);
  const covered = input.subarray(start, end);
  const actual = flags & F_H_CRC32 ? crc32(covered) : adler32(covered);
  if (stored !== actual) {
    throw new KimgError(ErrorCode.CHECKSUM, `${structure} checksum does not match`, {
      offset: end,
      structure,
      expected: stored,
      actual,
    });
  }
}

/**
 * lzop file header (lzop src/lzop.c write_header), integers big-endian:
 *   magic[9], u16 version, u16 lib_version,
 *   [u16 version_needed_to_extract]            if version >= 0x0940
 *   u8 method, [u8 level]                      level if version >= 0x0940
 *   u32 flags, [u32 filter]                    filter if flags & F_H_FILTER
 *   u32 mode, u32 mtime_low, [u32 mtime_high]  mtime_high if version >= 0x0940
 *   u8 name_length, name[name_length]
 *   u32 header_checksum                        adler32 (crc32 if F_H_CRC32) of version..name
 *   [u32 extra_length, extra[extra_length], u32 extra_checksum]   if F_H_EXTRA_FIELD
 */
function parseHeader(input: Uint8Array, start: number): LzopHeader {
  const structure = "lzop header";
  if (!hasMagic(input, start)) {
    throw corrupt("not an lzop file: bad magic", start, "lzop magic", { expected: "89 4c 5a 4f 00 0d 0a 1a 0a" });
  }
  let pos = start + LZOP_MAGIC.length;
  const need = (bytes: number): void => {
    if (input.length - pos < bytes) throw corrupt("lzop header is cut short", pos, structure);
  };
  need(4);
  const version = (input[pos]! << 8) | input[pos + 1]!;
  pos += 4; // version, lib_version
  if (version < 0x0900) throw corrupt(`lzop version 0x${version.toString(16)} is older than any lzop`, pos - 4, structure);
  const modern = version >= LZOP_VERSION_WITH_LEVEL;
  if (modern) {
    need(2);
    const needed = (input[pos]! << 8) | input[pos + 1]!;
    if (needed > LZOP_VERSION) {
      throw new KimgError(ErrorCode.UNSUPPORTED, `lzop file needs version 0x${needed.toString(16)} to extract`, {
        offset: pos,
        structure,
        actual: needed,
      });
    }
    if (needed < 0x0900) throw corrupt("lzop version_needed_to_extract is too old", pos, structure);
    pos += 2;
  }
  need(modern ? 6 : 5);
  const methodOffset = pos;
  const method = input[pos]!;
  pos += modern ? 2 : 1; // method, level
  const flagsOffset = pos;
  const flags = readU32be(input, pos);
  pos += 4;
  if (flags & F_H_FILTER) pos += 4;
  need((modern ? 12 : 8) + 1);
  pos += modern ? 12 : 8; // mode, mtime_low, mtime_high
  const nameBytes = input[pos]!;
  pos += 1;
  need(nameBytes);
  pos += nameBytes;
  // As in lzop's read_header: a damaged header is a checksum error before it is anything else.
  checkHeaderChecksum(input, start + LZOP_MAGIC.length, pos, flags, structure);
  pos += 4;

  if (!LZO1X_METHODS.has(method)) {
    throw new KimgError(ErrorCode.UNSUPPORTED, `lzop method ${method} is not LZO1X`, {
      offset: methodOffset,
      structure,
      actual: method,
    });
  }
  if (flags & F_RESERVED) {
    throw new KimgError(ErrorCode.UNSUPPORTED, `lzop header has unknown flags 0x${(flags & F_RESERVED).toString(16)}`, {
      offset: flagsOffset,
      structure,
    });
  }
  if (flags & F_H_FILTER) {
    throw new KimgError(ErrorCode.UNSUPPORTED, "lzop filters are not supported", { offset: flagsOffset, structure });
  }

  if (flags & F_H_EXTRA_FIELD) {
    const extraStart = pos;
    need(4);
    const extraBytes = readU32be(input, pos);
    pos += 4;
    need(extraBytes);
    pos += extraBytes;
    checkHeaderChecksum(input, extraStart, pos, flags, "lzop extra field");
    pos += 4;
  }
  return { flags, end: pos };
}

/**
 * Compares a stored block checksum (adler32 or crc32) with the one computed over `data`, which is
 * at `wasmAt` in the WebAssembly memory too when that is given (adler32 is then computed there).
 */
function verifyChecksum(stored: number, data: Uint8Array, kind: "adler32" | "crc32", offset: number, what: string, wasm?: LzWasm | null, wasmAt = 0): void {
  const actual = kind === "crc32" ? crc32(data) : wasm ? wasm.exports.adler32(wasmAt, wasmAt + data.length, 1) >>> 0 : adler32(data);
  if (stored !== actual) {
    throw new KimgError(ErrorCode.CHECKSUM, `lzop ${kind} of the ${what} data does not match`, {
      offset,
      structure: "lzop block",
      expected: stored,
      actual,
    });
  }
}

/**
 * Blocks (lzop src/lzo.c), integers big-endian:
 *   u32 dst_len (0 ends the file), u32 src_len (<= dst_len; equal means stored),
 *   [u32 adler32 of the decompressed data] if F_ADLER32_D, [u32 crc32 ...] if F_CRC32_D,
 *   [u32 adler32 of the compressed data] if F_ADLER32_C and src_len < dst_len, [crc32 ...] likewise,
 *   data[src_len].
 * Returns the offset after the end marker.
 */
function decodeBlocks(
  input: Uint8Array,
  start: number,
  flags: number,
  out: OutputBuffer,
  wasm: LzWasm | null,
  onProgress: ((outputBytes: number) => void) | undefined,
  progressFrom: number,
): number {
  const structure = "lzop block";
  let pos = start;
  let lastReported = progressFrom;
  for (;;) {
    const blockOffset = pos;
    if (input.length - pos < 4) throw corrupt("lzop block header is cut short", pos, structure);
    const dstLen = readU32be(input, pos);
    pos += 4;
    if (dstLen === 0) return pos;
    if (dstLen === 0xffffffff) {
      throw new KimgError(ErrorCode.UNSUPPORTED, "split lzop files are not supported", { offset: blockOffset, structure });
    }
    if (dstLen > LZOP_MAX_BLOCK_BYTES) {
      throw corrupt(`lzop block of ${dstLen} bytes is larger than lzop's 64 MiB`, blockOffset, structure, {
        expected: LZOP_MAX_BLOCK_BYTES,
        actual: dstLen,
      });
    }
    const compressed = (flags & (F_ADLER32_C | F_CRC32_C)) !== 0;
    if (input.length - pos < 4) throw corrupt("lzop block header is cut short", pos, structure);
    const srcLen = readU32be(input, pos);
    pos += 4;
    if (srcLen === 0 || srcLen > dstLen) {
      throw corrupt(`lzop block has ${srcLen} compressed bytes for ${dstLen} decompressed`, blockOffset, structure);
    }
    const stored = srcLen === dstLen;
    const checksumBytes =
      (flags & F_ADLER32_D ? 4 : 0) + (flags & F_CRC32_D ? 4 : 0) + (compressed && !stored ? (flags & F_ADLER32_C ? 4 : 0) + (flags & F_CRC32_C ? 4 : 0) : 0);
    if (input.length - pos < checksumBytes + srcLen) {
      throw corrupt("lzop block runs past the end of the input", blockOffset, structure, {
        expected: checksumBytes + srcLen,
        actual: input.length - pos,
      });
    }
    const dataStart = pos + checksumBytes;
    const data = input.subarray(dataStart, dataStart + srcLen);
    let at = pos;
    let adlerD: number | undefined;
    let crcD: number | undefined;
    const adlerDOffset = at;
    if (flags & F_ADLER32_D) {
      adlerD = readU32be(input, at);
      at += 4;
    }
    const crcDOffset = at;
    if (flags & F_CRC32_D) {
      crcD = readU32be(input, at);
      at += 4;
    }
    // The compressed block in the WebAssembly memory (-1: not there; stored blocks are copied as they are).
    const dataInWasm = wasm === null || stored ? -1 : wasm.stage(input, dataStart, dataStart + srcLen);
    if (!stored && flags & F_ADLER32_C) {
      verifyChecksum(readU32be(input, at), data, "adler32", at, "compressed", dataInWasm >= 0 ? wasm : null, dataInWasm);
      at += 4;
    }
    if (!stored && flags & F_CRC32_C) {
      verifyChecksum(readU32be(input, at), data, "crc32", at, "compressed");
      at += 4;
    }

    const outputStart = out.length;
    out.ensureCapacity(outputStart + dstLen, blockOffset);
    // Where the block's output is in the WebAssembly memory, if it is (for adler32 there).
    const outputInWasm = wasm?.holds(out.bytes) ? wasm.outputBase + outputStart : -1;
    if (stored) {
      out.bytes.set(data, outputStart);
    } else if (
      outputInWasm < 0 ||
      dataInWasm < 0 ||
      wasm!.exports.lzo1xBlock(dataInWasm, dataInWasm + srcLen, outputInWasm, outputInWasm + dstLen) !== outputInWasm + dstLen
    ) {
      // Without WebAssembly, or for a block it did not decode cleanly to the declared size: here, for the error.
      const end = lzo1xDecompress(input, dataStart, dataStart + srcLen, out.bytes, outputStart, outputStart + dstLen);
      if (end !== outputStart + dstLen) {
        throw corrupt(`lzop block decompresses to ${end - outputStart} bytes, not ${dstLen}`, blockOffset, structure, {
          expected: dstLen,
          actual: end - outputStart,
        });
      }
    }
    const decompressed = out.bytes.subarray(outputStart, outputStart + dstLen);
    if (adlerD !== undefined) verifyChecksum(adlerD, decompressed, "adler32", adlerDOffset, "decompressed", outputInWasm >= 0 ? wasm : null, outputInWasm);
    if (crcD !== undefined) verifyChecksum(crcD, decompressed, "crc32", crcDOffset, "decompressed");
    out.length = outputStart + dstLen;
    out.final();
    pos = dataStart + srcLen;

    if (onProgress !== undefined && out.length - lastReported >= PROGRESS_STEP_BYTES) {
      lastReported = out.length;
      onProgress(out.length);
    }
  }
}

/**
 * Decodes an lzop file, or several concatenated. Bytes after the last end marker that do not
 * start another lzop file (such as the kernel's 4-byte size trailer) are ignored, as lzop and
 * unlzo ignore them.
 */
/** The largest compressed block the WebAssembly loop takes: lzop's default block is 256 KiB (the kernel's lzop -9 uses it); a larger one decodes in TypeScript. */
const LZO_STAGE_BYTES = 1024 * 1024;

export const decodeLzo: Decoder = (input: Uint8Array, options: DecodeOptions): Uint8Array => {
  // The blocks decode in WebAssembly, into its memory: the output starts there.
  let wasm: LzWasm | null = null;
  const out = OutputBuffer.forDecode(
    "lzo",
    options,
    input.length,
    3,
    undefined,
    (capacity) => (wasm = LzWasm.create(Math.min(input.length, LZO_STAGE_BYTES), capacity))?.region ?? null,
  );
  let pos = 0;
  do {
    const header = parseHeader(input, pos);
    pos = decodeBlocks(input, header.end, header.flags, out, wasm, options.onProgress, out.length);
  } while (hasMagic(input, pos));
  options.onProgress?.(out.length);
  return out.finish();
};
