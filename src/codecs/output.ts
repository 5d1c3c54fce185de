/**
 * The growable output every hand-written decoder writes into (and the LZMA dictionary, which is
 * the output itself). It never allocates past `maxBytes`: a request beyond it throws E_LIMIT first.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { DecodeOptions } from "./types.js";

/** Output bytes between two `onProgress` calls. */
export const PROGRESS_INTERVAL_BYTES = 1 << 20;
/** Output bytes between two `onOutput` calls: few enough writes, soon enough to overlap the decode. */
export const OUTPUT_INTERVAL_BYTES = 4 << 20;
/** Smallest growth step when the final size is unknown. */
const MIN_GROWTH_BYTES = 1 << 20;
/**
 * A declared size is trusted for the first allocation only up to this many times the input: a
 * tiny hostile file that declares 512 MiB then costs a few doublings, not 512 MiB at once.
 * Kernel payloads expand 3-10 times; zero-padded BSS compresses further, which growth absorbs.
 */
export const MAX_PREALLOCATION_RATIO = 64;
/**
 * DecodeOptions.prepareOutput gets at most this many times the input of a buffer: making pages
 * ready commits memory that a corrupt stream would never have written, so only as much as real
 * kernel payloads fill (they expand 2-5 times; Debian 13's amd64 zstd bzImage 4.9). The rest of a
 * larger buffer is left to the decoder's own first writes, as without the hook.
 */
export const PREPARE_OUTPUT_MAX_RATIO = 8;

/** `bytes`, or its start when it is larger than PREPARE_OUTPUT_MAX_RATIO times `inputBytes`: what prepareOutput may be given. */
export function preparedPart(bytes: Uint8Array, inputBytes: number): Uint8Array {
  const most = Math.max(0, inputBytes) * PREPARE_OUTPUT_MAX_RATIO;
  return bytes.length <= most ? bytes : bytes.subarray(0, most);
}

/** An ArrayBuffer that grows in place (ES2024 resizable ArrayBuffer). */
interface GrowableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
  readonly maxByteLength: number;
}

/**
 * A buffer of `bytes` that can grow in place up to `maxBytes`, where the engine has resizable
 * ArrayBuffers (Node 20, current browsers); null elsewhere, and the output then grows by copying.
 */
function growableBuffer(bytes: number, maxBytes: number): GrowableBuffer | null {
  try {
    const Resizable = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => GrowableBuffer;
    const buffer = new Resizable(bytes, { maxByteLength: maxBytes });
    return typeof buffer.resize === "function" && buffer.maxByteLength === maxBytes ? buffer : null;
  } catch {
    return null;
  }
}

