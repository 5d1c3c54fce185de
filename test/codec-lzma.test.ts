import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeLzma, readLzmaHeader } from "../src/codecs/lzma.js";
import type { DecodeOptions } from "../src/codecs/types.js";
import { MiB, assertKimgError, assertOnlyKimgErrors, assertSameBytes, concat, prng, randomBytes, rawLzma2, realBinary, run } from "./helpers/xz-tools.js";
import { needs } from "./helpers/tools.js";

const LIMIT = 256 * MiB;
const skip = needs("lzma", "xz");

function decode(input: Uint8Array, options: Partial<DecodeOptions> = {}): Uint8Array {
  return decodeLzma(input, { maxOutputBytes: LIMIT, ...options }) as Uint8Array;
}

const cache = new Map<string, Uint8Array>();

/** `lzma ARGS` on stdin (scripts/Makefile.lib cmd_lzma: `cat ... | lzma -9`); each sample once. */
function lzma(name: string, data: Uint8Array, args: string[] = ["-9"]): Uint8Array {
  const key = `${name}|${args.join(" ")}`;
  let compressed = cache.get(key);
  if (compressed === undefined) {
    compressed = run("lzma", args, data);
    cache.set(key, compressed);
  }
  return compressed;
}

/** scripts/Makefile.lib size_append: the uncompressed size as 4 bytes, little endian. */
function sizeAppend(size: number): Uint8Array {
  return new Uint8Array([size & 0xff, (size >>> 8) & 0xff, (size >>> 16) & 0xff, (size >>> 24) & 0xff]);
}

/** A copy of `file` with the header's uncompressed size set to `size`. */
function withDeclaredSize(file: Uint8Array, size: number): Uint8Array {
  const copy = file.slice();
  const view = new DataView(copy.buffer);
  view.setUint32(5, size, true);
  view.setUint32(9, 0, true);
  return copy;
}

const binary = realBinary(1536 * 1024);
const kernelLzma = skip ? new Uint8Array(0) : lzma("binary", binary);
const kernelPayload = concat(kernelLzma, sizeAppend(binary.length));

describe("lzma: the kernel's command (lzma -9 from a pipe, then size_append)", { skip }, () => {
  it("reads the 13-byte header: props 0x5d, 64 MiB dictionary, size unknown", () => {
    assert.deepEqual(readLzmaHeader(kernelLzma), { properties: { lc: 3, lp: 0, pb: 2 }, dictionaryBytes: 64 * MiB, uncompressedSize: undefined });
  });

  it("decodes 1.5 MiB of real machine code, stopping at the end marker before the appended size", () => {
    assertSameBytes(decode(kernelLzma), binary, "without size");
    assertSameBytes(decode(kernelPayload), binary, "with the appended size");
    assertSameBytes(decode(concat(kernelLzma, randomBytes(1000, 3))), binary, "with trailing garbage");
  });

  it("small and odd inputs: empty, one byte, incompressible, long zero runs", () => {
    const samples: Array<[string, Uint8Array]> = [
      ["empty", new Uint8Array(0)],
      ["one byte", new Uint8Array([0x42])],
      ["random", randomBytes(300_000)],
      ["zeros", new Uint8Array(4 * MiB)],
    ];
    for (const [name, data] of samples) {
      assertSameBytes(decode(concat(lzma(name, data), sizeAppend(data.length))), data, name);
    }
  });

  it("other lc/lp/pb settings", () => {
    const sample = binary.subarray(0, 256 * 1024);
    for (const options of ["lc=0,lp=4,pb=4", "lc=4,lp=0,pb=0", "lc=1,lp=2,pb=1"]) {
      const file = lzma("sample256K", sample, ["--format=lzma", `--lzma1=preset=1,${options}`]);
      assertSameBytes(decode(file), sample, options);
    }
  });

  it("a declared 1.5 GiB dictionary costs no extra memory (the output is the dictionary)", () => {
    const file = kernelLzma.slice();
    new DataView(file.buffer).setUint32(1, 0x60000000, true);
    const before = process.memoryUsage().arrayBuffers;
    const out = decode(file, { expectedSize: binary.length });
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * MiB);
    assertSameBytes(out, binary, "big dictionary");
  });
});

