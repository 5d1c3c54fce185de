/**
 * A tiny RISC-V decoder for the first instructions of a RISC-V Image: with EFI the image starts
 * with `c.li s4, -13` (0x5a4d, the "MZ" bytes) followed at offset 2 by `j _start_kernel`
 * (arch/riscv/kernel/head.S, Documentation/arch/riscv/boot-image-header.rst).
 * Encodings from The RISC-V Instruction Set Manual, Volume I (Unprivileged ISA): chapter
 * "RV32I Base Integer Instruction Set", "RV64I", "M", "Zicsr", "Zifencei" and the "C" extension
 * (compressed instruction formats, RVC opcode map); CSR numbers from Volume II (Privileged ISA).
 * Compressed instructions are shown under their own names (c.li, c.j ...), base instructions with
 * the usual GNU aliases (j, ret, li, mv, csrr ...).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { hex } from "../io/bytes.js";
import {
  type DecodedInstruction,
  type InstructionParts,
  type SequenceOptions,
  bitField,
  buildInstruction,
  checkOffset,
  checkSequence,
  readU32le,
  signExtend,
  signedHex,
  unknownInstruction,
} from "./types.js";

const STRUCTURE = "RISC-V instruction";

export interface RiscvOptions {
  /** Base integer width; decides RV32-only / RV64-only compressed encodings (default 64). */
  xlen?: 32 | 64;
}

/** boot.rst: a0 = hart id, a1 = physical address of the device tree. */
const PROTECTED_REGISTERS: ReadonlySet<string> = new Set(["a0", "a1"]);

/** Integer register ABI names, x0..x31 (psABI "Integer Register Convention"). */
// biome-ignore format: a table laid out as the specification lists it, sixteen to a row
const X = [
  "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
  "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
] as const;

/** Floating-point register ABI names, f0..f31. */
// biome-ignore format: a table laid out as the specification lists it, sixteen to a row
const F = [
  "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
  "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
] as const;

/** CSRs a kernel entry path is likely to touch (Privileged ISA, "CSR Listing"); others print as hex. */
// biome-ignore format: a table laid out as the specification lists it, sixteen to a row
const CSR_NAMES: ReadonlyMap<number, string> = new Map([
  [0x001, "fflags"], [0x002, "frm"], [0x003, "fcsr"],
  [0x100, "sstatus"], [0x104, "sie"], [0x105, "stvec"], [0x106, "scounteren"], [0x10a, "senvcfg"],
  [0x140, "sscratch"], [0x141, "sepc"], [0x142, "scause"], [0x143, "stval"], [0x144, "sip"], [0x180, "satp"],
  [0x300, "mstatus"], [0x301, "misa"], [0x302, "medeleg"], [0x303, "mideleg"], [0x304, "mie"], [0x305, "mtvec"],
  [0x306, "mcounteren"], [0x340, "mscratch"], [0x341, "mepc"], [0x342, "mcause"], [0x343, "mtval"], [0x344, "mip"],
  [0x3a0, "pmpcfg0"], [0x3b0, "pmpaddr0"],
  [0xc00, "cycle"], [0xc01, "time"], [0xc02, "instret"], [0xc80, "cycleh"], [0xc81, "timeh"], [0xc82, "instreth"],
  [0xf11, "mvendorid"], [0xf12, "marchid"], [0xf13, "mimpid"], [0xf14, "mhartid"],
]);

/** Counter reads with a GNU pseudo-instruction of their own (`csrrs rd, csr, zero`). */
// biome-ignore format: a table laid out as the specification lists it, sixteen to a row
const COUNTER_READS: ReadonlyMap<number, string> = new Map([
  [0xc00, "rdcycle"], [0xc01, "rdtime"], [0xc02, "rdinstret"], [0xc80, "rdcycleh"], [0xc81, "rdtimeh"], [0xc82, "rdinstreth"],
]);

/**
 * Decodes the instruction at `bytes[offset]`: 2 bytes when its low two bits are not 0b11
 * (compressed), else 4. Throws KimgError E_TRUNCATED when those bytes are not all there.
 * Encodings longer than 32 bits are reported as unknown with size 4.
 */
