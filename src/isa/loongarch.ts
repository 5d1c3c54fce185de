/**
 * A tiny LoongArch decoder. A LoongArch image starts with the word 0x00005a4d ("MZ\0\0"), which
 * loaders never execute (they jump to `kernel_entry` from the header, Documentation/arch/loongarch/
 * booting.rst), but which decodes as `ext.w.h $t1, $t6`; the decoder shows what it would do.
 * Encodings from the LoongArch Reference Manual Volume 1 (Basic Architecture), chapter 2 "Basic
 * Integer Instructions", chapter 4 "Privileged Instructions" and appendix B "Instruction encoding";
 * mnemonics, aliases and register names as the GNU binutils LoongArch disassembler prints them.
 */
import { hex } from "../io/bytes.js";
import {
  type DecodedInstruction,
  type InstructionParts,
  type SequenceOptions,
  bitField,
  buildInstruction,
  checkSequence,
  checkWord,
  readU32le,
  signExtend,
  signedHex,
  unknownInstruction,
} from "./types.js";

const STRUCTURE = "LoongArch instruction";

/** booting.rst: a0 = efi_boot, a1 = command line, a2 = EFI system table. */
const PROTECTED_REGISTERS: ReadonlySet<string> = new Set(["$a0", "$a1", "$a2"]);

/** r0..r31 under the LP64 ABI names; r21 is reserved and keeps its number. */
// biome-ignore format: a table laid out as the ISA manual lists it
const R = [
  "$zero", "$ra", "$tp", "$sp", "$a0", "$a1", "$a2", "$a3", "$a4", "$a5", "$a6", "$a7", "$t0", "$t1", "$t2", "$t3",
  "$t4", "$t5", "$t6", "$t7", "$t8", "$r21", "$fp", "$s0", "$s1", "$s2", "$s3", "$s4", "$s5", "$s6", "$s7", "$s8",
] as const;

/** f0..f31 under the LP64 ABI names. */
// biome-ignore format: a table laid out as the ISA manual lists it
const F = [
  "$fa0", "$fa1", "$fa2", "$fa3", "$fa4", "$fa5", "$fa6", "$fa7", "$ft0", "$ft1", "$ft2", "$ft3", "$ft4", "$ft5", "$ft6", "$ft7",
  "$ft8", "$ft9", "$ft10", "$ft11", "$ft12", "$ft13", "$ft14", "$ft15", "$fs0", "$fs1", "$fs2", "$fs3", "$fs4", "$fs5", "$fs6", "$fs7",
] as const;

/**
 * Operand layouts (manual §1.2 "Instruction Formats"; fields rd[4:0], rj[9:5], rk[14:10]):
 * 2R, 3R, 2RI12 si12/ui12[21:10], 2RI14 si14[23:10], 2RI16 offs16/si16[25:10], 1RI20 si20[24:5],
 * 1RI21 offs[15:0]@[25:10] offs[20:16]@[4:0], I26 offs[15:0]@[25:10] offs[25:16]@[9:0].
 */
type Format =
  | "none"
  | "rj"
  | "rd,rj"
  | "rd,rj,rk"
  | "rd,rj,rk,sa2"
  | "rd,rj,ui5"
  | "rd,rj,ui6"
  | "rd,rj,msbw,lsbw"
  | "rd,rj,msbd,lsbd"
  | "rd,rj,si12"
  | "rd,rj,ui12"
  | "rd,rj,si14"
  | "rd,rj,si16"
  | "rd,si20"
  | "rd,si12"
  | "rd,ui12"
  | "rd,csr"
  | "rd,rj,csr"
  | "fd,rj,si12"
  | "hint,rj,si12"
  | "code15"
  | "rj,offs21"
  | "rj,rd,offs16"
  | "rd,rj,offs16"
  | "offs26"
  | "rj,zero,offs16"
  | "rd,zero,offs16";

/**
 * What an instruction does beyond its text: "alu" writes rd; "rdtime" writes rd and rj; "load"
 * writes rd and reads memory; "store" writes memory; "system" touches privileged or machine
 * state, or traps (and writes rd when `writesRd`); "barrier" orders memory and writes nothing;
 * "branch" writes nothing unless `indirect` (JIRL: link in rd, target from a register) or `linksRa` (BL).
 */
