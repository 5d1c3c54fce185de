/** Node's own zlib is faster than the portable gzip decoder; Node callers use it. */
import { gunzipSync } from "node:zlib";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { CodecTable } from "../codecs/registry.js";
import { outputLimitError } from "../codecs/limit.js";
import { MAX_PREALLOCATION_RATIO } from "../codecs/output.js";

export const NODE_CODECS: CodecTable = {
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
