/**
 * Speed of our xz and lzma decoders against the native `xz -dc` / `lzma -dc`, on 40 MiB of real
 * binaries compressed with the kernel's own commands. Run: node --import tsx bench/xz-lzma.ts
 *
 * The inputs are made once and kept in $TMPDIR/kimg-bench-xz (compressing takes a minute).
 * Our decoder is warmed up once (output checked); then ours and the native tool run alternately,
 * and each is timed as the best of a few runs, in wall time and in CPU time.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeLzma } from "../src/codecs/lzma.js";
import { decodeXz } from "../src/codecs/xz.js";
import type { Decoder } from "../src/codecs/types.js";
import { compressCorpus, CORPUS_BYTES, realBinaryCorpus, sha256 } from "./corpus.js";

const INPUT_BYTES = CORPUS_BYTES;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dir = join(tmpdir(), "kimg-bench-xz");

/** The kernel's commands: scripts/xz_wrap.sh (x86, arm64) and scripts/Makefile.lib (lzma). */
const CASES = [
  { name: "xz x86", file: "input.x86.xz", compress: "xz --check=crc32 --threads=1 --x86 --lzma2=dict=128MiB", native: "xz -dc", decoder: decodeXz },
  {
    name: "xz arm64",
    file: "input.arm64.xz",
    compress: "xz --check=crc32 --threads=1 --arm64 --lzma2=lp=2,lc=2,dict=128MiB",
    native: "xz -dc",
    decoder: decodeXz,
  },
  { name: "lzma", file: "input.lzma", compress: "lzma -9", native: "lzma -dc", decoder: decodeLzma },
] as const;

interface Timing {
  wallMs: number;
  cpuMs: number;
}

function timeOurs(run: () => void): Timing {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  run();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 };
}

/** Runs the native tool under sh; the `times` builtin reports the CPU time of sh's children. */
function timeNative(command: string): Timing {
  const wall = performance.now();
  const result = spawnSync("sh", ["-c", `${command} > /dev/null; times`], { encoding: "utf8" });
  const wallMs = performance.now() - wall;
  if (result.status !== 0) throw new Error(`failed: ${command}`);
  const children = result.stdout.trim().split("\n")[1] ?? "";
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wallMs, cpuMs: seconds.reduce((a, b) => a + b, 0) * 1000 };
}

function best(timings: Timing[]): Timing {
  return { wallMs: Math.min(...timings.map((t) => t.wallMs)), cpuMs: Math.min(...timings.map((t) => t.cpuMs)) };
}

const raw = realBinaryCorpus(dir, INPUT_BYTES);
compressCorpus(dir, raw, CASES);
const expected = sha256(readFileSync(raw));
const mb = INPUT_BYTES / 1e6;
console.log(`input: ${INPUT_BYTES} bytes of /usr/bin/node and libraries; best of ${RUNS} runs; node ${process.version}`);
console.log("The two decoders run alternately; CPU time is the fairer figure when the machine is busy.");
console.log("case       | ours ms (cpu) | native ms (cpu) | ours MB/s | native MB/s | ours/native wall | ours/native cpu");
for (const c of CASES) {
  const path = join(dir, c.file);
  const input = new Uint8Array(readFileSync(path));
  const decode: Decoder = c.decoder;
  const options = { maxOutputBytes: 512 * 1024 * 1024 };
  const first = decode(input, options) as Uint8Array;
  if (sha256(first) !== expected) throw new Error(`${c.name}: wrong output`);
  const oursRuns: Timing[] = [];
  const nativeRuns: Timing[] = [];
  for (let i = 0; i < RUNS; i++) {
    oursRuns.push(timeOurs(() => decode(input, options)));
    nativeRuns.push(timeNative(`${c.native} '${path}'`));
  }
  const ours = best(oursRuns);
  const native = best(nativeRuns);
  const row = [
    c.name.padEnd(10),
    `${ours.wallMs.toFixed(0)} (${ours.cpuMs.toFixed(0)})`.padStart(13),
    `${native.wallMs.toFixed(0)} (${native.cpuMs.toFixed(0)})`.padStart(15),
    (mb / (ours.wallMs / 1000)).toFixed(1).padStart(9),
    (mb / (native.wallMs / 1000)).toFixed(1).padStart(11),
    `${(ours.wallMs / native.wallMs).toFixed(2)}x`.padStart(16),
    `${(ours.cpuMs / native.cpuMs).toFixed(2)}x`.padStart(15),
  ];
  console.log(row.join(" | "));
}
