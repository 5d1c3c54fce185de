/**
 * Deterministic mutations of seed images. One input is a pure function of (run seed, iteration),
 * so the parent can rebuild the input of a worker it had to kill, and any failure replays from
 * two numbers. Mutations know the seed's header fields and structure boundaries (read from the
 * seed's own report), so they hit headers far more often than blind bit flips would.
 */
import { gzipSync } from "node:zlib";
import { buildBzImage, buildUki, buildZboot } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { concat } from "../support/builders/bytes.js";

/** A header field of a seed, in file offsets. */
export interface SeedField {
  name: string;
  offset: number;
  size: number;
}

export interface Seed {
  name: string;
  bytes: Uint8Array;
  fields: SeedField[];
  /** Offsets where a structure or a layer starts or ends: truncation points. */
  boundaries: number[];
}

export interface FuzzInput {
  bytes: Uint8Array;
  seed: string;
  mutations: string[];
}

/** Inputs larger than this are cut: wrapping can grow an input, and size adds nothing here. */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** sfc32, seeded through splitmix32: small, fast and the same on every platform. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seeds: number[]) {
    let s = 0x9e3779b9;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (const x of seeds) s = (s ^ Math.imul(x | 0, 0x27d4eb2d) ^ Math.floor(x / 0x100000000)) | 0;
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** 0 <= n < max. */
  below(max: number): number {
    return max <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * max);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
}

function writeUint(bytes: Uint8Array, at: number, size: number, value: bigint): void {
  for (let i = 0; i < size && at + i < bytes.length; i++) {
    if (at + i >= 0) bytes[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
  }
}

function readUint(bytes: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i] ?? 0);
  return v;
}

/** Values that break size and offset arithmetic: 0, max, "negative", sign edges, the data length. */
function interestingValue(rng: Rng, size: number, length: number, current: bigint): bigint {
  const bits = BigInt(size * 8);
  const max = (1n << bits) - 1n;
  const half = 1n << (bits - 1n);
  const choices: bigint[] = [
    0n,
    1n,
    max,
    max - 1n,
    half,
    half - 1n,
    BigInt(length),
    BigInt(length + 1),
    BigInt(Math.max(0, length - 1)),
    BigInt(length * 2),
    BigInt(length + rng.below(0x10000)),
    current + BigInt(rng.below(64)) - 32n,
    current * 2n,
    current >> 1n,
    0x40n,
    0x1000n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x100000000n,
    BigInt(Number.MAX_SAFE_INTEGER),
  ];
  return BigInt.asUintN(size * 8, rng.pick(choices)) & max;
}

const MAGICS: readonly number[][] = [
  [0x1f, 0x8b, 0x08],
  [0x28, 0xb5, 0x2f, 0xfd],
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
  [0x02, 0x21, 0x4c, 0x18],
  [0x04, 0x22, 0x4d, 0x18],
  [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a],
  [0x42, 0x5a, 0x68, 0x39],
  [0x5d, 0x00, 0x00, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x4d, 0x5a],
  [0x4d, 0x5a, 0, 0, 0x7a, 0x69, 0x6d, 0x67],
  [0x50, 0x45, 0, 0],
  [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1],
  [0x48, 0x64, 0x72, 0x53],
  [0x41, 0x52, 0x4d, 0x64],
  [0x52, 0x53, 0x43, 0x05],
  [0xcd, 0x23, 0x82, 0x81],
  [0xd0, 0x0d, 0xfe, 0xed],
  [0x30, 0x37, 0x30, 0x37, 0x30, 0x31],
  [0x2e, 0x6c, 0x69, 0x6e, 0x75, 0x78, 0, 0],
];

type Mutator = (rng: Rng, bytes: Uint8Array, seed: Seed, seeds: readonly Seed[]) => { bytes: Uint8Array; note: string };

/** A header offset most of the time, anywhere otherwise. */
function target(rng: Rng, bytes: Uint8Array, seed: Seed): number {
  if (seed.fields.length && rng.chance(0.6)) return rng.pick(seed.fields).offset;
  if (rng.chance(0.5)) return rng.below(Math.min(bytes.length, 0x1000));
  return rng.below(bytes.length);
}