export function decodeRiscv(bytes: Uint8Array, offset: number, options?: RiscvOptions): DecodedInstruction {
  checkOffset(offset, STRUCTURE);
  const xlen = options?.xlen ?? 64;
  const first = bytes[offset];
  const second = bytes[offset + 1];
  if (first === undefined || second === undefined) throw truncated(bytes, offset, 2);
  const half = first | (second << 8);
  if ((half & 3) !== 3) {
    const parts = decodeCompressed(half, offset, xlen);
    return parts === undefined ? unknownInstruction(offset, 2, half) : buildInstruction(offset, 2, half, parts, PROTECTED_REGISTERS);
  }
  if (offset + 4 > bytes.length) throw truncated(bytes, offset, 4);
  const word = readU32le(bytes, offset);
  const parts = (word & 0x1f) === 0x1f ? undefined : decodeBase(word, offset, xlen);
  return parts === undefined ? unknownInstruction(offset, 4, word) : buildInstruction(offset, 4, word, parts, PROTECTED_REGISTERS);
}

/** Decodes up to `count` instructions from `options.start`; fewer when the data ends (also mid-instruction). */
export function decodeRiscvSequence(bytes: Uint8Array, count: number, options?: SequenceOptions & RiscvOptions): DecodedInstruction[] {
  let offset = checkSequence(bytes, count, options, STRUCTURE);
  const decoded: DecodedInstruction[] = [];
  while (decoded.length < count && offset + 2 <= bytes.length) {
    const compressed = ((bytes[offset] ?? 0) & 3) !== 3;
    if (!compressed && offset + 4 > bytes.length) break;
    const instruction = decodeRiscv(bytes, offset, options);
    decoded.push(instruction);
    offset += instruction.size;
  }
  return decoded;
}

function truncated(bytes: Uint8Array, offset: number, needed: number): KimgError {
  const left = Math.max(0, bytes.length - offset);
  return new KimgError(ErrorCode.TRUNCATED, `${STRUCTURE} needs ${needed} bytes, ${left} left`, {
    structure: STRUCTURE,
    offset,
    expected: needed,
    actual: left,
  });
}

function x(n: number): string {
  return X[n] ?? "";
}

/** The write to register `n` (nothing for x0, which is hard-wired to zero). */
function writesX(n: number): string[] {
  return n === 0 ? [] : [x(n)];
}

function memoryOperand(imm: number, base: number): string {
  return `${imm}(${x(base)})`;
}

/* ---------------------------------------------------------------------------------------------
 * "C" extension. Formats (bits 15..0): CR funct4|rd/rs1|rs2|op, CI funct3|imm|rd/rs1|imm|op,
 * CSS funct3|imm|rs2|op, CIW funct3|imm|rd'|op, CL/CS funct3|imm|rs1'|imm|rd'/rs2'|op,
 * CB funct3|offset|rs1'|offset|op, CJ funct3|jump target|op. rd'/rs1'/rs2' name x8..x15.
 * ------------------------------------------------------------------------------------------- */

function decodeCompressed(h: number, offset: number, xlen: 32 | 64): InstructionParts | undefined {
  // The all-zero halfword is defined to be illegal, so zero-filled memory traps.
  if (h === 0) return { mnemonic: "c.unimp", fallsThrough: false, sideEffects: true };
  const quadrant = h & 3;
  const funct3 = bitField(h, 15, 13);
  if (quadrant === 0) return compressedQuadrant0(h, funct3, xlen);
  if (quadrant === 1) return compressedQuadrant1(h, funct3, offset, xlen);
  return compressedQuadrant2(h, funct3, xlen);
}

/** rd'/rs1'/rs2' in bits 4..2 or 9..7: x8..x15. */
function compact(h: number, lo: number): number {
  return 8 + bitField(h, lo + 2, lo);
}

/** CI-format signed 6-bit immediate: imm[5] = bit 12, imm[4:0] = bits 6..2. */
function ciImmediate(h: number): number {
  return signExtend((bitField(h, 12, 12) << 5) | bitField(h, 6, 2), 6);
}

