/**
 * Faster decoders for Node: node:zlib for gzip, and the native zstd library (zstd-napi, an
 * optional dependency built at install) for zstd. Where zstd-napi is missing or the output could
 * pass the limit, the portable WASM decoder does the work.
 */
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { ErrorCode, KimgError } from "../io/errors.js";
import { checkedCodecs, type CodecTable } from "../codecs/registry.js";
import { outputLimitError } from "../codecs/limit.js";
import { MAX_PREALLOCATION_RATIO } from "../codecs/output.js";

/** zstd-napi's low-level binding: ZSTD_decompressDCtx into a buffer we size. */
interface NativeZstd {
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
}

let nativeZstd: NativeZstd | null | undefined;

function loadNativeZstd(): NativeZstd | null {
  if (nativeZstd === undefined) {
    try {
      nativeZstd = createRequire(import.meta.url)("zstd-napi/binding") as NativeZstd;
    } catch {
      nativeZstd = null;
    }
  }
  return nativeZstd;
}

export const NODE_CODECS: CodecTable = checkedCodecs({
  zstd: async (input, options) => {
    const { decodeZstd, zstdOutputBound } = await import("../codecs/zstd.js");
    const native = loadNativeZstd();
    // The frame and block headers bound the output: the native decoder writes into a buffer of
    // the expected size, or of that bound, so the limit holds and nothing is copied afterwards.
    const bound = zstdOutputBound(input);
    if (!native || bound > options.maxOutputBytes) return decodeZstd(input, options);
    const expected = options.expectedSize;
    const sizes = expected !== undefined && Number.isSafeInteger(expected) && expected > 0 && expected < bound ? [expected, bound] : [bound];
    const dctx = new native.DCtx();
    for (const [i, size] of sizes.entries()) {
      const out = new Uint8Array(size);
      try {
        const n = dctx.decompress(out, input);
        options.onProgress?.(n);
        return n === out.length ? out : out.subarray(0, n);
      } catch (error) {
        const message = (error as Error).message;
        if (i < sizes.length - 1 && /too small/i.test(message)) continue;
        throw new KimgError(ErrorCode.CORRUPT_STREAM, `zstd: ${message}`, { structure: "zstd stream" });
      }
    }
    throw new KimgError(ErrorCode.CORRUPT_STREAM, "zstd: output larger than its headers allow", { structure: "zstd stream" });
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
});
