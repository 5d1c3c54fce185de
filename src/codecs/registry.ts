/**
 * The codec registry, keyed by the canonical names (zboot's "xzkern", "zstd22"... are mapped onto
 * them by ZBOOT_CODECS in formats/zboot.ts). Callers may add or replace decoders per call.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { CodecName, Decoder } from "./types.js";

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
};

export const CODEC_NAMES: readonly CodecName[] = ["gzip", "zstd", "xz", "lzma", "lz4", "lzo", "bzip2"];

export function resolveCodecs(overrides: CodecTable | undefined): CodecTable {
  return { ...BUILTIN_CODECS, ...(overrides ?? {}) };
}

export function decoderFor(table: CodecTable, codec: CodecName): Decoder {
  const decoder = table[codec];
  if (!decoder) throw new KimgError(ErrorCode.UNSUPPORTED_CODEC, `no ${codec} decoder is available`, { structure: `${codec} stream` });
  return decoder;
}
