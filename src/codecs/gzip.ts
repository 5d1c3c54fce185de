/**
 * gzip (RFC 1952), as `gzip -n -9` writes it for zboot and bzImage payloads. The platform-neutral
 * decoder is fflate's streaming inflater, so output is capped chunk by chunk; Node swaps in
 * node:zlib (src/node/codecs.ts), which is faster.
 */
import { Gunzip } from "fflate";
import { ErrorCode, KimgError, asKimgError } from "../io/errors.js";
import { OutputBuffer } from "./output.js";
import type { Decoder } from "./types.js";

const CHUNK = 1 << 20;

export const decodeGzip: Decoder = (input, options) => {
  // Sized from ISIZE (the expected size) where the container gives it, so chunks land in place.
  const out = OutputBuffer.forDecode("gzip", options, input.length, 4);
  let ended = false;
  const gunzip = new Gunzip((chunk, final) => {
    out.reserve(chunk.length, 0);
    out.bytes.set(chunk, out.length);
    out.length += chunk.length;
    options.onProgress?.(out.length);
    if (final) ended = true;
  });
  try {
    for (let at = 0; at < input.length; at += CHUNK) {
      const end = Math.min(input.length, at + CHUNK);
      gunzip.push(input.subarray(at, end), end === input.length);
    }
    if (input.length === 0) gunzip.push(new Uint8Array(0), true);
  } catch (error) {
    throw asKimgError(error, ErrorCode.CORRUPT_STREAM, { structure: "gzip stream" });
  }
  if (!ended) throw new KimgError(ErrorCode.CORRUPT_STREAM, "gzip stream ends early", { structure: "gzip stream", offset: input.length });
  return out.finish();
};
