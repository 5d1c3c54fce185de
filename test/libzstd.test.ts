/**
 * zstd through libzstd in steps (src/node/libzstd.ts), which the CLI decodes every zstd stream
 * with, and which lets `kimg extract` write a zstd kernel while it decodes: the output is `zstd -dc`'s to the byte, what it hands out
 * early is final, and damage ends in an error, never a loop.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Decoder } from "../src/codecs/types.js";
import { NODE_CODECS, streamedZstdDecoder } from "../src/node/codecs.js";
import { loadKoffi } from "../src/node/koffi.js";
import { decodeIntoStable, libzstdAvailable } from "../src/node/libzstd.js";
import { MiB, concat, realBinary, run } from "./helpers/codec-testing.js";
import { needs } from "./helpers/tools.js";

const skip = needs("zstd", "libzstd");
const nodeZstd = NODE_CODECS.zstd as Decoder;
loadKoffi();

/** 20 MB of machine code and zeros: many 128 KiB blocks, several onOutput steps. */
const sample = (): Uint8Array => concat(realBinary(18 * MiB, 2 * MiB), new Uint8Array(2 * MiB));

test("libzstd binds where koffi is loaded and the library is 1.5 or later", { skip }, () => {
  assert.equal(libzstdAvailable(), true);
  assert.notEqual(streamedZstdDecoder(), null);
});

test("each bytes[0, upTo) handed out is the output's start, and stays so; the whole equals zstd -dc", { skip }, async () => {
  const data = sample();
  // As the kernel's build compresses: from a pipe, so no content size in the frame header.
  const z = run("zstd", ["-q", "-19", "-c", "--no-content-size"], data);
  for (const expectedSize of [undefined, data.length, 1000]) {
    const seen: Array<{ upTo: number; copy: Uint8Array; view: Uint8Array }> = [];
    const out = await nodeZstd(z, {
      maxOutputBytes: 64 * MiB,
      expectedSize,
      onOutput: (bytes, upTo) => seen.push({ upTo, copy: bytes.slice(0, upTo), view: bytes.subarray(0, upTo) }),
    });
    assert.ok(Buffer.from(out).equals(data), `hint ${expectedSize}: output`);
    // NODE_CODECS took the streamed path (node:zlib and the WASM decoder never call onOutput).
    assert.ok(seen.length >= 3, `hint ${expectedSize}: ${seen.length} calls`);
    let last = 0;
    for (const { upTo, copy, view } of seen) {
      // A too-small hint decodes again into a larger buffer: the same start, handed out again.
      if (expectedSize !== 1000) assert.ok(upTo > last, `${upTo} after ${last}`);
      assert.ok(upTo <= data.length);
      last = upTo;
      assert.ok(Buffer.from(copy).equals(data.subarray(0, upTo)), `hint ${expectedSize}: at ${upTo}`);
      assert.ok(Buffer.from(view).equals(copy), `hint ${expectedSize}: changed after ${upTo}`);
    }
  }
});

test("several frames, a skippable frame between them: all decoded, as zstd -dc does", { skip }, async () => {
  const a = realBinary(3 * MiB, 1 * MiB);
  const b = realBinary(2 * MiB, 9 * MiB);
  // A skippable frame: magic 0x184D2A50, a 4-byte size, that many bytes of anything.
  const skippable = concat(new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), new Uint8Array([1, 2, 3, 4, 5]));
  const z = concat(run("zstd", ["-q", "-c"], a), skippable, run("zstd", ["-q", "-c", "--no-check"], b));
  const reference = run("zstd", ["-q", "-dc"], z);
  const out = await nodeZstd(z, { maxOutputBytes: 64 * MiB, onOutput: () => undefined });
  assert.ok(Buffer.from(out).equals(reference));
  assert.ok(Buffer.from(out).equals(concat(a, b)));
});

test("decodeIntoStable: a cut stream, a damaged block, too small a buffer each end in libzstd's error", { skip }, async () => {
  const data = realBinary(4 * MiB, 3 * MiB);
  const z = run("zstd", ["-q", "-c"], data);
  const out = new Uint8Array(data.length);
  assert.equal(await decodeIntoStable(z, out, () => undefined), data.length);
  assert.ok(Buffer.from(out).equals(data));
  const error = (input: Uint8Array, size: number): Promise<string> =>
    decodeIntoStable(input, new Uint8Array(size), () => undefined).then(
      () => "decoded",
      (e: unknown) => (e as Error).message,
    );
  // Cut anywhere: in the header, in a block, before the checksum.
  for (const cut of [3, 100, z.length >> 1, z.length - 2])
    assert.equal(await error(z.subarray(0, cut), data.length), "stream truncated (frame incomplete)", `cut at ${cut}`);
  const damaged = Uint8Array.from(z);
  for (let i = 2000; i < 2064; i++) damaged[i] = (damaged[i] as number) ^ 0x5a;
  assert.notEqual(await error(damaged, data.length), "decoded");
  assert.match(await error(z, data.length - 1), /too small/i);
  assert.match(await error(z, 0), /too small/i);
});
