/**
 * AssemblyScript (compiled to WebAssembly by scripts/build-wasm.mjs into
 * src/codecs/lz-wasm.generated.ts): the inner loops of the lz4 and LZO1X block decoders and
 * adler32, the same algorithms as src/codecs/lz4.ts and lzo.ts, on bytes in linear memory.
 *
 * These are accelerators, not decoders of their own: every function returns a negative number
 * for anything but a clean block (corrupt data, or no room in the output it was given), and the
 * TypeScript decoder then decodes that block again itself, which gives the exact error or
 * growth. So only the success path must agree with the TypeScript, byte for byte.
 *
 * Memory: the caller lays the input and each output region out with at least SLACK bytes free
 * after them: copies run in whole 8- or 16-byte steps and may read and write up to 16 bytes past
 * their end (the "wild copy" of the C decoders). Nothing is allocated here.
 */

/** A return value: the block is not clean (corrupt, or the output region is too small). */
const FAIL: isize = -1;

/**
 * Copies `length` bytes from `from` to `to` for an LZ77 match with distance `to - from` >= 1:
 * an overlapping match repeats its pattern.
 */
// @ts-ignore: decorator
@inline
function copyMatch(to: usize, from: usize, length: usize): void {
  const distance = to - from;
  if (distance >= 16) {
    if (length <= 32) {
      v128.store(to, v128.load(from));
      if (length > 16) v128.store(to + 16, v128.load(from + 16));
    } else if (distance >= length) {
      memory.copy(to, from, length);
    } else {
      // Each 16-byte step reads only bytes that earlier steps finished.
      for (let k: usize = 0; k < length; k += 16) v128.store(to + k, v128.load(from + k));
    }
  } else if (distance >= 8) {
    for (let k: usize = 0; k < length; k += 8) store<u64>(to + k, load<u64>(from + k));
  } else if (distance == 1) {
    memory.fill(to, load<u8>(from), length);
  } else {
    for (let k: usize = 0; k < length; k++) store<u8>(to + k, load<u8>(from + k));
  }
}

/** Copies `count` literals (source and destination do not overlap). */
// @ts-ignore: decorator
@inline
function copyLiterals(to: usize, from: usize, count: usize): void {
  if (count <= 16) {
    v128.store(to, v128.load(from));
  } else if (count <= 32) {
    v128.store(to, v128.load(from));
    v128.store(to + 16, v128.load(from + 16));
  } else {
    memory.copy(to, from, count);
  }
}

/**
 * One raw lz4 block (lz4_Block_format.md) from [ip, ipEnd) into [op, opEnd); matches may reach
 * back to `windowStart`. Returns the output end, or FAIL.
 */
export function lz4Block(ip: usize, ipEnd: usize, op: usize, opEnd: usize, windowStart: usize): isize {
  while (true) {
    if (ip >= ipEnd) return FAIL;
    const token = <usize>load<u8>(ip++);
    let literals = token >> 4;
    if (literals == 15) {
      let extra: usize;
      do {
        if (ip >= ipEnd) return FAIL;
        extra = <usize>load<u8>(ip++);
        literals += extra;
      } while (extra == 255);
    }
    if (literals > ipEnd - ip || literals > opEnd - op) return FAIL;
    copyLiterals(op, ip, literals);
    ip += literals;
    op += literals;
    if (ip == ipEnd) return <isize>op;

    if (ipEnd - ip < 2) return FAIL;
    const distance = <usize>load<u16>(ip);
    ip += 2;
    if (distance == 0 || distance > op - windowStart) return FAIL;
    let length = (token & 15) + 4;
    if (length == 19) {
      let extra: usize;
      do {
        if (ip >= ipEnd) return FAIL;
        extra = <usize>load<u8>(ip++);
        length += extra;
      } while (extra == 255);
    }
    if (length > opEnd - op) return FAIL;
    copyMatch(op, op - distance, length);
    op += length;
  }
}

/** Extended LZO lengths: zero bytes add 255 each, the first other byte adds itself. Returns the index of that byte or FAIL. */
// @ts-ignore: decorator
@inline
function lastLengthByte(ip: usize, ipEnd: usize): isize {
  while (ip < ipEnd && load<u8>(ip) == 0) ip++;
  return ip >= ipEnd ? FAIL : <isize>ip;
}

/**
 * One LZO1X block (Documentation/staging/lzo.rst) from [ip, ipEnd) into [op, opEnd), as
 * lzo1xDecompress in src/codecs/lzo.ts. Returns the output end, or FAIL.
 */
