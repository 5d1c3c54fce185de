import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeArm64, decodeRiscV, decodeX86 } from "../src/codecs/bcj.js";
import type { DecodeOptions } from "../src/codecs/types.js";
import { decodeXz, decodeXzWithInfo } from "../src/codecs/xz.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { encodeRiscV } from "./helpers/xz-riscv-encoder.js";
import {
  MiB,
  assertKimgError,
  assertOnlyKimgErrors,
  assertSameBytes,
  buildXz,
  concat,
  lzma2DictionaryByte,
  prng,
  randomBytes,
  rawLzma2,
  realBinary,
  run,
} from "./helpers/xz-tools.js";
import { needs } from "./helpers/tools.js";

const LIMIT = 256 * MiB;
const skip = needs("xz");

function decode(input: Uint8Array, options: Partial<DecodeOptions> = {}): Uint8Array {
  return decodeXz(input, { maxOutputBytes: LIMIT, ...options }) as Uint8Array;
}

const cache = new Map<string, Uint8Array>();

/** `xz ARGS -c` on stdin, as scripts/xz_wrap.sh runs it; each sample compressed once. */
function xz(name: string, data: Uint8Array, args: string[]): Uint8Array {
  const key = `${name}|${args.join(" ")}`;
  let compressed = cache.get(key);
  if (compressed === undefined) {
    compressed = run("xz", [...args, "-c"], data);
    cache.set(key, compressed);
  }
  return compressed;
}

/** scripts/xz_wrap.sh: `xz --check=crc32 --threads=1 $BCJ --lzma2=$LZMA2OPTS,dict=$DICT`. */
function kernelXzArgs(bcj: string[], lzma2Options: string, dict = "32MiB"): string[] {
  return ["--check=crc32", "--threads=1", ...bcj, `--lzma2=${lzma2Options},dict=${dict}`];
}

const binary3M = realBinary(3 * MiB);
const binary1M = binary3M.subarray(0, MiB);
const binary512K = binary3M.subarray(MiB, MiB + 512 * 1024);
const binary256K = realBinary(256 * 1024, 20 * MiB);
const kernelX86 = skip ? new Uint8Array(0) : xz("binary3M", binary3M, kernelXzArgs(["--x86"], ""));

describe("xz: the kernel's commands (scripts/xz_wrap.sh), xz 5.4.1", () => {
  it("x86 (--x86, dict=32MiB), 3 MiB of real machine code", { skip }, () => {
    assertSameBytes(decode(kernelX86), binary3M, "x86");
    const info = decodeXzWithInfo(kernelX86, { maxOutputBytes: LIMIT });
    assert.deepEqual(info.streams, [{ check: "crc32", checkId: 1, checkVerified: true, blockCount: 1, filters: ["x86", "lzma2"], dictionaryBytes: 32 * MiB }]);
    assert.equal(info.trailingBytes, 0);
  });

  it("x86 with a start offset (--x86=start=N), on data dense in E8/E9 and 00/FF bytes, and on real code", { skip }, () => {
    // Every fourth byte a candidate opcode, every other one a sign byte: the prevMask paths all run.
    const dense = new Uint8Array(256 * 1024);
    let x = 1;
    for (let i = 0; i < dense.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const v = x >>> 24;
      dense[i] = v < 40 ? 0xe8 : v < 70 ? 0xe9 : v < 120 ? 0 : v < 170 ? 0xff : v;
    }
    for (const start of [1, 0x1000, 0x7ffffffb, 0xfffffff0]) {
      for (const [name, data] of [
        ["dense", dense],
        ["binary512K", binary512K],
      ] as const) {
        const compressed = xz(`${name}-x86-${start}`, data, kernelXzArgs([`--x86=start=${start}`], ""));
        assertSameBytes(decode(compressed), data, `x86 start=${start} ${name}`);
      }
    }
  });

  // Every BCJ filter must invert xz's encoder on any input; x86 code has plenty of false
  // positives for the other architectures' patterns, so each filter converts many spots.
  const cases: Array<[string, string[], string]> = [
    ["arm64 (lp=2,lc=2)", ["--arm64"], "lp=2,lc=2"],
    ["loongarch (no BCJ, lp=2,lc=2)", [], "lp=2,lc=2"],
    ["powerpc", ["--powerpc"], ""],
    ["ia64", ["--ia64"], ""],
    ["arm", ["--arm"], ""],
    ["armthumb", ["--armthumb"], ""],
    ["sparc", ["--sparc"], ""],
  ];
  for (const [name, bcj, lzma2Options] of cases) {
    it(`${name}, dict=128MiB`, { skip }, () => {
      const compressed = xz("binary512K", binary512K, kernelXzArgs(bcj, lzma2Options, "128MiB"));
      assertSameBytes(decode(compressed), binary512K, name);
      const [stream] = decodeXzWithInfo(compressed, { maxOutputBytes: LIMIT }).streams;
      assert.deepEqual(stream?.filters, [...bcj.map((flag) => flag.slice(2)), "lzma2"]);
      assert.equal(stream?.dictionaryBytes, 128 * MiB);
    });
  }

  it("the filters really change x86 code (so the tests above exercise them)", () => {
    const x86 = binary512K.slice();
    decodeX86(x86, 0);
    const arm64 = binary512K.slice();
    decodeArm64(arm64, 0);
    assert.ok(countDifferences(x86, binary512K) > 1000);
    assert.ok(countDifferences(arm64, binary512K) > 1000);
  });
});

