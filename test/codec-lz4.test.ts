import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { decodeLz4 } from "../src/codecs/lz4.js";
import type { DecodeOptions } from "../src/codecs/types.js";
import { KimgError } from "../src/io/errors.js";
import { MiB, assertKimgError, assertSameBytes, concat, randomBytes, realBinary, run } from "./helpers/codec-testing.js";
import { needs } from "./helpers/tools.js";

const LIMIT = 256 * MiB;

function decode(input: Uint8Array, options: Partial<DecodeOptions> = {}): Uint8Array {
  return decodeLz4(input, { maxOutputBytes: LIMIT, ...options }) as Uint8Array;
}

const legacyCache = new Map<Uint8Array, Uint8Array>();

/** `lz4 -l -9`: the legacy frame of scripts/Makefile.lib cmd_lz4 (each sample compressed once). */
function lz4Legacy(data: Uint8Array): Uint8Array {
  let compressed = legacyCache.get(data);
  if (compressed === undefined) {
    compressed = run("lz4", ["-l", "-9", "-c"], data);
    legacyCache.set(data, compressed);
  }
  return compressed;
}

function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

const LEGACY_MAGIC = u32le(0x184c2102);

/** A legacy stream from raw blocks we build by hand. */
function legacy(...blocks: Uint8Array[]): Uint8Array {
  return concat(LEGACY_MAGIC, ...blocks.flatMap((block) => [u32le(block.length), block]));
}

/** Length bytes of the LZ4 block format for a value past the 15 of a token nibble. */
function lengthBytes(extra: number): number[] {
  const out: number[] = [];
  while (extra >= 255) {
    out.push(255);
    extra -= 255;
  }
  out.push(extra);
  return out;
}

describe("lz4 legacy frame (lz4 -l -9)", { skip: needs("lz4") }, () => {
  const samples = new Map<string, Uint8Array>();

  before(() => {
    samples.set("empty", new Uint8Array(0));
    samples.set("one byte", Uint8Array.of(0x5a));
    samples.set("real binary, 3 MiB", realBinary(3 * MiB));
    samples.set("real binary, 17 MiB (3 legacy blocks)", realBinary(17 * MiB, 2 * MiB));
    samples.set("random, 1 MiB", randomBytes(MiB));
    samples.set("zeros, 9 MiB", new Uint8Array(9 * MiB));
    samples.set(
      "short period pattern",
      Uint8Array.from({ length: 300000 }, (_, i) => "abc"[i % 3]!.charCodeAt(0)),
    );
  });

  it("decodes what lz4 -l -9 writes, byte for byte", () => {
    for (const [name, data] of samples) {
      assertSameBytes(decode(lz4Legacy(data)), data, name);
    }
  });

  it("ignores a wrong expectedSize hint (too small, too large, zero, not an integer)", () => {
    const data = samples.get("real binary, 3 MiB")!;
    const compressed = lz4Legacy(data);
    for (const expectedSize of [data.length, 1000, data.length - 1, data.length + 12345, 0, Number.NaN, -5, 2 ** 60]) {
      assertSameBytes(decode(compressed, { expectedSize }), data, `expectedSize ${expectedSize}`);
    }
  });

  it("throws E_LIMIT when the output would pass maxOutputBytes, even with a huge hint", () => {
    const data = samples.get("real binary, 3 MiB")!;
    const compressed = lz4Legacy(data);
    const error = assertKimgError(() => decode(compressed, { maxOutputBytes: MiB }), ["E_LIMIT"], "1 MiB cap");
    assert.equal(error.data.limit, "maxOutputBytes");
    assertKimgError(() => decode(compressed, { maxOutputBytes: MiB, expectedSize: 2 ** 50 }), ["E_LIMIT"], "huge hint");
    assertSameBytes(decode(compressed, { maxOutputBytes: data.length }), data, "cap equal to the size");
    assertKimgError(() => decode(compressed, { maxOutputBytes: data.length - 1 }), ["E_LIMIT"], "cap one short");
  });

  it("accepts concatenated files (the magic again between blocks)", () => {
    const a = samples.get("real binary, 3 MiB")!;
    const b = samples.get("short period pattern")!;
    assertSameBytes(decode(concat(lz4Legacy(a), lz4Legacy(b))), concat(a, b), "a + b");
  });

  it("accepts the kernel's 4-byte size trailer and a zero chunk size as the end", () => {
    const data = samples.get("real binary, 3 MiB")!;
    const compressed = lz4Legacy(data);
    assertSameBytes(decode(concat(compressed, u32le(data.length))), data, "size trailer");
    assertSameBytes(decode(concat(compressed, u32le(0), Uint8Array.of(1, 2, 3))), data, "zero chunk size");
  });

  it("rejects stray bytes after the last chunk that are not the size trailer", () => {
    const compressed = lz4Legacy(samples.get("real binary, 3 MiB")!);
    for (const tail of [[1], [1, 2, 3], [9, 9, 9, 9]]) {
      assertKimgError(() => decode(concat(compressed, Uint8Array.from(tail))), ["E_CORRUPT_STREAM"], `tail ${tail.length}`);
    }
  });

  it("reports truncation inside a chunk as E_CORRUPT_STREAM", () => {
    const compressed = lz4Legacy(samples.get("real binary, 17 MiB (3 legacy blocks)")!);
    const firstChunk = new DataView(compressed.buffer).getUint32(4, true);
    // A legacy stream has no end marker, so a cut exactly between chunks is a shorter valid stream.
    for (const cut of [1, 3, 5, 7, 8, 100, 4 + 4 + firstChunk - 1, 4 + 4 + firstChunk + 2, compressed.length - 1]) {
      assertKimgError(() => decode(compressed.subarray(0, cut)), ["E_CORRUPT_STREAM"], `cut at ${cut}`);
    }
  });

  it("decodes from a view with a non-zero byteOffset", () => {
    const data = samples.get("real binary, 3 MiB")!;
    const compressed = lz4Legacy(data);
    const padded = new Uint8Array(compressed.length + 13);
    padded.set(compressed, 7);
    assertSameBytes(decode(padded.subarray(7, 7 + compressed.length)), data, "offset view");
  });

  it("reports progress, ending with the output size", () => {
    const data = samples.get("real binary, 17 MiB (3 legacy blocks)")!;
    const seen: number[] = [];
    decode(lz4Legacy(data), { onProgress: (bytes) => seen.push(bytes) });
    assert.ok(seen.length >= 2);
    assert.equal(seen.at(-1), data.length);
    assert.deepEqual(
      [...seen].sort((x, y) => x - y),
      seen,
    );
  });

  it("never throws anything but a KimgError on damaged input", () => {
    const compressed = lz4Legacy(realBinary(256 * 1024));
    let x = 0x9e3779b9;
    for (let round = 0; round < 300; round++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const damaged = compressed.slice();
      const at = 4 + (x % (damaged.length - 4));
      damaged[at] = damaged[at]! ^ (1 + ((x >>> 16) % 255));
      try {
        decode(damaged, { maxOutputBytes: 8 * MiB });
      } catch (error) {
        assert.ok(error instanceof KimgError, `round ${round}: ${String(error)}`);
        assert.ok(["E_CORRUPT_STREAM", "E_LIMIT"].includes(error.code), `round ${round}: ${error.code}`);
      }
    }
  });
});

