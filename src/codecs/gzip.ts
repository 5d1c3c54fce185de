/**
 * gzip (RFC 1952), as `gzip -n -9` writes it for zboot and bzImage payloads. The platform-neutral
 * decoder is fflate's streaming inflater; Node swaps in node:zlib (src/node/codecs.ts), which is faster.
 *
 * fflate inflates each pushed chunk completely before it hands the output over, so the output
 * cap can only be checked between pushes: the input goes in chunks small enough that even the
 * densest DEFLATE (1032 output bytes per input byte) cannot carry one push far past the cap.
 */
import { Gunzip } from "fflate";
import { ErrorCode, KimgError, asKimgError } from "../io/errors.js";
import { OutputBuffer } from "./output.js";
import type { Decoder } from "./types.js";

/** The most DEFLATE can expand: a 258-byte match coded in 2 bits (RFC 1951 §3.2.5, 1-bit codes). */
export const MAX_DEFLATE_RATIO = 1032;
/** Input per push: what can expand to a quarter of the room left, between 1 KiB and 256 KiB. */
const MAX_CHUNK_BYTES = 256 * 1024;
const MIN_CHUNK_BYTES = 1024;

export const decodeGzip: Decoder = (input, options) => {
  // Sized from ISIZE (the expected size) where the container gives it, so chunks land in place.
  const out = OutputBuffer.forDecode("gzip", options, input.length, 4);
  let ended = false;
  let at = 0;
  const gunzip = new Gunzip((chunk, final) => {
    out.reserve(chunk.length, at);
    out.bytes.set(chunk, out.length);
    out.length += chunk.length;
    out.reportProgress();
    if (final) ended = true;
  });
  try {
    while (at < input.length) {
      const room = out.maxBytes - out.length;
      const size = Math.max(MIN_CHUNK_BYTES, Math.min(MAX_CHUNK_BYTES, Math.floor(room / (4 * MAX_DEFLATE_RATIO))));
      const end = Math.min(input.length, at + size);
      gunzip.push(input.subarray(at, end), end === input.length);
      at = end;
    }
    if (input.length === 0) gunzip.push(new Uint8Array(0), true);
  } catch (error) {
    throw asKimgError(error, ErrorCode.CORRUPT_STREAM, { structure: "gzip stream", offset: at });
  }
  if (!ended) throw new KimgError(ErrorCode.CORRUPT_STREAM, "gzip stream ends early", { structure: "gzip stream", offset: input.length });
  options.onProgress?.(out.length);
  return out.finish();
};
