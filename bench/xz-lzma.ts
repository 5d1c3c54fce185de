/**
 * Speed of our xz and lzma decoders against the native `xz -dc` / `lzma -dc`, on 40 MiB of real
 * binaries compressed with the kernel's own commands. Run: node --import tsx bench/xz-lzma.ts
 *
 * The inputs are made once and kept in $TMPDIR/kimg-bench-xz (compressing takes a minute).
 * Each decoder is warmed up once (output checked), then timed as the best of a few runs.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeLzma } from "../src/codecs/lzma.js";
import { decodeXz } from "../src/codecs/xz.js";
import type { Decoder } from "../src/codecs/types.js";

const INPUT_BYTES = 40 * 1024 * 1024;
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

function sh(command: string): void {
  const result = spawnSync("sh", ["-c", command], { stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${command}`);
}

function prepare(): string {
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, "input.bin");
  if (!existsSync(raw) || statSync(raw).size !== INPUT_BYTES) {
    const libDir = "/usr/lib/x86_64-linux-gnu";
    const libraries = readdirSync(libDir)
      .filter((name) => name.includes(".so"))
      .map((name) => join(libDir, name))
      .filter((path) => statSync(path).isFile())
      .slice(0, 200);
    sh(`cat /usr/bin/node ${libraries.map((p) => `'${p}'`).join(" ")} | head -c ${INPUT_BYTES} > '${raw}'`);
  }
  for (const c of CASES) {
    const path = join(dir, c.file);
    if (!existsSync(path)) {
      console.log(`compressing ${c.file} with: ${c.compress}`);
      sh(`${c.compress} < '${raw}' > '${path}.tmp' && mv '${path}.tmp' '${path}'`);
    }
  }
  return raw;
}

function bestOf(runs: number, run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const raw = prepare();
const expected = sha256(readFileSync(raw));
const mb = INPUT_BYTES / 1e6;
console.log(`input: ${INPUT_BYTES} bytes of /usr/bin/node and libraries; best of ${RUNS} runs; node ${process.version}`);
console.log("case       | ours ms | ours MB/s | native ms | native MB/s | ours vs native");
for (const c of CASES) {
  const path = join(dir, c.file);
  const input = new Uint8Array(readFileSync(path));
  const decode: Decoder = c.decoder;
  const options = { maxOutputBytes: 512 * 1024 * 1024 };
  const first = decode(input, options) as Uint8Array;
  if (sha256(first) !== expected) throw new Error(`${c.name}: wrong output`);
  const ours = bestOf(RUNS, () => decode(input, options));
  const native = bestOf(RUNS, () => sh(`${c.native} '${path}' > /dev/null`));
  const row = [
    c.name.padEnd(10),
    ours.toFixed(0).padStart(7),
    (mb / (ours / 1000)).toFixed(1).padStart(9),
    native.toFixed(0).padStart(9),
    (mb / (native / 1000)).toFixed(1).padStart(11),
    `${(ours / native).toFixed(2)}x slower`.padStart(16),
  ];
  console.log(row.join(" | "));
}
