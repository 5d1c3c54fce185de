/**
 * The encoding direction of the RISC-V BCJ filter (.xz filter 0x0B, xz >= 5.6), written for the
 * tests from the filter's description in xz's src/liblzma/simple/riscv.c, because the installed
 * xz (5.4.1) cannot encode it. Our decoder must invert it on any input.
 *
 * - JAL with rd = x1 or x5: the J-type immediate becomes the absolute target, stored as
 *   bits [20:17] in the high nibble of byte 1, [16:9] in byte 2, [8:1] in byte 3.
 * - AUIPC (rd not x0/x2) followed by an instruction whose rs1 is that rd and whose low two
 *   opcode bits are set: becomes AUIPC with rd = x2 carrying inst2's low 20 bits, followed by the
 *   absolute address (AUIPC + sign-extended imm12 + pc) in big endian.
 * - AUIPC with rd = x0/x2 that looks like that special form: swapped into a "fake" pair (no
 *   address conversion, little endian) so the decoder's inverse swap restores it.
 */
export function encodeRiscV(data: Uint8Array, startOffset: number): void {
  const limit = data.length - 8;
  for (let i = 0; i <= limit; i += 2) {
    const b0 = data[i]!;
    if (b0 === 0xef) {
      const b1 = data[i + 1]!;
      if ((b1 & 0x0d) !== 0) continue;
      const b2 = data[i + 2]!;
      const b3 = data[i + 3]!;
      // J-type immediate: inst[31] = imm[20], inst[30:21] = imm[10:1], inst[20] = imm[11], inst[19:12] = imm[19:12]
      const imm =
        ((b1 & 0xf0) << 8) | // imm[15:12] from inst[15:12]
        ((b2 & 0x0f) << 16) | // imm[19:16] from inst[19:16]
        ((b2 & 0x10) << 7) | // imm[11] from inst[20]
        ((b2 & 0xe0) >>> 4) | // imm[3:1] from inst[23:21]
        ((b3 & 0x7f) << 4) | // imm[10:4] from inst[30:24]
        ((b3 & 0x80) << 13); // imm[20] from inst[31]
      const address = (imm + startOffset + i) >>> 0;
      data[i + 1] = (b1 & 0x0f) | ((address >>> 13) & 0xf0);
      data[i + 2] = address >>> 9;
      data[i + 3] = address >>> 1;
      i += 2;
      continue;
    }
    if ((b0 & 0x7f) !== 0x17) continue;
    let first = readLe(data, i);
    const rd = (first >>> 7) & 0x1f;
    if (rd !== 0 && rd !== 2) {
      const second = readLe(data, i + 4);
      const rs1 = (second >>> 15) & 0x1f;
      if (rs1 !== rd || (second & 3) !== 3) {
        i += 4;
        continue;
      }
      const imm12 = second >>> 20;
      const signExtended = imm12 >= 0x800 ? imm12 - 0x1000 : imm12;
      const address = ((first & 0xfffff000) + signExtended + startOffset + i) >>> 0;
      first = (0x17 | (2 << 7) | (second << 12)) >>> 0;
      writeLe(data, i, first);
      data[i + 4] = address >>> 24;
      data[i + 5] = address >>> 16;
      data[i + 6] = address >>> 8;
      data[i + 7] = address;
    } else {
      // Looks like the special form when rd = x2, the packed opcode bits [13:12] are 11, and
      // the packed rs1 (bits [31:27]) is neither x0 nor x2.
      const fakeRs1 = first >>> 27;
      const looksSpecial = rd === 2 && ((first >>> 12) & 3) === 3 && fakeRs1 !== 0 && fakeRs1 !== 2;
      if (!looksSpecial) {
        i += 2;
        continue;
      }
      const fakeAddress = readLe(data, i + 4);
      const second = ((first >>> 12) | (fakeAddress << 20)) >>> 0;
      first = (0x17 | (fakeRs1 << 7) | (fakeAddress & 0xfffff000)) >>> 0;
      writeLe(data, i, first);
      writeLe(data, i + 4, second);
    }
    i += 6;
  }
}

function readLe(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

function writeLe(data: Uint8Array, at: number, value: number): void {
  data[at] = value;
  data[at + 1] = value >>> 8;
  data[at + 2] = value >>> 16;
  data[at + 3] = value >>> 24;
}
