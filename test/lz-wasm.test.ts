/**
 * The WebAssembly block loops (wasm/lz.ts) against the TypeScript ones: the same output for real
 * streams, and the same output or the same error for damaged ones (the decoders fall back to the
 * TypeScript for any block the WebAssembly does not decode cleanly).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { decodeLz4 } from "../src/codecs/lz4.js";
import { LzWasm, setLzWasmEnabled } from "../src/codecs/lz-wasm.js";
import { decodeLzo } from "../src/codecs/lzo.js";
import type { Decoder } from "../src/codecs/types.js";
import { KimgError } from "../src/io/errors.js";
import { MiB, concat, randomBytes, realBinary, run } from "./helpers/codec-testing.js";
import { needs } from "./helpers/tools.js";

/** Output bytes, or the error's code, message and details. */
function outcome(decode: Decoder, input: Uint8Array, wasm: boolean): string | Uint8Array {
  setLzWasmEnabled(wasm);
  try {
    return decode(input, { maxOutputBytes: 64 * MiB }) as Uint8Array;
  } catch (error) {
    if (!(error instanceof KimgError)) throw error;
    return JSON.stringify({ code: error.code, message: error.message, data: error.data });
  } finally {
    setLzWasmEnabled(true);
  }
}

function sameBothWays(decode: Decoder, input: Uint8Array, what: string): void {
  const withWasm = outcome(decode, input, true);
  const without = outcome(decode, input, false);
  if (typeof withWasm === "string" || typeof without === "string") assert.equal(withWasm, without, what);
  else assert.ok(Buffer.from(withWasm).equals(without), `${what}: output differs`);
}

/** Machine code, zero runs (BSS), short periodic patterns and noise: every kind of match and literal run. */
function mixedSample(): Uint8Array {
  const pattern = new Uint8Array(300_000);
  for (let i = 0; i < pattern.length; i++) pattern[i] = i % (((i >> 12) % 7) + 1);
  return concat(realBinary(600_000), new Uint8Array(100_000), pattern, randomBytes(50_000), realBinary(300_000, 20 * MiB));
}

/** Flips bytes at pseudo-random places, one damaged copy per seed. */
function damaged(input: Uint8Array, seed: number): Uint8Array {
  const copy = input.slice();
  let x = seed;
  for (let n = 0; n < 1 + (seed % 3); n++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const at = x % copy.length;
    copy[at] = copy[at]! ^ (1 + ((x >>> 24) % 255));
  }
  return copy;
}

describe("WebAssembly lz4 and LZO1X loops", () => {
  after(() => setLzWasmEnabled(true));

  it("are available here", () => {
    assert.ok(LzWasm.create(10, 100) !== null);
  });

  for (const [name, decode, tool, args] of [
    ["lz4 legacy", decodeLz4, "lz4", ["-l", "-9", "-c"]],
    ["lzop", decodeLzo, "lzop", ["-9", "-c"]],
    ["lzop -1", decodeLzo, "lzop", ["-1", "-c"]],
  ] as const) {
    it(`decode ${name} as the TypeScript does, whole and damaged`, { skip: needs(tool) }, () => {
      const sample = mixedSample();
      const compressed = run(tool, [...args], sample);
      const whole = outcome(decode, compressed, true);
      assert.ok(whole instanceof Uint8Array && Buffer.from(whole).equals(sample));
      sameBothWays(decode, compressed, "whole");
      for (let seed = 1; seed <= 60; seed++) sameBothWays(decode, damaged(compressed, seed), `seed ${seed}`);
      for (const cut of [5, 100, 70_000, compressed.length >> 1, compressed.length - 1]) sameBothWays(decode, compressed.subarray(0, cut), `cut at ${cut}`);
    });
  }
});

describe("DecodeOptions.onOutput: the lz4 and LZO outputs are final as they come", () => {
  for (const [name, decode, tool, args] of [
    ["lz4 legacy", decodeLz4, "lz4", ["-l", "-9", "-c"]],
    ["lz4 frame", decodeLz4, "lz4", ["-B4", "-c"]],
    ["lzop", decodeLzo, "lzop", ["-9", "-c"]],
  ] as const) {
    it(`${name}: each bytes[0, upTo) handed out is the output's start, and stays so`, { skip: needs(tool) }, async () => {
      // 20 MB: several 8 MiB legacy chunks, many 256 KiB lzop blocks and 64 KiB frame blocks.
      const sample = concat(mixedSample(), realBinary(19 * MiB, 2 * MiB));
      const compressed = run(tool, [...args], sample);
      for (const wasm of [true, false]) {
        setLzWasmEnabled(wasm);
        const seen: Array<{ upTo: number; copy: Uint8Array; view: Uint8Array }> = [];
        const out = (await decode(compressed, {
          maxOutputBytes: 64 * MiB,
          onOutput: (bytes, upTo) => seen.push({ upTo, copy: bytes.slice(0, upTo), view: bytes.subarray(0, upTo) }),
        })) as Uint8Array;
        setLzWasmEnabled(true);
        assert.ok(Buffer.from(out).equals(sample), `${name}, wasm ${wasm}: output`);
        assert.ok(seen.length >= 3, `${name}, wasm ${wasm}: ${seen.length} calls`);
        let last = 0;
        for (const { upTo, copy, view } of seen) {
          assert.ok(upTo > last && upTo <= sample.length, `${upTo} after ${last}`);
          last = upTo;
          // What was handed out is the output's start, then and at the end (nothing rewrote it).
          assert.ok(Buffer.from(copy).equals(sample.subarray(0, upTo)), `${name}, wasm ${wasm}: at ${upTo}`);
          assert.ok(Buffer.from(view).equals(copy), `${name}, wasm ${wasm}: changed after ${upTo}`);
        }
      }
    });
  }
});
