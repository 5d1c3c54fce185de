import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { RANDOM_NUMBERS, decodeBzip2 } from "../src/codecs/bzip2.js";
import { crc32Bzip2 } from "../src/codecs/checksums.js";
import type { DecodeOptions } from "../src/codecs/types.js";
import { KimgError } from "../src/io/errors.js";
import { MiB, assertKimgError, assertSameBytes, concat, randomBytes, realBinary, run } from "./helpers/codec-testing.js";
import { needs } from "./helpers/tools.js";

const LIMIT = 256 * MiB;

function decode(input: Uint8Array, options: Partial<DecodeOptions> = {}): Uint8Array {
  return decodeBzip2(input, { maxOutputBytes: LIMIT, ...options }) as Uint8Array;
}

const bzip2Cache = new Map<Uint8Array, Map<string, Uint8Array>>();

/** `bzip2 -9` (scripts/Makefile.lib cmd_bzip2) or another level; each sample compressed once. */
function bzip2(data: Uint8Array, level = "-9"): Uint8Array {
  let byLevel = bzip2Cache.get(data);
  if (byLevel === undefined) bzip2Cache.set(data, (byLevel = new Map()));
  let compressed = byLevel.get(level);
  if (compressed === undefined) {
    compressed = run("bzip2", [level, "-c"], data);
    byLevel.set(level, compressed);
  }
  return compressed;
}

/** Reads `count` <= 32 bits MSB-first starting at bit `position`. */
function getBits(bytes: Uint8Array, position: number, count: number): number {
  let value = 0;
  for (let i = 0; i < count; i++) {
    const bit = position + i;
    value = value * 2 + ((bytes[bit >>> 3]! >>> (7 - (bit & 7))) & 1);
  }
  return value;
}

function setBits(bytes: Uint8Array, position: number, count: number, value: number): void {
  for (let i = 0; i < count; i++) {
    const bit = position + i;
    const mask = 0x80 >>> (bit & 7);
    if (Math.floor(value / 2 ** (count - 1 - i)) & 1) bytes[bit >>> 3]! |= mask;
    else bytes[bit >>> 3]! &= ~mask;
  }
}

/** Bit position of the end-of-stream magic of a stream that ends the data, found via its CRC. */
function endOfStreamBit(stream: Uint8Array, combinedCrc: number): number {
  for (let padding = 0; padding < 8; padding++) {
    const start = stream.length * 8 - padding - 80;
    if (getBits(stream, start, 24) === 0x177245 && getBits(stream, start + 24, 24) === 0x385090) {
      if (getBits(stream, start + 48, 32) === combinedCrc) return start;
    }
  }
  assert.fail("end-of-stream magic not found");
}

/**
 * What a decoder must output for a randomised block whose inverse BWT yields `block`: XOR with the
 * BZ2_rNums mask, then undo the initial run-length coding (4 equal bytes, then a repeat count).
 */
function derandomiseAndExpand(block: Uint8Array): Uint8Array {
  const out: number[] = [];
  let toGo = 0;
  let tableIndex = 0;
  let run = 0;
  let last = -1;
  for (const raw of block) {
    if (toGo === 0) {
      toGo = RANDOM_NUMBERS[tableIndex]!;
      tableIndex = (tableIndex + 1) % 512;
    }
    toGo--;
    const b = raw ^ (toGo === 1 ? 1 : 0);
    if (run === 4) {
      for (let k = 0; k < b; k++) out.push(last);
      run = 0;
    } else {
      run = b === last ? run + 1 : 1;
      last = b;
      out.push(b);
    }
  }
  return Uint8Array.from(out);
}

