/**
 * BCJ (branch/call/jump) filters of the .xz format, decode direction, applied in place to a
 * whole decoded block at once. An encoder turned the relative targets of call instructions into
 * absolute addresses; decoding subtracts the position again. `startOffset` is the filter's
 * "start offset" property (0 when absent): the position the first byte had in the encoder.
 *
 * Spec: "The .xz File Format" 1.2.1 section 5.3.3 (filter IDs 0x04-0x0B) lists the filters; it
 * defines them by reference to liblzma (src/liblzma/simple/*.c), whose behaviour these follow.
 * All arithmetic is modulo 2^32, as in the C code.
 */

/** x86 (0x04): E8 (CALL) and E9 (JMP) rel32 operands, guarded by a mask of recent candidates. */
export function decodeX86(data: Uint8Array, startOffset: number): void {
  const size = data.length;
  if (size < 5) return;
  let prevMask = 0;
  // Positions are relative to the block: the C code's prev_pos starts at now_pos - 5 (mod 2^32)
  // whatever now_pos is, so the bytes since the previous candidate are i - prevPos.
  let prevPos = -5;
  const limit = size - 5;
  // The next E8 and E9 at or after i, from the engine's native indexOf: a JavaScript loop over
  // every byte of a 60 MB kernel took three times as long.
  let nextE8 = data.indexOf(0xe8);
  let nextE9 = data.indexOf(0xe9);
  let i = 0;
  for (;;) {
    if (nextE8 !== -1 && nextE8 < i) nextE8 = data.indexOf(0xe8, i);
    if (nextE9 !== -1 && nextE9 < i) nextE9 = data.indexOf(0xe9, i);
    const next = nextE8 === -1 ? nextE9 : nextE9 === -1 ? nextE8 : Math.min(nextE8, nextE9);
    if (next === -1 || next > limit) return;
    i = next;
    const sincePrevious = i - prevPos;
    prevPos = i;
    if (sincePrevious > 5) {
      prevMask = 0;
    } else {
      for (let j = 0; j < sincePrevious; j++) prevMask = (prevMask & 0x77) << 1;
    }
    let high = data[i + 4]!;
    if (isX86SignByte(high) && prevMask >>> 1 <= 4 && prevMask >>> 1 !== 3) {
      // int32 arithmetic: the same low 32 bits as the C code's uint32, without doubles.
      let src = (high << 24) | (data[i + 3]! << 16) | (data[i + 2]! << 8) | data[i + 1]!;
      const next5 = (startOffset + i + 5) | 0;
      let dest: number;
      for (;;) {
        dest = (src - next5) | 0;
        if (prevMask === 0) break;
        const bit = X86_MASK_TO_BIT_NUMBER[prevMask >>> 1]!;
        high = (dest >>> (24 - bit * 8)) & 0xff;
        if (!isX86SignByte(high)) break;
        src = dest ^ X86_XOR_MASKS[bit]!;
      }
      data[i + 4] = (dest >>> 24) & 1 ? 0xff : 0x00;
      data[i + 3] = dest >>> 16;
      data[i + 2] = dest >>> 8;
      data[i + 1] = dest;
      i += 5;
      prevMask = 0;
    } else {
      i++;
      prevMask |= 1;
      if (isX86SignByte(high)) prevMask |= 0x10;
    }
  }
}

const X86_MASK_TO_BIT_NUMBER = [0, 1, 2, 2, 3] as const;
/** By bit number b, the C code's `(1 << (32 - 8b)) - 1` as an int32 (b = 0: 0xffffffff, -1). */
const X86_XOR_MASKS = [-1, 0x00ffffff, 0x0000ffff, 0x000000ff] as const;

function isX86SignByte(b: number): boolean {
  return b === 0x00 || b === 0xff;
}

