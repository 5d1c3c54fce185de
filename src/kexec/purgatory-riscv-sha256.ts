/**
 * The RISC-V entry stub with the SHA-256 check before the jump (see purgatory-arm64-sha256.ts for
 * what is hashed and why): RV64I only (no Zbb rotate, no byte reverse), so rotations are
 * `srliw`/`slliw`/`or` and message words are assembled from four `lbu`. a0, the hart id the
 * running kernel passes, is never written; on success a1 = DTB, satp = 0 and a jump to the
 * Image, as purgatory-riscv.ts does. Encodings: RISC-V Unprivileged ISA, "RV32I Base Integer
 * Instruction Set" (R/I/S/B/U/J formats) and "RV64I" (the W instructions).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { PurgatoryInstruction } from "./purgatory-arm64.js";
import { REGION_ENTRY_BYTES, writeCheckData } from "./purgatory-arm64-sha256.js";
import type { CheckedRegion } from "./purgatory-arm64-sha256.js";

export interface RiscvCheckingPurgatory {
  code: Uint8Array;
  listing: PurgatoryInstruction[];
}

export const RISCV_CHECK_MAX_REGIONS = 8;

/** psABI register numbers. */
// biome-ignore format: the register file in order
const R = { zero: 0, ra: 1, t0: 5, t1: 6, t2: 7, s0: 8, s1: 9, a0: 10, a1: 11, a2: 12, a3: 13, a4: 14, a5: 15, a6: 16, a7: 17,
  s2: 18, s3: 19, s4: 20, s5: 21, s6: 22, s7: 23, s8: 24, s9: 25, s10: 26, s11: 27, t3: 28, t4: 29, t5: 30, t6: 31 } as const;
type Reg = keyof typeof R;

function range(value: number, bits: number, what: string): number {
  if (!Number.isInteger(value) || value < -(2 ** (bits - 1)) || value >= 2 ** (bits - 1)) {
    throw new KimgError(ErrorCode.LIMIT, `${what} ${value} out of range`, { structure: "riscv purgatory" });
  }
  return value;
}

