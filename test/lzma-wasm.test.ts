/**
 * The WebAssembly LZMA symbol loop (wasm/lzma.ts) against the TypeScript one: the same output for
 * real .xz and .lzma streams, and the same output or the same error for damaged and cut ones.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { decodeLzma } from "../src/codecs/lzma.js";
import { LzmaWasm, setLzmaWasmEnabled } from "../src/codecs/lzma-wasm.js";
import { decodeXz } from "../src/codecs/xz.js";
import type { Decoder } from "../src/codecs/types.js";
import { KimgError } from "../src/io/errors.js";
import { MiB, concat, randomBytes, realBinary, run } from "./helpers/codec-testing.js";
import { needs } from "./helpers/tools.js";

/** Output bytes, or the error's code, message and data. */
function outcome(decode: Decoder, input: Uint8Array, wasm: boolean, expectedSize?: number): string | Uint8Array {
  setLzmaWasmEnabled(wasm);
  try {
    return decode(input, { maxOutputBytes: 64 * MiB, expectedSize }) as Uint8Array;
  } catch (error) {
    if (!(error instanceof KimgError)) throw error;
    return JSON.stringify({ code: error.code, message: error.message, data: error.data });
  } finally {
    setLzmaWasmEnabled(true);
  }
}

function sameBothWays(decode: Decoder, input: Uint8Array, what: string, expectedSize?: number): void {
  const withWasm = outcome(decode, input, true, expectedSize);
  const without = outcome(decode, input, false, expectedSize);
  if (typeof withWasm === "string" || typeof without === "string") assert.equal(withWasm, without, what);
  else assert.ok(Buffer.from(withWasm).equals(without), `${what}: output differs`);
}

/** Machine code, zeros, short periodic patterns and noise: literals, matches, reps, long distances. */
function mixedSample(): Uint8Array {
  const pattern = new Uint8Array(200_000);
  for (let i = 0; i < pattern.length; i++) pattern[i] = i % (((i >> 12) % 7) + 1);
  return concat(realBinary(500_000), new Uint8Array(100_000), pattern, randomBytes(30_000), realBinary(200_000, 20 * MiB), realBinary(100_000));
}

function damaged(input: Uint8Array, seed: number): Uint8Array {
  const copy = input.slice();
  let x = seed;
  for (let n = 0; n < 1 + (seed % 3); n++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // Past the headers: the damage reaches the range coder.
    const at = 64 + (x % (copy.length - 64));
    copy[at] = copy[at]! ^ (1 + ((x >>> 24) % 255));
  }
  return copy;
}

describe("WebAssembly LZMA loop", () => {
  after(() => setLzmaWasmEnabled(true));

  it("is available here", () => {
    assert.ok(LzmaWasm.create(new Uint8Array(10), 100, 100) !== null);
  });

  for (const [name, decode, tool, args, withSize] of [
    ["xz (arm64 BCJ, lc2 lp2)", decodeXz, "xz", ["--check=crc32", "--arm64", "--lzma2=lp=2,lc=2,dict=32MiB", "-c"], false],
    ["xz -9e", decodeXz, "xz", ["-9e", "-c"], false],
    ["lzma -9 (size unknown)", decodeLzma, "lzma", ["-9", "-c"], true],
    ["lzma lc4 pb0", decodeLzma, "xz", ["--format=lzma", "--lzma1=lc=4,lp=0,pb=0", "-c"], false],
  ] as const) {
    it(`decodes ${name} as the TypeScript does, whole, damaged and cut`, { skip: needs(tool === "xz" ? "xz" : "lzma") }, () => {
      const sample = mixedSample();
      const compressed = run(tool, [...args], sample);
      const size = withSize ? sample.length : undefined;
      const whole = outcome(decode, compressed, true, size);
      assert.ok(whole instanceof Uint8Array && Buffer.from(whole).equals(sample));
      for (let seed = 1; seed <= 40; seed++) sameBothWays(decode, damaged(compressed, seed), `seed ${seed}`, size);
      for (const cut of [20, 1000, compressed.length >> 1, compressed.length - 3]) sameBothWays(decode, compressed.subarray(0, cut), `cut at ${cut}`, size);
    });
  }
});
