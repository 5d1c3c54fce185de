/**
 * The codec registry, keyed by the canonical names (zboot's "xzkern", "zstd22"... are mapped onto
 * them by ZBOOT_CODECS in formats/zboot.ts). Callers may add or replace decoders per call.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { decodeBzip2 } from "./bzip2.js";
import { decodeGzip } from "./gzip.js";
import { decodeLz4 } from "./lz4.js";
import { decodeLzma } from "./lzma.js";
import { decodeLzo } from "./lzo.js";
import { decodeXz } from "./xz.js";
import { decodeZstd } from "./zstd.js";
import type { CodecName, Decoder } from "./types.js";

export type CodecTable = Partial<Record<CodecName, Decoder>>;

export const BUILTIN_CODECS: CodecTable = {
  gzip: decodeGzip,
  zstd: decodeZstd,
  xz: decodeXz,
  lzma: decodeLzma,
  lz4: decodeLz4,
  lzo: decodeLzo,
  bzip2: decodeBzip2,
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