const bitFlips: Mutator = (rng, bytes, seed) => {
  const out = bytes.slice();
  const n = 1 + rng.below(8);
  for (let i = 0; i < n && out.length; i++) {
    const at = rng.chance(0.5) ? target(rng, out, seed) : rng.below(out.length);
    if (at < out.length) out[at] = (out[at] ?? 0) ^ (1 << rng.below(8));
  }
  return { bytes: out, note: `flip ${n} bits` };
};

const randomBytes: Mutator = (rng, bytes, seed) => {
  const out = bytes.slice();
  const n = 1 + rng.below(16);
  for (let i = 0; i < n && out.length; i++) {
    const at = target(rng, out, seed);
    if (at < out.length) out[at] = rng.below(256);
  }
  return { bytes: out, note: `set ${n} bytes` };
};

const byteRun: Mutator = (rng, bytes, seed) => {
  const out = bytes.slice();
  const at = target(rng, out, seed);
  const len = 1 + rng.below(rng.chance(0.8) ? 64 : 4096);
  const value = rng.pick([0x00, 0xff, 0x41, rng.below(256)]);
  out.fill(value, at, Math.min(out.length, at + len));
  return { bytes: out, note: `run of ${len} x ${value.toString(16)} at ${at.toString(16)}` };
};

const fieldValue: Mutator = (rng, bytes, seed) => {
  const out = bytes.slice();
  const field = seed.fields.length ? rng.pick(seed.fields) : { name: "word", offset: rng.below(Math.min(out.length, 0x400)) & ~3, size: 4 };
  const size = [1, 2, 4, 8].includes(field.size) ? field.size : rng.pick([2, 4]);
  const value = interestingValue(rng, size, out.length, readUint(out, field.offset, size));
  writeUint(out, field.offset, size, value);
  return { bytes: out, note: `${field.name}@${field.offset.toString(16)} = ${value.toString(16)}` };
};

const offsetPastEnd: Mutator = (rng, bytes, seed) => {
  const out = bytes.slice();
  const wide = seed.fields.filter((f) => f.size >= 4);
  const field = wide.length ? rng.pick(wide) : { name: "word", offset: rng.below(Math.min(out.length, 0x400)) & ~3, size: 4 };
  const size = Math.min(field.size, 8);
  const value = BigInt(out.length + rng.below(0x100) - 0x40);
  writeUint(out, field.offset, size, BigInt.asUintN(size * 8, value));
  return { bytes: out, note: `${field.name}@${field.offset.toString(16)} = length${value >= BigInt(out.length) ? "+" : "-"}` };
};

const swapFields: Mutator = (rng, bytes, seed) => {
  const out = bytes.slice();
  const sizes = seed.fields.filter((f) => f.size === 4 || f.size === 8 || f.size === 2);
  if (sizes.length < 2) return bitFlips(rng, bytes, seed, []);
  const a = rng.pick(sizes);
  const same = sizes.filter((f) => f.size === a.size && f.offset !== a.offset);
  if (!same.length) return bitFlips(rng, bytes, seed, []);
  const b = rng.pick(same);
  const va = readUint(out, a.offset, a.size);
  writeUint(out, a.offset, a.size, readUint(out, b.offset, b.size));
  writeUint(out, b.offset, b.size, va);
  return { bytes: out, note: `swap ${a.name} <-> ${b.name}` };
};

const truncateAtBoundary: Mutator = (rng, bytes, seed) => {
  const points = seed.boundaries.filter((b) => b > 0 && b < bytes.length);
  const at = points.length && rng.chance(0.8) ? Math.max(0, rng.pick(points) + rng.below(5) - 2) : rng.below(bytes.length);
  return { bytes: bytes.slice(0, at), note: `truncate at ${at.toString(16)}` };
};

const insertBytes: Mutator = (rng, bytes, seed) => {
  const at = Math.min(bytes.length, target(rng, bytes, seed));
  const len = 1 + rng.below(rng.chance(0.7) ? 16 : 2048);
  const fill = new Uint8Array(len).fill(rng.chance(0.5) ? 0 : rng.below(256));
  const out = new Uint8Array(bytes.length + len);
  out.set(bytes.subarray(0, at));
  out.set(fill, at);
  out.set(bytes.subarray(at), at + len);
  return { bytes: out, note: `insert ${len} at ${at.toString(16)}` };
};

