/**
 * Speed of our lz4, lzo and bzip2 decoders against the native `lz4 -dc`, `lzop -dc`, `bzip2 -dc`,
 * on 40 MiB of real binaries compressed with the kernel's own commands (scripts/Makefile.lib:
 * `lz4 -l -9`, `lzop -9`, `bzip2 -9`). Run: node --import tsx bench/lz-bzip2.ts
 *
 * The inputs are made once and kept in $TMPDIR/kimg-bench-lz. Each decoder is warmed up once
 * (output checked against the input), then timed as the best of a few runs; the native tools are
 * timed the same way, writing to /dev/null. Our decoders get the size as a hint, as the zboot
 * header or the bzImage size trailer gives it.
 */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeBzip2 } from "../src/codecs/bzip2.js";
import { decodeLz4 } from "../src/codecs/lz4.js";
import { decodeLzo } from "../src/codecs/lzo.js";
import type { Decoder } from "../src/codecs/types.js";
import { compressCorpus, CORPUS_BYTES, realBinaryCorpus, sh, sha256 } from "./corpus.js";

const INPUT_BYTES = CORPUS_BYTES;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dir = join(tmpdir(), "kimg-bench-lz");

const CASES = [
  { name: "lz4 legacy", file: "input.lz4", compress: "lz4 -l -9 -c", native: "lz4 -dc", decoder: decodeLz4 },
  { name: "lzo (lzop)", file: "input.lzo", compress: "lzop -9 -c", native: "lzop -dc", decoder: decodeLzo },
  { name: "bzip2", file: "input.bz2", compress: "bzip2 -9 -c", native: "bzip2 -dc", decoder: decodeBzip2 },
] as const;

function bestOf(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

function timeOurs(decoder: Decoder, input: Uint8Array, expectedHash: string): number {
  const options = { maxOutputBytes: 2 * INPUT_BYTES, expectedSize: INPUT_BYTES };
  const warm = decoder(input, options);
  if (warm instanceof Promise) throw new Error("expected a synchronous decoder");
  if (sha256(warm) !== expectedHash) throw new Error("our output differs from the input");
  return bestOf(RUNS, () => {
    decoder(input, options);
  });
}

function timeNative(command: string, path: string): number {
  sh(`${command} < '${path}' > /dev/null`);
  return bestOf(RUNS, () => sh(`${command} < '${path}' > /dev/null`));
}

const raw = realBinaryCorpus(dir, INPUT_BYTES);
compressCorpus(dir, raw, CASES);
const expectedHash = sha256(readFileSync(raw));
const megabytes = INPUT_BYTES / 1e6;
console.log(`output: ${megabytes.toFixed(1)} MB of real binaries; best of ${RUNS} runs`);
console.log("codec        compressed   ours ms  ours MB/s  native ms  native MB/s  ours/native");
for (const c of CASES) {
  const path = join(dir, c.file);
  const input = new Uint8Array(readFileSync(path));
  const ours = timeOurs(c.decoder, input, expectedHash);
  const native = timeNative(c.native, path);
  console.log(
    [
      c.name.padEnd(12),
      `${(input.length / 1e6).toFixed(1)} MB`.padStart(10),
      ours.toFixed(0).padStart(9),
      (megabytes / (ours / 1000)).toFixed(1).padStart(10),
      native.toFixed(0).padStart(10),
      (megabytes / (native / 1000)).toFixed(1).padStart(12),
      (native / ours).toFixed(2).padStart(12),
    ].join(" "),
  );
}
