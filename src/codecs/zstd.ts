/**
 * zstd, as `zstd -22 --ultra` writes it from a pipe: 128 MiB windows and no content size.
 * zstddec (the reference C decoder in WASM) decodes in one pass straight into an output buffer,
 * which needs no window buffer. The buffer's size comes from the stream itself: the frame and
 * block headers are walked first, and their sum bounds the output, whatever a container claims.
 * (zstddec's streaming decoder is not used: abandoning its generator on a corrupt frame leaks
 * the decoder context and its window inside the WASM heap, until the heap is exhausted.)
 */
import { ZSTDDecoder } from "zstddec";
import { ErrorCode, KimgError, asKimgError } from "../io/errors.js";
import { outputLimitError } from "./limit.js";
import type { Decoder } from "./types.js";
import { BLOCK_MAX_BYTES, zstdOutputBound } from "./zstd-frame.js";

let single: Promise<ZSTDDecoder> | undefined;

function singleDecoder(): Promise<ZSTDDecoder> {
  single ??= (async () => {
    const d = new ZSTDDecoder();
    await d.init();
    return d;
  })();
  return single;
}

/**
 * Instantiates the decoder ahead of the first stream, so a page's worker pays for compiling the
 * WebAssembly while the user is still choosing a file. Given a small frame, it also decodes it
 * `rounds` times: the engine first runs WebAssembly in a baseline tier and optimises a function
 * once it has run enough, so a first large stream decoded cold takes about twice as long as the
 * next one. Never throws: a failure surfaces again at the first real decode, as before.
 */
export async function prepareZstd(warmUp?: { frame: Uint8Array; rounds: number }): Promise<void> {
  try {
    await singleDecoder();
    for (let i = 0; i < (warmUp?.rounds ?? 0) && warmUp; i++) await decodeZstd(warmUp.frame, { maxOutputBytes: BLOCK_MAX_BYTES });
  } catch {
    // The first real stream reports it.
  }
}

/** zstddec's malloc returns 0 past its WASM memory; the output buffer stays well below that. */
export const ZSTD_MAX_OUTPUT_BYTES = 1024 * 1024 * 1024;

export const decodeZstd: Decoder = async (input, options) => {
  const bound = zstdOutputBound(input);
  if (bound === 0) return new Uint8Array(0);
  const capacity = Math.min(bound, options.maxOutputBytes, ZSTD_MAX_OUTPUT_BYTES);
  // zstddec reads a capacity of 0 as "take the size from the frame" and may then return whatever
  // lies in its heap: a spent budget must never reach it.
  if (!(capacity >= 1)) throw outputLimitError("zstd", options.maxOutputBytes);
  let out: Uint8Array;
  try {
    out = (await singleDecoder()).decode(input, capacity);
  } catch (error) {
    throw asKimgError(error, ErrorCode.CORRUPT_STREAM, { structure: "zstd stream" });
  }
  // ZSTD_decompress reports every error, "destination too small" included, as an empty result.
  if (out.length === 0) {
    if (capacity < bound) throw outputLimitError("zstd", Math.min(options.maxOutputBytes, ZSTD_MAX_OUTPUT_BYTES));
    throw new KimgError(ErrorCode.CORRUPT_STREAM, "zstd frame is corrupt", { structure: "zstd stream" });
  }
  if (out.length > capacity)
    throw new KimgError(ErrorCode.CORRUPT_STREAM, `zstd decoder returned ${out.length} bytes into a ${capacity}-byte buffer`, { structure: "zstd stream" });
  options.onProgress?.(out.length);
  return out;
};