function countDifferences(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe("xz: RISC-V BCJ (xz >= 5.6; checked against an encoder written in the test)", () => {
  it("decodes a JAL written by hand from the spec", () => {
    // jal ra, +0x1000 at pc 0x100 is 0x000010ef; the filter stores the target 0x1100.
    const data = new Uint8Array([0xef, 0x00, 0x08, 0x80, 0, 0, 0, 0]);
    decodeRiscV(data, 0x100);
    assert.deepEqual([...data.subarray(0, 4)], [0xef, 0x10, 0x00, 0x00]);
  });

  it("decodes an AUIPC+JALR pair written by hand from the spec", () => {
    // auipc ra, 0x12345 (0x12345097); jalr ra, -42(ra) (0xfd6080e7) at pc 0x2000: stored as
    // auipc x2 carrying jalr's low 20 bits (0x080e7117), then 0x12344fd6 + 0x2000 big endian.
    const data = new Uint8Array([0x17, 0x71, 0x0e, 0x08, 0x12, 0x34, 0x6f, 0xd6]);
    decodeRiscV(data, 0x2000);
    assert.deepEqual([...data], [0x97, 0x50, 0x34, 0x12, 0xe7, 0x80, 0x60, 0xfd]);
  });

  it("inverts the encoder on synthetic RISC-V code, on random data and on real x86 code", () => {
    const samples = [synthesizedRiscV(200_000), randomBytes(300_000, 7), binary256K];
    for (const [index, original] of samples.entries()) {
      for (const startOffset of [0, 0x1000, 0xfffffff0]) {
        const data = original.slice();
        encodeRiscV(data, startOffset);
        if (index === 0) assert.ok(countDifferences(data, original) > 10_000, "the encoder converted the calls");
        decodeRiscV(data, startOffset);
        assertSameBytes(data, original, `sample ${index}, start 0x${startOffset.toString(16)}`);
      }
    }
  });

  it("decodes an .xz with the RISC-V filter, as xz_wrap.sh writes for riscv (lp=1 with RVC)", { skip }, () => {
    const original = synthesizedRiscV(400_000);
    const filtered = original.slice();
    encodeRiscV(filtered, 0);
    const file = buildXz(
      [
        {
          filters: [{ id: 0x0b, properties: new Uint8Array(0) }],
          lzma2: rawLzma2(filtered, "lp=1,dict=1MiB"),
          lzma2DictionaryByte: lzma2DictionaryByte(MiB),
          uncompressed: original,
        },
      ],
      0x01,
    );
    assertSameBytes(decode(file), original, "riscv xz");
    assert.deepEqual(decodeXzWithInfo(file, { maxOutputBytes: LIMIT }).streams[0]?.filters, ["riscv", "lzma2"]);
  });
});

/** A stream of 16- and 32-bit RISC-V instructions with many JAL and AUIPC pairs. */
function synthesizedRiscV(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const random = prng(99);
  let i = 0;
  const put32 = (value: number) => {
    for (let j = 0; j < 4 && i < bytes; j++) out[i++] = (value >>> (8 * j)) & 0xff;
  };
  while (i < bytes) {
    const kind = random();
    const target = Math.floor(random() * 0x100000) & ~1;
    const register = [1, 5, 10, 11, 6][Math.floor(random() * 5)]!;
    if (kind < 0.2) {
      // jal ra/t0, target (J-type)
      const imm = target & 0x1ffffe;
      const rd = random() < 0.5 ? 1 : 5;
      put32(((imm & 0x100000) << 11) | ((imm & 0x7fe) << 20) | ((imm & 0x800) << 9) | (imm & 0xff000) | (rd << 7) | 0x6f);
    } else if (kind < 0.4) {
      // auipc rX, hi; addi/ld/jalr rY, lo(rX)
      put32(((target << 4) & 0xfffff000) | (register << 7) | 0x17);
      const second = [0x13, 0x3003, 0x67][Math.floor(random() * 3)]!;
      put32((((target * 7) & 0xfff) << 20) | (register << 15) | (register << 7) | second);
    } else if (kind < 0.7) {
      out[i++] = Math.floor(random() * 256) & 0xfc;
      if (i < bytes) out[i++] = Math.floor(random() * 256);
    } else {
      put32(((Math.floor(random() * 2 ** 32) >>> 0) | 3) >>> 0);
    }
  }
  return out;
}

describe("xz: the rest of the format", { skip }, () => {
  for (const [check, id] of [
    ["none", 0],
    ["crc32", 1],
    ["crc64", 4],
    ["sha256", 10],
  ] as const) {
    it(`check ${check}`, () => {
      const compressed = xz("binary256K", binary256K, [`--check=${check}`]);
      assertSameBytes(decode(compressed), binary256K, check);
      const [stream] = decodeXzWithInfo(compressed, { maxOutputBytes: LIMIT }).streams;
      assert.equal(stream?.checkId, id);
      assert.equal(stream?.checkVerified, true);
    });
  }

  it("several blocks with sizes in their headers (xz -T2 --block-size)", () => {
    const compressed = xz("binary1M", binary1M, ["-T2", "--block-size=300000", "-3"]);
    assertSameBytes(decode(compressed), binary1M, "multi-block");
    assert.equal(decodeXzWithInfo(compressed, { maxOutputBytes: LIMIT }).streams[0]?.blockCount, 4);
  });

  it("Delta, and a chain of three filters with a BCJ start offset", () => {
    for (const args of [
      ["--delta=dist=4", "--lzma2"],
      ["--x86=start=4096", "--delta=dist=2", "--lzma2"],
      ["--arm64=start=4096", "--lzma2"],
    ]) {
      assertSameBytes(decode(xz("binary256K", binary256K, args)), binary256K, args.join(" "));
    }
  });

  it("a filter chain of four filters (written by the test around real LZMA2 data)", () => {
    // Filters apply in order when encoding: x86, delta(2), arm, then LZMA2. Decoding undoes them in reverse.
    const lzma2 = run("xz", ["--format=raw", "--x86", "--delta=dist=2", "--arm", "--lzma2=preset=0", "-c"], binary256K);
    const file = buildXz(
      [
        {
          filters: [
            { id: 0x04, properties: new Uint8Array(0) },
            { id: 0x03, properties: new Uint8Array([1]) },
            { id: 0x07, properties: new Uint8Array(0) },
          ],
          lzma2,
          lzma2DictionaryByte: lzma2DictionaryByte(256 * 1024),
          uncompressed: binary256K,
        },
      ],
      0x0a,
    );
    assertSameBytes(decode(file), binary256K, "four filters");
  });

  it("concatenated streams with stream padding, and bytes after the last stream", () => {
    const first = xz("binary256K", binary256K, ["--check=crc64"]);
    const second = xz("random", randomBytes(10_000), ["--check=crc32"]);
    const joined = concat(first, new Uint8Array(8), second, new Uint8Array(4));
    assertSameBytes(decode(joined), concat(binary256K, randomBytes(10_000)), "concatenated");
    const info = decodeXzWithInfo(joined, { maxOutputBytes: LIMIT });
    assert.equal(info.streams.length, 2);
    assert.equal(info.trailingBytes, 0);

    // The kernel's decoder stops at the end of the stream, so an appended size does not hurt.
    const withSize = concat(kernelX86, new Uint8Array([0x00, 0x00, 0x30, 0x00]));
    assertSameBytes(decode(withSize), binary3M, "appended size");
    assert.equal(decodeXzWithInfo(withSize, { maxOutputBytes: LIMIT }).trailingBytes, 4);
  });

  it("small and odd inputs: empty, one byte, incompressible, long zero runs", () => {
    const samples: Array<[string, Uint8Array]> = [
      ["empty", new Uint8Array(0)],
      ["one byte", new Uint8Array([0x42])],
      ["random", randomBytes(300_000)],
      ["zeros", new Uint8Array(4 * MiB)],
    ];
    for (const [name, data] of samples) {
      assertSameBytes(decode(xz(name, data, kernelXzArgs(["--x86"], ""))), data, name);
    }
  });

  it("accepts input at a non-zero byteOffset", () => {
    const padded = concat(new Uint8Array(13), kernelX86);
    assertSameBytes(decode(padded.subarray(13)), binary3M, "subarray");
  });

  it("a declared 1.5 GiB dictionary costs no extra memory (single-call decoding)", () => {
    const data = binary256K;
    const dictionaryByte = 37; // (2 | 1) << (37 / 2 + 11) = 1.5 GiB
    const file = buildXz([{ filters: [], lzma2: rawLzma2(data, "dict=1MiB"), lzma2DictionaryByte: dictionaryByte, uncompressed: data }], 0x01);
    const before = process.memoryUsage().arrayBuffers;
    const out = decode(file);
    const grown = process.memoryUsage().arrayBuffers - before;
    assertSameBytes(out, data, "big dictionary");
    assert.equal(decodeXzWithInfo(file, { maxOutputBytes: LIMIT }).streams[0]?.dictionaryBytes, 1.5 * 1024 * MiB);
    assert.ok(grown < 64 * MiB, `array buffers grew by ${grown} bytes`);
  });

  it("an unknown filter ID is E_UNSUPPORTED", () => {
    const file = buildXz(
      [{ filters: [{ id: 0x55, properties: new Uint8Array(0) }], lzma2: rawLzma2(binary256K, "preset=0"), lzma2DictionaryByte: 20, uncompressed: binary256K }],
      0x01,
    );
    const error = assertKimgError(() => decode(file), ["E_UNSUPPORTED"], "filter 0x55");
    assert.equal(error.offset, 12 + 2);
  });
});

describe("xz: options", { skip }, () => {
  it("a wrong or missing expectedSize still gives the right output", () => {
    // With bytes after the stream the index cannot be found from the end, so only the hint counts.
    const withTrailer = concat(kernelX86, new Uint8Array([1, 2, 3]));
    for (const input of [kernelX86, withTrailer]) {
      for (const expectedSize of [undefined, 1000, binary3M.length - 1, binary3M.length * 3, Number.NaN]) {
        assertSameBytes(decode(input, { expectedSize }), binary3M, `expectedSize ${expectedSize}`);
      }
    }
  });

  it("maxOutputBytes below the output size is E_LIMIT, exactly the output size is fine", () => {
    const error = assertKimgError(() => decode(kernelX86, { maxOutputBytes: binary3M.length - 1 }), ["E_LIMIT"], "index says too big");
    assert.equal(error.data.actual, binary3M.length);
    const withTrailer = concat(kernelX86, new Uint8Array([1, 2, 3]));
    for (const expectedSize of [undefined, 100, binary3M.length]) {
      assertKimgError(() => decode(withTrailer, { maxOutputBytes: MiB, expectedSize }), ["E_LIMIT"], `growth, hint ${expectedSize}`);
    }
    assertSameBytes(decode(withTrailer, { maxOutputBytes: binary3M.length }), binary3M, "exact limit");
    assertKimgError(() => decode(xz("zeros", new Uint8Array(4 * MiB), kernelXzArgs(["--x86"], "")), { maxOutputBytes: 0 }), ["E_LIMIT"], "zero limit");
  });

  it("an absurd expectedSize with no limit is only a hint", () => {
    const withTrailer = concat(kernelX86, new Uint8Array([1, 2, 3]));
    assertSameBytes(decode(withTrailer, { maxOutputBytes: Infinity, expectedSize: 2 ** 52 }), binary3M, "2^52 hint");
  });

  it("reports progress as the output grows", () => {
    const seen: number[] = [];
    decode(kernelX86, { onProgress: (bytes) => seen.push(bytes) });
    assert.ok(seen.length >= 2, `${seen.length} progress calls`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!);
    assert.ok(seen[seen.length - 1]! <= binary3M.length);
  });
});

describe("xz: corrupt input ends in a KimgError", { skip }, () => {
  const small = xz("binary256K", binary256K, kernelXzArgs(["--x86"], ""));

  it("truncated at every structure", () => {
    const cuts = [
      0,
      1,
      6,
      11,
      12,
      13,
      20,
      30,
      100,
      small.length >> 1,
      small.length - 60,
      small.length - 33,
      small.length - 32,
      small.length - 20,
      small.length - 12,
      small.length - 2,
      small.length - 1,
    ];
    for (const cut of cuts) {
      const error = assertKimgError(() => decode(small.subarray(0, cut)), ["E_CORRUPT_STREAM"], `cut at ${cut}`);
      assert.ok(error.offset !== undefined && error.offset <= cut, `cut at ${cut}: offset ${error.offset}`);
    }
  });

  it("a flipped byte is E_CHECKSUM or E_CORRUPT_STREAM (also through NODE_CODECS)", async () => {
    const positions: Array<[number, string[]]> = [
      [0, ["E_CORRUPT_STREAM"]], // magic
      [7, ["E_CHECKSUM", "E_UNSUPPORTED"]], // stream flags
      [13, ["E_CHECKSUM"]], // block header, covered by its CRC32
      [40, ["E_CORRUPT_STREAM", "E_CHECKSUM"]], // LZMA2 data
      [small.length >> 1, ["E_CORRUPT_STREAM", "E_CHECKSUM"]],
      [small.length - 30, ["E_CORRUPT_STREAM", "E_CHECKSUM"]], // the block check or index
      [small.length - 10, ["E_CHECKSUM", "E_CORRUPT_STREAM"]], // footer
    ];
    for (const [position, codes] of positions) {
      const corrupt = small.slice();
      corrupt[position]! ^= 0x10;
      assertKimgError(() => decode(corrupt), codes, `flip at ${position}`);
    }
    // A wrong check value (the 4 bytes before the index) is reported as a checksum error.
    const checkStart = small.length - 12 - 12 - 4; // before the footer and a 12-byte index of one record
    const badCheck = small.slice();
    badCheck[checkStart + 1]! ^= 0xff;
    assertKimgError(() => decode(badCheck), ["E_CHECKSUM"], "check value");
    // Node's decoder table checks the block with zlib's native CRC-32: the same verdicts.
    const nodeXz = NODE_CODECS.xz as (input: Uint8Array, options: DecodeOptions) => Promise<Uint8Array>;
    await assert.rejects(nodeXz(badCheck, { maxOutputBytes: LIMIT }), (e: Error & { code?: string; offset?: number }) => {
      let expected: (Error & { code?: string; offset?: number }) | undefined;
      try {
        decode(badCheck);
      } catch (error) {
        expected = error as Error & { code?: string; offset?: number };
      }
      return e.code === "E_CHECKSUM" && e.message === expected?.message && e.offset === expected?.offset;
    });
    assertSameBytes(await nodeXz(small, { maxOutputBytes: LIMIT }), decode(small), "NODE_CODECS.xz");
  });

  it("random damage never escapes as another kind of error", () => {
    const sample = xz("sample64K", binary256K.subarray(0, 65536), kernelXzArgs(["--arm64"], "lp=2,lc=2"));
    const random = prng(2024);
    for (let round = 0; round < 300; round++) {
      const damaged = sample.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        // Mostly in the LZMA2 data, where nothing but the decoder itself can catch it.
        const at = 12 + Math.floor(random() * (damaged.length - 12));
        damaged[at] = Math.floor(random() * 256);
      }
      const input = random() < 0.2 ? damaged.subarray(0, Math.floor(random() * damaged.length)) : damaged;
      assertOnlyKimgErrors(() => decode(input, { maxOutputBytes: 4 * MiB }), ["E_CORRUPT_STREAM", "E_CHECKSUM", "E_LIMIT", "E_UNSUPPORTED"], `round ${round}`);
    }
  });
});
