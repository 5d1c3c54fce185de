/** Node's own zlib is faster than the portable gzip decoder; Node callers use it. */
import { gunzipSync } from "node:zlib";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { CodecTable } from "../codecs/registry.js";
import { outputLimitError } from "../codecs/limit.js";

export const NODE_CODECS: CodecTable = {
  gzip: (input, options) => {
    try {
      const out = gunzipSync(input, { maxOutputLength: Math.max(1, options.maxOutputBytes) });
      options.onProgress?.(out.length);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_BUFFER_TOO_LARGE") throw outputLimitError("gzip", options.maxOutputBytes);
      throw new KimgError(ErrorCode.CORRUPT_STREAM, `gzip: ${(error as Error).message}`, { structure: "gzip stream" });
    }
  },
};
