/**
 * gzip through zlib (Node's own copy, else the system's libz.so.1; bound with koffi), inflated in steps straight into
 * the decode's output buffer: after each step the bytes inflated so far are final, so the CLI's
 * extract writes them to the output file while the rest inflates (DecodeOptions.onOutput), and
 * the buffer is one whose pages were made ready beforehand (DecodeOptions.prepareOutput).
 * node:zlib's gunzipSync allocates its own output and returns it whole: on the machine where this
 * was measured its first writes to each fresh page and the 42 MB write after it were 130 ms of
 * a 400 ms extract.
 *
 * Where Node exports its zlib (it does on Linux), the very library node:zlib uses, called the
 * way Node's gunzip calls it, with the same handling of what follows a member: another member is inflated, zero bytes
 * (padding) end the stream, anything else is the error inflate reports for it. Used only where
 * koffi is loaded already, on 64-bit Linux (the z_stream layout below is LP64's; zlib checks its
 * size).
 */
import { OutputBuffer } from "../codecs/output.js";
import type { DecodeOptions } from "../codecs/types.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { LITTLE_ENDIAN, libraryBinding, yieldToEventLoop } from "./c-library.js";
import { type KoffiFunction, koffiIfLoaded } from "./koffi.js";

/** zlib.h's z_stream on LP64: the byte offsets of the fields used, and its size (in the engine's byte order, as C has it). */
const Z_STREAM = { nextIn: 0, availIn: 8, totalIn: 16, nextOut: 24, availOut: 32, totalOut: 40, msg: 48, size: 112 } as const;
/** 15-bit window, +16: a gzip wrapper, whose CRC-32 and ISIZE inflate checks (as Node's gunzip). */
const GZIP_WINDOW_BITS = 31;
const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
const Z_NO_FLUSH = 0;
/** Compressed bytes handed to each inflate call. */
const INPUT_STEP_BYTES = 1 << 20;
/** Output room given to each inflate call, and added when the buffer is full and the stream goes on (at least: the buffer grows by doubling). */
const OUTPUT_STEP_BYTES = 4 << 20;

/** zlib's functions that call one another, or that kimg calls: all from one copy of zlib (node/c-library.ts). */
const ZLIB_PROBE = ["zlibVersion", "inflateInit2_", "inflate", "inflateReset", "inflateReset2", "inflateResetKeep", "inflateEnd", "adler32", "crc32"];

interface Binding {
  inflateInit2: KoffiFunction;
  inflate: KoffiFunction;
  inflateReset: KoffiFunction;
  inflateEnd: KoffiFunction;
  version: string;
}

const load = libraryBinding("libz.so.1", ZLIB_PROBE, (lib): Binding | null => {
  const version = String(lib.func("const char *zlibVersion()")());
  return version.startsWith("1.")
    ? {
        // The z_stream is passed by its address: zlib keeps a pointer to it between calls (and
        // checks it), where koffi may pass a buffer argument through a copy made for the call.
        inflateInit2: lib.func("int inflateInit2_(uintptr_t strm, int windowBits, const char *version, int stream_size)"),
        inflate: lib.func("int inflate(uintptr_t strm, int flush)"),
        inflateReset: lib.func("int inflateReset(uintptr_t strm)"),
        inflateEnd: lib.func("int inflateEnd(uintptr_t strm)"),
        version,
      }
    : null;
});

/** Whether this process can inflate this way now (64-bit Linux, zlib 1.x, koffi loaded). */
export function libzAvailable(): boolean {
  return load() !== null;
}

function gzipError(message: string, offset: number): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, `gzip: ${message}`, { structure: "gzip stream", offset });
}

/**
 * Inflates the gzip members of `input` (DecodeOptions as every decoder takes them: the output
 * sized from `expectedSize`, capped at `maxOutputBytes`, prepareOutput, onOutput, onProgress).
 * Call only when libzAvailable().
 */
export async function gunzipInSteps(input: Uint8Array, options: DecodeOptions): Promise<Uint8Array> {
  const b = load() as Binding;
  const koffi = koffiIfLoaded();
  if (koffi === undefined) throw new KimgError(ErrorCode.IO, "gzip: koffi is not loaded");
  // Sized as the portable decoder sizes it: the expected size, else 4 times the input.
  const out = OutputBuffer.forDecode("gzip", options, input.length, 4);
  // An ArrayBuffer's memory is outside V8's heap and never moves: zlib may keep its address.
  const stream = new Uint8Array(new ArrayBuffer(Z_STREAM.size));
  const fields = new DataView(stream.buffer);
  const streamAddress = koffi.address(stream);
  const init = b.inflateInit2(streamAddress, GZIP_WINDOW_BITS, b.version, Z_STREAM.size) as number;
  if (init !== Z_OK) throw gzipError(`inflateInit2 failed (${init})`, 0);
  const inputAddress = input.length === 0 ? 0n : koffi.address(input);
  let consumed = 0;
  try {
    for (;;) {
      const inStep = Math.min(INPUT_STEP_BYTES, input.length - consumed);
      // One step's output at most: the steps are where the event loop runs (see below).
      const room = Math.min(OUTPUT_STEP_BYTES, out.bytes.length - out.length);
      fields.setBigUint64(Z_STREAM.nextIn, inputAddress + BigInt(consumed), LITTLE_ENDIAN);
      fields.setUint32(Z_STREAM.availIn, inStep, LITTLE_ENDIAN);
      fields.setBigUint64(Z_STREAM.nextOut, (out.bytes.length === 0 ? 0n : koffi.address(out.bytes)) + BigInt(out.length), LITTLE_ENDIAN);
      fields.setUint32(Z_STREAM.availOut, room, LITTLE_ENDIAN);
      const status = b.inflate(streamAddress, Z_NO_FLUSH) as number;
      const taken = inStep - fields.getUint32(Z_STREAM.availIn, LITTLE_ENDIAN);
      const produced = room - fields.getUint32(Z_STREAM.availOut, LITTLE_ENDIAN);
      consumed += taken;
      out.length += produced;
      out.reportProgress();
      out.final();
      // Between steps the event loop runs: the writes handed out complete, and a Ctrl-C is
      // handled while the kernel inflates, before its file is linked into place.
      await yieldToEventLoop();
      if (status === Z_STREAM_END) {
        // As Node's gunzip: another member follows unless the rest is zero padding (or nothing).
        if (consumed === input.length || input[consumed] === 0) break;
        if ((b.inflateReset(streamAddress) as number) !== Z_OK) throw gzipError("inflateReset failed", consumed);
        continue;
      }
      // Z_OK is progress (inflate says Z_BUF_ERROR when it made none); never loop on anything else.
      if (status === Z_OK && (taken > 0 || produced > 0)) continue;
      if (status === Z_BUF_ERROR || status === Z_OK) {
        // No progress: for want of room (only the output's full size can tell; a larger output
        // beyond maxOutputBytes is E_LIMIT), else for want of input: the stream ended early.
        if (room === 0) {
          out.reserve(OUTPUT_STEP_BYTES, consumed);
          continue;
        }
        throw gzipError("unexpected end of file", consumed);
      }
      const msg = fields.getBigUint64(Z_STREAM.msg, LITTLE_ENDIAN);
      throw gzipError(msg !== 0n ? koffi.decode(msg, "char", -1) : `inflate failed (${status})`, consumed);
    }
  } finally {
    b.inflateEnd(streamAddress);
    // `stream` lives until here: zlib wrote into its memory through the address.
    stream.fill(0);
  }
  options.onProgress?.(out.length);
  return out.finish();
}