const rType = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const iType = (imm: number, rs1: number, f3: number, rd: number, op: number): number =>
  (((range(imm, 12, "immediate") & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const sType = (imm: number, rs2: number, rs1: number, f3: number): number => {
  const i = range(imm, 12, "store offset") & 0xfff;
  return (((i >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((i & 0x1f) << 7) | 0x23) >>> 0;
};
const bType = (imm: number, rs2: number, rs1: number, f3: number): number => {
  const i = range(imm, 13, "branch offset") & 0x1fff;
  return (
    (((i >> 12) << 31) | (((i >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (((i >> 1) & 0xf) << 8) | (((i >> 11) & 1) << 7) | 0x63) >>> 0
  );
};
const jType = (imm: number, rd: number): number => {
  const i = range(imm, 21, "jump offset") & 0x1fffff;
  return (((i >> 20) << 31) | (((i >> 1) & 0x3ff) << 21) | (((i >> 11) & 1) << 20) | (((i >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0;
};

/** The few RV64I instructions the stub uses, by their assembler spelling. */
// biome-ignore format: one encoder a line
export const rv = {
  add: (rd: Reg, a: Reg, b: Reg) => rType(0, R[b], R[a], 0, R[rd], 0x33),
  addw: (rd: Reg, a: Reg, b: Reg) => rType(0, R[b], R[a], 0, R[rd], 0x3b),
  and: (rd: Reg, a: Reg, b: Reg) => rType(0, R[b], R[a], 7, R[rd], 0x33),
  or: (rd: Reg, a: Reg, b: Reg) => rType(0, R[b], R[a], 6, R[rd], 0x33),
  xor: (rd: Reg, a: Reg, b: Reg) => rType(0, R[b], R[a], 4, R[rd], 0x33),
  addi: (rd: Reg, a: Reg, imm: number) => iType(imm, R[a], 0, R[rd], 0x13),
  xori: (rd: Reg, a: Reg, imm: number) => iType(imm, R[a], 4, R[rd], 0x13),
  slli: (rd: Reg, a: Reg, sh: number) => iType(sh & 0x3f, R[a], 1, R[rd], 0x13),
  slliw: (rd: Reg, a: Reg, sh: number) => iType(sh & 0x1f, R[a], 1, R[rd], 0x1b),
  srliw: (rd: Reg, a: Reg, sh: number) => iType(sh & 0x1f, R[a], 5, R[rd], 0x1b),
  lbu: (rd: Reg, off: number, a: Reg) => iType(off, R[a], 4, R[rd], 0x03),
  lw: (rd: Reg, off: number, a: Reg) => iType(off, R[a], 2, R[rd], 0x03),
  ld: (rd: Reg, off: number, a: Reg) => iType(off, R[a], 3, R[rd], 0x03),
  sb: (src: Reg, off: number, a: Reg) => sType(off, R[src], R[a], 0),
  sw: (src: Reg, off: number, a: Reg) => sType(off, R[src], R[a], 2),
  sd: (src: Reg, off: number, a: Reg) => sType(off, R[src], R[a], 3),
  lui: (rd: Reg, imm20: number) => ((imm20 << 12) | (R[rd] << 7) | 0x37) >>> 0,
  auipc: (rd: Reg, imm20: number) => ((imm20 << 12) | (R[rd] << 7) | 0x17) >>> 0,
  jalr: (rd: Reg, a: Reg, off: number) => iType(off, R[a], 0, R[rd], 0x67),
  jal: (rd: Reg, delta: number) => jType(delta, R[rd]),
  beq: (a: Reg, b: Reg, delta: number) => bType(delta, R[b], R[a], 0),
  bne: (a: Reg, b: Reg, delta: number) => bType(delta, R[b], R[a], 1),
  bgeu: (a: Reg, b: Reg, delta: number) => bType(delta, R[b], R[a], 7),
  csrwSatpZero: () => 0x18001073,
};

type Emit = (pc: number, label: (name: string) => number) => number;

/** Builds the checking stub: `regions` hashed, then a1 = `dtbAddress`, satp = 0, jump to `kernelEntry` (a0 kept). */
export function buildRiscvCheckingPurgatory(kernelEntry: number, dtbAddress: number, regions: readonly CheckedRegion[]): RiscvCheckingPurgatory {
  if (regions.length > RISCV_CHECK_MAX_REGIONS) {
    throw new KimgError(ErrorCode.LIMIT, `${regions.length} regions to check, at most ${RISCV_CHECK_MAX_REGIONS}`, { structure: "riscv purgatory" });
  }
  for (const r of regions) {
    if (r.memsz % 64 !== 0 || r.mem % 8 !== 0 || r.sha256.length !== 32 || !Number.isSafeInteger(r.mem + r.memsz)) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${r.name}: a checked region must be 8-byte aligned, a multiple of 64 bytes, with a 32-byte digest`, {
        structure: "riscv purgatory",
      });
    }
  }
  for (const [name, value, alignment] of [
    ["kernel entry", kernelEntry, 4],
    ["DTB address", dtbAddress, 8],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value % alignment !== 0) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${name} 0x${value.toString(16)} is not a ${alignment}-byte aligned physical address`, {
        structure: "riscv purgatory",
      });
    }
  }
  const lines: Array<{ emit: Emit; text: string }> = [];
  const labels = new Map<string, number>();
  const at = (name: string): void => void labels.set(name, lines.length * 4);
  const op = (text: string, word: number): void => void lines.push({ emit: () => word, text });
  const rel = (text: string, target: string, make: (delta: number) => number): void => void lines.push({ emit: (pc, label) => make(label(target) - pc), text });
  /** An address relative to `base`, the pc of the first auipc (0). */
  const fromBase = (text: string, target: string, make: (offset: number) => number): void =>
    void lines.push({ emit: (_pc, label) => make(label(target)), text });

  // s0 region entry, s1 regions left, s2 block, s3 end, s4 K, s5 W, s6 H, a7 IV; a..h = s7 s8 s9 s10 s11 a2 a3 a4.
  op("auipc t0, 0              // t0 = this stub", rv.auipc("t0", 0));
  fromBase("addi s0, t0, table", "table", (o) => rv.addi("s0", "t0", o));
  op("ld s1, 0(s0)             // number of regions", rv.ld("s1", 0, "s0"));
  op("addi s0, s0, 8", rv.addi("s0", "s0", 8));
  fromBase("addi s4, t0, K", "K", (o) => rv.addi("s4", "t0", o));
  fromBase("addi s5, t0, W", "W", (o) => rv.addi("s5", "t0", o));
  fromBase("addi s6, t0, H", "H", (o) => rv.addi("s6", "t0", o));
  fromBase("addi a7, t0, IV", "IV", (o) => rv.addi("a7", "t0", o));
  at("region");
  rel("beqz s1, enter", "enter", (d) => rv.beq("s1", "zero", d));
  for (const off of [0, 8, 16, 24]) {
    op(`ld t1, ${off}(a7)${off === 0 ? "             // H = H(0)" : ""}`, rv.ld("t1", off, "a7"));
    op(`sd t1, ${off}(s6)`, rv.sd("t1", off, "s6"));
  }
  op("ld s2, 0(s0)             // mem", rv.ld("s2", 0, "s0"));
  op("ld s3, 8(s0)             // memsz", rv.ld("s3", 8, "s0"));
  op("add s3, s2, s3", rv.add("s3", "s2", "s3"));
  at("block");
  rel("bgeu s2, s3, final", "final", (d) => rv.bgeu("s2", "s3", d));
  op("mv a5, s2", rv.addi("a5", "s2", 0));
  rel("jal ra, compress", "compress", (d) => rv.jal("ra", d));
  op("addi s2, s2, 64", rv.addi("s2", "s2", 64));
  rel("j block", "block", (d) => rv.jal("zero", d));
  at("final");
  op("addi a5, s0, 16          // the padding block", rv.addi("a5", "s0", 16));
  rel("jal ra, compress", "compress", (d) => rv.jal("ra", d));
  for (const off of [0, 8, 16, 24]) {
    op(`ld t1, ${off}(s6)`, rv.ld("t1", off, "s6"));
    op(`ld t2, ${80 + off}(s0)${off === 0 ? "            // the expected digest" : ""}`, rv.ld("t2", 80 + off, "s0"));
    rel("bne t1, t2, mismatch", "mismatch", (d) => rv.bne("t1", "t2", d));
  }
  op("addi s0, s0, 112", rv.addi("s0", "s0", 112));
  op("addi s1, s1, -1", rv.addi("s1", "s1", -1));
  rel("j region", "region", (d) => rv.jal("zero", d));
  at("mismatch");
  rel("j mismatch               // a corrupted load never boots", "mismatch", (d) => rv.jal("zero", d));
  at("enter");
  op("auipc t1, 0", rv.auipc("t1", 0));
  // The two loads address their literals from the auipc above them (pc - 4 and pc - 8).
  lines.push({ emit: (pc, label) => rv.ld("t2", label("kernel_entry") - (pc - 4), "t1"), text: "ld t2, kernel_entry" });
  lines.push({ emit: (pc, label) => rv.ld("a1", label("dtb") - (pc - 8), "t1"), text: "ld a1, dtb               // a1 = DTB; a0 = hart id, kept" });
  op("csrw satp, zero", rv.csrwSatpZero());
  op("jr t2", rv.jalr("zero", "t2", 0));

  // compress: the 64-byte block at a5 into H (FIPS 180-4 §6.2.2). t0 is the byte index 4*t.
  const ror = (rd: Reg, x: Reg, n: number, tmp: Reg): void => {
    op(`srliw ${rd}, ${x}, ${n}`, rv.srliw(rd, x, n));
    op(`slliw ${tmp}, ${x}, ${32 - n}`, rv.slliw(tmp, x, 32 - n));
    op(`or ${rd}, ${rd}, ${tmp}         // ror ${x}, ${n}`, rv.or(rd, rd, tmp));
  };
  at("compress");
  op("li t0, 0", rv.addi("t0", "zero", 0));
  at("load");
  op("add t1, a5, t0", rv.add("t1", "a5", "t0"));
  op("lbu t2, 0(t1)", rv.lbu("t2", 0, "t1"));
  op("lbu t3, 1(t1)", rv.lbu("t3", 1, "t1"));
  op("lbu t4, 2(t1)", rv.lbu("t4", 2, "t1"));
  op("lbu t5, 3(t1)", rv.lbu("t5", 3, "t1"));
  op("slli t2, t2, 24", rv.slli("t2", "t2", 24));
  op("slli t3, t3, 16", rv.slli("t3", "t3", 16));
  op("slli t4, t4, 8", rv.slli("t4", "t4", 8));
  op("or t2, t2, t3", rv.or("t2", "t2", "t3"));
  op("or t2, t2, t4", rv.or("t2", "t2", "t4"));
  op("or t2, t2, t5          // big-endian message word", rv.or("t2", "t2", "t5"));
  op("add t1, s5, t0", rv.add("t1", "s5", "t0"));
  op("sw t2, 0(t1)", rv.sw("t2", 0, "t1"));
  op("addi t0, t0, 4", rv.addi("t0", "t0", 4));
  op("li t1, 64", rv.addi("t1", "zero", 64));
  rel("bne t0, t1, load", "load", (d) => rv.bne("t0", "t1", d));
  at("schedule");
  op("add t1, s5, t0           // &W[t]", rv.add("t1", "s5", "t0"));
  op("lw t2, -60(t1)           // W[t-15]", rv.lw("t2", -60, "t1"));
  ror("t3", "t2", 7, "t4");
  ror("t4", "t2", 18, "t5");
  op("xor t3, t3, t4", rv.xor("t3", "t3", "t4"));
  op("srliw t4, t2, 3", rv.srliw("t4", "t2", 3));
  op("xor t3, t3, t4           // sigma0", rv.xor("t3", "t3", "t4"));
  op("lw t2, -8(t1)            // W[t-2]", rv.lw("t2", -8, "t1"));
  ror("t4", "t2", 17, "t5");
  ror("t5", "t2", 19, "t6");
  op("xor t4, t4, t5", rv.xor("t4", "t4", "t5"));
  op("srliw t5, t2, 10", rv.srliw("t5", "t2", 10));
  op("xor t4, t4, t5           // sigma1", rv.xor("t4", "t4", "t5"));
  op("lw t5, -64(t1)           // W[t-16]", rv.lw("t5", -64, "t1"));
  op("lw t6, -28(t1)           // W[t-7]", rv.lw("t6", -28, "t1"));
  op("addw t5, t5, t3", rv.addw("t5", "t5", "t3"));
  op("addw t5, t5, t6", rv.addw("t5", "t5", "t6"));
  op("addw t5, t5, t4", rv.addw("t5", "t5", "t4"));
  op("sw t5, 0(t1)", rv.sw("t5", 0, "t1"));
  op("addi t0, t0, 4", rv.addi("t0", "t0", 4));
  op("li t1, 256", rv.addi("t1", "zero", 256));
  rel("bne t0, t1, schedule", "schedule", (d) => rv.bne("t0", "t1", d));
  const work: Reg[] = ["s7", "s8", "s9", "s10", "s11", "a2", "a3", "a4"];
  for (const [i, r] of work.entries()) op(`lw ${r}, ${4 * i}(s6)`, rv.lw(r, 4 * i, "s6"));
  op("li t0, 0", rv.addi("t0", "zero", 0));
  at("round");
  ror("t1", "s11", 6, "t2");
  ror("t2", "s11", 11, "t3");
  op("xor t1, t1, t2", rv.xor("t1", "t1", "t2"));
  ror("t2", "s11", 25, "t3");
  op("xor t1, t1, t2           // Sigma1(e)", rv.xor("t1", "t1", "t2"));
  op("and t2, s11, a2", rv.and("t2", "s11", "a2"));
  op("not t3, s11", rv.xori("t3", "s11", -1));
  op("and t3, t3, a3", rv.and("t3", "t3", "a3"));
  op("xor t2, t2, t3           // Ch(e, f, g)", rv.xor("t2", "t2", "t3"));
  op("add t3, s4, t0", rv.add("t3", "s4", "t0"));
  op("lw t3, 0(t3)             // K[t]", rv.lw("t3", 0, "t3"));
  op("add t4, s5, t0", rv.add("t4", "s5", "t0"));
  op("lw t4, 0(t4)             // W[t]", rv.lw("t4", 0, "t4"));
  op("addw t5, a4, t1", rv.addw("t5", "a4", "t1"));
  op("addw t5, t5, t2", rv.addw("t5", "t5", "t2"));
  op("addw t5, t5, t3", rv.addw("t5", "t5", "t3"));
  op("addw t5, t5, t4          // T1", rv.addw("t5", "t5", "t4"));
  ror("t1", "s7", 2, "t2");
  ror("t2", "s7", 13, "t3");
  op("xor t1, t1, t2", rv.xor("t1", "t1", "t2"));
  ror("t2", "s7", 22, "t3");
  op("xor t1, t1, t2           // Sigma0(a)", rv.xor("t1", "t1", "t2"));
  op("and t2, s7, s8", rv.and("t2", "s7", "s8"));
  op("and t3, s7, s9", rv.and("t3", "s7", "s9"));
  op("xor t2, t2, t3", rv.xor("t2", "t2", "t3"));
  op("and t3, s8, s9", rv.and("t3", "s8", "s9"));
  op("xor t2, t2, t3           // Maj(a, b, c)", rv.xor("t2", "t2", "t3"));
  op("addw t6, t1, t2          // T2", rv.addw("t6", "t1", "t2"));
  op("mv a4, a3", rv.addi("a4", "a3", 0));
  op("mv a3, a2", rv.addi("a3", "a2", 0));
  op("mv a2, s11", rv.addi("a2", "s11", 0));
  op("addw s11, s10, t5", rv.addw("s11", "s10", "t5"));
  op("mv s10, s9", rv.addi("s10", "s9", 0));
  op("mv s9, s8", rv.addi("s9", "s8", 0));
  op("mv s8, s7", rv.addi("s8", "s7", 0));
  op("addw s7, t5, t6", rv.addw("s7", "t5", "t6"));
  op("addi t0, t0, 4", rv.addi("t0", "t0", 4));
  op("li t1, 256", rv.addi("t1", "zero", 256));
  rel("bne t0, t1, round", "round", (d) => rv.bne("t0", "t1", d));
  work.forEach((r, i) => {
    op(`lw t1, ${4 * i}(s6)`, rv.lw("t1", 4 * i, "s6"));
    op(`addw t1, t1, ${r}`, rv.addw("t1", "t1", r));
    op(`sw t1, ${4 * i}(s6)`, rv.sw("t1", 4 * i, "s6"));
  });
  op("ret", rv.jalr("zero", "ra", 0));
  if (lines.length % 2 !== 0) op("nop", rv.addi("zero", "zero", 0));

  const codeBytes = lines.length * 4;
  const layout = {
    kernel_entry: codeBytes,
    dtb: codeBytes + 8,
    K: codeBytes + 16,
    IV: codeBytes + 272,
    H: codeBytes + 304,
    W: codeBytes + 336,
    table: codeBytes + 592,
  };
  for (const [name, offset] of Object.entries(layout)) labels.set(name, offset);
  if (layout.table >= 2048) throw new KimgError(ErrorCode.LIMIT, "the stub's table is out of addi range", { structure: "riscv purgatory" });
  const code = new Uint8Array(layout.table + 8 + regions.length * REGION_ENTRY_BYTES);
  const view = new DataView(code.buffer);
  const label = (name: string): number => {
    const value = labels.get(name);
    if (value === undefined) throw new KimgError(ErrorCode.BAD_FIELD, `purgatory label ${name} missing`, { structure: "riscv purgatory" });
    return value;
  };
  const names = new Map([...labels].map(([k, v]) => [v, k]));
  const listing: PurgatoryInstruction[] = [];
  lines.forEach((line, index) => {
    const pc = index * 4;
    const word = line.emit(pc, label);
    view.setUint32(pc, word, true);
    const name = names.get(pc);
    listing.push({ offset: pc, word, assembly: (name && pc < codeBytes ? `${name}: ` : "") + line.text });
  });
  listing.push(...writeCheckData(code, layout, kernelEntry, dtbAddress, regions));
  return { code, listing };
}