/** CL/CS offsets for word (uimm[5:3|2|6]) and doubleword (uimm[5:3|7:6]) accesses. */
function wordOffset(h: number): number {
  return (bitField(h, 12, 10) << 3) | (bitField(h, 6, 6) << 2) | (bitField(h, 5, 5) << 6);
}
function doublewordOffset(h: number): number {
  return (bitField(h, 12, 10) << 3) | (bitField(h, 6, 5) << 6);
}

function compressedQuadrant0(h: number, funct3: number, xlen: 32 | 64): InstructionParts | undefined {
  const rs1 = compact(h, 7);
  const r = compact(h, 2);
  const load = (mnemonic: string, register: string, imm: number): InstructionParts => ({
    mnemonic,
    operands: [register, memoryOperand(imm, rs1)],
    writes: [register],
    sideEffects: true,
  });
  const store = (mnemonic: string, register: string, imm: number): InstructionParts => ({
    mnemonic,
    operands: [register, memoryOperand(imm, rs1)],
    sideEffects: true,
  });
  switch (funct3) {
    case 0: {
      // c.addi4spn: nzuimm[5:4|9:6|2|3] in bits 12..5.
      const imm = (bitField(h, 12, 11) << 4) | (bitField(h, 10, 7) << 6) | (bitField(h, 6, 6) << 2) | (bitField(h, 5, 5) << 3);
      if (imm === 0) return undefined;
      return { mnemonic: "c.addi4spn", operands: [x(r), "sp", String(imm)], writes: [x(r)] };
    }
    case 1:
      return load("c.fld", F[r] ?? "", doublewordOffset(h));
    case 2:
      return load("c.lw", x(r), wordOffset(h));
    case 3:
      return xlen === 64 ? load("c.ld", x(r), doublewordOffset(h)) : load("c.flw", F[r] ?? "", wordOffset(h));
    case 5:
      return store("c.fsd", F[r] ?? "", doublewordOffset(h));
    case 6:
      return store("c.sw", x(r), wordOffset(h));
    case 7:
      return xlen === 64 ? store("c.sd", x(r), doublewordOffset(h)) : store("c.fsw", F[r] ?? "", wordOffset(h));
    default:
      return undefined;
  }
}

/** CJ-format jump offset: imm[11|4|9:8|10|6|7|3:1|5] in bits 12..2. */
function cjOffset(h: number): number {
  const imm =
    (bitField(h, 12, 12) << 11) |
    (bitField(h, 11, 11) << 4) |
    (bitField(h, 10, 9) << 8) |
    (bitField(h, 8, 8) << 10) |
    (bitField(h, 7, 7) << 6) |
    (bitField(h, 6, 6) << 7) |
    (bitField(h, 5, 3) << 1) |
    (bitField(h, 2, 2) << 5);
  return signExtend(imm, 12);
}

/** CB-format branch offset: imm[8|4:3] in bits 12..10, imm[7:6|2:1|5] in bits 6..2. */
function cbOffset(h: number): number {
  const imm = (bitField(h, 12, 12) << 8) | (bitField(h, 11, 10) << 3) | (bitField(h, 6, 5) << 6) | (bitField(h, 4, 3) << 1) | (bitField(h, 2, 2) << 5);
  return signExtend(imm, 9);
}

function compressedQuadrant1(h: number, funct3: number, offset: number, xlen: 32 | 64): InstructionParts | undefined {
  const rd = bitField(h, 11, 7);
  const imm = ciImmediate(h);
  switch (funct3) {
    case 0:
      if (rd === 0 && imm === 0) return { mnemonic: "c.nop" };
      return { mnemonic: "c.addi", operands: [x(rd), String(imm)], writes: writesX(rd) };
    case 1: {
      if (xlen === 32) {
        const target = offset + cjOffset(h);
        return { mnemonic: "c.jal", operands: [signedHex(target)], branchTarget: target, fallsThrough: false, writes: ["ra"] };
      }
      if (rd === 0) return undefined;
      return { mnemonic: "c.addiw", operands: [x(rd), String(imm)], writes: [x(rd)] };
    }
    case 2:
      return { mnemonic: "c.li", operands: [x(rd), String(imm)], writes: writesX(rd) };
    case 3: {
      if (rd === 2) {
        // c.addi16sp: nzimm[9] = bit 12, nzimm[4|6|8:7|5] = bits 6..2.
        const spImm = signExtend(
          (bitField(h, 12, 12) << 9) | (bitField(h, 6, 6) << 4) | (bitField(h, 5, 5) << 6) | (bitField(h, 4, 3) << 7) | (bitField(h, 2, 2) << 5),
          10,
        );
        if (spImm === 0) return undefined;
        return { mnemonic: "c.addi16sp", operands: ["sp", String(spImm)], writes: ["sp"] };
      }
      if (imm === 0) return undefined;
      // c.lui loads nzimm[17:12]; GNU shows the 20-bit upper-immediate field.
      return { mnemonic: "c.lui", operands: [x(rd), hex(imm & 0xfffff)], writes: writesX(rd) };
    }
    case 4:
      return compressedArithmetic(h, xlen);
    case 5: {
      const target = offset + cjOffset(h);
      return { mnemonic: "c.j", operands: [signedHex(target)], branchTarget: target, fallsThrough: false };
    }
    default: {
      const target = offset + cbOffset(h);
      const rs1 = compact(h, 7);
      return { mnemonic: funct3 === 6 ? "c.beqz" : "c.bnez", operands: [x(rs1), signedHex(target)], branchTarget: target };
    }
  }
}

