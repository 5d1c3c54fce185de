/**
 * `npm run bench`: kimg end to end (process start included) against native tools, measured in
 * the same run with the runs interleaved; best of RUNS each, the median of the per-run ratios
 * ("paired", for a machine whose speed drifts), and peak memory (RSS).
 *
 * - extract, per codec: `kimg extract FILE -o OUT` beside the native pipeline on the same payload
 *   (`tail -c +N FILE | head -c SIZE | TOOL -dc > OUT`), each writing a new OUT (the last run's is
 *   removed untimed); and, for information, both writing over the last run's OUT (kimg with
 *   --force), which adds the file system's freeing of the old file. The payload is a ~40 MB arm64 Image: a
 *   builder-made header and PE around real machine code and data from this machine's binaries
 *   (or KIMG_BENCH_IMAGE's bytes), compressed with the kernel's own flags, wrapped as zboot and
 *   as a bzImage payload (bzip2: bzImage only, the only place the kernel uses it).
 * - Debian's own kernels, when scripts/fetch-debian-kernels.sh has cached them (KIMG_DEBIAN_CACHE,
 *   default /var/cache/kimg-debian): the zstd and xz bzImages and the loong64 zstd zboot.
 * - inspect: `kimg inspect --json` of a 48 MB arm64 Image (nothing to unpack) beside `node -e 0`,
 *   and of Debian's signed arm64 Images when cached.
 *
 * Peak RSS is held against the inner image's size + 100 MB. Arguments filter the rows by name.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { ByteWriter, concat } from "../support/builders/bytes.js";
import { compressWith, type Tool } from "../support/builders/compress.js";
import { buildArm64Image, buildBzImage, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { realBinaryCorpus } from "./corpus.js";

const RUNS = Number(process.env.KIMG_BENCH_RUNS ?? 5);
const SIZE = Number(process.env.KIMG_BENCH_MB ?? 40) * 1024 * 1024;
/** Real code in the inspect Image: 48 MB with its header, the size of Debian sid's arm64 Image. */
const INSPECT_SIZE = 46 * 1024 * 1024;
const DIR = "/tmp/kimg-bench";
const DEBIAN = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
const MB = 1e6;
/** The kimg to time (another checkout's bin/kimg.js compares two versions with the same rows). */
const KIMG = process.env.KIMG_BENCH_BIN ?? "bin/kimg.js";
/** Another kimg (say, the main branch's bin/kimg.js) timed in the same interleaved runs: its ratio is printed beside. */
const BASE = process.env.KIMG_BENCH_BASE;
/**
 * KIMG_BENCH_CPU=1: CPU time (user + system, 10 ms steps) instead of wall time, which a machine
 * busy with other work inflates at random. It adds up the stages of a native pipeline, which wall
 * time sees side by side, so its ratios flatter kimg a little: read them beside a wall-time run.
 */
const CPU = process.env.KIMG_BENCH_CPU === "1";
mkdirSync(DIR, { recursive: true });

/** A plain arm64 Image of `size` bytes of real code; with `banner`, a kernel banner where real Images have it (about half-way). */
function arm64Image(size: number, dir: string, banner = false): Uint8Array {
  const given = process.env.KIMG_BENCH_IMAGE;
  const body = new Uint8Array(readFileSync(given ?? realBinaryCorpus(dir, size))).subarray(0, size);
  const img = concat(buildArm64Image({ codeSize: 0x1000 }), body);
  new DataView(img.buffer).setBigUint64(0x10, BigInt(img.length), true);
  if (banner) img.set(new TextEncoder().encode("Linux version 6.12.0-bench (bench@kimg) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC\n\0"), Math.floor(img.length / 2));
  return img;
}

interface Extract {
  name: string;
  target: number;
  file: string;
  /** The compressed stream inside `file`. */
  offset: number;
  length: number;
  native: string;
  /** The layer kimg writes (a real bzImage is itself the bootable kernel). */
  layer?: string;
  innerBytes: number;
}

interface Inspect {
  name: string;
  target: number;
  file: string;
}

