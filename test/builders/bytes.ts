/** Little helpers for writing headers field by field in test fixtures. */
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

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

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

/** Deterministic pseudo-random bytes (xorshift32), for incompressible fixture content. */
export function pseudoRandom(length: number, seed = 0x12345678): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Code-like content: repeated instruction-ish words with variation, compressible like a kernel. */
export function codeLike(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  const rnd = pseudoRandom(length / 4 + 16, seed);
  const ops = [0xd503201f, 0x910003fd, 0xa9bf7bfd, 0xf9400000, 0x94000000, 0x52800000, 0xb4000000, 0xd65f03c0];
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= length; i += 4) {
    const r = rnd[i >> 2] ?? 0;
    const op = ops[r & 7] ?? 0;
    view.setUint32(i, (op | ((r >> 3) * 0x21)) >>> 0, true);
  }
  return out;
}
