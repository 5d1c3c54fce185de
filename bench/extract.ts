/**
 * `npm run bench`: for each codec, `kimg extract` end to end (process start included) beside the
 * native pipeline on the same payload (`tail -c +N FILE | head -c SIZE | TOOL -dc`), measured in
 * the same run; best of RUNS each. Prints times, the ratio and kimg's peak memory (RSS).
 *
 * The payload is a ~40 MB arm64 Image: a builder-made header and PE around real machine code and
 * data from this machine's binaries (or a real Image given as KIMG_BENCH_IMAGE), compressed with
 * the kernel's own flags and wrapped as zboot (bzip2: as a bzImage payload, the only place the
 * kernel uses it).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ByteWriter, concat } from "../test/builders/bytes.js";
import { compressWith, type Tool } from "../test/builders/compress.js";
import { buildArm64Image, buildBzImage, buildZboot, zbootInputs } from "../test/builders/images.js";
import { MACHINE } from "../test/builders/pe.js";
import { realBinaryCorpus } from "./corpus.js";

const RUNS = Number(process.env.KIMG_BENCH_RUNS ?? 3);
const SIZE = Number(process.env.KIMG_BENCH_MB ?? 40) * 1024 * 1024;
const DIR = "/tmp/kimg-bench";
mkdirSync(DIR, { recursive: true });

function realBytes(size: number): Uint8Array {
  const given = process.env.KIMG_BENCH_IMAGE;
  return new Uint8Array(readFileSync(given ?? realBinaryCorpus(DIR, size))).subarray(0, size);
}

function image(): Uint8Array {
  const head = buildArm64Image({ codeSize: 0x1000 });
  const img = concat(head, realBytes(SIZE));
  const v = new DataView(img.buffer);
  v.setBigUint64(0x10, BigInt(img.length), true);
  return img;
}

interface Case {
  codec: string;
  tool: Tool;
  cli: string[];
  zbootId?: string;
}

const CASES: Case[] = [
  { codec: "gzip", tool: "gzip", cli: ["gzip", "-dc"], zbootId: "gzip" },
  { codec: "zstd", tool: "zstd", cli: ["zstd", "-dc"], zbootId: "zstd" },
  { codec: "xz", tool: "xz-arm64", cli: ["xz", "-dc"], zbootId: "xzkern" },
  { codec: "lzma", tool: "lzma", cli: ["xz", "--format=lzma", "-dc"], zbootId: "lzma" },
  { codec: "lz4", tool: "lz4", cli: ["lz4", "-dc"], zbootId: "lz4" },
  { codec: "lzo", tool: "lzo", cli: ["lzop", "-dc"], zbootId: "lzo" },
  { codec: "bzip2", tool: "bzip2", cli: ["bzip2", "-dc"] },
];

function best(run: () => void): number {
  let min = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    run();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return min;
}

const only = process.argv.slice(2);
const img = image();
console.log(`payload: ${(img.length / 1e6).toFixed(1)} MB arm64 Image; best of ${RUNS} runs\n`);
console.log("codec   compressed   native ms    kimg ms   ratio   kimg peak RSS");
for (const c of CASES) {
  if (only.length && !only.includes(c.codec)) continue;
  const file = join(DIR, `bench-${c.codec}.img`);
  const meta = join(DIR, `bench-${c.codec}.json`);
  if (!existsSync(file) || !existsSync(meta)) {
    let bytes: Uint8Array;
    let offset: number;
    let length: number;
    if (c.zbootId) {
      const { toCompress, trailer } = zbootInputs(img, "v6.4", c.zbootId);
      const payload = compressWith(c.tool, toCompress);
      const z = buildZboot({ machine: MACHINE.ARM64, compType: c.zbootId, payload, trailer: trailer(payload) });
      bytes = z.bytes;
      offset = z.payloadOffset;
      length = payload.length;
    } else {
      const payload = compressWith(c.tool, img);
      bytes = buildBzImage({ payload: concat(payload, new ByteWriter(4).u32(0, img.length).bytes) });
      offset = (0x1f + 1) * 512 + 0x800;
      length = payload.length;
    }
    writeFileSync(file, bytes);
    writeFileSync(meta, JSON.stringify({ offset, length }));
  }
  const { offset, length } = JSON.parse(readFileSync(meta, "utf8")) as { offset: number; length: number };
  const out = join(DIR, `out-${c.codec}`);
  const native = best(() => {
    execFileSync("bash", ["-c", `tail -c +${offset + 1} '${file}' | head -c ${length} | ${c.cli.join(" ")} > '${out}.native'`]);
  });
  let peak = 0;
  const ours = best(() => {
    const r = spawnSync("/usr/bin/time", ["-f", "%M", "node", "bin/kimg.js", "extract", file, "-o", `${out}.kimg`, "--force"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`kimg extract failed for ${c.codec}: ${r.stderr}`);
    peak = Math.max(peak, Number(r.stderr.trim().split("\n").pop()) * 1024);
  });
  const same = readFileSync(`${out}.kimg`).equals(readFileSync(`${out}.native`).subarray(0, statSync(`${out}.kimg`).size));
  console.log(
    `${c.codec.padEnd(6)} ${(length / 1e6).toFixed(1).padStart(8)} MB ${native.toFixed(0).padStart(10)} ${ours.toFixed(0).padStart(10)} ${(ours / native).toFixed(2).padStart(7)}x ${(peak / 1e6).toFixed(0).padStart(8)} MB${same ? "" : "   OUTPUT DIFFERS"}`,
  );
}
console.log(`\nratio = kimg / native (lower is better; 1.3x is the target). Peak RSS target: image size + 100 MB = ${((img.length + 100e6) / 1e6).toFixed(0)} MB.`);