/** Quadrant 1, funct3 100: c.srli, c.srai, c.andi and the CA-format register-register operations. */
function compressedArithmetic(h: number, xlen: 32 | 64): InstructionParts | undefined {
  const rd = compact(h, 7);
  const writes = [x(rd)];
  const funct2 = bitField(h, 11, 10);
  const shamt = (bitField(h, 12, 12) << 5) | bitField(h, 6, 2);
  if (funct2 === 0 || funct2 === 1) {
    if (xlen === 32 && shamt >= 32) return undefined;
    return { mnemonic: funct2 === 0 ? "c.srli" : "c.srai", operands: [x(rd), hex(shamt)], writes };
  }
  if (funct2 === 2) return { mnemonic: "c.andi", operands: [x(rd), String(ciImmediate(h))], writes };
  const rs2 = x(compact(h, 2));
  const op = bitField(h, 6, 5);
  if (bitField(h, 12, 12) === 0) {
    return { mnemonic: ["c.sub", "c.xor", "c.or", "c.and"][op] ?? "", operands: [x(rd), rs2], writes };
  }
  if (xlen === 64 && op < 2) return { mnemonic: op === 0 ? "c.subw" : "c.addw", operands: [x(rd), rs2], writes };
  return undefined;
}

function compressedQuadrant2(h: number, funct3: number, xlen: 32 | 64): InstructionParts | undefined {
  const rd = bitField(h, 11, 7);
  const rs2 = bitField(h, 6, 2);
  const bit12 = bitField(h, 12, 12);
  // Stack-pointer-relative offsets: word uimm[5|4:2|7:6], doubleword uimm[5|4:3|8:6] for loads;
  // word uimm[5:2|7:6], doubleword uimm[5:3|8:6] for stores.
  const lwspOffset = (bit12 << 5) | (bitField(h, 6, 4) << 2) | (bitField(h, 3, 2) << 6);
  const ldspOffset = (bit12 << 5) | (bitField(h, 6, 5) << 3) | (bitField(h, 4, 2) << 6);
  const swspOffset = (bitField(h, 12, 9) << 2) | (bitField(h, 8, 7) << 6);
  const sdspOffset = (bitField(h, 12, 10) << 3) | (bitField(h, 9, 7) << 6);
  const load = (mnemonic: string, register: string, imm: number): InstructionParts => ({
    mnemonic,
    operands: [register, memoryOperand(imm, 2)],
    writes: [register],
    sideEffects: true,
  });
  const store = (mnemonic: string, register: string, imm: number): InstructionParts => ({
    mnemonic,
    operands: [register, memoryOperand(imm, 2)],
    sideEffects: true,
  });
  switch (funct3) {
    case 0: {
      const shamt = (bit12 << 5) | rs2;
      if (xlen === 32 && shamt >= 32) return undefined;
      return { mnemonic: "c.slli", operands: [x(rd), hex(shamt)], writes: writesX(rd) };
    }
    case 1:
      return load("c.fldsp", F[rd] ?? "", ldspOffset);
    case 2:
      return rd === 0 ? undefined : load("c.lwsp", x(rd), lwspOffset);
    case 3:
      if (xlen === 32) return load("c.flwsp", F[rd] ?? "", lwspOffset);
      return rd === 0 ? undefined : load("c.ldsp", x(rd), ldspOffset);
    case 4:
      if (bit12 === 0) {
        if (rs2 !== 0) return { mnemonic: "c.mv", operands: [x(rd), x(rs2)], writes: writesX(rd) };
        if (rd === 0) return undefined;
        return { mnemonic: "c.jr", operands: [x(rd)], fallsThrough: false, sideEffects: true };
      }
      if (rs2 !== 0) return { mnemonic: "c.add", operands: [x(rd), x(rs2)], writes: writesX(rd) };
      if (rd === 0) return { mnemonic: "c.ebreak", sideEffects: true };
      return { mnemonic: "c.jalr", operands: [x(rd)], fallsThrough: false, writes: ["ra"], sideEffects: true };
    case 5:
      return store("c.fsdsp", F[rs2] ?? "", sdspOffset);
    case 6:
      return store("c.swsp", x(rs2), swspOffset);
    default:
      return xlen === 64 ? store("c.sdsp", x(rs2), sdspOffset) : store("c.fswsp", F[rs2] ?? "", swspOffset);
  }
}

