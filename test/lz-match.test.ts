/**
 * The LZ77 copies lz4 and LZO1X share, against a plain byte-by-byte copy: every short length,
 * distance and amount of room, so the 8-byte steps never change a byte before op + length's
 * result, never read what is not yet written, and never write at or past `end`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { copyLiterals, copyMatch } from "../src/codecs/lz-match.js";

const SIZE = 96;

function pattern(): Uint8Array {
  const bytes = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) bytes[i] = (i * 37 + 11) & 255;
  return bytes;
}

test("copyMatch equals a byte-by-byte copy and stays below end", () => {
  const op = 40;
  for (let length = 1; length <= 40; length++) {
    for (let distance = 1; distance <= op; distance++) {
      for (let end = op + length; end <= Math.min(SIZE, op + length + 10); end++) {
        const expected = pattern();
        for (let k = 0; k < length; k++) expected[op + k] = expected[op - distance + k]!;
        const actual = pattern();
        copyMatch(actual, op, distance, length, end);
        const where = `length ${length}, distance ${distance}, end op+${end - op}`;
        assert.deepEqual(actual.subarray(0, op + length), expected.subarray(0, op + length), where);
        assert.deepEqual(actual.subarray(end), expected.subarray(end), `${where}: wrote at or past end`);
      }
    }
  }
});

test("copyLiterals equals a byte-by-byte copy and stays below end and the input", () => {
  const op = 20;
  for (let count = 0; count <= 40; count++) {
    for (const inputLength of [count, count + 3, count + 8, count + 40]) {
      for (let end = op + count; end <= Math.min(SIZE, op + count + 10); end++) {
        const input = new Uint8Array(inputLength).map((_, i) => (i * 101 + 7) & 255);
        const expected = pattern();
        expected.set(input.subarray(0, count), op);
        const actual = pattern();
        copyLiterals(input, 0, actual, op, count, end);
        const where = `count ${count}, input ${inputLength}, end op+${end - op}`;
        assert.deepEqual(actual.subarray(0, op + count), expected.subarray(0, op + count), where);
        assert.deepEqual(actual.subarray(end), expected.subarray(end), `${where}: wrote at or past end`);
      }
    }
  }
});
