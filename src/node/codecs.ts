/**
 * Faster decoders for Node: node:zlib for gzip, and native zstd for zstd. In the CLI, where koffi
 * may be loaded, zstd and gzip go through libzstd and zlib in steps (node/libzstd.ts,
 * node/libz.ts), straight into one buffer of the expected size, each step's output handed on
 * while the rest decodes when the caller takes it as it comes (`kimg extract`,
 * DecodeOptions.onOutput). A program using the library, which never loads koffi, gets node:zlib's
 * zstd (Node >= 22.15 and 23.8: libzstd's streaming decoder, which keeps a window beside the
 * output) or the portable WASM decoder (Node 20), and node:zlib's gunzip.
 */
import { createRequire } from "node:module";
import { ErrorCode, KimgError } from "../io/errors.js";
import { crc32 as portableCrc32 } from "../codecs/checksums.js";
import { BUILTIN_CODECS, CODEC_NAMES, checkedCodecs, type CodecTable } from "../codecs/registry.js";
import { outputLimitError } from "../codecs/limit.js";
import { MAX_PREALLOCATION_RATIO, OUTPUT_INTERVAL_BYTES, PROGRESS_INTERVAL_BYTES, preparedPart } from "../codecs/output.js";
import type { DecodeOptions, Decoder } from "../codecs/types.js";
import { zstdOutputBound } from "../codecs/zstd-frame.js";
import { gunzipInSteps, libzAvailable } from "./libz.js";
import { decodeIntoStable, libzstdAvailable } from "./libzstd.js";
import { koffiWhereHarmless } from "./koffi.js";
import { prefaultPages } from "./prefault.js";

const nodeRequire = createRequire(import.meta.url);
let zlibModule: typeof import("node:zlib") | undefined;

/** node:zlib, loaded on first use (and at run time, so the running Node's zstd is seen). */
function nodeZlib(): typeof import("node:zlib") {
  return (zlibModule ??= nodeRequire("node:zlib") as typeof import("node:zlib"));
}

/** node:zlib's zstd, where this Node has it (22.15+, 23.8+); typed here since @types/node 20 lacks it. */
type ZlibZstd = (input: Uint8Array, options: { chunkSize: number; maxOutputLength: number }) => Uint8Array;

function zlibZstd(): ZlibZstd | null {
  const f = (nodeZlib() as unknown as { zstdDecompressSync?: ZlibZstd }).zstdDecompressSync;
  return typeof f === "function" ? f : null;
}

function zstdError(message: string): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, `zstd: ${message}`, { structure: "zstd stream" });
}

/** A size hint worth allocating for: positive and below the headers' bound. */
function usableHint(options: DecodeOptions, bound: number): number | undefined {
  const expected = options.expectedSize;
  return expected !== undefined && Number.isSafeInteger(expected) && expected > 0 && expected < bound ? expected : undefined;
}

/**
 * A one-buffer zstd decode: into the expected size first, the headers' bound if that was too
 * small (libzstd's "Destination buffer is too small"). `decodeInto` fills `out` and returns how
 * many bytes it wrote. A larger buffer decodes the same bytes again, so what a stepped decode
 * handed out of the first stays the output's start.
 */
async function intoSizedOutput(
  input: Uint8Array,
  options: DecodeOptions,
  bound: number,
  decodeInto: (out: Uint8Array) => number | Promise<number>,
): Promise<Uint8Array> {
  const hint = usableHint(options, bound);
  const sizes = hint === undefined ? [bound] : [hint, bound];
  for (const [i, size] of sizes.entries()) {
    const out = new Uint8Array(size);
    options.prepareOutput?.(preparedPart(out, input.length));
    try {
      const n = await decodeInto(out);
      options.onProgress?.(n);
      return n === out.length ? out : out.subarray(0, n);
    } catch (error) {
      const message = (error as Error).message;
      if (i < sizes.length - 1 && /too small/i.test(message)) continue;
      throw zstdError(message);
    }
  }
  throw zstdError("output larger than its headers allow");
}

/** libzstd in steps (node/libzstd.ts), each step's output handed to `onOutput` while the rest decodes. */
function decodeStreamed(input: Uint8Array, options: DecodeOptions, bound: number): Promise<Uint8Array> {
  return intoSizedOutput(input, options, bound, (out) => {
    let nextOutput = OUTPUT_INTERVAL_BYTES;
    let nextProgress = PROGRESS_INTERVAL_BYTES;
    return decodeIntoStable(input, out, (upTo) => {
      if (upTo >= nextProgress) {
        options.onProgress?.(upTo);
        nextProgress = upTo + PROGRESS_INTERVAL_BYTES;
      }
      if (upTo >= nextOutput) {
        options.onOutput?.(out, upTo);
        nextOutput = upTo + OUTPUT_INTERVAL_BYTES;
      }
    });
  });
}

/**
 * node:zlib's zstd with one output chunk one byte larger than the expected size (zlib then never
 * allocates a second chunk to learn that the stream ended). Returns null when the frame's window
 * is beyond libzstd's default limit (128 MiB), which the one-pass decoders do not need.
 */