describe("bzip2 streams (bzip2 -9)", { skip: needs("bzip2") }, () => {
  const samples = new Map<string, Uint8Array>();

  before(() => {
    samples.set("empty", new Uint8Array(0));
    samples.set("one byte", Uint8Array.of(0x5a));
    samples.set("real binary, 2 MiB (3 blocks)", realBinary(2 * MiB));
    samples.set("random, 1 MiB", randomBytes(MiB));
    samples.set("zeros, 5 MiB", new Uint8Array(5 * MiB));
    samples.set(
      "short period pattern",
      Uint8Array.from({ length: 300000 }, (_, i) => "abc".charCodeAt(i % 3)),
    );
    samples.set(
      "runs of every length",
      Uint8Array.from({ length: 200000 }, (_, i) => Math.floor(Math.sqrt(i)) & 0xff),
    );
  });

  it("decodes what bzip2 -9 writes, byte for byte", () => {
    for (const [name, data] of samples) assertSameBytes(decode(bzip2(data)), data, name);
  });

  it("decodes other block sizes (bzip2 -1, -5)", () => {
    const data = samples.get("real binary, 2 MiB (3 blocks)")!;
    for (const level of ["-1", "-5"]) assertSameBytes(decode(bzip2(data, level)), data, level);
  });

  it("accepts concatenated streams and ignores a trailing size trailer", () => {
    const a = samples.get("real binary, 2 MiB (3 blocks)")!;
    const b = samples.get("short period pattern")!;
    assertSameBytes(decode(concat(bzip2(a), bzip2(b, "-1"))), concat(a, b), "a + b");
    assertSameBytes(decode(concat(bzip2(a), Uint8Array.of(0x00, 0x00, 0x30, 0x00))), a, "size trailer");
  });

  it("ignores a wrong expectedSize hint", () => {
    const data = samples.get("real binary, 2 MiB (3 blocks)")!;
    const compressed = bzip2(data);
    for (const expectedSize of [10, data.length - 1, data.length + 99, Number.NaN, 2 ** 60]) {
      assertSameBytes(decode(compressed, { expectedSize }), data, `expectedSize ${expectedSize}`);
    }
  });

  it("throws E_LIMIT when the output would pass maxOutputBytes", () => {
    const data = samples.get("real binary, 2 MiB (3 blocks)")!;
    const compressed = bzip2(data);
    const error = assertKimgError(() => decode(compressed, { maxOutputBytes: MiB }), ["E_LIMIT"], "1 MiB cap");
    assert.equal(error.data.limit, "maxOutputBytes");
    assertKimgError(() => decode(compressed, { maxOutputBytes: MiB, expectedSize: 2 ** 50 }), ["E_LIMIT"], "huge hint");
    assertSameBytes(decode(compressed, { maxOutputBytes: data.length }), data, "cap equal to the size");
    assertKimgError(() => decode(compressed, { maxOutputBytes: data.length - 1 }), ["E_LIMIT"], "cap one short");
    const zeros = bzip2(samples.get("zeros, 5 MiB")!);
    assertKimgError(() => decode(zeros, { maxOutputBytes: 4 * MiB }), ["E_LIMIT"], "highly compressed block");
  });

  it("reports truncation as E_CORRUPT_STREAM", () => {
    const compressed = bzip2(samples.get("real binary, 2 MiB (3 blocks)")!);
    for (const cut of [0, 2, 3, 4, 8, 12, 40, 5000, compressed.length >> 1, compressed.length - 5, compressed.length - 1]) {
      assertKimgError(() => decode(compressed.subarray(0, cut)), ["E_CORRUPT_STREAM"], `cut at ${cut}`);
    }
  });

  it("reports damage as E_CHECKSUM or E_CORRUPT_STREAM", () => {
    const compressed = bzip2(samples.get("real binary, 2 MiB (3 blocks)")!);
    const crcDamaged = compressed.slice();
    crcDamaged[11] = crcDamaged[11]! ^ 1; // the first block CRC
    const error = assertKimgError(() => decode(crcDamaged), ["E_CHECKSUM"], "block CRC");
    assert.match(error.message, /block CRC/);
    for (const at of [3, 4, 20, 100, 20000, compressed.length >> 1, compressed.length - 3]) {
      const damaged = compressed.slice();
      damaged[at] = damaged[at]! ^ 0x21;
      assertKimgError(() => decode(damaged), ["E_CHECKSUM", "E_CORRUPT_STREAM"], `byte ${at}`);
    }
  });

  it("rejects an origPtr outside the block", () => {
    const damaged = bzip2(samples.get("short period pattern")!).slice();
    setBits(damaged, 14 * 8 + 1, 24, 0xffffff);
    assertKimgError(() => decode(damaged), ["E_CORRUPT_STREAM"], "origPtr");
  });

  it("decodes randomised blocks (bzip2 < 0.9.5), checked by the real bzip2", () => {
    // With no byte equal to its neighbour, the initial run-length coding leaves the block as is,
    // so the inverse BWT of the block yields `data` and setting the randomised bit makes the
    // output derandomiseAndExpand(data). The CRCs are then fixed to match that output.
    const data = randomBytes(60000, 99, true);
    const stream = bzip2(data).slice();
    const originalCrc = getBits(stream, 80, 32);
    const eos = endOfStreamBit(stream, originalCrc);
    assert.equal(getBits(stream, 112, 1), 0);
    setBits(stream, 112, 1, 1);
    const expected = derandomiseAndExpand(data);
    const crc = crc32Bzip2(expected);
    setBits(stream, 80, 32, crc);
    assertKimgError(() => decode(stream), ["E_CHECKSUM"], "stream CRC not yet fixed");
    setBits(stream, eos + 48, 32, crc); // one block: the combined CRC is the block CRC
    assertSameBytes(run("bzip2", ["-dc"], stream), expected, "real bzip2 accepts the randomised stream");
    assertSameBytes(decode(stream), expected, "randomised block");
  });

  it("never throws anything but a KimgError on damaged input", () => {
    const compressed = bzip2(realBinary(100000, 40 * MiB));
    let x = 0x6b8b4567;
    for (let round = 0; round < 150; round++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const damaged = compressed.slice();
      const at = x % damaged.length;
      damaged[at] = damaged[at]! ^ (1 + ((x >>> 16) % 255));
      try {
        decode(damaged, { maxOutputBytes: 8 * MiB });
      } catch (error) {
        assert.ok(error instanceof KimgError, `round ${round}: ${String(error)}`);
        assert.ok(["E_CORRUPT_STREAM", "E_CHECKSUM", "E_LIMIT"].includes(error.code), `round ${round}: ${error.code}`);
      }
    }
  });

  it("reports progress, ending with the output size", () => {
    const data = samples.get("zeros, 5 MiB")!;
    const seen: number[] = [];
    decode(bzip2(data), { onProgress: (bytes) => seen.push(bytes) });
    assert.ok(seen.length >= 1);
    assert.equal(seen.at(-1), data.length);
  });
});