type Effect = "alu" | "load" | "store" | "system" | "barrier" | "branch" | "rdtime";

interface Opcode {
  match: number;
  mask: number;
  name: string;
  format: Format;
  effect: Effect;
  writesRd?: boolean;
  fallsThrough?: boolean;
  indirect?: boolean;
  linksRa?: boolean;
}

function op(match: number, mask: number, name: string, format: Format, effect: Effect, extra?: Partial<Opcode>): Opcode {
  return { match, mask, name, format, effect, ...extra };
}

const MASK_2R = 0xffff_fc00;
const MASK_3R = 0xffff_8000;
const MASK_2RI12 = 0xffc0_0000;
const MASK_2RI14 = 0xff00_0000;
const MASK_1RI20 = 0xfe00_0000;
const MASK_OP6 = 0xfc00_0000;

/**
 * GNU's disassembly aliases, tried first: move = or rd, rj, $zero; li.w/li.d = addi.w/addi.d rd,
 * $zero, si12 (and ori rd, $zero, ui12); nop = andi $zero, $zero, 0; ret = jirl $zero, $ra, 0;
 * jr = jirl $zero, rj, 0; bltz/bgtz/bgez/blez = blt/bge against $zero.
 */
const ALIASES: readonly Opcode[] = [
  op(0x0015_0000, 0xffff_fc00, "move", "rd,rj", "alu"),
  op(0x0280_0000, 0xffc0_03e0, "li.w", "rd,si12", "alu"),
  op(0x02c0_0000, 0xffc0_03e0, "li.d", "rd,si12", "alu"),
  op(0x0340_0000, 0xffff_ffff, "nop", "none", "alu", { writesRd: false }),
  op(0x0380_0000, 0xffc0_03e0, "li.w", "rd,ui12", "alu"),
  op(0x4c00_0020, 0xffff_ffff, "ret", "none", "branch", { fallsThrough: false, indirect: true }),
  op(0x4c00_0000, 0xffff_fc1f, "jr", "rj", "branch", { fallsThrough: false, indirect: true }),
  op(0x6000_0000, 0xfc00_001f, "bltz", "rj,zero,offs16", "branch"),
  op(0x6000_0000, 0xfc00_03e0, "bgtz", "rd,zero,offs16", "branch"),
  op(0x6400_0000, 0xfc00_001f, "bgez", "rj,zero,offs16", "branch"),
  op(0x6400_0000, 0xfc00_03e0, "blez", "rd,zero,offs16", "branch"),
];

