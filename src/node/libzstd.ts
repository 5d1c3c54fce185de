/**
 * zstd through libzstd (Node's own copy where Node carries one, 22.15+ and 23.8+; else the
 * system's libzstd.so.1; bound with koffi), decoded in steps straight
 * into one buffer: with ZSTD_d_stableOutBuffer the decoder writes every block into the caller's
 * buffer and keeps no window of its own, so after each step the bytes decoded so far are final.
 * The CLI's extract writes them to the output file while the rest decodes (DecodeOptions.onOutput).
 *
 * The CLI's zstd decoder wherever koffi can be loaded (node/codecs.ts); a program using the
 * library, which never loads koffi, gets node:zlib's zstd or the WASM decoder instead.
 */
import { libraryBinding, yieldToEventLoop } from "./c-library.js";
import { type KoffiFunction, koffiIfLoaded } from "./koffi.js";

/** ZSTD_d_windowLogMax (zstd.h): the window the streaming decoder accepts; its default, 27, refuses --long=28 frames. */
const ZSTD_D_WINDOWLOG_MAX = 100;
/** ZSTD_d_stableOutBuffer, zstd.h's ZSTD_d_experimentalParam2 (since 1.4.4): the output buffer stays the same between calls. */
const ZSTD_D_STABLE_OUT_BUFFER = 1001;
/** ZSTD_WINDOWLOG_MAX_64: no window is allocated with a stable output, so any the format allows. */
const WINDOWLOG_MAX = 31;
/** 1.5.0: the first release whose zstd.h keeps the stable-output parameter as it is today. */
const MIN_VERSION_NUMBER = 10500;
/** Compressed bytes handed to each ZSTD_decompressStream call: about 3-4 MiB of kernel out. */
const INPUT_STEP_BYTES = 1 << 20;

/** zstd's decompression functions that call one another, or that kimg calls: all from one copy of zstd (node/c-library.ts). */
const ZSTD_PROBE = [
  "ZSTD_versionNumber",
  "ZSTD_createDCtx",
  "ZSTD_freeDCtx",
  "ZSTD_DCtx_setParameter",
  "ZSTD_DCtx_reset",
  "ZSTD_decompressStream",
  "ZSTD_decompressDCtx",
  "ZSTD_decompressBegin",
  "ZSTD_decompressContinue",
  "ZSTD_getFrameHeader",
  "ZSTD_isError",
  "ZSTD_getErrorName",
];

interface Binding {
  createDCtx: KoffiFunction;
  freeDCtx: KoffiFunction;
  setParameter: KoffiFunction;
  decompressStream: KoffiFunction;
  isError: KoffiFunction;
  getErrorName: KoffiFunction;
}

const load = libraryBinding("libzstd.so.1", ZSTD_PROBE, (lib): Binding | null =>
  (lib.func("unsigned int ZSTD_versionNumber()")() as number) >= MIN_VERSION_NUMBER
    ? {
        createDCtx: lib.func("void *ZSTD_createDCtx()"),
        freeDCtx: lib.func("size_t ZSTD_freeDCtx(void *dctx)"),
        setParameter: lib.func("size_t ZSTD_DCtx_setParameter(void *dctx, int param, int value)"),
        // The two buffers are zstd.h's ZSTD_outBuffer and ZSTD_inBuffer {pointer, size, pos}, as
        // three 64-bit words; libzstd keeps no pointer to them between calls, so koffi may pass
        // them as it passes any buffer argument.
        decompressStream: lib.func("size_t ZSTD_decompressStream(void *dctx, void *output, void *input)"),
        isError: lib.func("unsigned int ZSTD_isError(size_t code)"),
        getErrorName: lib.func("const char *ZSTD_getErrorName(size_t code)"),
      }
    : null,
);

/** Whether this process can decode zstd this way now (64-bit Linux with libzstd >= 1.5 and koffi loaded). */
export function libzstdAvailable(): boolean {
  return load() !== null;
}

/** A libzstd error, by its name (ZSTD_getErrorName): "Destination buffer is too small"... */
export class LibzstdError extends Error {}

/**
 * Decodes every frame of `input` into `out` (which the frames must fit: else LibzstdError
 * "Destination buffer is too small"), calling `onFinal(upTo)` after each step with the output
 * decoded so far. Returns the output's length. Call only when libzstdAvailable().
 */
export async function decodeIntoStable(input: Uint8Array, out: Uint8Array, onFinal: (upTo: number) => void): Promise<number> {
  const b = load() as Binding;
  const koffi = koffiIfLoaded();
  if (koffi === undefined) throw new LibzstdError("koffi is not loaded");
  const dctx = b.createDCtx();
  if (dctx === null) throw new LibzstdError("out of memory");
  const check = (code: unknown): unknown => {
    if (b.isError(code)) throw new LibzstdError(String(b.getErrorName(code)));
    return code;
  };
  try {
    check(b.setParameter(dctx, ZSTD_D_STABLE_OUT_BUFFER, 1));
    check(b.setParameter(dctx, ZSTD_D_WINDOWLOG_MAX, WINDOWLOG_MAX));
    const output = new BigUint64Array([out.length === 0 ? 0n : koffi.address(out), BigInt(out.length), 0n]);
    const inputBuffer = new BigUint64Array([input.length === 0 ? 0n : koffi.address(input), 0n, 0n]);
    for (;;) {
      const inBefore = inputBuffer[2] as bigint;
      const outBefore = output[2] as bigint;
      inputBuffer[1] = BigInt(Math.min(input.length, Number(inBefore) + INPUT_STEP_BYTES));
      // 0 when a frame is complete; otherwise more input is wanted.
      const remaining = check(b.decompressStream(dctx, output, inputBuffer));
      if (output[2] !== outBefore) onFinal(Number(output[2]));
      // Between steps the event loop runs: the writes handed out complete, and a Ctrl-C is
      // handled while the kernel decodes, before its file is linked into place.
      await yieldToEventLoop();
      if (Number(inputBuffer[2]) === input.length && Number(remaining) === 0) break;
      // Nothing taken, nothing given: all input was consumed and the last frame is cut short
      // (libzstd stops for want of output room with an error in this mode, never like this).
      if (inputBuffer[2] === inBefore && output[2] === outBefore) throw new LibzstdError("stream truncated (frame incomplete)");
    }
    return Number(output[2]);
  } finally {
    b.freeDCtx(dctx);
  }
}
