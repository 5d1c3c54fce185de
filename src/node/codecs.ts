/**
 * Faster decoders for Node: node:zlib for gzip, and the native zstd library (zstd-napi, an
 * optional dependency built at install) for zstd. Where zstd-napi is missing or the output could
 * pass the limit, the portable WASM decoder does the work.
 */
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { CodecTable } from "../codecs/registry.js";
import { outputLimitError } from "../codecs/limit.js";
import { MAX_PREALLOCATION_RATIO } from "../codecs/output.js";

interface NativeZstd {
  Decompressor: new () => { setParameters(p: { windowLogMax?: number }): void; decompress(input: Uint8Array): Uint8Array };
}

let nativeZstd: NativeZstd | null | undefined;

function loadNativeZstd(): NativeZstd | null {
  if (nativeZstd === undefined) {
    try {
      nativeZstd = createRequire(import.meta.url)("zstd-napi") as NativeZstd;
    } catch {
      nativeZstd = null;
    }
  }
  return nativeZstd;
}

/** zstd -22 --ultra uses windows up to 2^27; the format allows 2^31. */
const ZSTD_WINDOW_LOG_MAX = 31;

export const NODE_CODECS: CodecTable = {
  zstd: async (input, options) => {
    const { decodeZstd, zstdOutputBound } = await import("../codecs/zstd.js");
    const native = loadNativeZstd();
    // The headers bound the output; only when that bound fits the limit is the native decoder
    // (which sizes its own output) used, so the limit holds either way.
    if (!native || zstdOutputBound(input) > options.maxOutputBytes) return decodeZstd(input, options);
    try {
      const d = new native.Decompressor();
      d.setParameters({ windowLogMax: ZSTD_WINDOW_LOG_MAX });
      const out = d.decompress(input);
      options.onProgress?.(out.length);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (error) {
      throw new KimgError(ErrorCode.CORRUPT_STREAM, `zstd: ${(error as Error).message}`, { structure: "zstd stream" });
    }
  },
  gzip: (input, options) => {
    try {
      // One output chunk the size of the expected output: zlib then neither grows nor joins
      // chunks, which halves the peak memory and saves a copy (capped as decoders cap hints).
      const expected = options.expectedSize ?? 0;
      const chunkSize = Math.max(64 * 1024, Math.min(expected + 1, Math.max(1 << 20, input.length * MAX_PREALLOCATION_RATIO), options.maxOutputBytes + 1));
      const out = gunzipSync(input, { maxOutputLength: Math.max(1, options.maxOutputBytes), chunkSize });
      options.onProgress?.(out.length);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_BUFFER_TOO_LARGE") throw outputLimitError("gzip", options.maxOutputBytes);
      throw new KimgError(ErrorCode.CORRUPT_STREAM, `gzip: ${(error as Error).message}`, { structure: "gzip stream" });
    }
  },
};