describe("lz4 block format edge cases (hand-built)", () => {
  it("repeats an overlapping match (distance 1 and 3) and ends on a literal run", () => {
    // 'A', match distance 1 of 19 + 981 bytes, then a final literal 'B'.
    const block1 = Uint8Array.from([0x1f, 0x41, 0x01, 0x00, ...lengthBytes(981), 0x10, 0x42]);
    // 'xyz', match distance 3 of 4 + 15 + 81 bytes, then the final literals 'end'.
    const block2 = Uint8Array.from([0x3f, 0x78, 0x79, 0x7a, 0x03, 0x00, ...lengthBytes(81), 0x30, 0x65, 0x6e, 0x64]);
    const expected = concat(
      new Uint8Array(1001).fill(0x41),
      Uint8Array.of(0x42),
      Uint8Array.from({ length: 103 }, (_, i) => "xyz".charCodeAt(i % 3)),
      new TextEncoder().encode("end"),
    );
    assertSameBytes(decode(legacy(block1, block2)), expected, "overlapping matches");
  });

  it("accepts an empty block (one zero token)", () => {
    assert.equal(decode(legacy(Uint8Array.of(0x00))).length, 0);
  });

  it("rejects offset 0, offsets before the block and matches into the previous block", () => {
    assertKimgError(() => decode(legacy(Uint8Array.of(0x14, 0x41, 0x00, 0x00, 0x00))), ["E_CORRUPT_STREAM"], "offset 0");
    assertKimgError(() => decode(legacy(Uint8Array.of(0x14, 0x41, 0x02, 0x00, 0x00))), ["E_CORRUPT_STREAM"], "offset 2");
    // Legacy blocks are independent: the second block may not reach into the first.
    const first = Uint8Array.of(0x40, 0x61, 0x62, 0x63, 0x64);
    const second = Uint8Array.of(0x04, 0x04, 0x00, 0x00);
    assertKimgError(() => decode(legacy(first, second)), ["E_CORRUPT_STREAM"], "into previous block");
  });

  it("rejects blocks cut inside literals, lengths or offsets, or ending after a match", () => {
    const cases: Array<[string, number[]]> = [
      ["literals past the block", [0x50, 0x41, 0x42]],
      ["literal length bytes missing", [0xf0, 0xff]],
      ["offset cut", [0x14, 0x41, 0x01]],
      ["match length bytes missing", [0x1f, 0x41, 0x01, 0x00, 0xff]],
      ["no final literals", [0x14, 0x41, 0x01, 0x00]],
    ];
    for (const [what, block] of cases) {
      assertKimgError(() => decode(legacy(Uint8Array.from(block))), ["E_CORRUPT_STREAM"], what);
    }
  });

  it("rejects a block that decompresses past 8 MiB and chunks longer than LZ4_compressBound(8 MiB)", () => {
    const tooLong = Uint8Array.from([0x1f, 0x41, 0x01, 0x00, ...lengthBytes(8 * MiB - 19), 0x00]);
    assertKimgError(() => decode(legacy(tooLong)), ["E_CORRUPT_STREAM"], "9 MiB block");
    const hugeChunk = concat(LEGACY_MAGIC, u32le(8 * MiB + 32896 + 17), new Uint8Array(16));
    assertKimgError(() => decode(hugeChunk), ["E_CORRUPT_STREAM"], "chunk size");
    assertKimgError(() => decode(concat(LEGACY_MAGIC, u32le(100), new Uint8Array(10))), ["E_CORRUPT_STREAM"], "chunk past end");
  });

  it("rejects a bad magic and input shorter than a magic", () => {
    assertKimgError(() => decode(Uint8Array.of(0x02, 0x21, 0x4c)), ["E_CORRUPT_STREAM"], "3 bytes");
    assertKimgError(() => decode(Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0x00)), ["E_CORRUPT_STREAM"], "gzip magic");
  });
});

