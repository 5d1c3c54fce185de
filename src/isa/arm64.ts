/**
 * A tiny A64 decoder for the first words of an arm64 Image: code0 is the "MZ" pseudo-NOP
 * (`ccmp x18, #0, #0xd, pl` = 0xfa405a4d, or `add x13, x18, #0x16` = 0x91005a4d in older kernels,
 * or `nop`) and code1 is `b primary_entry` (Documentation/arch/arm64/booting.rst,
 * arch/arm64/kernel/head.S). Encodings from the Arm Architecture Reference Manual (DDI 0487),
 * section C4.1 "A64 instruction set encoding"; text in the style of GNU objdump.
 * A64 instructions are always little-endian, also in a big-endian kernel.
 */
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

const STRUCTURE = "arm64 instruction";

/** booting.rst: x0 = physical address of the DTB, x1..x3 = 0 (reserved, checked by the kernel). */
const PROTECTED_REGISTERS: ReadonlySet<string> = new Set(["x0", "x1", "x2", "x3"]);

/** ARM ARM C1.2.4, condition codes 0b0000..0b1111, as GNU spells them. */
const CONDITIONS = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"] as const;

/** ARM ARM C6.2 HINT: CRm:op2 values with a name of their own; `writes` per the instruction pages. */
const HINTS: ReadonlyMap<number, { name: string; writes?: string[]; sideEffects?: boolean }> = new Map([
  [0, { name: "nop" }],
  [1, { name: "yield" }],
  [2, { name: "wfe", sideEffects: true }],
  [3, { name: "wfi", sideEffects: true }],
  [4, { name: "sev", sideEffects: true }],
  [5, { name: "sevl" }],
  [6, { name: "dgh" }],
  [7, { name: "xpaclri", writes: ["x30"] }],
  [8, { name: "pacia1716", writes: ["x17"] }],
  [10, { name: "pacib1716", writes: ["x17"] }],
  // AUT* trap on a failed check with FEAT_FPAC.
  [12, { name: "autia1716", writes: ["x17"], sideEffects: true }],
  [14, { name: "autib1716", writes: ["x17"], sideEffects: true }],
  [16, { name: "esb" }],
  [17, { name: "psb csync" }],
  [18, { name: "tsb csync" }],
  [20, { name: "csdb" }],
  [22, { name: "clearbhb" }],
  [24, { name: "paciaz", writes: ["x30"] }],
  [25, { name: "paciasp", writes: ["x30"] }],
  [26, { name: "pacibz", writes: ["x30"] }],
  [27, { name: "pacibsp", writes: ["x30"] }],
  [28, { name: "autiaz", writes: ["x30"], sideEffects: true }],
  [29, { name: "autiasp", writes: ["x30"], sideEffects: true }],
  [30, { name: "autibz", writes: ["x30"], sideEffects: true }],
  [31, { name: "autibsp", writes: ["x30"], sideEffects: true }],
  [32, { name: "bti" }],
  [34, { name: "bti c" }],
  [36, { name: "bti j" }],
  [38, { name: "bti jc" }],
]);

/**
 * Decodes one A64 instruction word found at byte `offset` of the image.
 * Throws KimgError E_BAD_FIELD / E_BAD_OFFSET for a word or offset that is not a u32 / non-negative integer.
 */
export function decodeArm64(word: number, offset: number): DecodedInstruction {
  const value = checkWord(word, offset, STRUCTURE);
  const parts = decodeParts(value, offset);
  return parts === undefined ? unknownInstruction(offset, 4, value) : buildInstruction(offset, 4, value, parts, PROTECTED_REGISTERS);
}

/** Decodes up to `count` little-endian words from `options.start`; fewer when the data ends. */
export function decodeArm64Sequence(bytes: Uint8Array, count: number, options?: SequenceOptions): DecodedInstruction[] {
  let offset = checkSequence(bytes, count, options, STRUCTURE);
  const decoded: DecodedInstruction[] = [];
  while (decoded.length < count && offset + 4 <= bytes.length) {
    decoded.push(decodeArm64(readU32le(bytes, offset), offset));
    offset += 4;
  }
  return decoded;
}

function matches(word: number, mask: number, value: number): boolean {
  return (word & mask) >>> 0 === value;
}

