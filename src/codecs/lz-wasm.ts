/**
 * The WebAssembly build of the lz4 and LZO1X block loops and adler32 (wasm/lz.ts, compiled by
 * scripts/build-wasm.mjs): about three times the speed of the same loops in JavaScript. The
 * TypeScript decoders stay the reference: a block the WebAssembly does not decode cleanly is
 * decoded again by them, which gives the exact error (or grows the output), so the output and
 * every error are the same with or without WebAssembly.
 */
import { LZ_WASM_BASE64 } from "./lz-wasm.generated.js";
import { lazyWasmModule } from "./wasm-module.js";

interface LzExports {
  memory: WebAssembly.Memory;
  lz4Block(ip: number, ipEnd: number, op: number, opEnd: number, windowStart: number): number;
  lzo1xBlock(ip: number, ipEnd: number, op: number, opEnd: number): number;
  adler32(start: number, end: number, initial: number): number;
}

/** Room the wild copies may read and write past the end of a region (16 needed). */
const SLACK_BYTES = 64;
const PAGE_BYTES = 65536;
/** The output starts here (page 0 is left to the compiler's own data, which it has none of today). */
const OUTPUT_BASE = PAGE_BYTES;
/** Addresses stay below 2 GiB, where they are positive int32s on both sides. */
const MAX_MEMORY_BYTES = 0x7fff0000;

let enabled = true;

/** Turns the WebAssembly loops off (or on again): the tests compare the two paths. */
export function setLzWasmEnabled(on: boolean): void {
  enabled = on;
}

const compiled = lazyWasmModule(LZ_WASM_BASE64);

/**
 * One decode's linear memory: the output buffer (`region`), which the decoder's OutputBuffer uses
 * as its first buffer, so the WebAssembly decodes straight into the output (output byte i is at
 * outputBase + i, for as long as the output has not grown out of it); then a staging area that
 * holds one input block at a time. The blocks of both formats are independent, so the input is
 * never copied whole: peak memory stays the output plus one block (8 MiB for lz4, 256 KiB for
 * the kernel's lzop), not the output plus the whole input.
 */
export class LzWasm {
  readonly exports: LzExports;
  readonly outputBase = OUTPUT_BASE;
  /** The output buffer, `capacity` bytes at outputBase (with SLACK_BYTES of memory after it). */
  readonly region: Uint8Array;
  private readonly stageBase: number;
  private readonly stageBytes: number;
  private readonly memory: Uint8Array;

  private constructor(exports: LzExports, stageBytes: number, capacity: number) {
    this.exports = exports;
    this.stageBase = alignUp(OUTPUT_BASE + capacity + SLACK_BYTES, 64);
    this.stageBytes = stageBytes;
    const end = this.stageBase + stageBytes + SLACK_BYTES;
    if (end > MAX_MEMORY_BYTES) throw new RangeError("too large for the WebAssembly memory");
    exports.memory.grow(Math.ceil(end / PAGE_BYTES) - exports.memory.buffer.byteLength / PAGE_BYTES);
    // The memory never grows again, so these views stay valid.
    this.memory = new Uint8Array(exports.memory.buffer);
    this.region = new Uint8Array(exports.memory.buffer, this.outputBase, capacity);
  }

  /**
   * A fresh instance with an output buffer of `capacity` bytes and room for input blocks of up to
   * `stageBytes`, or null where WebAssembly is missing or the memory cannot be had.
   */
  static create(stageBytes: number, capacity: number): LzWasm | null {
    const m = enabled ? compiled() : null;
    if (m === null) return null;
    try {
      return new LzWasm(new WebAssembly.Instance(m, {}).exports as unknown as LzExports, stageBytes, capacity);
    } catch {
      return null;
    }
  }

  /** Copies input[start, end) into the staging area and returns its address there; -1 when the block is larger than the area (the caller decodes it in TypeScript). */
  stage(input: Uint8Array, start: number, end: number): number {
    if (end - start > this.stageBytes) return -1;
    this.memory.set(input.subarray(start, end), this.stageBase);
    return this.stageBase;
  }

  /** Whether `output` is (still) the region, so that its byte i is at outputBase + i. */
  holds(output: Uint8Array): boolean {
    return output.buffer === this.region.buffer && output.byteOffset === this.outputBase;
  }
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