/* ---------------------------------------------------------------------------------------------
 * 32-bit base formats (bits 31..0): R funct7|rs2|rs1|funct3|rd|opcode, I imm[11:0]|rs1|funct3|rd|opcode,
 * S imm[11:5]|rs2|rs1|funct3|imm[4:0]|opcode, B imm[12|10:5]|rs2|rs1|funct3|imm[4:1|11]|opcode,
 * U imm[31:12]|rd|opcode, J imm[20|10:1|11|19:12]|rd|opcode.
 * ------------------------------------------------------------------------------------------- */

const OPCODE = {
  LOAD: 0x03,
  MISC_MEM: 0x0f,
  OP_IMM: 0x13,
  AUIPC: 0x17,
  OP_IMM_32: 0x1b,
  STORE: 0x23,
  OP: 0x33,
  LUI: 0x37,
  OP_32: 0x3b,
  BRANCH: 0x63,
  JALR: 0x67,
  JAL: 0x6f,
  SYSTEM: 0x73,
} as const;

interface BaseFields {
  word: number;
  offset: number;
  xlen: 32 | 64;
  rd: number;
  rs1: number;
  rs2: number;
  funct3: number;
  funct7: number;
  immI: number;
}

function decodeBase(word: number, offset: number, xlen: 32 | 64): InstructionParts | undefined {
  const f: BaseFields = {
    word,
    offset,
    xlen,
    rd: bitField(word, 11, 7),
    rs1: bitField(word, 19, 15),
    rs2: bitField(word, 24, 20),
    funct3: bitField(word, 14, 12),
    funct7: bitField(word, 31, 25),
    immI: word >> 20,
  };
  switch (word & 0x7f) {
    case OPCODE.LUI:
      return { mnemonic: "lui", operands: [x(f.rd), hex(word >>> 12)], writes: writesX(f.rd) };
    case OPCODE.AUIPC:
      return { mnemonic: "auipc", operands: [x(f.rd), hex(word >>> 12)], writes: writesX(f.rd) };
    case OPCODE.JAL:
      return jal(f);
    case OPCODE.JALR:
      return f.funct3 === 0 ? jalr(f) : undefined;
    case OPCODE.BRANCH:
      return branch(f);
    case OPCODE.LOAD:
      return load(f);
    case OPCODE.STORE:
      return store(f);
    case OPCODE.OP_IMM:
      return opImm(f);
    case OPCODE.OP_IMM_32:
      return xlen === 64 ? opImm32(f) : undefined;
    case OPCODE.OP:
      return op(f);
    case OPCODE.OP_32:
      return xlen === 64 ? op32(f) : undefined;
    case OPCODE.MISC_MEM:
      return miscMem(f);
    case OPCODE.SYSTEM:
      return system(f);
    default:
      return undefined;
  }
}