function decodeParts(word: number, offset: number): InstructionParts | undefined {
  if (matches(word, 0x7c00_0000, 0x1400_0000)) return branchImmediate(word, offset);
  if (matches(word, 0xff00_0010, 0x5400_0000)) return branchConditional(word, offset);
  if (matches(word, 0x7e00_0000, 0x3400_0000)) return compareAndBranch(word, offset);
  if (matches(word, 0xffff_f01f, 0xd503_201f)) return hint(word);
  if (matches(word, 0xff9f_fc1f, 0xd61f_0000)) return branchRegister(word);
  if (matches(word, 0x1f00_0000, 0x1000_0000)) return pcRelativeAddress(word, offset);
  if (matches(word, 0x3b00_0000, 0x1800_0000)) return loadLiteral(word, offset);
  if (matches(word, 0x1f80_0000, 0x1280_0000)) return moveWide(word);
  if (matches(word, 0x1f80_0000, 0x1100_0000)) return addSubImmediate(word);
  if (matches(word, 0x1f20_0000, 0x0b00_0000)) return addSubShiftedRegister(word);
  if (matches(word, 0x3fe0_0410, 0x3a40_0000)) return conditionalCompare(word);
  return undefined;
}

/** Register `n` as written in text: x/w, with 31 meaning the stack pointer or the zero register. */
function gpr(n: number, is64: boolean, r31: "sp" | "zr"): string {
  if (n === 31) return r31 === "sp" ? (is64 ? "sp" : "wsp") : is64 ? "xzr" : "wzr";
  return (is64 ? "x" : "w") + n;
}

/** The architectural register a write to `n` changes (none for the zero register). */
function written(n: number, r31: "sp" | "zr"): string[] {
  if (n === 31) return r31 === "sp" ? ["sp"] : [];
  return ["x" + n];
}

function condition(code: number): string {
  return CONDITIONS[code & 0xf] ?? "";
}

/** C6.2 B, BL: op | 00101 | imm26; target = PC + SignExtend(imm26:'00'). */
function branchImmediate(word: number, offset: number): InstructionParts {
  const link = bitField(word, 31, 31) === 1;
  const target = offset + signExtend(bitField(word, 25, 0), 26) * 4;
  return {
    mnemonic: link ? "bl" : "b",
    operands: [signedHex(target)],
    branchTarget: target,
    fallsThrough: false,
    writes: link ? ["x30"] : [],
  };
}

/** C6.2 B.cond: 0101010 | 0 | imm19 | 0 | cond. */
function branchConditional(word: number, offset: number): InstructionParts {
  const target = offset + signExtend(bitField(word, 23, 5), 19) * 4;
  const cond = bitField(word, 3, 0);
  return {
    mnemonic: "b." + condition(cond),
    operands: [signedHex(target)],
    branchTarget: target,
    // AL and NV both mean "always".
    fallsThrough: cond < 14,
  };
}

/** C6.2 CBZ, CBNZ: sf | 011010 | op | imm19 | Rt. */
function compareAndBranch(word: number, offset: number): InstructionParts {
  const is64 = bitField(word, 31, 31) === 1;
  const target = offset + signExtend(bitField(word, 23, 5), 19) * 4;
  return {
    mnemonic: bitField(word, 24, 24) === 1 ? "cbnz" : "cbz",
    operands: [gpr(bitField(word, 4, 0), is64, "zr"), signedHex(target)],
    branchTarget: target,
  };
}

/** C6.2 HINT: 1101010100 | 0 | 00 | 011 | 0010 | CRm | op2 | 11111. Unnamed hints execute as NOP. */
function hint(word: number): InstructionParts {
  const number = bitField(word, 11, 5);
  const known = HINTS.get(number);
  if (known === undefined) return { mnemonic: "hint", operands: ["#0x" + number.toString(16)] };
  // "bti c", "psb csync": the second word is an operand.
  const [mnemonic = "", ...operands] = known.name.split(" ");
  const parts: InstructionParts = { mnemonic, operands, writes: known.writes ?? [] };
  if (known.sideEffects === true) parts.sideEffects = true;
  return parts;
}

