/**
 * The WebAssembly build of the LZMA symbol loop (wasm/lzma.ts, compiled by
 * scripts/build-wasm.mjs), which lzma-decoder.ts's decodeSymbols hands its work to when the
 * input, the probabilities and the output all live in this memory. It is a line-for-line port:
 * the same status, state and output (test/lzma-wasm.test.ts compares the two on real and damaged
 * streams), so every error stays the TypeScript decoder's own.
 */
import { LZMA_WASM_BASE64 } from "./lzma-wasm.generated.js";
import { lazyWasmModule } from "./wasm-module.js";

interface LzmaExports {
  memory: WebAssembly.Memory;
  decodeSymbols(probs: number, inEnd: number, outBase: number, pos: number, outLimit: number, dictStart: number, lc: number, lp: number, pb: number): number;
}

const PAGE_BYTES = 65536;
/** wasm/lzma.ts's state block: range, code, inPos, state, rep0..rep3, pendingLength, pos (u32 each). */
const STATE_BASE = 32768;
/** The probabilities start here. */
const PROBS_BASE = PAGE_BYTES;
/** Zeros after the input (the TypeScript reads 0 past its end; a symbol reads at most ~60 bytes past its check). */
const INPUT_PADDING_BYTES = 256;
/** Slack after the output (copies run in 8-byte steps). */
const OUTPUT_SLACK_BYTES = 64;
/** Addresses stay below 2 GiB, positive int32s on both sides. */
const MAX_MEMORY_BYTES = 0x7fff0000;

let enabled = true;

/** Turns the WebAssembly loop off (or on again): the tests compare the two paths. */
export function setLzmaWasmEnabled(on: boolean): void {
  enabled = on;
}

const compiled = lazyWasmModule(LZMA_WASM_BASE64);

export interface LzmaWasmState {
  range: number;
  code: number;
  inPos: number;
  state: number;
  rep0: number;
  rep1: number;
  rep2: number;
  rep3: number;
  pendingLength: number;
}

/** One decode's memory: state, probabilities (`probs`), the input, the output buffer (`region`). */
export class LzmaWasm {
  private readonly exports: LzmaExports;
  readonly input: Uint8Array;
  private readonly inputBase: number;
  private readonly outputBase: number;
  /** The probabilities, for LzmaState to use as its own. */
  readonly probs: Uint16Array;
  /** The output buffer: the decoder's OutputBuffer starts with it. */
  readonly region: Uint8Array;
  private readonly words: Uint32Array;

  private constructor(exports: LzmaExports, input: Uint8Array, probCount: number, capacity: number) {
    this.exports = exports;
    this.input = input;
    this.inputBase = alignUp(PROBS_BASE + probCount * 2, 64);
    this.outputBase = alignUp(this.inputBase + input.length + INPUT_PADDING_BYTES, 64);
    const end = this.outputBase + capacity + OUTPUT_SLACK_BYTES;
    if (end > MAX_MEMORY_BYTES) throw new RangeError("too large for the WebAssembly memory");
    exports.memory.grow(Math.ceil(end / PAGE_BYTES) - exports.memory.buffer.byteLength / PAGE_BYTES);
    // The memory never grows again, so these views stay valid.
    const buffer = exports.memory.buffer;
    new Uint8Array(buffer).set(input, this.inputBase);
    this.probs = new Uint16Array(buffer, PROBS_BASE, probCount);
    this.region = new Uint8Array(buffer, this.outputBase, capacity);
    this.words = new Uint32Array(buffer, STATE_BASE, 10);
  }

  /** A fresh instance, or null where WebAssembly is missing or the memory cannot be had. */
  static create(input: Uint8Array, probCount: number, capacity: number): LzmaWasm | null {
    const m = enabled ? compiled() : null;
    if (m === null) return null;
    try {
      return new LzmaWasm(new WebAssembly.Instance(m, {}).exports as unknown as LzmaExports, input, probCount, capacity);
    } catch {
      return null;
    }
  }

  /** Whether the decode can run here: the same input, and the output still in the region. */
  serves(input: Uint8Array, output: Uint8Array): boolean {
    return input === this.input && output.buffer === this.region.buffer && output.byteOffset === this.outputBase;
  }

  /**
   * decodeSymbols in WebAssembly: reads and updates `s` as the TypeScript does; returns the
   * status and the new output position.
   */
  decodeSymbols(
    s: LzmaWasmState,
    inEnd: number,
    pos: number,
    outLimit: number,
    dictStart: number,
    lc: number,
    lp: number,
    pb: number,
  ): { status: number; pos: number } {
    const w = this.words;
    w[0] = s.range;
    w[1] = s.code;
    w[2] = this.inputBase + s.inPos;
    w[3] = s.state;
    w[4] = s.rep0;
    w[5] = s.rep1;
    w[6] = s.rep2;
    w[7] = s.rep3;
    w[8] = s.pendingLength;
    const status = this.exports.decodeSymbols(PROBS_BASE, this.inputBase + inEnd, this.outputBase, pos, outLimit, dictStart, lc, lp, pb);
    s.range = w[0]!;
    s.code = w[1]!;
    s.inPos = w[2]! - this.inputBase;
    s.state = w[3]!;
    s.rep0 = w[4]!;
    s.rep1 = w[5]!;
    s.rep2 = w[6]!;
    s.rep3 = w[7]!;
    s.pendingLength = w[8]!;
    return { status, pos: w[9]! };
  }
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
