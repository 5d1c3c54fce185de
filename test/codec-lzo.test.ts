import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { adler32, crc32 } from "../src/codecs/checksums.js";
import { decodeLzo, lzo1xDecompress } from "../src/codecs/lzo.js";
import type { DecodeOptions } from "../src/codecs/types.js";
import { KimgError } from "../src/io/errors.js";
import { MiB, assertKimgError, assertSameBytes, concat, randomBytes, realBinary, run } from "./helpers/codec-testing.js";
import { needs } from "./helpers/tools.js";

const LIMIT = 256 * MiB;

function decode(input: Uint8Array, options: Partial<DecodeOptions> = {}): Uint8Array {
  return decodeLzo(input, { maxOutputBytes: LIMIT, ...options }) as Uint8Array;
}

const lzopCache = new Map<string, Uint8Array>();

/** `lzop -9` (scripts/Makefile.lib cmd_lzo) or other flags; each sample compressed once. */
function lzop(data: Uint8Array, args: string[] = ["-9"]): Uint8Array {
  const key = `${args.join(" ")}|${data.length}|${data[data.length >> 1] ?? ""}|${data[0] ?? ""}`;
  let compressed = lzopCache.get(key);
  if (compressed === undefined) {
    compressed = run("lzop", [...args, "-c"], data);
    lzopCache.set(key, compressed);
  }
  return compressed;
}

function u32be(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

const F_ADLER32_D = 0x1;
const F_ADLER32_C = 0x2;
const F_H_EXTRA_FIELD = 0x40;
const F_CRC32_D = 0x100;
const F_CRC32_C = 0x200;
const F_H_CRC32 = 0x1000;
/** In a file lzop 1.04 writes from stdin (no name): flags at 17, name length at 33, header checksum at 34. */
const FLAGS_OFFSET = 17;
const HEADER_CHECKSUM_OFFSET = 34;

/**
 * Rewrites an lzop file with the optional parts lzop 1.04 never writes by itself: checksums of the
 * compressed data and a header extra field. Real lzop must accept the result (checked in the test).
 */
function addOptionalParts(file: Uint8Array, options: { compressedChecksums?: boolean; extraField?: Uint8Array }): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.length);
  assert.equal(file[HEADER_CHECKSUM_OFFSET - 1], 0, "expects a file compressed from stdin");
  let flags = view.getUint32(FLAGS_OFFSET);
  const useCrc = (flags & F_H_CRC32) !== 0;
  const check = (bytes: Uint8Array): number => (useCrc ? crc32(bytes) : adler32(bytes));
  if (options.compressedChecksums) flags |= useCrc ? F_CRC32_C : F_ADLER32_C;
  if (options.extraField) flags |= F_H_EXTRA_FIELD;

  const header = file.slice(0, HEADER_CHECKSUM_OFFSET);
  new DataView(header.buffer).setUint32(FLAGS_OFFSET, flags);
  const parts = [header, u32be(check(header.subarray(9)))];
  if (options.extraField) {
    const field = concat(u32be(options.extraField.length), options.extraField);
    parts.push(field, u32be(check(field)));
  }
  const dataChecksumBytes = (flags & F_ADLER32_D ? 4 : 0) + (flags & F_CRC32_D ? 4 : 0);
  let pos = HEADER_CHECKSUM_OFFSET + 4;
  for (;;) {
    const dstLen = view.getUint32(pos);
    if (dstLen === 0) break;
    const srcLen = view.getUint32(pos + 4);
    const dataStart = pos + 8 + dataChecksumBytes;
    const data = file.subarray(dataStart, dataStart + srcLen);
    parts.push(file.subarray(pos, dataStart));
    if (options.compressedChecksums && srcLen < dstLen) parts.push(u32be(check(data)));
    parts.push(data);
    pos = dataStart + srcLen;
  }
  parts.push(u32be(0));
  return concat(...parts);
}