/** PowerPC (0x05), big endian: "bl" = opcode 18 with AA=0, LK=1. */
export function decodePowerPc(data: Uint8Array, startOffset: number): void {
  const size = data.length & ~3;
  for (let i = 0; i < size; i += 4) {
    if (data[i]! >>> 2 !== 0x12 || (data[i + 3]! & 3) !== 1) continue;
    const src = (((data[i]! & 3) << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | (data[i + 3]! & ~3)) >>> 0;
    const dest = (src - startOffset - i) >>> 0;
    data[i] = 0x48 | ((dest >>> 24) & 0x03);
    data[i + 1] = dest >>> 16;
    data[i + 2] = dest >>> 8;
    data[i + 3] = (data[i + 3]! & 0x03) | (dest & 0xff);
  }
}

/**
 * IA-64 (0x06): 16-byte bundles; the template says which of the three 41-bit slots hold a
 * branch. The 41-bit slot is read through a 48-bit window, which a double holds exactly.
 */
export function decodeIa64(data: Uint8Array, startOffset: number): void {
  const size = data.length & ~15;
  for (let i = 0; i < size; i += 16) {
    const mask = IA64_BRANCH_TABLE[data[i]! & 0x1f]!;
    for (let slot = 0, bitPos = 5; slot < 3; slot++, bitPos += 41) {
      if (((mask >>> slot) & 1) === 0) continue;
      const bytePos = i + (bitPos >>> 3);
      const bitRes = bitPos & 7;
      let window = 0;
      for (let j = 5; j >= 0; j--) window = window * 256 + data[bytePos + j]!;
      if (bitField(window, bitRes + 37, 4) !== 0x5 || bitField(window, bitRes + 9, 3) !== 0) continue;
      const imm20 = bitField(window, bitRes + 13, 20);
      const sign = bitField(window, bitRes + 36, 1);
      const src = (((sign << 20) | imm20) << 4) >>> 0;
      const dest = ((src - startOffset - i) >>> 0) >>> 4;
      window += ((dest & 0xfffff) - imm20) * 2 ** (bitRes + 13);
      window += (((dest >>> 20) & 1) - sign) * 2 ** (bitRes + 36);
      for (let j = 0; j < 6; j++) data[bytePos + j] = Math.floor(window / 2 ** (8 * j)) % 256;
    }
  }
}

function bitField(value: number, shift: number, width: number): number {
  return Math.floor(value / 2 ** shift) % 2 ** width;
}

const IA64_BRANCH_TABLE = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 6, 6, 0, 0, 7, 7, 4, 4, 0, 0, 4, 4, 0, 0] as const;

/** ARM (0x07), little endian: BL with a 24-bit word offset, PC = address + 8. */
export function decodeArm(data: Uint8Array, startOffset: number): void {
  const size = data.length & ~3;
  for (let i = 0; i < size; i += 4) {
    if (data[i + 3] !== 0xeb) continue;
    const src = ((data[i + 2]! << 16) | (data[i + 1]! << 8) | data[i]!) << 2;
    const dest = ((src - startOffset - i - 8) >>> 0) >>> 2;
    data[i + 2] = dest >>> 16;
    data[i + 1] = dest >>> 8;
    data[i] = dest;
  }
}

/** ARM-Thumb (0x08): the BL pair of 16-bit halves (F000 / F800), PC = address + 4. */
export function decodeArmThumb(data: Uint8Array, startOffset: number): void {
  const limit = data.length - 4;
  for (let i = 0; i <= limit; i += 2) {
    if ((data[i + 1]! & 0xf8) !== 0xf0 || (data[i + 3]! & 0xf8) !== 0xf8) continue;
    const src = (((data[i + 1]! & 7) << 19) | (data[i]! << 11) | ((data[i + 3]! & 7) << 8) | data[i + 2]!) << 1;
    const dest = ((src - startOffset - i - 4) >>> 0) >>> 1;
    data[i + 1] = 0xf0 | ((dest >>> 19) & 0x7);
    data[i] = dest >>> 11;
    data[i + 3] = 0xf8 | ((dest >>> 8) & 0x7);
    data[i + 2] = dest;
    i += 2;
  }
}

/** SPARC (0x09): "call" with a 30-bit word displacement, only when it fits in 22 bits + sign. */
export function decodeSparc(data: Uint8Array, startOffset: number): void {
  const size = data.length & ~3;
  for (let i = 0; i < size; i += 4) {
    const b0 = data[i]!;
    const b1 = data[i + 1]!;
    if (!((b0 === 0x40 && (b1 & 0xc0) === 0x00) || (b0 === 0x7f && (b1 & 0xc0) === 0xc0))) continue;
    const src = ((b0 << 24) | (b1 << 16) | (data[i + 2]! << 8) | data[i + 3]!) << 2;
    let dest = ((src - startOffset - i) >>> 0) >>> 2;
    dest = (((0 - ((dest >>> 22) & 1)) << 22) & 0x3fffffff) | (dest & 0x3fffff) | 0x40000000;
    data[i] = dest >>> 24;
    data[i + 1] = dest >>> 16;
    data[i + 2] = dest >>> 8;
    data[i + 3] = dest;
  }
}

