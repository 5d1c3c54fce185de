/**
 * zstd, as `zstd -22 --ultra` writes it from a pipe: 128 MiB windows and no content size.
 * zstddec (the reference C decoder in WASM) decodes straight into a buffer of the expected
 * size when the container gives one; otherwise, or when that answer is not exact, it streams.
 */
import { ZSTDDecoder } from "zstddec";
import { ZSTDDecoder as ZSTDStreamDecoder } from "zstddec/stream";
import { ErrorCode, KimgError, asKimgError } from "../io/errors.js";
import { ChunkSink } from "./limit.js";
import type { Decoder } from "./types.js";

let single: Promise<ZSTDDecoder> | undefined;
let streaming: Promise<ZSTDStreamDecoder> | undefined;

function singleDecoder(): Promise<ZSTDDecoder> {
  single ??= (async () => {
    const d = new ZSTDDecoder();
    await d.init();
    return d;
  })();
  return single;
}

function streamDecoder(): Promise<ZSTDStreamDecoder> {
  streaming ??= (async () => {
    const d = new ZSTDStreamDecoder();
    await d.init();
    return d;
  })();
  return streaming;
}

/** The streaming decoder spins on a corrupt frame without consuming input; this many empty chunks in a row means stuck. */
const MAX_EMPTY_CHUNKS = 64;

export const decodeZstd: Decoder = async (input, options) => {
  const expected = options.expectedSize;
  if (expected !== undefined && expected > 0 && expected <= options.maxOutputBytes) {
    try {
      const out = (await singleDecoder()).decode(input, expected);
      // ZSTD_decompress reports errors as a short result; only an exact fill is trusted.
      if (out.length === expected) {
        options.onProgress?.(out.length);
        return out;
      }
    } catch {
      // Fall through to the streaming decoder, which gives the definitive answer.
    }
  }
  const decoder = await streamDecoder();
  const sink = new ChunkSink("zstd", options.maxOutputBytes, options.onProgress);
  let empty = 0;
  try {
    for (const chunk of decoder.decodeStreaming([input])) {
      if (chunk.length === 0) {
        if (++empty > MAX_EMPTY_CHUNKS) throw new KimgError(ErrorCode.CORRUPT_STREAM, "zstd frame is corrupt", { structure: "zstd stream" });
        continue;
      }
      empty = 0;
      sink.push(chunk);
    }
  } catch (error) {
    throw asKimgError(error, ErrorCode.CORRUPT_STREAM, { structure: "zstd stream" });
  }
  if (input.length === 0) throw new KimgError(ErrorCode.CORRUPT_STREAM, "empty zstd stream", { structure: "zstd stream", offset: 0 });
  return sink.concat();
};