/** Base integer instructions (manual appendix B), plus the scalar FP loads/stores. */
// biome-ignore format: a table laid out as the ISA manual lists it
const OPCODES: readonly Opcode[] = [
  ...(
    [
      ["clo.w", 0x1000], ["clz.w", 0x1400], ["cto.w", 0x1800], ["ctz.w", 0x1c00],
      ["clo.d", 0x2000], ["clz.d", 0x2400], ["cto.d", 0x2800], ["ctz.d", 0x2c00],
      ["revb.2h", 0x3000], ["revb.4h", 0x3400], ["revb.2w", 0x3800], ["revb.d", 0x3c00],
      ["revh.2w", 0x4000], ["revh.d", 0x4400], ["bitrev.4b", 0x4800], ["bitrev.8b", 0x4c00],
      ["bitrev.w", 0x5000], ["bitrev.d", 0x5400], ["ext.w.h", 0x5800], ["ext.w.b", 0x5c00],
      ["cpucfg", 0x6c00],
    ] as const
  ).map(([name, match]) => op(match, MASK_2R, name, "rd,rj", "alu")),
  // RDTIME* write the counter to rd and the counter ID to rj.
  op(0x0000_6000, MASK_2R, "rdtimel.w", "rd,rj", "rdtime"),
  op(0x0000_6400, MASK_2R, "rdtimeh.w", "rd,rj", "rdtime"),
  op(0x0000_6800, MASK_2R, "rdtime.d", "rd,rj", "rdtime"),
  op(0x0004_0000, 0xfffe_0000, "alsl.w", "rd,rj,rk,sa2", "alu"),
  op(0x0006_0000, 0xfffe_0000, "alsl.wu", "rd,rj,rk,sa2", "alu"),
  op(0x002c_0000, 0xfffe_0000, "alsl.d", "rd,rj,rk,sa2", "alu"),
  ...(
    [
      ["add.w", 0x0010_0000], ["add.d", 0x0010_8000], ["sub.w", 0x0011_0000], ["sub.d", 0x0011_8000],
      ["slt", 0x0012_0000], ["sltu", 0x0012_8000], ["maskeqz", 0x0013_0000], ["masknez", 0x0013_8000],
      ["nor", 0x0014_0000], ["and", 0x0014_8000], ["or", 0x0015_0000], ["xor", 0x0015_8000],
      ["orn", 0x0016_0000], ["andn", 0x0016_8000], ["sll.w", 0x0017_0000], ["srl.w", 0x0017_8000],
      ["sra.w", 0x0018_0000], ["sll.d", 0x0018_8000], ["srl.d", 0x0019_0000], ["sra.d", 0x0019_8000],
      ["rotr.w", 0x001b_0000], ["rotr.d", 0x001b_8000], ["mul.w", 0x001c_0000], ["mulh.w", 0x001c_8000],
      ["mulh.wu", 0x001d_0000], ["mul.d", 0x001d_8000], ["mulh.d", 0x001e_0000], ["mulh.du", 0x001e_8000],
      ["mulw.d.w", 0x001f_0000], ["mulw.d.wu", 0x001f_8000], ["div.w", 0x0020_0000], ["mod.w", 0x0020_8000],
      ["div.wu", 0x0021_0000], ["mod.wu", 0x0021_8000], ["div.d", 0x0022_0000], ["mod.d", 0x0022_8000],
      ["div.du", 0x0023_0000], ["mod.du", 0x0023_8000],
    ] as const
  ).map(([name, match]) => op(match, MASK_3R, name, "rd,rj,rk", "alu")),
  op(0x002a_0000, MASK_3R, "break", "code15", "system", { writesRd: false }),
  op(0x002b_0000, MASK_3R, "syscall", "code15", "system", { writesRd: false }),
  op(0x0040_8000, MASK_3R, "slli.w", "rd,rj,ui5", "alu"),
  op(0x0041_0000, 0xffff_0000, "slli.d", "rd,rj,ui6", "alu"),
  op(0x0044_8000, MASK_3R, "srli.w", "rd,rj,ui5", "alu"),
  op(0x0045_0000, 0xffff_0000, "srli.d", "rd,rj,ui6", "alu"),
  op(0x0048_8000, MASK_3R, "srai.w", "rd,rj,ui5", "alu"),
  op(0x0049_0000, 0xffff_0000, "srai.d", "rd,rj,ui6", "alu"),
  op(0x004c_8000, MASK_3R, "rotri.w", "rd,rj,ui5", "alu"),
  op(0x004d_0000, 0xffff_0000, "rotri.d", "rd,rj,ui6", "alu"),
  op(0x0060_0000, 0xffe0_8000, "bstrins.w", "rd,rj,msbw,lsbw", "alu"),
  op(0x0060_8000, 0xffe0_8000, "bstrpick.w", "rd,rj,msbw,lsbw", "alu"),
  op(0x0080_0000, 0xffc0_0000, "bstrins.d", "rd,rj,msbd,lsbd", "alu"),
  op(0x00c0_0000, 0xffc0_0000, "bstrpick.d", "rd,rj,msbd,lsbd", "alu"),
  op(0x0200_0000, MASK_2RI12, "slti", "rd,rj,si12", "alu"),
  op(0x0240_0000, MASK_2RI12, "sltui", "rd,rj,si12", "alu"),
  op(0x0280_0000, MASK_2RI12, "addi.w", "rd,rj,si12", "alu"),
  op(0x02c0_0000, MASK_2RI12, "addi.d", "rd,rj,si12", "alu"),
  op(0x0300_0000, MASK_2RI12, "lu52i.d", "rd,rj,si12", "alu"),
  op(0x0340_0000, MASK_2RI12, "andi", "rd,rj,ui12", "alu"),
  op(0x0380_0000, MASK_2RI12, "ori", "rd,rj,ui12", "alu"),
  op(0x03c0_0000, MASK_2RI12, "xori", "rd,rj,ui12", "alu"),
  // CSR instructions share one opcode; rj = 0 reads, rj = 1 writes, any other rj is the exchange mask.
  op(0x0400_0000, 0xff00_03e0, "csrrd", "rd,csr", "system", { writesRd: true }),
  op(0x0400_0020, 0xff00_03e0, "csrwr", "rd,csr", "system", { writesRd: true }),
  op(0x0400_0000, MASK_2RI14, "csrxchg", "rd,rj,csr", "system", { writesRd: true }),
  op(0x0600_0000, MASK_2RI12, "cacop", "hint,rj,si12", "system"),
  ...(["iocsrrd.b", "iocsrrd.h", "iocsrrd.w", "iocsrrd.d"] as const).map((name, index) =>
    op(0x0648_0000 + index * 0x400, MASK_2R, name, "rd,rj", "system", { writesRd: true }),
  ),
  ...(["iocsrwr.b", "iocsrwr.h", "iocsrwr.w", "iocsrwr.d"] as const).map((name, index) =>
    op(0x0648_1000 + index * 0x400, MASK_2R, name, "rd,rj", "system", { writesRd: false }),
  ),
  ...(["tlbclr", "tlbflush", "tlbsrch", "tlbrd", "tlbwr", "tlbfill"] as const).map((name, index) =>
    op(0x0648_2000 + index * 0x400, 0xffff_ffff, name, "none", "system"),
  ),
  op(0x0648_3800, 0xffff_ffff, "ertn", "none", "system", { fallsThrough: false }),
  op(0x0648_8000, MASK_3R, "idle", "code15", "system"),
  op(0x1000_0000, MASK_OP6, "addu16i.d", "rd,rj,si16", "alu"),
  op(0x1400_0000, MASK_1RI20, "lu12i.w", "rd,si20", "alu"),
  op(0x1600_0000, MASK_1RI20, "lu32i.d", "rd,si20", "alu"),
  op(0x1800_0000, MASK_1RI20, "pcaddi", "rd,si20", "alu"),
  op(0x1a00_0000, MASK_1RI20, "pcalau12i", "rd,si20", "alu"),
  op(0x1c00_0000, MASK_1RI20, "pcaddu12i", "rd,si20", "alu"),
  op(0x1e00_0000, MASK_1RI20, "pcaddu18i", "rd,si20", "alu"),
  op(0x2000_0000, MASK_2RI14, "ll.w", "rd,rj,si14", "load"),
  op(0x2100_0000, MASK_2RI14, "sc.w", "rd,rj,si14", "load"),
  op(0x2200_0000, MASK_2RI14, "ll.d", "rd,rj,si14", "load"),
  op(0x2300_0000, MASK_2RI14, "sc.d", "rd,rj,si14", "load"),
  op(0x2400_0000, MASK_2RI14, "ldptr.w", "rd,rj,si14", "load"),
  op(0x2500_0000, MASK_2RI14, "stptr.w", "rd,rj,si14", "store"),
  op(0x2600_0000, MASK_2RI14, "ldptr.d", "rd,rj,si14", "load"),
  op(0x2700_0000, MASK_2RI14, "stptr.d", "rd,rj,si14", "store"),
  ...(
    [
      ["ld.b", 0x2800_0000, "load"], ["ld.h", 0x2840_0000, "load"], ["ld.w", 0x2880_0000, "load"], ["ld.d", 0x28c0_0000, "load"],
      ["st.b", 0x2900_0000, "store"], ["st.h", 0x2940_0000, "store"], ["st.w", 0x2980_0000, "store"], ["st.d", 0x29c0_0000, "store"],
      ["ld.bu", 0x2a00_0000, "load"], ["ld.hu", 0x2a40_0000, "load"], ["ld.wu", 0x2a80_0000, "load"],
    ] as const
  ).map(([name, match, effect]) => op(match, MASK_2RI12, name, "rd,rj,si12", effect)),
  op(0x2ac0_0000, MASK_2RI12, "preld", "hint,rj,si12", "store"),
  op(0x2b00_0000, MASK_2RI12, "fld.s", "fd,rj,si12", "load"),
  op(0x2b40_0000, MASK_2RI12, "fst.s", "fd,rj,si12", "store"),
  op(0x2b80_0000, MASK_2RI12, "fld.d", "fd,rj,si12", "load"),
  op(0x2bc0_0000, MASK_2RI12, "fst.d", "fd,rj,si12", "store"),
  ...(
    [
      ["ldx.b", 0x3800_0000, "load"], ["ldx.h", 0x3804_0000, "load"], ["ldx.w", 0x3808_0000, "load"], ["ldx.d", 0x380c_0000, "load"],
      ["stx.b", 0x3810_0000, "store"], ["stx.h", 0x3814_0000, "store"], ["stx.w", 0x3818_0000, "store"], ["stx.d", 0x381c_0000, "store"],
      ["ldx.bu", 0x3820_0000, "load"], ["ldx.hu", 0x3824_0000, "load"], ["ldx.wu", 0x3828_0000, "load"],
    ] as const
  ).map(([name, match, effect]) => op(match, MASK_3R, name, "rd,rj,rk", effect)),
  op(0x3872_0000, MASK_3R, "dbar", "code15", "barrier"),
  op(0x3872_8000, MASK_3R, "ibar", "code15", "barrier"),
  op(0x4000_0000, MASK_OP6, "beqz", "rj,offs21", "branch"),
  op(0x4400_0000, MASK_OP6, "bnez", "rj,offs21", "branch"),
  op(0x4c00_0000, MASK_OP6, "jirl", "rd,rj,offs16", "branch", { fallsThrough: false, indirect: true }),
  op(0x5000_0000, MASK_OP6, "b", "offs26", "branch", { fallsThrough: false }),
  op(0x5400_0000, MASK_OP6, "bl", "offs26", "branch", { fallsThrough: false, linksRa: true }),
  op(0x5800_0000, MASK_OP6, "beq", "rj,rd,offs16", "branch"),
  op(0x5c00_0000, MASK_OP6, "bne", "rj,rd,offs16", "branch"),
  op(0x6000_0000, MASK_OP6, "blt", "rj,rd,offs16", "branch"),
  op(0x6400_0000, MASK_OP6, "bge", "rj,rd,offs16", "branch"),
  op(0x6800_0000, MASK_OP6, "bltu", "rj,rd,offs16", "branch"),
  op(0x6c00_0000, MASK_OP6, "bgeu", "rj,rd,offs16", "branch"),
];