/** C6.2 BR, BLR, RET: 1101011 | 0 | 0 | opc(2) | 11111 | 000000 | Rn | 00000. */
function branchRegister(word: number): InstructionParts | undefined {
  const opc = bitField(word, 22, 21);
  const rn = bitField(word, 9, 5);
  const register = gpr(rn, true, "zr");
  if (opc === 0) return { mnemonic: "br", operands: [register], fallsThrough: false, sideEffects: true };
  if (opc === 1) return { mnemonic: "blr", operands: [register], fallsThrough: false, writes: ["x30"], sideEffects: true };
  if (opc === 2) return { mnemonic: "ret", operands: rn === 30 ? [] : [register], fallsThrough: false, sideEffects: true };
  return undefined;
}

/** C6.2 ADR, ADRP: op | immlo(2) | 10000 | immhi(19) | Rd. ADRP works on 4 KiB pages. */
function pcRelativeAddress(word: number, offset: number): InstructionParts {
  const page = bitField(word, 31, 31) === 1;
  const imm = signExtend((bitField(word, 23, 5) << 2) | bitField(word, 30, 29), 21);
  const address = page ? offset - (offset % 4096) + imm * 4096 : offset + imm;
  const rd = bitField(word, 4, 0);
  return { mnemonic: page ? "adrp" : "adr", operands: [gpr(rd, true, "zr"), signedHex(address)], writes: written(rd, "zr") };
}

/** C6.2 LDR (literal), LDRSW (literal), PRFM (literal), C7.2 LDR (literal, SIMD&FP): opc | 011 | V | 00 | imm19 | Rt. */
function loadLiteral(word: number, offset: number): InstructionParts | undefined {
  const opc = bitField(word, 31, 30);
  const simd = bitField(word, 26, 26) === 1;
  const rt = bitField(word, 4, 0);
  const address = signedHex(offset + signExtend(bitField(word, 23, 5), 19) * 4);
  if (simd) {
    const prefix = ["s", "d", "q"][opc];
    if (prefix === undefined) return undefined;
    return { mnemonic: "ldr", operands: [prefix + rt, address], writes: ["v" + rt], sideEffects: true };
  }
  if (opc === 3) return { mnemonic: "prfm", operands: [prefetchOperation(rt), address], sideEffects: true };
  const is64 = opc !== 0;
  return {
    mnemonic: opc === 2 ? "ldrsw" : "ldr",
    operands: [gpr(rt, is64, "zr"), address],
    writes: written(rt, "zr"),
    sideEffects: true,
  };
}

/** C6.2 PRFM <prfop>: type(2) | target(2) | policy(1), e.g. PLDL1KEEP. */
function prefetchOperation(rt: number): string {
  const type = ["pld", "pli", "pst"][rt >> 3];
  const target = ["l1", "l2", "l3"][(rt >> 1) & 3];
  if (type === undefined || target === undefined) return "#0x" + rt.toString(16).padStart(2, "0");
  return type + target + ((rt & 1) === 1 ? "strm" : "keep");
}

/** C6.2 MOVN, MOVZ, MOVK: sf | opc(2) | 100101 | hw(2) | imm16 | Rd; MOV is the preferred alias of MOVZ/MOVN. */
function moveWide(word: number): InstructionParts | undefined {
  const is64 = bitField(word, 31, 31) === 1;
  const opc = bitField(word, 30, 29);
  const hw = bitField(word, 22, 21);
  const imm16 = bitField(word, 20, 5);
  const rd = bitField(word, 4, 0);
  if (opc === 1 || (!is64 && hw >= 2)) return undefined;
  const destination = gpr(rd, is64, "zr");
  const parts = { writes: written(rd, "zr") };
  const shiftText = hw === 0 ? [] : ["lsl #" + hw * 16];
  if (opc === 3) return { ...parts, mnemonic: "movk", operands: [destination, "#0x" + imm16.toString(16), ...shiftText] };
  const width = is64 ? 64n : 32n;
  const mask = (1n << width) - 1n;
  const shifted = BigInt(imm16) << BigInt(hw * 16);
  const inverted = opc === 0;
  const aliasAllowed = !(imm16 === 0 && hw !== 0) && !(inverted && !is64 && imm16 === 0xffff);
  if (aliasAllowed) {
    const value = inverted ? ~shifted & mask : shifted;
    return { ...parts, mnemonic: "mov", operands: [destination, "#0x" + value.toString(16)] };
  }
  return { ...parts, mnemonic: inverted ? "movn" : "movz", operands: [destination, "#0x" + imm16.toString(16), ...shiftText] };
}

