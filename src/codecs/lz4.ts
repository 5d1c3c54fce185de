/**
 * lz4 decoder for what the kernel build writes: `lz4 -l -9` (scripts/Makefile.lib, cmd_lz4), the
 * LEGACY frame, which lib/decompress_unlz4.c reads. The current frame format (magic 0x184D2204,
 * lz4 doc/lz4_Frame_format.md) is decoded too, with its xxHash32 checksums verified, since other
 * tools produce it and it costs little. Block format: lz4 doc/lz4_Block_format.md.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { xxh32 } from "./checksums.js";
import type { DecodeOptions, Decoder } from "./types.js";
import { OutputBuffer } from "./output.js";
import { copyLiterals, copyMatch } from "./lz-match.js";
import { LzWasm } from "./lz-wasm.js";

const MiB = 1024 * 1024;

/**
 * Legacy frame (lz4_Frame_format.md, "Legacy frame"):
 *   magic 0x184C2102 (u32 LE), then blocks [u32 LE compressed size][compressed block] until the
 *   input ends. Each block decompresses to at most 8 MiB, independently of the others.
 * unlz4 also accepts the magic again between blocks (concatenated files) and a size of 0 as the end.
 */
const LEGACY_MAGIC = 0x184c2102;
const LEGACY_BLOCK_MAX_BYTES = 8 * MiB;
/** LZ4_compressBound(8 MiB) = n + n/255 + 16: unlz4 rejects longer chunks. */
const LEGACY_CHUNK_MAX_BYTES = LEGACY_BLOCK_MAX_BYTES + Math.floor(LEGACY_BLOCK_MAX_BYTES / 255) + 16;

/** Frame (lz4_Frame_format.md "General Structure"): magic, descriptor, blocks, EndMark, checksum. */
const FRAME_MAGIC = 0x184d2204;
/** Skippable frames: magic 0x184D2A5? (u32 LE), u32 LE size, user data. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** onProgress is called after at least this much new output. */
const PROGRESS_STEP_BYTES = 4 * MiB;

function corrupt(message: string, offset: number, structure: string, extra: Record<string, unknown> = {}): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, message, { offset, structure, ...extra });
}

/**
 * Decodes one raw LZ4 block (lz4_Block_format.md): sequences of
 *   token (literal length in the high nibble, match length - 4 in the low nibble; 15 = more bytes
 *   follow, each adding 0..255, until one is not 255), literals, u16 LE offset, length bytes;
 * the last sequence has literals only. Matches may reach back to `windowStart` and no further.
 * Returns the new output position, or -1 if the block needs more room than `outputEnd` allows.
 */
function decodeBlock(
  input: Uint8Array,
  inputStart: number,
  inputEnd: number,
  output: Uint8Array,
  outputStart: number,
  outputEnd: number,
  windowStart: number,
): number {
  let ip = inputStart;
  let op = outputStart;
  for (;;) {
    if (ip >= inputEnd) throw corrupt("lz4 block ends without a final literal run", ip, "lz4 block");
    const token = input[ip++]!;

    let literalLength = token >>> 4;
    if (literalLength === 15) {
      let extra: number;
      do {
        if (ip >= inputEnd) throw corrupt("lz4 literal length runs past the block", ip, "lz4 block");
        extra = input[ip++]!;
        literalLength += extra;
      } while (extra === 255);
    }
    if (literalLength > inputEnd - ip) throw corrupt("lz4 literals run past the block", ip, "lz4 block");
    if (literalLength > outputEnd - op) return -1;
    // Short copies may write a few scratch bytes up to the buffer's end, which later blocks
    // overwrite (lz-match.ts); bounded by the block's end only, they would leave their fast path
    // at every block end and cost V8 a deoptimisation.
    copyLiterals(input, ip, output, op, literalLength, output.length);
    ip += literalLength;
    op += literalLength;
    if (ip === inputEnd) return op;

    if (inputEnd - ip < 2) throw corrupt("lz4 match offset runs past the block", ip, "lz4 block");
    const distance = input[ip]! | (input[ip + 1]! << 8);
    if (distance === 0 || distance > op - windowStart) {
      throw corrupt(`lz4 match offset ${distance} points before the start of the window`, ip, "lz4 block");
    }
    ip += 2;

    let matchLength = (token & 15) + 4;
    if (matchLength === 19) {
      let extra: number;
      do {
        if (ip >= inputEnd) throw corrupt("lz4 match length runs past the block", ip, "lz4 block");
        extra = input[ip++]!;
        matchLength += extra;
      } while (extra === 255);
    }
    if (matchLength > outputEnd - op) return -1;

    copyMatch(output, op, distance, matchLength, output.length);
    op += matchLength;
  }
}