/**
 * Decodes one LoongArch instruction word found at byte `offset` of the image.
 * Throws KimgError E_BAD_FIELD / E_BAD_OFFSET for a word or offset that is not a u32 / non-negative integer.
 */
export function decodeLoongArch(word: number, offset: number): DecodedInstruction {
  const value = checkWord(word, offset, STRUCTURE);
  const opcode = findOpcode(value);
  if (opcode === undefined) return unknownInstruction(offset, 4, value);
  return buildInstruction(offset, 4, value, describe(opcode, value, offset), PROTECTED_REGISTERS);
}

/** Decodes up to `count` little-endian words from `options.start`; fewer when the data ends. */
export function decodeLoongArchSequence(bytes: Uint8Array, count: number, options?: SequenceOptions): DecodedInstruction[] {
  let offset = checkSequence(bytes, count, options, STRUCTURE);
  const decoded: DecodedInstruction[] = [];
  while (decoded.length < count && offset + 4 <= bytes.length) {
    decoded.push(decodeLoongArch(readU32le(bytes, offset), offset));
    offset += 4;
  }
  return decoded;
}

function findOpcode(word: number): Opcode | undefined {
  const hit = (entry: Opcode): boolean => (word & entry.mask) >>> 0 === entry.match;
  return ALIASES.find(hit) ?? OPCODES.find(hit);
}