/** C6.2 ADD/ADDS/SUB/SUBS (immediate): sf | op | S | 100010 | sh | imm12 | Rn | Rd; aliases MOV (to/from SP), CMN, CMP. */
function addSubImmediate(word: number): InstructionParts {
  const is64 = bitField(word, 31, 31) === 1;
  const subtract = bitField(word, 30, 30) === 1;
  const setFlags = bitField(word, 29, 29) === 1;
  const shifted = bitField(word, 22, 22) === 1;
  const imm12 = bitField(word, 21, 10);
  const rn = bitField(word, 9, 5);
  const rd = bitField(word, 4, 0);
  const rdKind = setFlags ? "zr" : "sp";
  const writes = [...written(rd, rdKind), ...(setFlags ? ["nzcv"] : [])];
  const source = gpr(rn, is64, "sp");
  const immediate = ["#0x" + imm12.toString(16), ...(shifted ? ["lsl #12"] : [])];
  if (!subtract && !setFlags && !shifted && imm12 === 0 && (rd === 31 || rn === 31)) {
    return { mnemonic: "mov", operands: [gpr(rd, is64, "sp"), source], writes };
  }
  if (setFlags && rd === 31) return { mnemonic: subtract ? "cmp" : "cmn", operands: [source, ...immediate], writes };
  const mnemonic = (subtract ? "sub" : "add") + (setFlags ? "s" : "");
  return { mnemonic, operands: [gpr(rd, is64, rdKind), source, ...immediate], writes };
}

/** C6.2 ADD/ADDS/SUB/SUBS (shifted register): sf | op | S | 01011 | shift(2) | 0 | Rm | imm6 | Rn | Rd; aliases NEG(S), CMP, CMN. */
function addSubShiftedRegister(word: number): InstructionParts | undefined {
  const is64 = bitField(word, 31, 31) === 1;
  const subtract = bitField(word, 30, 30) === 1;
  const setFlags = bitField(word, 29, 29) === 1;
  const shift = bitField(word, 23, 22);
  const amount = bitField(word, 15, 10);
  const rm = bitField(word, 20, 16);
  const rn = bitField(word, 9, 5);
  const rd = bitField(word, 4, 0);
  if (shift === 3 || (!is64 && amount >= 32)) return undefined;
  const writes = [...written(rd, "zr"), ...(setFlags ? ["nzcv"] : [])];
  const operand = [gpr(rm, is64, "zr"), ...(shift === 0 && amount === 0 ? [] : [`${["lsl", "lsr", "asr"][shift]} #${amount}`])];
  if (setFlags && rd === 31) return { mnemonic: subtract ? "cmp" : "cmn", operands: [gpr(rn, is64, "zr"), ...operand], writes };
  if (subtract && rn === 31) return { mnemonic: setFlags ? "negs" : "neg", operands: [gpr(rd, is64, "zr"), ...operand], writes };
  const mnemonic = (subtract ? "sub" : "add") + (setFlags ? "s" : "");
  return { mnemonic, operands: [gpr(rd, is64, "zr"), gpr(rn, is64, "zr"), ...operand], writes };
}

/**
 * C6.2 CCMN/CCMP (immediate and register): sf | op | 1 | 11010010 | imm5/Rm | cond | imm?1:0 | 0 | Rn | 0 | nzcv.
 * Sets NZCV from the comparison if `cond` holds, else to the literal nzcv; writes nothing else.
 */
function conditionalCompare(word: number): InstructionParts {
  const is64 = bitField(word, 31, 31) === 1;
  const immediate = bitField(word, 11, 11) === 1;
  const field = bitField(word, 20, 16);
  return {
    mnemonic: bitField(word, 30, 30) === 1 ? "ccmp" : "ccmn",
    operands: [
      gpr(bitField(word, 9, 5), is64, "zr"),
      immediate ? "#0x" + field.toString(16) : gpr(field, is64, "zr"),
      "#0x" + bitField(word, 3, 0).toString(16),
      condition(bitField(word, 15, 12)),
    ],
    writes: ["nzcv"],
  };
}