describe("lzop files (lzop -9)", { skip: needs("lzop") }, () => {
  const samples = new Map<string, Uint8Array>();

  before(() => {
    samples.set("empty", new Uint8Array(0));
    samples.set("one byte", Uint8Array.of(0x5a));
    samples.set("real binary, 3 MiB", realBinary(3 * MiB));
    samples.set("random, 1 MiB (stored blocks)", randomBytes(MiB));
    samples.set("zeros, 5 MiB", new Uint8Array(5 * MiB));
    samples.set(
      "short period pattern",
      Uint8Array.from({ length: 300000 }, (_, i) => "abc".charCodeAt(i % 3)),
    );
  });

  it("decodes what lzop -9 writes, byte for byte", () => {
    for (const [name, data] of samples) assertSameBytes(decode(lzop(data)), data, name);
  });

  it("decodes every method lzop writes (-1: LZO1X-1(15), -3: LZO1X-1, -7/-9: LZO1X-999) and --crc32", () => {
    const data = samples.get("real binary, 3 MiB")!;
    for (const args of [["-1"], ["-3"], ["-7"], ["-9", "--crc32"]]) {
      assertSameBytes(decode(lzop(data, args)), data, args.join(" "));
    }
    const crcFile = lzop(data, ["-9", "--crc32"]);
    assert.equal(new DataView(crcFile.buffer).getUint32(FLAGS_OFFSET) & (F_H_CRC32 | F_CRC32_D), F_H_CRC32 | F_CRC32_D);
  });

  it("verifies compressed-data checksums and skips a header extra field, as real lzop does", () => {
    const data = samples.get("real binary, 3 MiB")!;
    for (const args of [["-9"], ["-9", "--crc32"]]) {
      const file = addOptionalParts(lzop(data, args), {
        compressedChecksums: true,
        extraField: new TextEncoder().encode("kimg extra field"),
      });
      assertSameBytes(run("lzop", ["-dc"], file), data, `real lzop accepts the rewritten ${args.join(" ")} file`);
      assertSameBytes(decode(file), data, `rewritten ${args.join(" ")}`);
      const damaged = file.slice();
      damaged[file.length - 1000] = damaged[file.length - 1000]! ^ 0x10;
      const error = assertKimgError(() => decode(damaged), ["E_CHECKSUM"], `damaged ${args.join(" ")}`);
      assert.match(error.message, /compressed data/);
    }
  });

  it("ignores a wrong expectedSize hint", () => {
    const data = samples.get("real binary, 3 MiB")!;
    const compressed = lzop(data);
    for (const expectedSize of [data.length, 10, data.length - 1, data.length + 99, 0, Number.NaN, 2 ** 60]) {
      assertSameBytes(decode(compressed, { expectedSize }), data, `expectedSize ${expectedSize}`);
    }
  });

  it("throws E_LIMIT when the output would pass maxOutputBytes", () => {
    const data = samples.get("real binary, 3 MiB")!;
    const compressed = lzop(data);
    const error = assertKimgError(() => decode(compressed, { maxOutputBytes: MiB }), ["E_LIMIT"], "1 MiB cap");
    assert.equal(error.data.limit, "maxOutputBytes");
    assertKimgError(() => decode(compressed, { maxOutputBytes: MiB, expectedSize: 2 ** 50 }), ["E_LIMIT"], "huge hint");
    assertSameBytes(decode(compressed, { maxOutputBytes: data.length }), data, "cap equal to the size");
    assertKimgError(() => decode(compressed, { maxOutputBytes: data.length - 1 }), ["E_LIMIT"], "cap one short");
  });

  it("accepts concatenated files and ignores a trailing size trailer", () => {
    const a = samples.get("real binary, 3 MiB")!;
    const b = samples.get("short period pattern")!;
    assertSameBytes(decode(concat(lzop(a), lzop(b))), concat(a, b), "a + b");
    assertSameBytes(decode(concat(lzop(a), u32be(a.length))), a, "size trailer");
  });

  it("reports truncation as E_CORRUPT_STREAM", () => {
    const compressed = lzop(samples.get("real binary, 3 MiB")!);
    for (const cut of [0, 5, 9, 12, 20, 37, 38, 41, 50, 5000, compressed.length >> 1, compressed.length - 4, compressed.length - 1]) {
      assertKimgError(() => decode(compressed.subarray(0, cut)), ["E_CORRUPT_STREAM"], `cut at ${cut}`);
    }
  });

  it("reports damage as E_CHECKSUM or E_CORRUPT_STREAM", () => {
    const compressed = lzop(samples.get("real binary, 3 MiB")!);
    // Byte 21 is in the mode field, covered only by the header checksum.
    assertKimgError(() => decode(Uint8Array.from(compressed, (b, i) => (i === 21 ? b ^ 1 : b))), ["E_CHECKSUM"], "header");
    for (const at of [50, 1000, 100000, compressed.length >> 1, compressed.length - 100]) {
      const damaged = compressed.slice();
      damaged[at] = damaged[at]! ^ 0x55;
      assertKimgError(() => decode(damaged), ["E_CHECKSUM", "E_CORRUPT_STREAM"], `byte ${at}`);
    }
  });

  it("refuses filters and unknown methods with E_UNSUPPORTED", () => {
    const data = realBinary(100000);
    assertKimgError(() => decode(run("lzop", ["-9", "--filter=1", "-c"], data)), ["E_UNSUPPORTED"], "filter");
    const file = lzop(data);
    const nrv = file.slice();
    nrv[15] = 0x1a; // M_NRV1A, with the header checksum fixed so only the method is wrong
    nrv.set(u32be(adler32(nrv.subarray(9, HEADER_CHECKSUM_OFFSET))), HEADER_CHECKSUM_OFFSET);
    assertKimgError(() => decode(nrv), ["E_UNSUPPORTED"], "method 0x1a");
  });

  it("never throws anything but a KimgError on damaged input", () => {
    const compressed = lzop(realBinary(256 * 1024, 30 * MiB));
    let x = 0x2545f491;
    for (let round = 0; round < 300; round++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const damaged = compressed.slice();
      const at = x % damaged.length;
      damaged[at] = damaged[at]! ^ (1 + ((x >>> 16) % 255));
      try {
        decode(damaged, { maxOutputBytes: 8 * MiB });
      } catch (error) {
        assert.ok(error instanceof KimgError, `round ${round}: ${String(error)}`);
        assert.ok(["E_CORRUPT_STREAM", "E_CHECKSUM", "E_UNSUPPORTED", "E_LIMIT"].includes(error.code), `round ${round}: ${error.code}`);
      }
    }
  });

  it("reports progress, ending with the output size", () => {
    const data = samples.get("zeros, 5 MiB")!;
    const seen: number[] = [];
    decode(lzop(data), { onProgress: (bytes) => seen.push(bytes) });
    assert.ok(seen.length >= 2);
    assert.equal(seen.at(-1), data.length);
  });
});