/** ARM64 (0x0A): BL (26-bit word offset) and ADRP (21-bit page offset, only within +/-512 MiB). */
export function decodeArm64(data: Uint8Array, startOffset: number): void {
  const size = data.length & ~3;
  for (let i = 0; i < size; i += 4) {
    const pc = (startOffset + i) >>> 0;
    const instruction = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    let decoded: number;
    if (instruction >>> 26 === 0x25) {
      decoded = 0x94000000 | ((instruction - (pc >>> 2)) & 0x03ffffff);
    } else if ((instruction & 0x9f000000) === (0x90000000 | 0)) {
      const src = ((instruction >>> 29) & 3) | ((instruction >>> 3) & 0x001ffffc);
      if ((src + 0x00020000) & 0x001c0000) continue;
      const dest = (src - (pc >>> 12)) >>> 0;
      decoded = (instruction & 0x9000001f) | ((dest & 3) << 29) | ((dest & 0x0003fffc) << 3) | ((0 - (dest & 0x00020000)) & 0x00e00000);
    } else {
      continue;
    }
    data[i] = decoded;
    data[i + 1] = decoded >>> 8;
    data[i + 2] = decoded >>> 16;
    data[i + 3] = decoded >>> 24;
  }
}

/**
 * RISC-V (0x0B, xz >= 5.6): JAL with rd = x1 or x5, and AUIPC followed by an instruction that
 * uses AUIPC's rd as rs1. The encoder stores an AUIPC pair as AUIPC with rd = x2 carrying the
 * second instruction's low 20 bits, followed by the absolute address in big endian; a pair that
 * did not qualify is swapped into the mirror format, so the filter is a bijection on any data.
 */
export function decodeRiscV(data: Uint8Array, startOffset: number): void {
  const limit = data.length - 8;
  for (let i = 0; i <= limit; i += 2) {
    const b0 = data[i]!;
    if (b0 === 0xef) {
      // JAL: only rd = x1 (ra) or x5 (t0).
      const b1 = data[i + 1]!;
      if ((b1 & 0x0d) !== 0) continue;
      const b2 = data[i + 2]!;
      const b3 = data[i + 3]!;
      const address = ((((b1 & 0xf0) << 13) | (b2 << 9) | (b3 << 1)) - ((startOffset + i) >>> 0)) >>> 0;
      data[i + 1] = (b1 & 0x0f) | ((address >>> 8) & 0xf0);
      data[i + 2] = ((address >>> 16) & 0x0f) | ((address >>> 7) & 0x10) | ((address << 4) & 0xe0);
      data[i + 3] = ((address >>> 4) & 0x7f) | ((address >>> 13) & 0x80);
      i += 4 - 2;
      continue;
    }
    if ((b0 & 0x7f) !== 0x17) continue;

    // AUIPC
    let first = (b0 | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    let second: number;
    if (first & 0xe80) {
      // rd is neither x0 nor x2: an unconverted pair, which the encoder swapped into the
      // "fake" format when it qualified. Undo that swap.
      second = readUint32Le(data, i + 4);
      if (((first << 8) ^ (second - 3)) & 0xf8003) {
        i += 6 - 2;
        continue;
      }
      const address = ((first & 0xfffff000) + (second >>> 20)) >>> 0;
      first = (0x17 | (2 << 7) | (second << 12)) >>> 0;
      second = address;
    } else {
      // rd is x0 or x2: x2 with the packed inst2 opcode bits set marks a converted pair.
      const rs1 = first >>> 27;
      if (((first - 0x3117) << 18) >>> 0 >= (rs1 & 0x1d)) {
        i += 4 - 2;
        continue;
      }
      const address = (readUint32Be(data, i + 4) - ((startOffset + i) >>> 0)) >>> 0;
      second = ((first >>> 12) | (address << 20)) >>> 0;
      first = (0x17 | (rs1 << 7) | ((address + 0x800) & 0xfffff000)) >>> 0;
    }
    writeUint32Le(data, i, first);
    writeUint32Le(data, i + 4, second);
    i += 8 - 2;
  }
}

function readUint32Le(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

function readUint32Be(data: Uint8Array, at: number): number {
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
}

function writeUint32Le(data: Uint8Array, at: number, value: number): void {
  data[at] = value;
  data[at + 1] = value >>> 8;
  data[at + 2] = value >>> 16;
  data[at + 3] = value >>> 24;
}

export interface BcjFilter {
  /** The filter ID in an .xz block header. */
  id: number;
  /** The name xz gives the filter on its command line. */
  name: string;
  decode: (data: Uint8Array, startOffset: number) => void;
}

/** The BCJ filters by .xz filter ID. */
export const BCJ_FILTERS: ReadonlyMap<number, BcjFilter> = new Map(
  (
    [
      [0x04, "x86", decodeX86],
      [0x05, "powerpc", decodePowerPc],
      [0x06, "ia64", decodeIa64],
      [0x07, "arm", decodeArm],
      [0x08, "armthumb", decodeArmThumb],
      [0x09, "sparc", decodeSparc],
      [0x0a, "arm64", decodeArm64],
      [0x0b, "riscv", decodeRiscV],
    ] as const
  ).map(([id, name, decode]) => [id, { id, name, decode }]),
);