const deleteRange: Mutator = (rng, bytes, seed) => {
  const len = Math.min(bytes.length, 1 + rng.below(rng.chance(0.7) ? 16 : 4096));
  const at = Math.min(bytes.length - len, target(rng, bytes, seed));
  const out = new Uint8Array(bytes.length - len);
  out.set(bytes.subarray(0, at));
  out.set(bytes.subarray(at + len), at);
  return { bytes: out, note: `delete ${len} at ${at.toString(16)}` };
};

const magic: Mutator = (rng, bytes, seed) => {
  const out = bytes.slice();
  const m = rng.pick(MAGICS);
  const at = rng.chance(0.3) ? 0 : target(rng, out, seed);
  for (let i = 0; i < m.length && at + i < out.length; i++) out[at + i] = m[i] ?? 0;
  return { bytes: out, note: `magic ${m.map((b) => b.toString(16)).join(" ")} at ${at.toString(16)}` };
};

/** Crossover: part of another seed over (or instead of) part of this one. */
const splice: Mutator = (rng, bytes, _seed, seeds) => {
  const other = rng.pick(seeds).bytes;
  if (!other.length) return { bytes: bytes.slice(), note: "splice nothing" };
  const from = rng.below(other.length);
  const len = 1 + rng.below(Math.min(other.length - from, 8192));
  const at = rng.below(bytes.length + 1);
  const out = bytes.slice();
  if (rng.chance(0.5)) {
    out.set(other.subarray(from, from + Math.min(len, out.length - at)), at);
    return { bytes: out, note: `splice ${len} over ${at.toString(16)}` };
  }
  const joined = new Uint8Array(at + len);
  joined.set(bytes.subarray(0, at));
  joined.set(other.subarray(from, from + len), at);
  return { bytes: joined, note: `append ${len} at ${at.toString(16)}` };
};

function gzip(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes, { level: 1 }));
}

function le32(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);
}

/** A zstd frame of Raw blocks (RFC 8878): valid zstd that any decoder must accept, made in-process. */
export function zstdStored(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58])];
  const block = 128 * 1024;
  for (let at = 0; at < bytes.length || at === 0; at += block) {
    const chunk = bytes.subarray(at, Math.min(bytes.length, at + block));
    const word = (chunk.length << 3) | (at + block >= bytes.length ? 1 : 0);
    parts.push(new Uint8Array([word & 0xff, (word >> 8) & 0xff, (word >> 16) & 0xff]), chunk);
    if (bytes.length === 0) break;
  }
  return concat(...parts);
}

/** An lz4 legacy frame (lz4 -l) whose blocks are one literal run each: valid lz4, made in-process. */
export function lz4Stored(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [le32(0x184c2102)];
  const block = 8 * 1024 * 1024;
  for (let at = 0; at < bytes.length; at += block) {
    const literals = bytes.subarray(at, Math.min(bytes.length, at + block));
    const extra: number[] = [];
    if (literals.length >= 15) {
      let rest = literals.length - 15;
      while (rest >= 255) {
        extra.push(255);
        rest -= 255;
      }
      extra.push(rest);
    }
    const head = new Uint8Array([Math.min(literals.length, 15) << 4, ...extra]);
    parts.push(le32(head.length + literals.length), head, literals);
  }
  return concat(...parts);
}

/**
 * Nesting: the (already mutated) input becomes the payload of a fresh container, so mutations
 * reach the inner formats instead of ending at a corrupt compressed stream.
 */
