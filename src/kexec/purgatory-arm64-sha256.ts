/**
 * The arm64 entry stub with an integrity check before the jump, as kexec-tools' purgatory does
 * (purgatory/purgatory.c verify_sha256_digest): it computes the SHA-256 of each loaded segment
 * and, only when every one matches the digest kimg computed before the load, sets x0 = DTB,
 * x1..x3 = 0 and branches to the kernel. A mismatch stops the CPU in a loop (kexec-tools' does
 * the same after printing); a corrupted load never boots.
 *
 * What it hashes: [mem, mem + memsz) of each checked segment. kexec copies bufsz bytes and the
 * kernel zero-fills the rest of memsz (kernel/kexec_core.c kimage_load_normal_segment), so kimg
 * computes the digest of the buffer followed by those zeros. memsz is page aligned, a multiple of
 * SHA-256's 64-byte block, so the stub hashes whole blocks and then one final block that kimg
 * precomputes (0x80, zeros, the length in bits: FIPS 180-4 §5.1.1).
 *
 * The stub runs with the MMU off (arch/arm64/kernel/relocate_kernel.S): memory is Device memory,
 * so every access is naturally aligned. Encodings: Arm Architecture Reference Manual for A-profile,
 * "A64 Instruction Set Encoding" (Loads and Stores, Data Processing - Immediate / Register,
 * Branches). SHA-256 itself: FIPS 180-4 §4.1.2 (functions), §4.2.2 (constants K), §5.3.3 (initial
 * hash value), §6.2.2 (the computation).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { PurgatoryInstruction } from "./purgatory-arm64.js";

/** FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
// biome-ignore format: the constants as FIPS 180-4 lists them, eight to a row
export const SHA256_K: readonly number[] = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/** FIPS 180-4 §5.3.3: the initial hash value H(0). */
export const SHA256_IV: readonly number[] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** A segment the stub checks: where it lies and the SHA-256 of its memsz bytes (buffer + zero fill). */
export interface CheckedRegion {
  name: string;
  mem: number;
  memsz: number;
  sha256: Uint8Array;
}

export interface Arm64CheckingPurgatory {
  code: Uint8Array;
  listing: PurgatoryInstruction[];
}

/** Bytes per region in the table: mem (8), size (8), the final padding block (64), the digest as eight words (32). */
export const REGION_ENTRY_BYTES = 112;
export const ARM64_CHECK_MAX_REGIONS = 8;

const XZR = 31;
const SP_OR_ZR = 31;

type Emit = (pc: number, label: (name: string) => number) => number;
interface Line {
  emit: Emit;
  text: string;
}

function imm(value: number, bits: number, what: string): number {
  const min = -(2 ** (bits - 1));
  const max = 2 ** (bits - 1) - 1;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new KimgError(ErrorCode.LIMIT, `${what} ${value} out of range`, { structure: "arm64 purgatory" });
  return value & (2 ** bits - 1);
}

function uimm(value: number, bits: number, scale: number, what: string): number {
  if (value % scale !== 0 || value < 0 || value / scale >= 2 ** bits)
    throw new KimgError(ErrorCode.LIMIT, `${what} ${value} out of range`, { structure: "arm64 purgatory" });
  return value / scale;
}