/** JAL: target = pc + sext(imm[20:1] << 1); `j` when rd = zero, `jal target` when rd = ra. */
function jal(f: BaseFields): InstructionParts {
  const w = f.word;
  const imm = signExtend((bitField(w, 31, 31) << 20) | (bitField(w, 19, 12) << 12) | (bitField(w, 20, 20) << 11) | (bitField(w, 30, 21) << 1), 21);
  const target = f.offset + imm;
  const operands = f.rd === 0 || f.rd === 1 ? [signedHex(target)] : [x(f.rd), signedHex(target)];
  return { mnemonic: f.rd === 0 ? "j" : "jal", operands, branchTarget: target, fallsThrough: false, writes: writesX(f.rd) };
}

/** JALR: an indirect jump, never harmless; aliases ret, jr, jalr rs. */
function jalr(f: BaseFields): InstructionParts {
  const common = { fallsThrough: false, sideEffects: true, writes: writesX(f.rd) };
  if (f.immI === 0 && f.rd === 0) return f.rs1 === 1 ? { ...common, mnemonic: "ret" } : { ...common, mnemonic: "jr", operands: [x(f.rs1)] };
  if (f.immI === 0 && f.rd === 1) return { ...common, mnemonic: "jalr", operands: [x(f.rs1)] };
  if (f.rd === 0) return { ...common, mnemonic: "jr", operands: [memoryOperand(f.immI, f.rs1)] };
  if (f.rd === 1) return { ...common, mnemonic: "jalr", operands: [memoryOperand(f.immI, f.rs1)] };
  return { ...common, mnemonic: "jalr", operands: [x(f.rd), memoryOperand(f.immI, f.rs1)] };
}

/** BRANCH: beq, bne, blt, bge, bltu, bgeu; aliases against x0 as GNU prints them. */
function branch(f: BaseFields): InstructionParts | undefined {
  const mnemonic = ["beq", "bne", "", "", "blt", "bge", "bltu", "bgeu"][f.funct3] ?? "";
  if (mnemonic === "") return undefined;
  const w = f.word;
  const imm = signExtend((bitField(w, 31, 31) << 12) | (bitField(w, 7, 7) << 11) | (bitField(w, 30, 25) << 5) | (bitField(w, 11, 8) << 1), 13);
  const target = f.offset + imm;
  const to = signedHex(target);
  const branchTarget = target;
  if (f.rs2 === 0 && (mnemonic === "beq" || mnemonic === "bne")) return { mnemonic: mnemonic + "z", operands: [x(f.rs1), to], branchTarget };
  if (f.rs2 === 0 && (mnemonic === "blt" || mnemonic === "bge")) return { mnemonic: mnemonic + "z", operands: [x(f.rs1), to], branchTarget };
  if (f.rs1 === 0 && mnemonic === "blt") return { mnemonic: "bgtz", operands: [x(f.rs2), to], branchTarget };
  if (f.rs1 === 0 && mnemonic === "bge") return { mnemonic: "blez", operands: [x(f.rs2), to], branchTarget };
  return { mnemonic, operands: [x(f.rs1), x(f.rs2), to], branchTarget };
}

function load(f: BaseFields): InstructionParts | undefined {
  const mnemonic = ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", ""][f.funct3] ?? "";
  if (mnemonic === "" || (f.xlen === 32 && (mnemonic === "ld" || mnemonic === "lwu"))) return undefined;
  return { mnemonic, operands: [x(f.rd), memoryOperand(f.immI, f.rs1)], writes: writesX(f.rd), sideEffects: true };
}

function store(f: BaseFields): InstructionParts | undefined {
  const mnemonic = ["sb", "sh", "sw", "sd"][f.funct3];
  if (mnemonic === undefined || (f.xlen === 32 && mnemonic === "sd")) return undefined;
  const imm = signExtend((f.funct7 << 5) | f.rd, 12);
  return { mnemonic, operands: [x(f.rs2), memoryOperand(imm, f.rs1)], sideEffects: true };
}