const wrap: Mutator = (rng, bytes) => {
  const kind = rng.pick([
    "gzip",
    "zboot",
    "zboot-v6.1",
    "zboot-zstd",
    "zboot-lz4",
    "bzimage",
    "bzimage-zstd",
    "uki",
    "uki-zboot",
    "gzip-gzip",
    "zstd-lz4",
  ] as const);
  const size4 = le32;
  switch (kind) {
    case "zstd-lz4":
      return { bytes: zstdStored(lz4Stored(bytes)), note: "wrap zstd(lz4)" };
    case "zboot-zstd":
    case "zboot-lz4": {
      // Makefile.zboot *_with_size: the le32 size follows the stream for every codec but gzip.
      const payload = kind === "zboot-zstd" ? zstdStored(bytes) : lz4Stored(bytes);
      const machine = rng.pick([MACHINE.ARM64, MACHINE.RISCV64, MACHINE.LOONGARCH64]);
      const zboot = buildZboot({ machine, compType: kind === "zboot-zstd" ? "zstd22" : "lz4", payload, trailer: size4(bytes.length) });
      return { bytes: zboot.bytes, note: `wrap ${kind}` };
    }
    case "bzimage-zstd":
      return { bytes: buildBzImage({ payload: concat(zstdStored(bytes), size4(bytes.length)) }), note: "wrap bzImage(zstd)" };
    case "gzip":
      return { bytes: gzip(bytes), note: "wrap gzip" };
    case "gzip-gzip":
      return { bytes: gzip(gzip(bytes)), note: "wrap gzip(gzip)" };
    case "zboot":
    case "zboot-v6.1": {
      const machine = rng.pick([MACHINE.ARM64, MACHINE.RISCV64, MACHINE.LOONGARCH64]);
      const zboot = buildZboot({ machine, compType: "gzip", payload: gzip(bytes), linuxPeMagic: kind === "zboot" });
      return { bytes: zboot.bytes, note: `wrap ${kind}` };
    }
    case "bzimage": {
      const payload = gzip(bytes);
      return { bytes: buildBzImage({ payload }), note: "wrap bzImage(gzip)" };
    }
    case "uki":
      return { bytes: buildUki({ linux: bytes, initrd: rng.chance(0.5) ? size4(bytes.length) : undefined }), note: "wrap UKI" };
    case "uki-zboot": {
      const zboot = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload: gzip(bytes) });
      return { bytes: buildUki({ machine: MACHINE.ARM64, linux: zboot.bytes }), note: "wrap UKI(zboot)" };
    }
  }
};

interface Weighted {
  name: string;
  weight: number;
  mutate: Mutator;
}

export const MUTATORS: readonly Weighted[] = [
  { name: "bitFlips", weight: 14, mutate: bitFlips },
  { name: "randomBytes", weight: 10, mutate: randomBytes },
  { name: "byteRun", weight: 6, mutate: byteRun },
  { name: "fieldValue", weight: 22, mutate: fieldValue },
  { name: "offsetPastEnd", weight: 8, mutate: offsetPastEnd },
  { name: "swapFields", weight: 5, mutate: swapFields },
  { name: "truncateAtBoundary", weight: 9, mutate: truncateAtBoundary },
  { name: "insertBytes", weight: 4, mutate: insertBytes },
  { name: "deleteRange", weight: 4, mutate: deleteRange },
  { name: "magic", weight: 5, mutate: magic },
  { name: "splice", weight: 4, mutate: splice },
  { name: "wrap", weight: 5, mutate: wrap },
];

const TOTAL_WEIGHT = MUTATORS.reduce((n, m) => n + m.weight, 0);

function pickMutator(rng: Rng): Weighted {
  let r = rng.below(TOTAL_WEIGHT);
  for (const m of MUTATORS) {
    if (r < m.weight) return m;
    r -= m.weight;
  }
  return MUTATORS[0] as Weighted;
}

/** The input of one iteration: a seed and 1-4 stacked mutations, all from (runSeed, iteration). */
export function generateInput(seeds: readonly Seed[], runSeed: number, iteration: number): FuzzInput {
  const rng = new Rng(runSeed, iteration);
  const seed = rng.pick(seeds);
  let bytes = seed.bytes;
  const mutations: string[] = [];
  const count = 1 + (rng.chance(0.5) ? 0 : rng.below(4));
  for (let i = 0; i < count; i++) {
    const m = pickMutator(rng);
    const result = m.mutate(rng, bytes, seed, seeds);
    bytes = result.bytes.length > MAX_INPUT_BYTES ? result.bytes.slice(0, MAX_INPUT_BYTES) : result.bytes;
    mutations.push(`${m.name}: ${result.note}`);
  }
  return { bytes, seed: seed.name, mutations };
}
