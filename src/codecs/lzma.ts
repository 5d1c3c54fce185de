/**
 * The .lzma "alone" format (LZMA_Alone, written by `lzma` / `xz --format=lzma`).
 *
 * Spec: "LZMA specification" (lzma-specification.txt, LZMA SDK), "The header":
 *   Offset Size Description
 *     0     1   Special LZMA properties (lc,lp, pb in encoded form)
 *     1     4   Dictionary size (little endian)
 *     5     8   Uncompressed size (little endian). -1 means unknown size
 *    13         Compressed data
 *
 * The kernel compresses with `lzma -9` from a pipe (scripts/Makefile.lib), so the size is
 * unknown and the data ends with the end-of-payload marker; it then appends a 4-byte size,
 * which is ignored here like anything else after the marker.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { decodeLzma1, OutputBuffer, parsePropertiesByte, probabilityCount } from "./lzma-decoder.js";
import { LzmaWasm } from "./lzma-wasm.js";
import type { LzmaProperties } from "./lzma-decoder.js";
import type { Decoder } from "./types.js";

const HEADER_SIZE = 13;
/** When the size is unknown and not hinted, start with this many times the input size. */
const UNKNOWN_SIZE_EXPANSION_GUESS = 4;

export interface LzmaHeader {
  properties: LzmaProperties;
  dictionaryBytes: number;
  /** Undefined when the header says -1 (unknown, the stream ends with the end marker). */
  uncompressedSize: number | undefined;
}

export function readLzmaHeader(input: Uint8Array): LzmaHeader {
  const structure = "lzma header";
  if (input.length < HEADER_SIZE) {
    throw new KimgError(ErrorCode.CORRUPT_STREAM, `${structure}: needs ${HEADER_SIZE} bytes, ${input.length} left`, {
      structure,
      offset: 0,
      reason: "truncated",
    });
  }
  const properties = parsePropertiesByte(input[0]!);
  if (properties === undefined) {
    throw new KimgError(ErrorCode.CORRUPT_STREAM, `${structure}: invalid properties byte 0x${input[0]!.toString(16)}`, {
      structure,
      offset: 0,
    });
  }
  const view = new DataView(input.buffer, input.byteOffset, HEADER_SIZE);
  const sizeLow = view.getUint32(5, true);
  const sizeHigh = view.getUint32(9, true);
  const unknown = sizeLow === 0xffffffff && sizeHigh === 0xffffffff;
  return {
    properties,
    dictionaryBytes: view.getUint32(1, true),
    // Above 2^53 this loses precision, but any such size is far over every output limit.
    uncompressedSize: unknown ? undefined : sizeHigh * 2 ** 32 + sizeLow,
  };
}

/**
 * Decodes a .lzma file. A size in the header is allocated exactly (and enforced); otherwise the
 * output starts at `expectedSize` or a guess and grows until the end marker.
 */
export const decodeLzma: Decoder = (input, options) => {
  const header = readLzmaHeader(input);
  // With a declared size, decodeLzma1 reserves exactly that much itself. Without one (the
  // kernel's case), the symbols decode in WebAssembly, into its memory: the output starts there.
  let wasm: LzmaWasm | null = null;
  const { lc, lp } = header.properties;
  const out =
    header.uncompressedSize !== undefined
      ? new OutputBuffer(0, options.maxOutputBytes, "lzma", options.onProgress)
      : OutputBuffer.forDecode(
          "lzma",
          options,
          input.length,
          UNKNOWN_SIZE_EXPANSION_GUESS,
          undefined,
          (capacity) => (wasm = LzmaWasm.create(input, probabilityCount(lc + lp), capacity))?.region ?? null,
        );
  decodeLzma1(
    input,
    HEADER_SIZE,
    out,
    {
      properties: header.properties,
      uncompressedSize: header.uncompressedSize,
      structure: "lzma",
    },
    wasm,
  );
  return out.finish();
};