function r(n: number): string {
  return R[n] ?? "";
}

function describe(opcode: Opcode, word: number, offset: number): InstructionParts {
  const rd = bitField(word, 4, 0);
  const rj = bitField(word, 9, 5);
  const parts: InstructionParts = { mnemonic: opcode.name, operands: operands(opcode.format, word, offset) };
  const target = branchTarget(opcode.format, word, offset);
  if (target !== undefined) parts.branchTarget = target;
  if (opcode.fallsThrough === false) parts.fallsThrough = false;

  const writes: number[] = [];
  switch (opcode.effect) {
    case "alu":
      if (opcode.writesRd !== false) writes.push(rd);
      break;
    case "rdtime":
      writes.push(rd, rj);
      break;
    case "load":
      writes.push(rd);
      parts.sideEffects = true;
      break;
    case "store":
      parts.sideEffects = true;
      break;
    case "system":
      if (opcode.writesRd === true) writes.push(rd);
      parts.sideEffects = true;
      break;
    case "barrier":
      break;
    case "branch":
      if (opcode.indirect === true) {
        writes.push(rd);
        parts.sideEffects = true;
      }
      if (opcode.linksRa === true) writes.push(1);
      break;
  }
  if (opcode.format === "fd,rj,si12" && opcode.effect === "load") {
    parts.writes = [F[rd] ?? ""];
  } else {
    parts.writes = [...new Set(writes.filter((n) => n !== 0).map(r))];
  }
  return parts;
}