function decodeZlib(decompress: ZlibZstd, input: Uint8Array, options: DecodeOptions, bound: number): Uint8Array | null {
  const hint = usableHint(options, bound) ?? bound;
  const chunkSize = Math.max(64 * 1024, Math.min(hint + 1, bound + 1, options.maxOutputBytes + 1));
  try {
    const out = decompress(input, { chunkSize, maxOutputLength: Math.max(1, options.maxOutputBytes) });
    options.onProgress?.(out.length);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE") throw outputLimitError("zstd", options.maxOutputBytes);
    if (code === "ZSTD_error_frameParameter_windowTooLarge") return null;
    throw zstdError((error as Error).message);
  }
}

const portableZstd: Decoder = async (input, options) => (await import("../codecs/zstd.js")).decodeZstd(input, options);

/** A native decoder given the output's bound from the headers; where it returns null, the portable one decodes. */
const withBound =
  (decode: (input: Uint8Array, options: DecodeOptions, bound: number) => Uint8Array | Promise<Uint8Array> | null): Decoder =>
  async (input, options) => {
    // The frame and block headers bound the output (and must tile the input exactly).
    const bound = zstdOutputBound(input);
    if (bound === 0) return new Uint8Array(0);
    return decode(input, options, bound) ?? portableZstd(input, options);
  };

/**
 * The zstd decoders a program using the library gets on this Node, fastest first (exported for
 * the tests, which run each). With `firstOnly`, only the fastest.
 */
export function nodeZstdDecoders(firstOnly = false): { name: string; decode: Decoder }[] {
  const decoders: { name: string; decode: Decoder }[] = [];
  const fromZlib = zlibZstd();
  if (fromZlib) decoders.push({ name: "node:zlib", decode: withBound((input, options, bound) => decodeZlib(fromZlib, input, options, bound)) });
  decoders.push({ name: "wasm", decode: portableZstd });
  return firstOnly ? decoders.slice(0, 1) : decoders;
}

/**
 * zstd decoded by libzstd in steps (Node's own copy, or the system's), each step's output final
 * at once (DecodeOptions.onOutput); null where that is not possible now (node/libzstd.ts: koffi
 * not loaded, no libzstd 1.5).
 */
export function streamedZstdDecoder(): Decoder | null {
  if (!libzstdAvailable()) return null;
  return withBound((input, options, bound) => (bound > options.maxOutputBytes ? null : decodeStreamed(input, options, bound)));
}

let zstdDecoder: Decoder | undefined;

let crc32Impl: ((data: Uint8Array, initial?: number) => number) | undefined;

/**
 * CRC-32 for Node: zlib's native one where Node has it (20.15+, 22.2+; the same function as
 * codecs/checksums.ts `crc32`, a sixth of the time), else the portable one. Passed as
 * AnalyseOptions.crc32 and to xz's block checks. node:zlib loads on the first call, not before
 * (an uncompressed, unsigned image loads no zlib).
 */
export function crc32ForNode(data: Uint8Array, initial?: number): number {
  if (crc32Impl === undefined) {
    const native = (nodeZlib() as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    crc32Impl = typeof native === "function" ? native : portableCrc32;
  }
  return crc32Impl(data, initial);
}

/** Node's own decoders (the others are the built-in ones). */
const NODE_DECODERS: CodecTable = {
  zstd: (input, options) => {
    // libzstd through koffi wherever the CLI may load it (a library call never does).
    koffiWhereHarmless();
    const stepped = streamedZstdDecoder();
    if (stepped !== null) return stepped(input, options);
    zstdDecoder ??= (nodeZstdDecoders(true)[0] as { decode: Decoder }).decode;
    return zstdDecoder(input, options);
  },
  // xz's block checks through zlib's native CRC-32 where Node has it.
  xz: async (input, options) => (await import("../codecs/xz.js")).decodeXz(input, { ...options, crc32: crc32ForNode }),
  gzip: (input, options) => {
    // A caller that takes the output as it comes: zlib in steps (node/libz.ts).
    if (options.onOutput !== undefined && libzAvailable()) return gunzipInSteps(input, options);
    try {
      // One output chunk the size of the expected output: zlib then neither grows nor joins
      // chunks, which halves the peak memory and saves a copy (capped as decoders cap hints).
      const expected = options.expectedSize ?? 0;
      const chunkSize = Math.max(64 * 1024, Math.min(expected + 1, Math.max(1 << 20, input.length * MAX_PREALLOCATION_RATIO), options.maxOutputBytes + 1));
      const out = nodeZlib().gunzipSync(input, { maxOutputLength: Math.max(1, options.maxOutputBytes), chunkSize });
      options.onProgress?.(out.length);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_BUFFER_TOO_LARGE") throw outputLimitError("gzip", options.maxOutputBytes);
      throw new KimgError(ErrorCode.CORRUPT_STREAM, `gzip: ${(error as Error).message}`, { structure: "gzip stream" });
    }
  },
};

/**
 * Faster decoders for Node, to pass as `codecs`: gzip through node:zlib, zstd through node:zlib
 * where present (WASM otherwise), both through koffi in the CLI (see above); xz with zlib's
 * CRC-32; and for every codec, the pages of a large output made ready on another thread
 * (node/prefault.ts). All under the same output contract.
 */
export const NODE_CODECS: CodecTable = checkedCodecs(
  Object.fromEntries(
    CODEC_NAMES.map((name) => {
      const decode = (NODE_DECODERS[name] ?? BUILTIN_CODECS[name]) as Decoder;
      const withPrefault: Decoder = (input, options) => decode(input, { ...options, prepareOutput: options.prepareOutput ?? prefaultPages });
      return [name, withPrefault];
    }),
  ),
);