// biome-ignore format: one encoder a line
const enc = {
  adr: (rd: number, delta: number) => { const i = imm(delta, 21, "adr offset"); return (0x10000000 | ((i & 3) << 29) | ((i >> 2) << 5) | rd) >>> 0; },
  ldrX: (rt: number, rn: number, off: number) => (0xf9400000 | (uimm(off, 12, 8, "ldr offset") << 10) | (rn << 5) | rt) >>> 0,
  ldrWReg: (rt: number, rn: number, rm: number) => (0xb8607800 | (rm << 16) | (rn << 5) | rt) >>> 0,
  strWReg: (rt: number, rn: number, rm: number) => (0xb8207800 | (rm << 16) | (rn << 5) | rt) >>> 0,
  ldpW: (rt: number, rt2: number, rn: number, off: number) => (0x29400000 | (imm(off / 4, 7, "ldp offset") << 15) | (rt2 << 10) | (rn << 5) | rt) >>> 0,
  stpW: (rt: number, rt2: number, rn: number, off: number) => (0x29000000 | (imm(off / 4, 7, "stp offset") << 15) | (rt2 << 10) | (rn << 5) | rt) >>> 0,
  ldpX: (rt: number, rt2: number, rn: number, off: number) => (0xa9400000 | (imm(off / 8, 7, "ldp offset") << 15) | (rt2 << 10) | (rn << 5) | rt) >>> 0,
  stpX: (rt: number, rt2: number, rn: number, off: number) => (0xa9000000 | (imm(off / 8, 7, "stp offset") << 15) | (rt2 << 10) | (rn << 5) | rt) >>> 0,
  revW: (rd: number, rn: number) => (0x5ac00800 | (rn << 5) | rd) >>> 0,
  addXImm: (rd: number, rn: number, v: number) => (0x91000000 | (uimm(v, 12, 1, "add immediate") << 10) | (rn << 5) | rd) >>> 0,
  subXImm: (rd: number, rn: number, v: number) => (0xd1000000 | (uimm(v, 12, 1, "sub immediate") << 10) | (rn << 5) | rd) >>> 0,
  cmpXImm: (rn: number, v: number) => (0xf1000000 | (uimm(v, 12, 1, "cmp immediate") << 10) | (rn << 5) | SP_OR_ZR) >>> 0,
  cmpX: (rn: number, rm: number) => (0xeb000000 | (rm << 16) | (rn << 5) | SP_OR_ZR) >>> 0,
  addX: (rd: number, rn: number, rm: number) => (0x8b000000 | (rm << 16) | (rn << 5) | rd) >>> 0,
  addW: (rd: number, rn: number, rm: number) => (0x0b000000 | (rm << 16) | (rn << 5) | rd) >>> 0,
  /** Logical (shifted register), 32-bit: base AND 0x0a000000, BIC 0x0a200000, EOR 0x4a000000, ORR 0x2a000000; shift 1 = LSR, 3 = ROR. */
  logicW: (base: number, rd: number, rn: number, rm: number, shift = 0, amount = 0) => (base | (shift << 22) | (rm << 16) | (amount << 10) | (rn << 5) | rd) >>> 0,
  /** ROR Wd, Ws, #n is EXTR Wd, Ws, Ws, #n. */
  rorW: (rd: number, rn: number, n: number) => (0x13800000 | (rn << 16) | (n << 10) | (rn << 5) | rd) >>> 0,
  movX: (rd: number, rm: number) => (0xaa0003e0 | (rm << 16) | rd) >>> 0,
  movW: (rd: number, rm: number) => (0x2a0003e0 | (rm << 16) | rd) >>> 0,
  movzX: (rd: number, v: number) => (0xd2800000 | (uimm(v, 16, 1, "movz immediate") << 5) | rd) >>> 0,
  bcond: (cond: number, delta: number) => (0x54000000 | (imm(delta / 4, 19, "b.cond offset") << 5) | cond) >>> 0,
  b: (delta: number) => (0x14000000 | imm(delta / 4, 26, "b offset")) >>> 0,
  bl: (delta: number) => (0x94000000 | imm(delta / 4, 26, "bl offset")) >>> 0,
  cbzX: (rt: number, delta: number) => (0xb4000000 | (imm(delta / 4, 19, "cbz offset") << 5) | rt) >>> 0,
  ret: () => 0xd65f03c0,
  br: (rn: number) => (0xd61f0000 | (rn << 5)) >>> 0,
  ldrLiteralX: (rt: number, delta: number) => (0x58000000 | (imm(delta / 4, 19, "ldr literal offset") << 5) | rt) >>> 0,
};

const AND = 0x0a000000;
const BIC = 0x0a200000;
const EOR = 0x4a000000;
const LSR = 1;
const ROR = 3;
const NE = 1;
const HS = 2;

/**
 * Builds the checking stub for `regions` (at most {@link ARM64_CHECK_MAX_REGIONS}), entering the
 * kernel at `kernelEntry` with x0 = `dtbAddress`.
 */