function si12(word: number): number {
  return signExtend(bitField(word, 21, 10), 12);
}

function branchTarget(format: Format, word: number, offset: number): number | undefined {
  switch (format) {
    case "rj,offs21":
      return offset + signExtend((bitField(word, 4, 0) << 16) | bitField(word, 25, 10), 21) * 4;
    case "rj,rd,offs16":
    case "rj,zero,offs16":
    case "rd,zero,offs16":
      return offset + signExtend(bitField(word, 25, 10), 16) * 4;
    case "offs26":
      return offset + signExtend((bitField(word, 9, 0) << 16) | bitField(word, 25, 10), 26) * 4;
    default:
      return undefined;
  }
}

function operands(format: Format, word: number, offset: number): string[] {
  const rd = r(bitField(word, 4, 0));
  const rj = r(bitField(word, 9, 5));
  const rk = r(bitField(word, 14, 10));
  const target = (): string => signedHex(branchTarget(format, word, offset) ?? 0);
  switch (format) {
    case "none":
      return [];
    case "rj":
      return [rj];
    case "rd,rj":
      return [rd, rj];
    case "rd,rj,rk":
      return [rd, rj, rk];
    case "rd,rj,rk,sa2":
      return [rd, rj, rk, hex(bitField(word, 16, 15) + 1)];
    case "rd,rj,ui5":
      return [rd, rj, hex(bitField(word, 14, 10))];
    case "rd,rj,ui6":
      return [rd, rj, hex(bitField(word, 15, 10))];
    case "rd,rj,msbw,lsbw":
      return [rd, rj, hex(bitField(word, 20, 16)), hex(bitField(word, 14, 10))];
    case "rd,rj,msbd,lsbd":
      return [rd, rj, hex(bitField(word, 21, 16)), hex(bitField(word, 15, 10))];
    case "rd,rj,si12":
      return [rd, rj, String(si12(word))];
    case "rd,rj,ui12":
      return [rd, rj, hex(bitField(word, 21, 10))];
    case "rd,rj,si14":
      return [rd, rj, String(signExtend(bitField(word, 23, 10), 14) * 4)];
    case "rd,rj,si16":
      return [rd, rj, String(signExtend(bitField(word, 25, 10), 16))];
    case "rd,si20":
      return [rd, String(signExtend(bitField(word, 24, 5), 20))];
    case "rd,si12":
      return [rd, String(si12(word))];
    case "rd,ui12":
      return [rd, hex(bitField(word, 21, 10))];
    case "rd,csr":
      return [rd, hex(bitField(word, 23, 10))];
    case "rd,rj,csr":
      return [rd, rj, hex(bitField(word, 23, 10))];
    case "fd,rj,si12":
      return [F[bitField(word, 4, 0)] ?? "", rj, String(si12(word))];
    case "hint,rj,si12":
      return [hex(bitField(word, 4, 0)), rj, String(si12(word))];
    case "code15":
      return [hex(bitField(word, 14, 0))];
    case "rj,offs21":
    case "rj,zero,offs16":
      return [rj, target()];
    case "rd,zero,offs16":
      return [rd, target()];
    case "rj,rd,offs16":
      return [rj, rd, target()];
    case "rd,rj,offs16":
      return [rd, rj, String(signExtend(bitField(word, 25, 10), 16) * 4)];
    case "offs26":
      return [target()];
  }
}
