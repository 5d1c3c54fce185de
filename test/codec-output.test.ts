/** The shared decoder output: bounded growth and a first allocation a hostile hint cannot inflate. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KimgError } from "../src/io/errors.js";
import { MAX_PREALLOCATION_RATIO, OutputBuffer } from "../src/codecs/output.js";

test("a declared size is trusted for the first allocation only up to MAX_PREALLOCATION_RATIO times the input", () => {
  const hostile = OutputBuffer.forDecode("t", { maxOutputBytes: 512 << 20, expectedSize: 512 << 20 }, 100, 3);
  assert.equal(hostile.bytes.length, 1 << 20, "tiny input: at most the minimum growth step");
  const genuine = OutputBuffer.forDecode("t", { maxOutputBytes: 512 << 20, expectedSize: 30 << 20 }, 8 << 20, 3);
  assert.equal(genuine.bytes.length, 30 << 20, "a kernel-like 3.75x hint is taken as it is");
  const capped = OutputBuffer.forDecode("t", { maxOutputBytes: 512 << 20 }, 4 << 20, 3, 400 << 20);
  assert.equal(capped.bytes.length, (4 << 20) * MAX_PREALLOCATION_RATIO);
});

test("growth keeps the data, doubles, and stops at maxBytes with E_LIMIT before allocating", () => {
  const out = new OutputBuffer(4, 100, "t");
  out.bytes.set([1, 2, 3, 4]);
  out.length = 4;
  out.reserve(10, 7);
  assert.deepEqual([...out.bytes.subarray(0, 4)], [1, 2, 3, 4]);
  assert.equal(out.bytes.length, 100, "grows to the cap when doubling would pass it");
  assert.throws(
    () => out.ensureCapacity(101, 9),
    (e: unknown) => e instanceof KimgError && e.code === "E_LIMIT" && e.offset === 9 && e.data.limit === "maxOutputBytes",
  );
  assert.deepEqual([...out.finish()], [1, 2, 3, 4]);
});

test("a small .lzma declaring 512 MiB allocates little and ends in a coded error", async () => {
  const { decodeLzma } = await import("../src/codecs/lzma.js");
  const { randomBytes, concat } = await import("../support/builders/bytes.js");
  // props 0x05, 32 MiB dictionary, declared size 0x1f090101 (496 MiB), range-coder byte 0, noise.
  const header = new Uint8Array([0x05, 0, 0, 0, 2, 0x01, 0x01, 0x09, 0x1f, 0, 0, 0, 0]);
  const input = concat(header, new Uint8Array(1), randomBytes(12000, 823090));
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(
    () => decodeLzma(input, { maxOutputBytes: 512 << 20 }),
    (e: unknown) => e instanceof KimgError && e.code === "E_CORRUPT_STREAM",
  );
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, "no allocation from the declared size");
});