describe("LZO1X bitstream edge cases (hand-built)", () => {
  const text = (s: string): number[] => [...new TextEncoder().encode(s)];
  const END = [0x11, 0x00, 0x00];

  function lzo1x(block: number[], outputBytes = 4096): Uint8Array {
    const input = Uint8Array.from(block);
    const output = new Uint8Array(outputBytes);
    const end = lzo1xDecompress(input, 0, input.length, output, 0, output.length);
    return output.subarray(0, end);
  }

  it("decodes the end marker alone, first-byte literal runs and 2-byte matches after 1..3 literals", () => {
    assert.equal(lzo1x(END).length, 0);
    // 18 = one literal (state 1); 0x01 = copy 2 from distance 1, then 1 literal.
    assert.equal(new TextDecoder().decode(lzo1x([18, ...text("a"), 0x01, 0x00, ...text("b"), ...END])), "aaab");
    // 0 then zero bytes: a literal run of 3 + 15 + 255 + 5 = 278 bytes.
    const long = Array.from({ length: 278 }, (_, i) => 0x20 + (i % 90));
    assert.deepEqual([...lzo1x([0x00, 0x00, 0x05, ...long, ...END])], long);
  });

  it("decodes an lzo-rle (bitstream version 1) run of zeros, which version 0 reads as a far match", () => {
    // 17, 1: version 1. 21: four literals. 0x18 + LE16 0xFFFC + X=12: ((12 << 3) | 0) + 4 = 100 zeros.
    const body = [21, ...text("ABCD"), 0x18, 0xfc, 0xff, 12, ...END];
    assert.deepEqual([...lzo1x([17, 1, ...body])], [...text("ABCD"), ...new Array<number>(100).fill(0)]);
    assert.throws(
      () => lzo1x(body),
      (e: unknown) => e instanceof KimgError && e.code === "E_CORRUPT_STREAM",
    );
  });

  it("rejects look-behind past the block start, overruns, missing or misplaced end markers", () => {
    const cases: Array<[string, number[], number?]> = [
      ["3-byte match from 2049+ back after 4 literals", [21, ...text("abcd"), 0x00, 0x00, ...END]],
      ["match before the start", [18, ...text("a"), 0x05, 0x00, ...END]],
      ["literals past the input", [30, ...text("abc")]],
      ["no end marker", [21, ...text("abcd")]],
      ["data after the end marker", [...END, 0x00]],
      ["end marker with a bad length", [21, ...text("abcd"), 0x12, 0x00, 0x00]],
      ["output overrun", [21, ...text("abcd"), ...END], 3],
    ];
    for (const [what, block, outputBytes] of cases) {
      assert.throws(
        () => lzo1x(block, outputBytes),
        (e: unknown) => e instanceof KimgError && e.code === "E_CORRUPT_STREAM",
        what,
      );
    }
  });
});