/**
 * Decodes one block into `out` at out.length, growing the buffer and retrying the block when it
 * runs out of room. A block that would pass `blockMaxBytes` is corrupt.
 */
function decodeBlockInto(
  out: OutputBuffer,
  input: Uint8Array,
  blockStart: number,
  blockEnd: number,
  blockMaxBytes: number,
  windowStart: number,
  structure: string,
): void {
  const outputStart = out.length;
  for (;;) {
    const blockLimit = outputStart + blockMaxBytes;
    const outputEnd = Math.min(out.bytes.length, blockLimit);
    const end = decodeBlock(input, blockStart, blockEnd, out.bytes, outputStart, outputEnd, windowStart);
    if (end >= 0) {
      out.length = end;
      return;
    }
    if (outputEnd === blockLimit) {
      throw corrupt(`${structure} decompresses to more than ${blockMaxBytes} bytes`, blockStart, structure);
    }
    out.ensureCapacity(out.bytes.length + 1, blockStart);
  }
}

function readU32le(input: Uint8Array, offset: number): number {
  return (input[offset]! | (input[offset + 1]! << 8) | (input[offset + 2]! << 16) | (input[offset + 3]! << 24)) >>> 0;
}

class Progress {
  private lastReported = 0;
  constructor(private readonly callback: ((outputBytes: number) => void) | undefined) {}
  update(outputBytes: number, force = false): void {
    if (this.callback === undefined) return;
    if (force || outputBytes - this.lastReported >= PROGRESS_STEP_BYTES) {
      this.lastReported = outputBytes;
      this.callback(outputBytes);
    }
  }
}

/**
 * Decodes a legacy stream starting after its magic at `position`; returns where it stopped.
 * End of input, a zero size, or the 4-byte size trailer that the kernel build appends (equal to
 * the output length mod 2^32) end the stream; the legacy magic again continues it (unlz4 accepts
 * concatenated files) and a current-frame magic hands over to the caller. Any other short or
 * oversized chunk is corrupt: unlz4 would also stop quietly at 1..3 stray bytes, but for us they
 * mean truncation.
 */
