/**
 * The codec registry, keyed by the canonical names; `codecFromZbootId` maps the ids the kernel
 * writes ("xzkern", "zstd22"...) onto them. Callers may add or replace decoders per call.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { decodeGzip } from "./gzip.js";
import { decodeZstd } from "./zstd.js";
import type { CodecName, Decoder } from "./types.js";

export type CodecTable = Partial<Record<CodecName, Decoder>>;

export const BUILTIN_CODECS: CodecTable = {
  gzip: decodeGzip,
  zstd: decodeZstd,
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
