/**
 * The codec registry, keyed by the canonical names (zboot's "xzkern", "zstd22"... are mapped onto
 * them by ZBOOT_CODECS in formats/zboot.ts). Callers may add or replace decoders per call.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { outputLimitError } from "./limit.js";
import { CODEC_NAMES, type CodecName, type Decoder } from "./types.js";

/** Decoders by codec name: the built-in ones, or extra and replacement ones a caller passes as `codecs`. */
export type CodecTable = Partial<Record<CodecName, Decoder>>;

/** Each decoder is loaded on first use, so inspecting an uncompressed image loads no codec (and no WASM). */
export const BUILTIN_CODECS: CodecTable = {
  gzip: async (input, options) => (await import("./gzip.js")).decodeGzip(input, options),
  zstd: async (input, options) => (await import("./zstd.js")).decodeZstd(input, options),
  xz: async (input, options) => (await import("./xz.js")).decodeXz(input, options),
  lzma: async (input, options) => (await import("./lzma.js")).decodeLzma(input, options),
  lz4: async (input, options) => (await import("./lz4.js")).decodeLz4(input, options),
  lzo: async (input, options) => (await import("./lzo.js")).decodeLzo(input, options),
  bzip2: async (input, options) => (await import("./bzip2.js")).decodeBzip2(input, options),
} satisfies Record<CodecName, Decoder>;

export { CODEC_NAMES };

export function resolveCodecs(overrides: CodecTable | undefined): CodecTable {
  return { ...BUILTIN_CODECS, ...(overrides ?? {}) };
}

/**
 * The output contract of every decoder, built-in, Node or caller-supplied, enforced in this one
 * place: no decode starts without at least one byte of budget (a library may read a capacity of 0
 * as "size unknown" and write past it), and no output longer than the budget is accepted.
 */
export function checkedDecoder(codec: CodecName, decoder: Decoder): Decoder {
  return async (input, options) => {
    const max = options.maxOutputBytes;
    if (!(max >= 1)) {
      throw new KimgError(ErrorCode.LIMIT, `${codec}: no output budget left (maxOutputBytes ${max}); not decoding`, {
        structure: `${codec} stream`,
        limit: "maxOutputBytes",
        expected: Number.isNaN(max) ? String(max) : max,
      });
    }
    const out = await decoder(input, options);
    if (!(out instanceof Uint8Array)) {
      throw new KimgError(ErrorCode.CORRUPT_STREAM, `${codec} decoder returned no bytes`, { structure: `${codec} stream` });
    }
    if (out.length > max) throw outputLimitError(codec, max, out.length);
    return out;
  };
}

/** Every table entry behind checkedDecoder (for callers that use a table without decoderFor). */
export function checkedCodecs(table: CodecTable): CodecTable {
  const checked: CodecTable = {};
  for (const name of CODEC_NAMES) {
    const decoder = table[name];
    if (decoder) checked[name] = checkedDecoder(name, decoder);
  }
  return checked;
}

export function decoderFor(table: CodecTable, codec: CodecName): Decoder {
  const decoder = table[codec];
  if (!decoder) throw new KimgError(ErrorCode.UNSUPPORTED_CODEC, `no ${codec} decoder is available`, { structure: `${codec} stream` });
  return checkedDecoder(codec, decoder);
}