function decodeLegacy(input: Uint8Array, position: number, out: OutputBuffer, progress: Progress, wasm: LzWasm | null): number {
  let pos = position;
  while (pos < input.length) {
    if (input.length - pos < 4) {
      throw corrupt("lz4 legacy chunk header is cut short", pos, "lz4 legacy chunk", { actual: input.length - pos });
    }
    const chunkBytes = readU32le(input, pos);
    if (chunkBytes === LEGACY_MAGIC) {
      pos += 4;
      continue;
    }
    if (chunkBytes === 0) return pos + 4;
    if (input.length - pos === 4 && chunkBytes === out.length % 2 ** 32) return pos + 4;
    if (chunkBytes === FRAME_MAGIC || (chunkBytes & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) return pos;
    if (chunkBytes > LEGACY_CHUNK_MAX_BYTES) {
      throw corrupt(`lz4 legacy chunk of ${chunkBytes} bytes is larger than LZ4_compressBound(8 MiB)`, pos, "lz4 legacy chunk", {
        expected: LEGACY_CHUNK_MAX_BYTES,
        actual: chunkBytes,
      });
    }
    const blockStart = pos + 4;
    if (chunkBytes > input.length - blockStart) {
      throw corrupt(`lz4 legacy chunk of ${chunkBytes} bytes runs past the end of the input`, pos, "lz4 legacy chunk", {
        expected: chunkBytes,
        actual: input.length - blockStart,
      });
    }
    if (wasm === null || !decodeLegacyBlockWasm(wasm, input, out, blockStart, blockStart + chunkBytes)) {
      decodeBlockInto(out, input, blockStart, blockStart + chunkBytes, LEGACY_BLOCK_MAX_BYTES, out.length, "lz4 legacy block");
    }
    progress.update(out.length);
    out.final();
    pos = blockStart + chunkBytes;
  }
  return pos;
}

/**
 * A legacy block through the WebAssembly loop, straight into the output while that is still the
 * WebAssembly memory, within the room it has. False, with out.length unchanged, when the block is
 * not clean or needs more room: decodeBlockInto then decodes it again and gives the error, or
 * grows the output, exactly as without WebAssembly.
 */
function decodeLegacyBlockWasm(wasm: LzWasm, input: Uint8Array, out: OutputBuffer, blockStart: number, blockEnd: number): boolean {
  if (!wasm.holds(out.bytes)) return false;
  const ip = wasm.stage(input, blockStart, blockEnd);
  if (ip < 0) return false;
  const op = wasm.outputBase + out.length;
  const opEnd = op + Math.min(LEGACY_BLOCK_MAX_BYTES, out.bytes.length - out.length);
  // Legacy blocks are independent: matches reach back to the block's start only.
  const end = wasm.exports.lz4Block(ip, ip + (blockEnd - blockStart), op, opEnd, op);
  if (end < 0) return false;
  out.length = end - wasm.outputBase;
  return true;
}

/**
 * Frame descriptor (lz4_Frame_format.md "Frame Descriptor"):
 *   FLG: version (bits 7-6) = 01, B.Indep (5), B.Checksum (4), C.Size (3), C.Checksum (2),
 *        reserved (1) = 0, DictID (0)
 *   BD:  reserved (7) = 0, Block MaxSize (6-4) = 4..7 (64 KiB, 256 KiB, 1 MiB, 4 MiB), reserved (3-0) = 0
 *   Content Size (u64 LE, if C.Size), Dictionary ID (u32 LE, if DictID),
 *   HC: (xxh32(descriptor from FLG) >> 8) & 0xFF
 * Data blocks: u32 LE size (high bit set = stored uncompressed, 0 = EndMark), data, xxh32 of the
 * data if B.Checksum. After the EndMark, xxh32 of the frame's whole output if C.Checksum.
 */
function decodeFrame(input: Uint8Array, position: number, out: OutputBuffer, progress: Progress): number {
  const structure = "lz4 frame descriptor";
  const descriptorStart = position + 4;
  if (input.length - descriptorStart < 3) throw corrupt("lz4 frame descriptor is cut short", descriptorStart, structure);
  const flags = input[descriptorStart]!;
  const blockDescriptor = input[descriptorStart + 1]!;
  if (flags >>> 6 !== 1) throw corrupt(`lz4 frame version ${flags >>> 6} is not 1`, descriptorStart, structure);
  if ((flags & 0x02) !== 0 || (blockDescriptor & 0x8f) !== 0) {
    throw corrupt("lz4 frame descriptor has reserved bits set", descriptorStart, structure);
  }
  const blockChecksums = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const hasContentChecksum = (flags & 0x04) !== 0;
  const hasDictionaryId = (flags & 0x01) !== 0;
  const blockSizeId = (blockDescriptor >>> 4) & 7;
  if (blockSizeId < 4) throw corrupt(`lz4 block maximum size id ${blockSizeId} is not 4..7`, descriptorStart + 1, structure);
  const blockMaxBytes = 1 << (8 + 2 * blockSizeId);

  const descriptorBytes = 2 + (hasContentSize ? 8 : 0) + (hasDictionaryId ? 4 : 0);
  if (input.length - descriptorStart < descriptorBytes + 1) {
    throw corrupt("lz4 frame descriptor is cut short", descriptorStart, structure);
  }
  if (hasDictionaryId) {
    throw new KimgError(ErrorCode.UNSUPPORTED, "lz4 frame needs an external dictionary", {
      offset: descriptorStart,
      structure,
    });
  }
  const headerChecksum = input[descriptorStart + descriptorBytes]!;
  const expectedHeaderChecksum = (xxh32(input.subarray(descriptorStart, descriptorStart + descriptorBytes)) >>> 8) & 0xff;
  if (headerChecksum !== expectedHeaderChecksum) {
    throw new KimgError(ErrorCode.CHECKSUM, "lz4 frame descriptor checksum does not match", {
      offset: descriptorStart + descriptorBytes,
      structure,
      expected: expectedHeaderChecksum,
      actual: headerChecksum,
    });
  }
  let contentBytes: number | undefined;
  if (hasContentSize) {
    const low = readU32le(input, descriptorStart + 2);
    const high = readU32le(input, descriptorStart + 6);
    contentBytes = high * 2 ** 32 + low;
  }

  // Linked blocks may refer back into earlier blocks of the same frame, never before it.
  const frameOutputStart = out.length;
  let pos = descriptorStart + descriptorBytes + 1;
  for (;;) {
    if (input.length - pos < 4) throw corrupt("lz4 frame block header is cut short", pos, "lz4 frame block");
    const word = readU32le(input, pos);
    if (word === 0) {
      pos += 4;
      break;
    }
    const stored = word >>> 31 === 1;
    const blockBytes = word & 0x7fffffff;
    if (blockBytes > blockMaxBytes) {
      throw corrupt(`lz4 frame block of ${blockBytes} bytes exceeds the maximum of ${blockMaxBytes}`, pos, "lz4 frame block");
    }
    const blockStart = pos + 4;
    const blockEnd = blockStart + blockBytes;
    if (blockEnd + (blockChecksums ? 4 : 0) > input.length) {
      throw corrupt("lz4 frame block runs past the end of the input", pos, "lz4 frame block");
    }
    if (blockChecksums) {
      const expected = readU32le(input, blockEnd);
      const actual = xxh32(input.subarray(blockStart, blockEnd));
      if (expected !== actual) {
        throw new KimgError(ErrorCode.CHECKSUM, "lz4 block checksum does not match", {
          offset: blockEnd,
          structure: "lz4 frame block",
          expected,
          actual,
        });
      }
    }
    if (stored) {
      out.ensureCapacity(out.length + blockBytes, blockStart);
      out.bytes.set(input.subarray(blockStart, blockEnd), out.length);
      out.length += blockBytes;
    } else {
      decodeBlockInto(out, input, blockStart, blockEnd, blockMaxBytes, frameOutputStart, "lz4 frame block");
    }
    progress.update(out.length);
    out.final();
    pos = blockEnd + (blockChecksums ? 4 : 0);
  }

  const frameBytes = out.length - frameOutputStart;
  if (contentBytes !== undefined && contentBytes !== frameBytes) {
    throw corrupt(`lz4 frame declares ${contentBytes} bytes of content but holds ${frameBytes}`, descriptorStart + 2, structure, {
      expected: contentBytes,
      actual: frameBytes,
    });
  }
  if (hasContentChecksum) {
    if (input.length - pos < 4) throw corrupt("lz4 content checksum is cut short", pos, "lz4 frame");
    const expected = readU32le(input, pos);
    const actual = xxh32(out.bytes.subarray(frameOutputStart, out.length));
    if (expected !== actual) {
      throw new KimgError(ErrorCode.CHECKSUM, "lz4 content checksum does not match", {
        offset: pos,
        structure: "lz4 frame",
        expected,
        actual,
      });
    }
    pos += 4;
  }
  return pos;
}

/**
 * Decodes lz4 data: legacy or current frames, concatenated, with skippable frames skipped.
 * After a current frame, trailing bytes that are not another frame (such as the kernel's size
 * trailer) end the input, as they do for the lz4 tool.
 */
export const decodeLz4: Decoder = (input: Uint8Array, options: DecodeOptions): Uint8Array => {
  // The kernel's legacy frames decode in WebAssembly, into its memory: the output starts there.
  let wasm: LzWasm | null = null;
  const legacy = input.length >= 4 && readU32le(input, 0) === LEGACY_MAGIC;
  const out = OutputBuffer.forDecode("lz4", options, input.length, 3, undefined, (capacity) =>
    legacy ? ((wasm = LzWasm.create(Math.min(input.length, LEGACY_CHUNK_MAX_BYTES), capacity))?.region ?? null) : null,
  );
  const progress = new Progress(options.onProgress);
  if (input.length < 4) throw corrupt("lz4 input is shorter than its magic", 0, "lz4 magic", { actual: input.length });

  let pos = 0;
  let frames = 0;
  while (input.length - pos >= 4) {
    const magic = readU32le(input, pos);
    if (magic === LEGACY_MAGIC) {
      pos = decodeLegacy(input, pos + 4, out, progress, wasm);
    } else if (magic === FRAME_MAGIC) {
      pos = decodeFrame(input, pos, out, progress);
    } else if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (input.length - pos < 8) throw corrupt("lz4 skippable frame header is cut short", pos, "lz4 skippable frame");
      const skipBytes = readU32le(input, pos + 4);
      if (skipBytes > input.length - pos - 8) throw corrupt("lz4 skippable frame runs past the end", pos, "lz4 skippable frame");
      pos += 8 + skipBytes;
    } else if (frames === 0) {
      throw corrupt(`not an lz4 stream: magic 0x${magic.toString(16)}`, pos, "lz4 magic", {
        expected: "0x184c2102 or 0x184d2204",
        actual: magic,
      });
    } else {
      break;
    }
    frames++;
  }
  progress.update(out.length, true);
  return out.finish();
};