/** OP-IMM: addi, slti, sltiu, xori, ori, andi, slli, srli, srai; aliases nop, li, mv, not, seqz. */
function opImm(f: BaseFields): InstructionParts | undefined {
  const writes = writesX(f.rd);
  const rd = x(f.rd);
  const rs1 = x(f.rs1);
  if (f.funct3 === 1 || f.funct3 === 5) {
    // RV64 shifts take a 6-bit shamt, so only imm[11:6] selects the operation there.
    const shamtBits = f.xlen === 64 ? 6 : 5;
    const shamt = bitField(f.word, 19 + shamtBits, 20);
    const selector = bitField(f.word, 31, 20 + shamtBits);
    const arithmetic = selector === (f.xlen === 64 ? 0x10 : 0x20);
    if (selector !== 0 && !(f.funct3 === 5 && arithmetic)) return undefined;
    const mnemonic = f.funct3 === 1 ? "slli" : arithmetic ? "srai" : "srli";
    return { mnemonic, operands: [rd, rs1, hex(shamt)], writes };
  }
  const imm = f.immI;
  if (f.funct3 === 0) {
    if (f.rd === 0 && f.rs1 === 0 && imm === 0) return { mnemonic: "nop" };
    if (f.rs1 === 0) return { mnemonic: "li", operands: [rd, String(imm)], writes };
    if (imm === 0) return { mnemonic: "mv", operands: [rd, rs1], writes };
  }
  if (f.funct3 === 4 && imm === -1) return { mnemonic: "not", operands: [rd, rs1], writes };
  if (f.funct3 === 3 && imm === 1) return { mnemonic: "seqz", operands: [rd, rs1], writes };
  const mnemonic = ["addi", "", "slti", "sltiu", "xori", "", "ori", "andi"][f.funct3] ?? "";
  return { mnemonic, operands: [rd, rs1, String(imm)], writes };
}

/** OP-IMM-32 (RV64): addiw (alias sext.w), slliw, srliw, sraiw. */
function opImm32(f: BaseFields): InstructionParts | undefined {
  const writes = writesX(f.rd);
  const rd = x(f.rd);
  const rs1 = x(f.rs1);
  if (f.funct3 === 0) {
    if (f.immI === 0) return { mnemonic: "sext.w", operands: [rd, rs1], writes };
    return { mnemonic: "addiw", operands: [rd, rs1, String(f.immI)], writes };
  }
  const shamt = hex(f.rs2);
  if (f.funct3 === 1 && f.funct7 === 0) return { mnemonic: "slliw", operands: [rd, rs1, shamt], writes };
  if (f.funct3 === 5 && (f.funct7 === 0 || f.funct7 === 0x20)) {
    return { mnemonic: f.funct7 === 0 ? "srliw" : "sraiw", operands: [rd, rs1, shamt], writes };
  }
  return undefined;
}

/** OP: RV32I/RV64I register-register and the M extension; aliases neg, snez, sltz, sgtz. */
function op(f: BaseFields): InstructionParts | undefined {
  let mnemonic: string | undefined;
  if (f.funct7 === 0) mnemonic = ["add", "sll", "slt", "sltu", "xor", "srl", "or", "and"][f.funct3];
  else if (f.funct7 === 0x20) mnemonic = f.funct3 === 0 ? "sub" : f.funct3 === 5 ? "sra" : undefined;
  else if (f.funct7 === 1) mnemonic = ["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"][f.funct3];
  if (mnemonic === undefined) return undefined;
  const writes = writesX(f.rd);
  const rd = x(f.rd);
  if (mnemonic === "sub" && f.rs1 === 0) return { mnemonic: "neg", operands: [rd, x(f.rs2)], writes };
  if (mnemonic === "sltu" && f.rs1 === 0) return { mnemonic: "snez", operands: [rd, x(f.rs2)], writes };
  if (mnemonic === "slt" && f.rs2 === 0) return { mnemonic: "sltz", operands: [rd, x(f.rs1)], writes };
  if (mnemonic === "slt" && f.rs1 === 0) return { mnemonic: "sgtz", operands: [rd, x(f.rs2)], writes };
  return { mnemonic, operands: [rd, x(f.rs1), x(f.rs2)], writes };
}