const NATIVE: Record<string, string> = {
  gzip: "gzip -dc",
  zstd: "zstd -dc",
  xz: "xz -dc",
  lzma: "xz --format=lzma -dc",
  lz4: "lz4 -dc",
  lzo: "lzop -dc",
  bzip2: "bzip2 -dc",
};
/** The issue's targets (kimg / native); bzip2, which has none, is held to gzip's. */
const TARGET: Record<string, number> = { gzip: 1.3, zstd: 1.3, xz: 1.5, lzma: 1.5, lz4: 2, lzo: 2, bzip2: 1.3 };
const ZBOOT: Array<[codec: string, tool: Tool, compType: string]> = [
  ["gzip", "gzip", "gzip"],
  ["zstd", "zstd", "zstd22"],
  ["xz", "xz-arm64", "xzkern"],
  ["lzma", "lzma", "lzma"],
  ["lz4", "lz4", "lz4"],
  ["lzo", "lzo", "lzo"],
];

const only = process.argv.slice(2);
const wanted = (name: string): boolean => only.length === 0 || only.some((o) => name.includes(o));

/** The compressed payload of each codec, made once per folder (zstd -22 and xz take minutes). */
function payloads(): Map<string, { payload: Uint8Array; inner: number }> {
  const img = arm64Image(SIZE, DIR);
  const result = new Map<string, { payload: Uint8Array; inner: number }>();
  for (const [codec, tool, compType] of [...ZBOOT, ["bzip2", "bzip2", ""] as const]) {
    if (!wanted(codec)) continue;
    const file = join(DIR, `payload-${codec}.bin`);
    const { toCompress } = compType ? zbootInputs(img, "v6.4", compType) : { toCompress: img };
    if (!existsSync(file)) {
      console.log(`compressing ${(toCompress.length / MB).toFixed(1)} MB with ${tool} ...`);
      writeFileSync(file, compressWith(tool, toCompress));
    }
    result.set(codec, { payload: new Uint8Array(readFileSync(file)), inner: toCompress.length });
  }
  return result;
}

function syntheticCases(): Extract[] {
  const cases: Extract[] = [];
  const img = arm64Image(SIZE, DIR);
  for (const [codec, { payload, inner }] of payloads()) {
    const compType = ZBOOT.find((z) => z[0] === codec)?.[2];
    if (compType) {
      const file = join(DIR, `zboot-${codec}.efi`);
      const { trailer } = zbootInputs(img, "v6.4", compType);
      const z = buildZboot({ machine: MACHINE.ARM64, compType, payload, trailer: trailer(payload) });
      writeFileSync(file, z.bytes);
      cases.push({
        name: `${codec} zboot`,
        target: TARGET[codec]!,
        file,
        offset: z.payloadOffset,
        length: payload.length,
        native: NATIVE[codec]!,
        innerBytes: inner,
      });
    }
    // mkpiggy's layout: the stream, then its decompressed size as a le32 (gzip's ISIZE is the same number).
    const file = join(DIR, `bzimage-${codec}`);
    const withSize = codec === "gzip" ? payload : concat(payload, new ByteWriter(4).u32(0, inner).bytes);
    writeFileSync(file, buildBzImage({ payload: withSize }));
    cases.push({
      name: `${codec} bzImage`,
      target: TARGET[codec]!,
      file,
      offset: (0x1f + 1) * 512 + 0x800,
      length: payload.length,
      native: NATIVE[codec]!,
      innerBytes: inner,
    });
  }
  return cases;
}

/** Debian's kernels from the fetch script's manifest (suite/arch-flavour/image or arch-flavour/image). */
function debianImage(suite: string, arch: string): string | null {
  const manifest = join(DEBIAN, "manifest.tsv");
  if (!existsSync(manifest)) return null;
  for (const line of readFileSync(manifest, "utf8").split("\n").slice(1)) {
    const [a, flavour, , , s, image] = line.split("\t");
    if (a !== arch || s !== suite || !image) continue;
    for (const path of [join(DEBIAN, suite, `${a}-${flavour}`, image), join(DEBIAN, `${a}-${flavour}`, image)]) if (existsSync(path)) return path;
  }
  return null;
}