describe("lz4 frame format (lz4 without -l)", { skip: needs("lz4") }, () => {
  const data = realBinary(2 * MiB, 20 * MiB);

  it("decodes frames with and without block checksums, content size, linked blocks, stored blocks", () => {
    const variants: string[][] = [["-9"], ["-9", "-BX", "--content-size"], ["-9", "-BD", "-B4"], ["-1", "--no-frame-crc", "-B5"]];
    for (const args of variants) {
      assertSameBytes(decode(run("lz4", [...args, "-c"], data)), data, args.join(" "));
    }
    const random = randomBytes(300000, 7);
    assertSameBytes(decode(run("lz4", ["-9", "-c"], random)), random, "stored blocks");
    assertSameBytes(decode(run("lz4", ["-9", "-c"], new Uint8Array(0))), new Uint8Array(0), "empty frame");
  });

  it("skips skippable frames and accepts concatenated frames", () => {
    const frame = run("lz4", ["-9", "-c"], data);
    const skippable = concat(u32le(0x184d2a53), u32le(5), Uint8Array.of(1, 2, 3, 4, 5));
    assertSameBytes(decode(concat(skippable, frame, frame)), concat(data, data), "skippable + 2 frames");
  });

  it("verifies the header, block and content checksums", () => {
    const frame = run("lz4", ["-9", "-BX", "-c"], data);
    const header = frame.slice();
    header[4] = header[4]! ^ 0x08; // FLG: toggles C.Size, so the header checksum no longer matches
    assertKimgError(() => decode(header), ["E_CHECKSUM", "E_CORRUPT_STREAM"], "descriptor");
    for (const at of [20, 1000, Math.floor(frame.length / 2), frame.length - 10]) {
      const damaged = frame.slice();
      damaged[at] = damaged[at]! ^ 0x40;
      assertKimgError(() => decode(damaged), ["E_CHECKSUM", "E_CORRUPT_STREAM"], `byte ${at}`);
    }
    const plain = run("lz4", ["-9", "-c"], data);
    const contentDamaged = plain.slice();
    contentDamaged[plain.length - 1] = contentDamaged[plain.length - 1]! ^ 1;
    assertKimgError(() => decode(contentDamaged), ["E_CHECKSUM"], "content checksum");
  });

  it("reports truncated frames", () => {
    const frame = run("lz4", ["-9", "-c"], data);
    for (const cut of [5, 6, 7, 10, 5000, frame.length - 5, frame.length - 1]) {
      assertKimgError(() => decode(frame.subarray(0, cut)), ["E_CORRUPT_STREAM"], `cut at ${cut}`);
    }
  });
});