/** OP-32 (RV64): addw, subw, sllw, srlw, sraw and mulw, divw, divuw, remw, remuw; alias negw. */
function op32(f: BaseFields): InstructionParts | undefined {
  let mnemonic: string | undefined;
  if (f.funct7 === 0) mnemonic = ["addw", "sllw", undefined, undefined, undefined, "srlw"][f.funct3];
  else if (f.funct7 === 0x20) mnemonic = f.funct3 === 0 ? "subw" : f.funct3 === 5 ? "sraw" : undefined;
  else if (f.funct7 === 1) mnemonic = ["mulw", undefined, undefined, undefined, "divw", "divuw", "remw", "remuw"][f.funct3];
  if (mnemonic === undefined) return undefined;
  const writes = writesX(f.rd);
  if (mnemonic === "subw" && f.rs1 === 0) return { mnemonic: "negw", operands: [x(f.rd), x(f.rs2)], writes };
  return { mnemonic, operands: [x(f.rd), x(f.rs1), x(f.rs2)], writes };
}

/** MISC-MEM: FENCE fm | pred | succ | rs1 | 000 | rd (pred/succ bits = i, o, r, w), FENCE.TSO, FENCE.I (Zifencei). */
function miscMem(f: BaseFields): InstructionParts | undefined {
  // The spec reserves the unused fields for future fences and software keeps them zero; so does GNU's decoder.
  if (f.word === 0x0000_100f) return { mnemonic: "fence.i" };
  if (f.word === 0x8330_000f) return { mnemonic: "fence.tso" };
  if (f.funct3 !== 0 || f.rd !== 0 || f.rs1 !== 0 || bitField(f.word, 31, 28) !== 0) return undefined;
  const pred = bitField(f.word, 27, 24);
  const succ = bitField(f.word, 23, 20);
  if (pred === 0xf && succ === 0xf) return { mnemonic: "fence" };
  return { mnemonic: "fence", operands: [fenceSet(pred), fenceSet(succ)] };
}

function fenceSet(bits: number): string {
  const set = ["i", "o", "r", "w"].filter((_, index) => ((bits >> (3 - index)) & 1) === 1).join("");
  return set === "" ? "0" : set;
}

/** SYSTEM: ecall, ebreak, sret, mret, wfi, sfence.vma and the Zicsr instructions; all touch machine state. */
function system(f: BaseFields): InstructionParts | undefined {
  const w = f.word;
  const effects = { sideEffects: true };
  if (f.funct3 === 0) {
    if (w === 0x0000_0073) return { ...effects, mnemonic: "ecall" };
    if (w === 0x0010_0073) return { ...effects, mnemonic: "ebreak" };
    if (w === 0x1020_0073) return { ...effects, mnemonic: "sret", fallsThrough: false };
    if (w === 0x3020_0073) return { ...effects, mnemonic: "mret", fallsThrough: false };
    if (w === 0x1050_0073) return { ...effects, mnemonic: "wfi" };
    if (f.funct7 === 0x09 && f.rd === 0) {
      const operands = f.rs2 !== 0 ? [x(f.rs1), x(f.rs2)] : f.rs1 !== 0 ? [x(f.rs1)] : [];
      return { ...effects, mnemonic: "sfence.vma", operands };
    }
    return undefined;
  }
  if (f.funct3 === 4) return undefined;
  // `unimp` is the GNU name of csrrw zero, cycle, zero: a guaranteed illegal instruction.
  if (w === 0xc000_1073) return { ...effects, mnemonic: "unimp", fallsThrough: false };
  const csrNumber = bitField(w, 31, 20);
  const csr = CSR_NAMES.get(csrNumber) ?? hex(csrNumber);
  const immediate = f.funct3 >= 5;
  const source = immediate ? String(f.rs1) : x(f.rs1);
  const kind = ["", "w", "s", "c"][f.funct3 & 3] ?? "";
  const writes = writesX(f.rd);
  const suffix = immediate ? "i" : "";
  if (kind === "s" && f.rs1 === 0 && !immediate) {
    const counter = COUNTER_READS.get(csrNumber);
    if (counter !== undefined) return { ...effects, mnemonic: counter, operands: [x(f.rd)], writes };
    return { ...effects, mnemonic: "csrr", operands: [x(f.rd), csr], writes };
  }
  if (f.rd === 0) return { ...effects, mnemonic: `csr${kind}${suffix}`, operands: [csr, source] };
  return { ...effects, mnemonic: `csrr${kind}${suffix}`, operands: [x(f.rd), csr, source], writes };
}
