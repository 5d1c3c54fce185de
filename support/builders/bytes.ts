/** Little helpers for writing fixtures: headers field by field, joined parts, deterministic content. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(at: number, v: number): this {
    this.view.setUint8(at, v);
    return this;
  }
  u16(at: number, v: number): this {
    this.view.setUint16(at, v, true);
    return this;
  }
  u32(at: number, v: number): this {
    this.view.setUint32(at, v >>> 0, true);
    return this;
  }
  u64(at: number, v: number | bigint): this {
    this.view.setBigUint64(at, BigInt(v), true);
    return this;
  }
  u32be(at: number, v: number): this {
    this.view.setUint32(at, v >>> 0, false);
    return this;
  }
  ascii(at: number, text: string): this {
    for (let i = 0; i < text.length; i++) this.bytes[at + i] = text.charCodeAt(i) & 0xff;
    return this;
  }
  set(at: number, data: Uint8Array): this {
    this.bytes.set(data, at);
    return this;
  }
}

export { alignUp } from "../../src/io/bytes.js";

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/**
 * xorshift32 (Marsaglia 2003): the one pseudo-random generator of the fixtures and tests, 32-bit
 * values, the same on every platform for a seed (0 counts as 1). The fuzzer has its own (sfc32 in
 * fuzz/mutators.ts), which its recorded crashes depend on.
 */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Deterministic incompressible bytes; with `noRepeats`, no byte equals the one before. */
export function randomBytes(length: number, seed = 0x12345678, noRepeats = false): Uint8Array {
  const next = xorshift32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < out.length; i++) {
    let b = next() & 0xff;
    if (noRepeats && i > 0 && b === out[i - 1]) b ^= 0x80;
    out[i] = b;
  }
  return out;
}

/** Deterministic numbers in [0, 1), for mutation tests. */
export function prng(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 2 ** 32;
}

/** Code-like content: repeated instruction-ish words with variation, compressible like a kernel. */
export function codeLike(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  const rnd = randomBytes(length / 4 + 16, seed);
  const ops = [0xd503201f, 0x910003fd, 0xa9bf7bfd, 0xf9400000, 0x94000000, 0x52800000, 0xb4000000, 0xd65f03c0];
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= length; i += 4) {
    const r = rnd[i >> 2] ?? 0;
    const op = ops[r & 7] ?? 0;
    view.setUint32(i, (op | ((r >> 3) * 0x21)) >>> 0, true);
  }
  return out;
}