export function lzo1xBlock(ip: usize, ipEnd: usize, op: usize, opEnd: usize): isize {
  const opStart = op;
  let state: usize = 0;
  let zeroRuns = false;
  if (ipEnd - ip >= 5 && load<u8>(ip) == 17) {
    zeroRuns = load<u8>(ip + 1) != 0;
    ip += 2;
  }
  if (ip < ipEnd && load<u8>(ip) > 17) {
    const count = <usize>load<u8>(ip++) - 17;
    if (count > ipEnd - ip || count > opEnd - op) return FAIL;
    copyLiterals(op, ip, count);
    ip += count;
    op += count;
    state = count < 4 ? count : 4;
  }

  while (true) {
    if (ip >= ipEnd) return FAIL;
    const instruction = <usize>load<u8>(ip++);
    let length: usize;
    let distance: usize;
    let trailing: usize;

    if (instruction < 16) {
      if (state == 0) {
        let count = instruction + 3;
        if (instruction == 0) {
          const last = lastLengthByte(ip, ipEnd);
          if (last < 0) return FAIL;
          count = 15 + 255 * (<usize>last - ip) + <usize>load<u8>(<usize>last) + 3;
          ip = <usize>last + 1;
        }
        if (count > ipEnd - ip || count > opEnd - op) return FAIL;
        copyLiterals(op, ip, count);
        ip += count;
        op += count;
        state = 4;
        continue;
      }
      if (ip >= ipEnd) return FAIL;
      const high = <usize>load<u8>(ip++);
      trailing = instruction & 3;
      if (state == 4) {
        length = 3;
        distance = (high << 2) + (instruction >> 2) + 2049;
      } else {
        length = 2;
        distance = (high << 2) + (instruction >> 2) + 1;
      }
    } else if (instruction >= 64) {
      if (ip >= ipEnd) return FAIL;
      length = (instruction >> 5) + 1;
      distance = (<usize>load<u8>(ip++) << 3) + ((instruction >> 2) & 7) + 1;
      trailing = instruction & 3;
    } else if (instruction >= 32) {
      length = (instruction & 31) + 2;
      if ((instruction & 31) == 0) {
        const last = lastLengthByte(ip, ipEnd);
        if (last < 0) return FAIL;
        length = 31 + 255 * (<usize>last - ip) + <usize>load<u8>(<usize>last) + 2;
        ip = <usize>last + 1;
      }
      if (ipEnd - ip < 2) return FAIL;
      const word = <usize>load<u16>(ip);
      ip += 2;
      distance = (word >> 2) + 1;
      trailing = word & 3;
    } else {
      if (ipEnd - ip < 2) return FAIL;
      const peek = <usize>load<u16>(ip);
      if (zeroRuns && (instruction & 8) != 0 && (peek & 0xfffc) == 0xfffc) {
        if (ipEnd - ip < 3) return FAIL;
        const run = ((<usize>load<u8>(ip + 2) << 3) | (instruction & 7)) + 4;
        ip += 3;
        if (run > opEnd - op) return FAIL;
        memory.fill(op, 0, run);
        op += run;
        trailing = peek & 3;
        if (trailing > ipEnd - ip || trailing > opEnd - op) return FAIL;
        for (let k: usize = 0; k < trailing; k++) store<u8>(op + k, load<u8>(ip + k));
        op += trailing;
        ip += trailing;
        state = trailing;
        continue;
      }
      length = (instruction & 7) + 2;
      if ((instruction & 7) == 0) {
        const last = lastLengthByte(ip, ipEnd);
        if (last < 0) return FAIL;
        length = 7 + 255 * (<usize>last - ip) + <usize>load<u8>(<usize>last) + 2;
        ip = <usize>last + 1;
      }
      if (ipEnd - ip < 2) return FAIL;
      const word = <usize>load<u16>(ip);
      ip += 2;
      distance = 16384 + ((instruction & 8) << 11) + (word >> 2);
      trailing = word & 3;
      if (distance == 16384) {
        // End of stream: exactly 11 00 00, and nothing after it.
        return length == 3 && ip == ipEnd ? <isize>op : FAIL;
      }
    }

    if (distance > op - opStart || length > opEnd - op) return FAIL;
    copyMatch(op, op - distance, length);
    op += length;
    if (trailing > ipEnd - ip || trailing > opEnd - op) return FAIL;
    // 0-3 trailing literals: copy four (the slack and the next instruction absorb the extra).
    store<u32>(op, load<u32>(ip));
    op += trailing;
    ip += trailing;
    state = trailing;
  }
}

/** Adler-32 (RFC 1950) of [start, end), continuing from `initial` (1 for a fresh one). */
export function adler32(start: usize, end: usize, initial: u32): u32 {
  let a: u32 = initial & 0xffff;
  let b: u32 = initial >> 16;
  let i = start;
  while (i < end) {
    // 5552 bytes keep both sums below 2^32 (zlib's NMAX).
    const chunkEnd = min(end, i + 5552);
    const end8 = chunkEnd - ((chunkEnd - i) & 7);
    while (i < end8) {
      a += load<u8>(i); b += a;
      a += load<u8>(i, 1); b += a;
      a += load<u8>(i, 2); b += a;
      a += load<u8>(i, 3); b += a;
      a += load<u8>(i, 4); b += a;
      a += load<u8>(i, 5); b += a;
      a += load<u8>(i, 6); b += a;
      a += load<u8>(i, 7); b += a;
      i += 8;
    }
    while (i < chunkEnd) {
      a += load<u8>(i++);
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}