function kimgJson(args: string[]): { root: Layer; summary: { compression: string | null } } {
  const r = spawnSync("node", ["bin/kimg.js", ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`kimg ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { root: Layer; summary: { compression: string | null } };
}

interface Layer {
  path: string;
  format: string;
  offset: number;
  info: Record<string, unknown>;
  children: Layer[];
}

function debianCases(): Extract[] {
  const cases: Extract[] = [];
  for (const [suite, arch, label] of [
    ["trixie", "amd64", "Debian 13 amd64 bzImage"],
    ["bookworm", "amd64", "Debian 12 amd64 bzImage"],
    ["sid", "loong64", "Debian sid loong64 zboot"],
  ] as const) {
    const file = debianImage(suite, arch);
    if (!file) continue;
    const report = kimgJson(["inspect", "--json", "--shallow", file]);
    const payload = report.root.children.find((c) => c.format === "compressed");
    const codec = String(payload?.info.codec ?? "");
    if (!payload || !NATIVE[codec] || !wanted(codec)) continue;
    cases.push({
      name: `${codec} ${label}`,
      target: TARGET[codec]!,
      file,
      offset: payload.offset,
      length: Number(payload.info.compressedSize),
      native: NATIVE[codec]!,
      layer: "/payload/decompressed",
      innerBytes: Number(payload.info.expectedSize),
    });
  }
  return cases;
}

function inspectCases(): Inspect[] {
  const cases: Inspect[] = [];
  if (!wanted("inspect")) return cases;
  const file = join(DIR, "Image-48MB");
  if (!existsSync(file) || statSync(file).size < INSPECT_SIZE) writeFileSync(file, arm64Image(INSPECT_SIZE, join(DIR, "inspect"), true));
  cases.push({ name: `inspect ${(statSync(file).size / MB).toFixed(0)} MB arm64 Image`, target: 1.5, file });
  for (const [suite, label] of [
    ["trixie", "Debian 13"],
    ["bookworm", "Debian 12"],
  ] as const) {
    const real = debianImage(suite, "arm64");
    if (real) cases.push({ name: `inspect ${label} arm64 Image ${(statSync(real).size / MB).toFixed(0)} MB, signed`, target: 1.5, file: real });
  }
  return cases;
}

/**
 * One run of `command`: its wall time, taken around the command itself, and nothing else; or,
 * with KIMG_BENCH_CPU=1, its CPU time and peak RSS through /usr/bin/time. Wall times were taken
 * around /usr/bin/time too until 2026-12: its own start (6-10 ms here) was then added to both
 * sides of every ratio, which drew them towards 1 (`inspect` read 1.66x where the commands
 * themselves take 1.85x).
 */
function timed(command: string[]): { ms: number; rss: number } {
  if (CPU) return throughTime(command);
  const t = process.hrtime.bigint();
  const r = spawnSync(command[0] as string, command.slice(1), { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${command.join(" ")} failed: ${r.stderr}`);
  return { ms: wall, rss: 0 };
}

/** CPU time (user + system, ms) and peak RSS (bytes) of one run of `command`, through /usr/bin/time. */
function throughTime(command: string[]): { ms: number; rss: number } {
  const r = spawnSync("/usr/bin/time", ["-f", "%M %U %S", ...command], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${command.join(" ")} failed: ${r.stderr}`);
  const [rss, user, system] = (r.stderr.trim().split("\n").pop() ?? "").split(" ").map(Number);
  // The shell's times include the pipeline's (waited-for) processes.
  return { ms: ((user ?? 0) + (system ?? 0)) * 1000, rss: (rss ?? 0) * 1024 };
}

/** The median of `values` (not empty). */
function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

interface Race {
  /** Best time of each. */
  native: number;
  kimg: number;
  base: number;
  /** kimg's peak RSS. */
  rss: number;
  /**
   * The median over the runs of kimg's time / native's time in the same run (and base's): on a
   * machine whose speed drifts from one moment to the next, both commands of a run see the same
   * moment, which best-of-each does not pair up.
   */
  paired: number;
  pairedBase: number;
}

/**
 * Runs the commands RUNS times, alternating (with KIMG_BENCH_BASE's too); best time of each, kimg's
 * peak RSS. `fresh` names the files the two write: each is removed, untimed, before its command runs.
 */
function race(native: string[], kimg: string[], fresh?: { native: string; kimg: string }): Race {
  let best = { native: Infinity, kimg: Infinity, base: Infinity, rss: 0 };
  const ratios: number[] = [];
  const baseRatios: number[] = [];
  const run = (command: string[], writes: string | undefined) => {
    if (writes !== undefined) rmSync(writes, { force: true });
    return timed(command);
  };
  for (let i = 0; i < RUNS; i++) {
    const n = run(native, fresh?.native);
    const k = run(kimg, fresh?.kimg);
    const b =
      BASE === undefined
        ? Infinity
        : run(
            kimg.map((arg) => (arg === KIMG ? BASE : arg)),
            fresh?.kimg,
          ).ms;
    best = { native: Math.min(best.native, n.ms), kimg: Math.min(best.kimg, k.ms), base: Math.min(best.base, b), rss: Math.max(best.rss, k.rss) };
    ratios.push(k.ms / n.ms);
    baseRatios.push(b / n.ms);
  }
  if (!CPU) {
    if (fresh?.kimg !== undefined) rmSync(fresh.kimg, { force: true });
    // Peak memory from one more run, untimed.
    best.rss = throughTime(kimg).rss;
  }
  return { ...best, paired: median(ratios), pairedBase: median(baseRatios) };
}
/** The paired median (see Race), and base's ratios when there is a base. */
const baseNote = (r: Race): string =>
  `   paired ${r.paired.toFixed(2)}x` + (BASE === undefined ? "" : `   base ${(r.base / r.native).toFixed(2)}x, paired ${r.pairedBase.toFixed(2)}x`);

const rows: string[] = [];
/** One row; `target` null for a row given for information (no verdict on its time, nor, for a row that is not kimg's, on its memory). */
const fmt = (name: string, c: number | string, n: number, k: number, target: number | null, rss: number, inner: number, note = "", kimgRow = true): string => {
  const ratio = k / n;
  const rssRatio = rss / (inner + 100 * MB);
  const verdict = target === null ? `${"-".padStart(6)}     ` : `${`${target}x`.padStart(6)} ${ratio <= target ? " ok " : "MISS"}`;
  const rssVerdict = kimgRow ? (rssRatio <= 1 ? " ok " : " MISS") : "    ";
  return `${name.padEnd(52)} ${String(c).padStart(8)} ${n.toFixed(0).padStart(8)} ${k.toFixed(0).padStart(8)} ${ratio.toFixed(2).padStart(6)}x ${verdict} ${(rss / MB).toFixed(0).padStart(6)} ${(inner / MB).toFixed(0).padStart(5)} ${rssRatio.toFixed(2).padStart(5)}${rssVerdict}${note}`;
};

console.log(`${KIMG} on node ${process.version}; best of ${RUNS} interleaved runs; ${CPU ? "CPU times" : "times"} in ms${BASE ? `; base: ${BASE}` : ""}\n`);
// Node 20 reads these certificates at every start (Node 22+ only when TLS needs them): a fixed
// cost on every kimg row that the native tools do not pay (README, "Speed").
if (process.env.NODE_EXTRA_CA_CERTS && Number(process.versions.node.split(".")[0]) < 22) {
  console.log(`note: NODE_EXTRA_CA_CERTS is set, which Node ${process.versions.node} reads at every start (tens of ms here); run on Node 22+ or unset it\n`);
}
const header = `${"case".padEnd(52)} ${"in MB".padStart(8)} ${"native".padStart(8)} ${"kimg".padStart(8)} ${"ratio".padStart(7)} ${"target".padStart(6)}      ${"RSS MB".padStart(6)} ${"inner".padStart(5)} ${"RSS/(inner+100MB)"}`;
console.log(header);
const out = join(DIR, "out");
/** The native pipeline on a case's payload, writing OUT.native. */
const nativePipeline = (c: Extract): string[] => ["sh", "-c", `tail -c +${c.offset + 1} '${c.file}' | head -c ${c.length} | ${c.native} > '${out}.native'`];
/** `kimg extract FILE -o OUT` as the issue times it; with `force`, over the last run's OUT. */
const kimgExtract = (c: Extract, force = false): string[] => [
  "node",
  KIMG,
  "extract",
  c.file,
  "-o",
  `${out}.kimg`,
  ...(force ? ["--force"] : []),
  ...(c.layer ? ["--layer", c.layer] : []),
];
/** Each timed run writes a new file, as a first extraction does: the last run's output is removed untimed. */
const newFiles = { native: `${out}.native`, kimg: `${out}.kimg` };
const sameOutput = (): boolean => {
  const kimgOut = readFileSync(`${out}.kimg`);
  return kimgOut.equals(readFileSync(`${out}.native`).subarray(0, kimgOut.length));
};
const synthetic = syntheticCases();
for (const c of [...synthetic, ...debianCases()]) {
  if (!wanted(c.name)) continue;
  const r = race(nativePipeline(c), kimgExtract(c), newFiles);
  rows.push(
    fmt(
      `extract ${c.name}`,
      (c.length / MB).toFixed(1),
      r.native,
      r.kimg,
      c.target,
      r.rss,
      c.innerBytes,
      (sameOutput() ? "" : "   OUTPUT DIFFERS") + baseNote(r),
    ),
  );
  console.log(rows[rows.length - 1]);
}
// For information: replacing the last run's output. Freeing the old file's 42 MB (page cache and
// blocks) is the file system's work; the native pipeline's `> OUT` truncation does it while its
// other stages start, kimg's rename when the new file is complete (the old one must last until then).
for (const c of synthetic.filter((x) => x.name === "zstd zboot" || x.name === "lz4 zboot")) {
  if (!wanted(`replace ${c.name}`)) continue;
  const r = race(nativePipeline(c), kimgExtract(c, true));
  rows.push(
    fmt(
      `extract ${c.name} over the last output, --force`,
      (c.length / MB).toFixed(1),
      r.native,
      r.kimg,
      null,
      r.rss,
      c.innerBytes,
      (sameOutput() ? "" : "   OUTPUT DIFFERS") + baseNote(r),
    ),
  );
  console.log(rows[rows.length - 1]);
}
for (const c of inspectCases()) {
  const r = race(["node", "-e", "0"], ["node", KIMG, "inspect", "--json", c.file]);
  const size = statSync(c.file).size;
  rows.push(fmt(`${c.name} / node -e 0`, (size / MB).toFixed(1), r.native, r.kimg, c.target, r.rss, size, baseNote(r)));
  console.log(rows[rows.length - 1]);
}
// Plain Node beside the zstd and lz4 rows: a bare Node script doing what an extract must (start,
// read the payload into memory, decode it with Node's own zstd where Node has one, write a new
// file), against the same native pipeline. These were the floors kimg stood on until it stopped
// reading into fresh memory (mapped input, huge-page outputs): now they show what that saves.
const zlibZstd = typeof (zlib as unknown as { zstdDecompressSync?: unknown }).zstdDecompressSync === "function";
for (const c of synthetic.filter((x) => x.name === "zstd zboot" || x.name === "lz4 zboot")) {
  if (!wanted(`plain ${c.name}`) || (c.name.startsWith("zstd") && !zlibZstd)) continue;
  const read = `const fs=require("node:fs");const fd=fs.openSync(${JSON.stringify(c.file)});const input=Buffer.allocUnsafe(${c.length});fs.readSync(fd,input,0,${c.length},${c.offset});`;
  const work = c.name.startsWith("zstd")
    ? `fs.writeFileSync(${JSON.stringify(`${out}.floor`)},require("node:zlib").zstdDecompressSync(input,{chunkSize:${c.innerBytes + 1}}));`
    : // No native lz4 in Node: the script writes the output without decoding it.
      `fs.writeFileSync(${JSON.stringify(`${out}.floor`)},Buffer.alloc(${c.innerBytes}));`;
  const r = race(nativePipeline(c), ["node", "-e", read + work], { native: `${out}.native`, kimg: `${out}.floor` });
  const label = c.name.startsWith("zstd") ? "node:zlib zstd, read, decode, write" : "read, write (no decode)";
  rows.push(
    fmt(`plain Node ${c.name}: ${label}`, (c.length / MB).toFixed(1), r.native, r.kimg, null, r.rss, c.innerBytes, `   paired ${r.paired.toFixed(2)}x`, false),
  );
  console.log(rows[rows.length - 1]);
}
// Plain Node beside the inspect rows: Node starting and reading the file into memory, nothing else.
for (const c of inspectCases().slice(0, 1)) {
  const r = race(["node", "-e", "0"], ["node", "-e", `require("node:fs").readFileSync(${JSON.stringify(c.file)})`]);
  const size = statSync(c.file).size;
  rows.push(
    fmt(
      `plain Node reading the ${(size / MB).toFixed(0)} MB file / node -e 0`,
      (size / MB).toFixed(1),
      r.native,
      r.kimg,
      null,
      r.rss,
      size,
      `   paired ${r.paired.toFixed(2)}x`,
      false,
    ),
  );
  console.log(rows[rows.length - 1]);
}
console.log(
  "\nratio = kimg / native (inspect: / `node -e 0`), best time against best time, lower is better; paired = the median over the runs of kimg / native in the same run; RSS is kimg's peak, held to the inner image + 100 MB.",
);
