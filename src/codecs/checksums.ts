/**
 * Check values used by the codecs: adler32 (lzop), CRC-32 in its two bit orders (IEEE reflected
 * for gzip/xz/lzop, MSB-first for bzip2) and xxHash32 (lz4 frames). All take the running value of
 * a previous call as `initial`, so a checksum can be computed over several pieces.
 */

/**
 * Adler-32 (RFC 1950 section 8.2): two sums modulo 65521, A starts at 1, B at 0, result B<<16 | A.
 * `initial` is the result of a previous call (1 for a fresh checksum).
 */
export function adler32(data: Uint8Array, initial = 1): number {
  const MODULUS = 65521;
  // 3800 is about the largest n with (n+1)(MODULUS-1) + 255n(n+1)/2 < 2^31: the sums stay int32,
  // which V8 keeps in integer registers (past 2^31 they become doubles, at half the speed).
  const CHUNK_BYTES = 3800;
  let a = initial & 0xffff;
  let b = initial >>> 16;
  let i = 0;
  const length = data.length;
  while (i < length) {
    const end = Math.min(i + CHUNK_BYTES, length);
    const end16 = end - ((end - i) & 15);
    // biome-ignore format: the unrolled loop reads as sixteen steps, one per line
    while (i < end16) {
      a = (a + data[i]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 1]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 2]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 3]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 4]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 5]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 6]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 7]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 8]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 9]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 10]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 11]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 12]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 13]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 14]!) | 0; b = (b + a) | 0;
      a = (a + data[i + 15]!) | 0; b = (b + a) | 0;
      i += 16;
    }
    while (i < end) {
      a = (a + data[i++]!) | 0;
      b = (b + a) | 0;
    }
    a %= MODULUS;
    b %= MODULUS;
  }
  return ((b << 16) | a) >>> 0;
}

/** Eight 256-entry tables for slicing-by-8: table k maps a byte that is k bytes further away. */
function makeSlicingTables(polynomial: number, reflected: boolean): Int32Array {
  const tables = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = reflected ? n : n << 24;
    for (let k = 0; k < 8; k++) {
      if (reflected) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
      else c = c & 0x80000000 ? (c << 1) ^ polynomial : c << 1;
    }
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let k = 1; k < 8; k++) {
      c = reflected ? tables[c & 0xff]! ^ (c >>> 8) : tables[c >>> 24]! ^ (c << 8);
      tables[k * 256 + n] = c;
    }
  }
  return tables;
}

let reflectedTables: Int32Array | undefined;
let msbFirstTables: Int32Array | undefined;

/**
 * CRC-32 as gzip (RFC 1952), zlib, xz and lzop compute it: polynomial 0x04C11DB7 reflected
 * (0xEDB88320), initial value and final XOR 0xFFFFFFFF. `initial` is a previous result (0 to start),
 * as with zlib's `crc32(crc, buf, len)`. crc32("123456789") = 0xCBF43926.
 */
export function crc32(data: Uint8Array, initial = 0): number {
  const t = (reflectedTables ??= makeSlicingTables(0xedb88320, true));
  let crc = ~initial;
  let i = 0;
  const length = data.length;
  const end8 = length - (length & 7);
  while (i < end8) {
    const low = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      t[1792 + (low & 0xff)]! ^
      t[1536 + ((low >>> 8) & 0xff)]! ^
      t[1280 + ((low >>> 16) & 0xff)]! ^
      t[1024 + (low >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < length) crc = t[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * CRC-32 with the same polynomial but MSB-first (not reflected), as bzip2 computes its block and
 * stream CRCs (CRC-32/BZIP2): initial value and final XOR 0xFFFFFFFF. `initial` is a previous
 * result (0 to start). crc32Bzip2("123456789") = 0xFC891918.
 */
export function crc32Bzip2(data: Uint8Array, initial = 0): number {
  const t = (msbFirstTables ??= makeSlicingTables(0x04c11db7, false));
  let crc = ~initial;
  let i = 0;
  const length = data.length;
  const end8 = length - (length & 7);
  while (i < end8) {
    const high = crc ^ ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!);
    crc =
      t[1792 + (high >>> 24)]! ^
      t[1536 + ((high >>> 16) & 0xff)]! ^
      t[1280 + ((high >>> 8) & 0xff)]! ^
      t[1024 + (high & 0xff)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < length) crc = t[((crc >>> 24) ^ data[i++]!) & 0xff]! ^ (crc << 8);
  return ~crc >>> 0;
}

const XXH_PRIME32_1 = 0x9e3779b1;
const XXH_PRIME32_2 = 0x85ebca77;
const XXH_PRIME32_3 = 0xc2b2ae3d;
const XXH_PRIME32_4 = 0x27d4eb2f;
const XXH_PRIME32_5 = 0x165667b1;

function rotl32(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function readU32le(data: Uint8Array, i: number): number {
  return data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
}

/**
 * XXH32 (xxHash specification, "XXH32 algorithm description"), as lz4 frames use it for the
 * header, block and content checksums. One-shot over `data` with `seed`. xxh32("") = 0x02CC5D05.
 */
export function xxh32(data: Uint8Array, seed = 0): number {
  const length = data.length;
  let i = 0;
  let acc: number;
  if (length >= 16) {
    let v1 = (seed + XXH_PRIME32_1 + XXH_PRIME32_2) | 0;
    let v2 = (seed + XXH_PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - XXH_PRIME32_1) | 0;
    const limit = length - 16;
    while (i <= limit) {
      v1 = Math.imul(rotl32((v1 + Math.imul(readU32le(data, i), XXH_PRIME32_2)) | 0, 13), XXH_PRIME32_1);
      v2 = Math.imul(rotl32((v2 + Math.imul(readU32le(data, i + 4), XXH_PRIME32_2)) | 0, 13), XXH_PRIME32_1);
      v3 = Math.imul(rotl32((v3 + Math.imul(readU32le(data, i + 8), XXH_PRIME32_2)) | 0, 13), XXH_PRIME32_1);
      v4 = Math.imul(rotl32((v4 + Math.imul(readU32le(data, i + 12), XXH_PRIME32_2)) | 0, 13), XXH_PRIME32_1);
      i += 16;
    }
    acc = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0;
  } else {
    acc = (seed + XXH_PRIME32_5) | 0;
  }
  acc = (acc + length) | 0;
  while (i + 4 <= length) {
    acc = Math.imul(rotl32((acc + Math.imul(readU32le(data, i), XXH_PRIME32_3)) | 0, 17), XXH_PRIME32_4);
    i += 4;
  }
  while (i < length) {
    acc = Math.imul(rotl32((acc + Math.imul(data[i]!, XXH_PRIME32_5)) | 0, 11), XXH_PRIME32_1);
    i++;
  }
  acc ^= acc >>> 15;
  acc = Math.imul(acc, XXH_PRIME32_2);
  acc ^= acc >>> 13;
  acc = Math.imul(acc, XXH_PRIME32_3);
  acc ^= acc >>> 16;
  return acc >>> 0;
}