export function buildArm64CheckingPurgatory(kernelEntry: number, dtbAddress: number, regions: readonly CheckedRegion[]): Arm64CheckingPurgatory {
  if (regions.length > ARM64_CHECK_MAX_REGIONS) {
    throw new KimgError(ErrorCode.LIMIT, `${regions.length} regions to check, at most ${ARM64_CHECK_MAX_REGIONS}`, { structure: "arm64 purgatory" });
  }
  for (const r of regions) {
    if (r.memsz % 64 !== 0 || r.mem % 8 !== 0 || r.sha256.length !== 32 || !Number.isSafeInteger(r.mem + r.memsz)) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${r.name}: a checked region must be 8-byte aligned, a multiple of 64 bytes, with a 32-byte digest`, {
        structure: "arm64 purgatory",
      });
    }
  }
  for (const [name, value, alignment] of [
    ["kernel entry", kernelEntry, 4],
    ["DTB address", dtbAddress, 8],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value % alignment !== 0) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${name} 0x${value.toString(16)} is not a ${alignment}-byte aligned physical address`, {
        structure: "arm64 purgatory",
      });
    }
  }

  const lines: Line[] = [];
  const labels = new Map<string, number>();
  const at = (name: string): void => {
    labels.set(name, lines.length * 4);
  };
  const op = (text: string, emit: Emit): void => {
    lines.push({ emit, text });
  };
  const fixed = (text: string, word: number): void => op(text, () => word);
  const rel = (text: string, target: string, make: (delta: number) => number): void => op(text, (pc, label) => make(label(target) - pc));

  // Registers: x19 region entry, x20 regions left, x21 block, x22 end, x23 K, x24 W, x25 H, x9..x17 scratch, w0..w7 a..h.
  rel("adr x19, table", "table", (d) => enc.adr(19, d));
  fixed("ldr x20, [x19]          // number of regions", enc.ldrX(20, 19, 0));
  fixed("add x19, x19, #8", enc.addXImm(19, 19, 8));
  rel("adr x23, K", "K", (d) => enc.adr(23, d));
  rel("adr x24, W", "W", (d) => enc.adr(24, d));
  rel("adr x25, H", "H", (d) => enc.adr(25, d));
  at("region");
  rel("cbz x20, enter", "enter", (d) => enc.cbzX(20, d));
  rel("adr x9, IV", "IV", (d) => enc.adr(9, d));
  fixed("ldp x10, x11, [x9]      // H = H(0)", enc.ldpX(10, 11, 9, 0));
  fixed("stp x10, x11, [x25]", enc.stpX(10, 11, 25, 0));
  fixed("ldp x10, x11, [x9, #16]", enc.ldpX(10, 11, 9, 16));
  fixed("stp x10, x11, [x25, #16]", enc.stpX(10, 11, 25, 16));
  fixed("ldr x21, [x19]          // mem", enc.ldrX(21, 19, 0));
  fixed("ldr x22, [x19, #8]      // memsz", enc.ldrX(22, 19, 8));
  fixed("add x22, x21, x22", enc.addX(22, 21, 22));
  at("block");
  fixed("cmp x21, x22", enc.cmpX(21, 22));
  rel("b.hs final", "final", (d) => enc.bcond(HS, d));
  fixed("mov x1, x21", enc.movX(1, 21));
  rel("bl compress", "compress", (d) => enc.bl(d));
  fixed("add x21, x21, #64", enc.addXImm(21, 21, 64));
  rel("b block", "block", (d) => enc.b(d));
  at("final");
  fixed("add x1, x19, #16        // the padding block", enc.addXImm(1, 19, 16));
  rel("bl compress", "compress", (d) => enc.bl(d));
  fixed("add x9, x19, #80        // the expected digest", enc.addXImm(9, 19, 80));
  for (const off of [0, 16]) {
    fixed(`ldp x10, x11, [x25${off ? `, #${off}` : ""}]`, enc.ldpX(10, 11, 25, off));
    fixed(`ldp x12, x13, [x9${off ? `, #${off}` : ""}]`, enc.ldpX(12, 13, 9, off));
    fixed("cmp x10, x12", enc.cmpX(10, 12));
    rel("b.ne mismatch", "mismatch", (d) => enc.bcond(NE, d));
    fixed("cmp x11, x13", enc.cmpX(11, 13));
    rel("b.ne mismatch", "mismatch", (d) => enc.bcond(NE, d));
  }
  fixed(`add x19, x19, #${REGION_ENTRY_BYTES}`, enc.addXImm(19, 19, REGION_ENTRY_BYTES));
  fixed("sub x20, x20, #1", enc.subXImm(20, 20, 1));
  rel("b region", "region", (d) => enc.b(d));
  at("mismatch");
  rel("b mismatch              // a corrupted load never boots", "mismatch", (d) => enc.b(d));
  at("enter");
  rel("ldr x17, kernel_entry", "kernel_entry", (d) => enc.ldrLiteralX(17, d));
  rel("ldr x0, dtb             // x0 = DTB physical address", "dtb", (d) => enc.ldrLiteralX(0, d));
  fixed("mov x1, xzr", enc.movX(1, XZR));
  fixed("mov x2, xzr", enc.movX(2, XZR));
  fixed("mov x3, xzr", enc.movX(3, XZR));
  fixed("br x17", enc.br(17));

  // compress: one 64-byte block at x1 into H (FIPS 180-4 §6.2.2).
  at("compress");
  fixed("mov x9, #0", enc.movzX(9, 0));
  at("load");
  fixed("ldr w10, [x1, x9, lsl #2]", enc.ldrWReg(10, 1, 9));
  fixed("rev w10, w10            // big-endian message words", enc.revW(10, 10));
  fixed("str w10, [x24, x9, lsl #2]", enc.strWReg(10, 24, 9));
  fixed("add x9, x9, #1", enc.addXImm(9, 9, 1));
  fixed("cmp x9, #16", enc.cmpXImm(9, 16));
  rel("b.ne load", "load", (d) => enc.bcond(NE, d));
  at("schedule");
  fixed("sub x10, x9, #15", enc.subXImm(10, 9, 15));
  fixed("ldr w11, [x24, x10, lsl #2]   // W[t-15]", enc.ldrWReg(11, 24, 10));
  fixed("ror w12, w11, #7", enc.rorW(12, 11, 7));
  fixed("eor w12, w12, w11, ror #18", enc.logicW(EOR, 12, 12, 11, ROR, 18));
  fixed("eor w12, w12, w11, lsr #3     // sigma0", enc.logicW(EOR, 12, 12, 11, LSR, 3));
  fixed("sub x10, x9, #2", enc.subXImm(10, 9, 2));
  fixed("ldr w13, [x24, x10, lsl #2]   // W[t-2]", enc.ldrWReg(13, 24, 10));
  fixed("ror w14, w13, #17", enc.rorW(14, 13, 17));
  fixed("eor w14, w14, w13, ror #19", enc.logicW(EOR, 14, 14, 13, ROR, 19));
  fixed("eor w14, w14, w13, lsr #10    // sigma1", enc.logicW(EOR, 14, 14, 13, LSR, 10));
  fixed("sub x10, x9, #16", enc.subXImm(10, 9, 16));
  fixed("ldr w15, [x24, x10, lsl #2]   // W[t-16]", enc.ldrWReg(15, 24, 10));
  fixed("sub x10, x9, #7", enc.subXImm(10, 9, 7));
  fixed("ldr w16, [x24, x10, lsl #2]   // W[t-7]", enc.ldrWReg(16, 24, 10));
  fixed("add w15, w15, w12", enc.addW(15, 15, 12));
  fixed("add w15, w15, w16", enc.addW(15, 15, 16));
  fixed("add w15, w15, w14", enc.addW(15, 15, 14));
  fixed("str w15, [x24, x9, lsl #2]", enc.strWReg(15, 24, 9));
  fixed("add x9, x9, #1", enc.addXImm(9, 9, 1));
  fixed("cmp x9, #64", enc.cmpXImm(9, 64));
  rel("b.ne schedule", "schedule", (d) => enc.bcond(NE, d));
  for (const [i, off] of [0, 8, 16, 24].entries()) fixed(`ldp w${2 * i}, w${2 * i + 1}, [x25${off ? `, #${off}` : ""}]`, enc.ldpW(2 * i, 2 * i + 1, 25, off));
  fixed("mov x9, #0", enc.movzX(9, 0));
  at("round");
  fixed("ror w10, w4, #6", enc.rorW(10, 4, 6));
  fixed("eor w10, w10, w4, ror #11", enc.logicW(EOR, 10, 10, 4, ROR, 11));
  fixed("eor w10, w10, w4, ror #25     // Sigma1(e)", enc.logicW(EOR, 10, 10, 4, ROR, 25));
  fixed("and w11, w4, w5", enc.logicW(AND, 11, 4, 5));
  fixed("bic w12, w6, w4", enc.logicW(BIC, 12, 6, 4));
  fixed("eor w11, w11, w12             // Ch(e, f, g)", enc.logicW(EOR, 11, 11, 12));
  fixed("ldr w12, [x23, x9, lsl #2]    // K[t]", enc.ldrWReg(12, 23, 9));
  fixed("ldr w13, [x24, x9, lsl #2]    // W[t]", enc.ldrWReg(13, 24, 9));
  fixed("add w14, w7, w10", enc.addW(14, 7, 10));
  fixed("add w14, w14, w11", enc.addW(14, 14, 11));
  fixed("add w14, w14, w12", enc.addW(14, 14, 12));
  fixed("add w14, w14, w13             // T1", enc.addW(14, 14, 13));
  fixed("ror w10, w0, #2", enc.rorW(10, 0, 2));
  fixed("eor w10, w10, w0, ror #13", enc.logicW(EOR, 10, 10, 0, ROR, 13));
  fixed("eor w10, w10, w0, ror #22     // Sigma0(a)", enc.logicW(EOR, 10, 10, 0, ROR, 22));
  fixed("and w11, w0, w1", enc.logicW(AND, 11, 0, 1));
  fixed("and w12, w0, w2", enc.logicW(AND, 12, 0, 2));
  fixed("eor w11, w11, w12", enc.logicW(EOR, 11, 11, 12));
  fixed("and w12, w1, w2", enc.logicW(AND, 12, 1, 2));
  fixed("eor w11, w11, w12             // Maj(a, b, c)", enc.logicW(EOR, 11, 11, 12));
  fixed("add w15, w10, w11             // T2", enc.addW(15, 10, 11));
  fixed("mov w7, w6", enc.movW(7, 6));
  fixed("mov w6, w5", enc.movW(6, 5));
  fixed("mov w5, w4", enc.movW(5, 4));
  fixed("add w4, w3, w14", enc.addW(4, 3, 14));
  fixed("mov w3, w2", enc.movW(3, 2));
  fixed("mov w2, w1", enc.movW(2, 1));
  fixed("mov w1, w0", enc.movW(1, 0));
  fixed("add w0, w14, w15", enc.addW(0, 14, 15));
  fixed("add x9, x9, #1", enc.addXImm(9, 9, 1));
  fixed("cmp x9, #64", enc.cmpXImm(9, 64));
  rel("b.ne round", "round", (d) => enc.bcond(NE, d));
  for (const [i, off] of [0, 8, 16, 24].entries()) {
    const [a, b] = [2 * i, 2 * i + 1];
    fixed(`ldp w10, w11, [x25${off ? `, #${off}` : ""}]`, enc.ldpW(10, 11, 25, off));
    fixed(`add w10, w10, w${a}`, enc.addW(10, 10, a));
    fixed(`add w11, w11, w${b}`, enc.addW(11, 11, b));
    fixed(`stp w10, w11, [x25${off ? `, #${off}` : ""}]`, enc.stpW(10, 11, 25, off));
  }
  fixed("ret", enc.ret());
  if (lines.length % 2 !== 0) fixed("nop", 0xd503201f);

  // Data, 8-byte aligned from here.
  const codeBytes = lines.length * 4;
  const layout = {
    kernel_entry: codeBytes,
    dtb: codeBytes + 8,
    K: codeBytes + 16,
    IV: codeBytes + 16 + 256,
    H: codeBytes + 16 + 256 + 32,
    W: codeBytes + 16 + 256 + 64,
    table: codeBytes + 16 + 256 + 64 + 256,
  };
  for (const [name, offset] of Object.entries(layout)) labels.set(name, offset);
  const size = layout.table + 8 + regions.length * REGION_ENTRY_BYTES;
  const code = new Uint8Array(size);
  const view = new DataView(code.buffer);
  const label = (name: string): number => {
    const value = labels.get(name);
    if (value === undefined) throw new KimgError(ErrorCode.BAD_FIELD, `purgatory label ${name} missing`, { structure: "arm64 purgatory" });
    return value;
  };
  const listing: PurgatoryInstruction[] = [];
  const names = new Map([...labels].map(([k, v]) => [v, k]));
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

/** Where the data block of a checking stub lies (offsets into its code), the same on every architecture. */
export interface CheckDataLayout {
  kernel_entry: number;
  dtb: number;
  K: number;
  IV: number;
  H: number;
  W: number;
  table: number;
}

/**
 * Writes a checking stub's data block (kernel entry, DTB address, the SHA-256 constants and the
 * region table with each region's padding block and expected H words) into `code`, and returns
 * its listing lines. Shared by the arm64 and RISC-V stubs, which lay their data out alike.
 */
export function writeCheckData(
  code: Uint8Array,
  layout: CheckDataLayout,
  kernelEntry: number,
  dtbAddress: number,
  regions: readonly CheckedRegion[],
): PurgatoryInstruction[] {
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  view.setBigUint64(layout.kernel_entry, BigInt(kernelEntry), true);
  view.setBigUint64(layout.dtb, BigInt(dtbAddress), true);
  for (const [i, k] of SHA256_K.entries()) view.setUint32(layout.K + 4 * i, k, true);
  for (const [i, h] of SHA256_IV.entries()) view.setUint32(layout.IV + 4 * i, h, true);
  view.setBigUint64(layout.table, BigInt(regions.length), true);
  regions.forEach((r, i) => {
    const entry = layout.table + 8 + i * REGION_ENTRY_BYTES;
    view.setBigUint64(entry, BigInt(r.mem), true);
    view.setBigUint64(entry + 8, BigInt(r.memsz), true);
    // FIPS 180-4 §5.1.1: 0x80, zeros, the message length in bits as a big-endian 64-bit number.
    code[entry + 16] = 0x80;
    view.setBigUint64(entry + 16 + 56, BigInt(r.memsz) * 8n, false);
    // The digest as the eight H words the stub holds (big-endian words of the digest, stored native).
    const digest = new DataView(r.sha256.buffer, r.sha256.byteOffset, 32);
    for (let w = 0; w < 8; w++) view.setUint32(entry + 80 + 4 * w, digest.getUint32(4 * w, false), true);
  });
  return [
    { offset: layout.kernel_entry, word: BigInt(kernelEntry), assembly: `kernel_entry: .quad 0x${kernelEntry.toString(16)}` },
    { offset: layout.dtb, word: BigInt(dtbAddress), assembly: `dtb: .quad 0x${dtbAddress.toString(16)}` },
    { offset: layout.K, word: SHA256_K[0] ?? 0, assembly: "K: .word 0x428a2f98, ... (64 words, FIPS 180-4 §4.2.2)" },
    { offset: layout.IV, word: SHA256_IV[0] ?? 0, assembly: "IV: .word 0x6a09e667, ... (8 words, §5.3.3)" },
    { offset: layout.H, word: 0, assembly: "H: .space 32" },
    { offset: layout.W, word: 0, assembly: "W: .space 256" },
    { offset: layout.table, word: BigInt(regions.length), assembly: `table: .quad ${regions.length}  // regions` },
    ...regions.map((r, i) => ({
      offset: layout.table + 8 + i * REGION_ENTRY_BYTES,
      word: BigInt(r.mem),
      assembly: `.quad 0x${r.mem.toString(16)}, 0x${r.memsz.toString(16)}  // ${r.name}, sha256 ${[...r.sha256].map((b) => b.toString(16).padStart(2, "0")).join("")}`,
    })),
  ];
}