describe("lzma: known sizes", { skip }, () => {
  it("a known size with the end marker after it", () => {
    const file = withDeclaredSize(kernelLzma, binary.length);
    assert.equal(readLzmaHeader(file).uncompressedSize, binary.length);
    assertSameBytes(decode(file), binary, "known size + marker");
    assertSameBytes(decode(concat(file, sizeAppend(binary.length))), binary, "known size + marker + trailer");
  });

  it("a known size without an end marker (the LZMA data of a real LZMA2 chunk)", () => {
    const sample = binary.subarray(0, 60_000);
    const raw = rawLzma2(sample, "lc=3,lp=0,pb=2,dict=1MiB");
    // One LZMA chunk that resets everything (0xE0 | size bits), then the 0x00 end of LZMA2.
    const control = raw[0]!;
    assert.ok(control >= 0xe0, `control 0x${control.toString(16)}`);
    const unpacked = ((control & 0x1f) << 16) + (raw[1]! << 8) + raw[2]! + 1;
    const packed = (raw[3]! << 8) + raw[4]! + 1;
    assert.equal(unpacked, sample.length);
    assert.equal(raw[6 + packed], 0x00, "a single chunk");
    const header = new Uint8Array(13);
    const view = new DataView(header.buffer);
    header[0] = raw[5]!;
    view.setUint32(1, MiB, true);
    view.setUint32(5, unpacked, true);
    const file = concat(header, raw.subarray(6, 6 + packed));
    assertSameBytes(decode(file), sample, "no marker");
    assertSameBytes(decode(concat(file, sizeAppend(unpacked))), sample, "no marker + trailer");
  });

  it("a declared size that disagrees with the data is E_CORRUPT_STREAM", () => {
    assertKimgError(() => decode(withDeclaredSize(kernelLzma, binary.length - 100)), ["E_CORRUPT_STREAM"], "declared smaller");
    assertKimgError(() => decode(withDeclaredSize(kernelLzma, binary.length + 100)), ["E_CORRUPT_STREAM"], "declared larger");
  });

  it("a declared size over maxOutputBytes is E_LIMIT before decoding", () => {
    const file = withDeclaredSize(kernelLzma, binary.length);
    assertKimgError(() => decode(file, { maxOutputBytes: binary.length - 1 }), ["E_LIMIT"], "declared too big");
    const huge = kernelLzma.slice();
    new DataView(huge.buffer).setUint32(9, 0x10, true);
    new DataView(huge.buffer).setUint32(5, 0, true);
    assertKimgError(() => decode(huge), ["E_LIMIT"], "2^36 bytes");
    // Even without a limit, an absurd size is a KimgError, not a RangeError: nothing is allocated
    // for it up front, and the data ends long before it (a size mismatch).
    const absurd = kernelLzma.slice();
    new DataView(absurd.buffer).setUint32(9, 0x100000, true);
    assertKimgError(() => decode(absurd, { maxOutputBytes: Infinity }), ["E_CORRUPT_STREAM"], "2^52 bytes, no limit");
  });
});

describe("lzma: options", { skip }, () => {
  it("a wrong or missing expectedSize still gives the right output", () => {
    for (const expectedSize of [undefined, 0, 1, 1000, binary.length - 1, binary.length, binary.length + 1, binary.length * 4, Number.NaN, -1]) {
      assertSameBytes(decode(kernelPayload, { expectedSize }), binary, `expectedSize ${expectedSize}`);
    }
  });

  it("maxOutputBytes below the output size is E_LIMIT; exactly the output size is fine", () => {
    for (const expectedSize of [undefined, 1000, binary.length]) {
      assertKimgError(() => decode(kernelPayload, { maxOutputBytes: binary.length - 1, expectedSize }), ["E_LIMIT"], `hint ${expectedSize}`);
      // The buffer is full exactly when the end marker comes: that must not count as too big.
      assertSameBytes(decode(kernelPayload, { maxOutputBytes: binary.length, expectedSize }), binary, `exact, hint ${expectedSize}`);
    }
    assertKimgError(() => decode(kernelPayload, { maxOutputBytes: 0 }), ["E_LIMIT"], "zero limit");
    assertSameBytes(decode(concat(lzma("empty", new Uint8Array(0)), sizeAppend(0)), { maxOutputBytes: 0 }), new Uint8Array(0), "empty, zero limit");
  });

  it("reports progress as the output grows", () => {
    const seen: number[] = [];
    decode(kernelPayload, { onProgress: (bytes) => seen.push(bytes) });
    assert.ok(seen.length >= 1);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!);
    assert.ok(seen[seen.length - 1]! <= binary.length);
  });
});

describe("lzma: corrupt input ends in a KimgError", { skip }, () => {
  it("a header that is too short or has an invalid properties byte", () => {
    assertKimgError(() => decode(kernelLzma.subarray(0, 12)), ["E_CORRUPT_STREAM"], "12 bytes");
    const badProperties = kernelLzma.slice();
    badProperties[0] = 225;
    assertKimgError(() => decode(badProperties), ["E_CORRUPT_STREAM"], "props 225");
  });

  it("truncated at several points", () => {
    for (const cut of [13, 14, 17, 18, 100, kernelLzma.length >> 1, kernelLzma.length - 6, kernelLzma.length - 1]) {
      const error = assertKimgError(() => decode(kernelLzma.subarray(0, cut)), ["E_CORRUPT_STREAM"], `cut at ${cut}`);
      assert.ok(error.offset !== undefined && error.offset <= cut, `cut at ${cut}: offset ${error.offset}`);
    }
  });

  it("flipped bytes in the data are caught by the decoder", () => {
    // .lzma has no checksum; a flip desynchronises the range decoder, which then fails a
    // structural check (distance, end of input, end marker), or the size check catches it.
    const known = withDeclaredSize(kernelLzma, binary.length);
    for (const position of [13, 14, 200, known.length >> 1, known.length - 20]) {
      const corrupt = known.slice();
      corrupt[position]! ^= 0x01;
      assertKimgError(() => decode(corrupt), ["E_CORRUPT_STREAM"], `flip at ${position}`);
    }
  });

  it("random damage never escapes as another kind of error, and never passes the limit", () => {
    const sample = lzma("sample64K", binary.subarray(0, 65536));
    const random = prng(77);
    for (let round = 0; round < 300; round++) {
      const damaged = sample.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) damaged[13 + Math.floor(random() * (damaged.length - 13))] = Math.floor(random() * 256);
      const input = random() < 0.2 ? damaged.subarray(0, 13 + Math.floor(random() * (damaged.length - 13))) : damaged;
      assertOnlyKimgErrors(
        () => {
          const out = decode(input, { maxOutputBytes: 4 * MiB });
          assert.ok(out.length <= 4 * MiB);
        },
        ["E_CORRUPT_STREAM", "E_LIMIT"],
        `round ${round}`,
      );
    }
  });
});