function validSize(n: number | undefined): number | undefined {
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Growth keeps the output below maxBytes, and where the engine allows it the memory too: after
 * the first growth the output lives in a resizable buffer that grows in place, so a bomb stopped
 * at the cap has cost the cap, not the cap plus the half-size buffer it was copied from.
 */
export class OutputBuffer {
  bytes: Uint8Array;
  length = 0;
  private nextProgress = PROGRESS_INTERVAL_BYTES;
  private nextOutput = OUTPUT_INTERVAL_BYTES;
  /** Created at the first growth; later growths resize it in place. */
  private growable: GrowableBuffer | null = null;

  constructor(
    initialCapacity: number,
    readonly maxBytes: number,
    private readonly structure: string,
    private readonly onProgress?: ((outputBytes: number) => void) | undefined,
    /** Supplies the first buffer (of exactly `capacity` bytes), or null for a plain one. */
    firstBuffer?: (capacity: number) => Uint8Array | null,
    /**
     * The decode's hooks: prepareOutput for the first buffer (sized from the expected size,
     * usually the only one), with the input's size; onOutput for `final()`.
     */
    private readonly hooks?: (Pick<DecodeOptions, "prepareOutput" | "onOutput"> & { inputBytes: number }) | undefined,
  ) {
    const capacity = Math.max(0, Math.min(Math.floor(initialCapacity) || 0, maxBytes));
    try {
      this.bytes = firstBuffer?.(capacity) ?? new Uint8Array(capacity);
    } catch {
      // The initial capacity is only a hint; start empty and grow as the data requires.
      this.bytes = new Uint8Array(0);
    }
    hooks?.prepareOutput?.(preparedPart(this.bytes, hooks.inputBytes));
  }

  /**
   * An output sized for a decode: from `declared` (a size the stream itself gives) or the caller's
   * `expectedSize`, else `guessRatio` times the input; capped by MAX_PREALLOCATION_RATIO and maxOutputBytes.
   */
  static forDecode(
    structure: string,
    options: DecodeOptions,
    inputBytes: number,
    guessRatio: number,
    declared?: number,
    firstBuffer?: (capacity: number) => Uint8Array | null,
  ): OutputBuffer {
    const hint = validSize(declared) ?? validSize(options.expectedSize) ?? inputBytes * guessRatio;
    const cap = Math.max(MIN_GROWTH_BYTES, inputBytes * MAX_PREALLOCATION_RATIO);
    return new OutputBuffer(Math.min(hint, cap), Math.max(0, Math.floor(options.maxOutputBytes)), structure, options.onProgress, firstBuffer, {
      prepareOutput: options.prepareOutput,
      onOutput: options.onOutput,
      inputBytes,
    });
  }

  /** A limit the caller set above what the engine can allocate must still end in a KimgError. */
  private allocate(bytes: number, inputOffset: number): Uint8Array {
    try {
      return new Uint8Array(bytes);
    } catch {
      throw new KimgError(ErrorCode.LIMIT, `${this.structure} output of ${bytes} bytes cannot be allocated`, {
        structure: this.structure,
        offset: inputOffset,
        limit: "maxOutputBytes",
        expected: this.maxBytes,
        actual: bytes,
      });
    }
  }

  /** Makes the capacity at least `total` bytes. `inputOffset` is where the decoder is, for the error. */
  ensureCapacity(total: number, inputOffset: number): void {
    if (total <= this.bytes.length) return;
    if (total > this.maxBytes) {
      throw new KimgError(
        ErrorCode.LIMIT,
        `${this.structure} output exceeds maxOutputBytes (${this.maxBytes} bytes); raise it with --max-size if the image is genuine`,
        {
          structure: this.structure,
          offset: inputOffset,
          limit: "maxOutputBytes",
          expected: this.maxBytes,
          actual: total,
        },
      );
    }
    const doubled = Math.max(this.bytes.length * 2, this.bytes.length + MIN_GROWTH_BYTES);
    const size = Math.max(total, Math.min(doubled, this.maxBytes));
    if (this.growable) {
      try {
        this.growable.resize(size);
        this.bytes = new Uint8Array(this.growable, 0, size);
        return;
      } catch {
        // The engine could not grow it in place; copy as below.
        this.growable = null;
      }
    } else if (size < this.maxBytes) {
      this.growable = growableBuffer(size, this.maxBytes);
    }
    const grown = this.growable ? new Uint8Array(this.growable, 0, size) : this.allocate(size, inputOffset);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** Makes room for `extra` more bytes after `length`. */
  reserve(extra: number, inputOffset: number): void {
    this.ensureCapacity(this.length + extra, inputOffset);
  }

  reportProgress(): void {
    if (this.onProgress !== undefined && this.length >= this.nextProgress) {
      this.onProgress(this.length);
      this.nextProgress = this.length + PROGRESS_INTERVAL_BYTES;
    }
  }

  /**
   * Tells that everything up to `length` is final (DecodeOptions.onOutput), every
   * OUTPUT_INTERVAL_BYTES. Only a decoder that never rewrites what it wrote may call it.
   */
  final(): void {
    const onOutput = this.hooks?.onOutput;
    if (onOutput !== undefined && this.length >= this.nextOutput) {
      onOutput(this.bytes, this.length);
      this.nextOutput = this.length + OUTPUT_INTERVAL_BYTES;
    }
  }

  /** The decoded bytes, without spare capacity. */
  finish(): Uint8Array {
    // Web APIs (TextDecoder, WebCrypto in browsers) refuse views of resizable buffers: hand out a fixed one.
    if (this.bytes.buffer === this.growable) return this.bytes.slice(0, this.length);
    // A first buffer inside a larger one (a WebAssembly memory) is handed out as a view: copying
    // it would not free the rest.
    if (this.bytes.byteLength !== this.bytes.buffer.byteLength) return this.bytes.subarray(0, this.length);
    return this.length === this.bytes.length ? this.bytes : this.bytes.slice(0, this.length);
  }
}
