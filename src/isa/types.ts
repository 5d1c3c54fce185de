/**
 * The shared shape of the tiny instruction decoders (arm64, RISC-V, LoongArch) and the few
 * helpers they share. The decoders only need to explain the first instructions of a kernel
 * image (the "MZ" word and the branch to the real entry), not to be full disassemblers.
 */
import { ErrorCode, KimgError } from "../io/errors.js";

export interface DecodedInstruction {
  /** Byte offset of the instruction in the image. */
  offset: number;
  /** Size in bytes (2 for RISC-V compressed, else 4). */
  size: number;
  /** The raw encoding as a hex string, e.g. "0xfa405a4d" (4 hex digits for a 2-byte instruction). */
  encoding: string;
  /**
   * Assembler text in the GNU style, e.g. "ccmp x18, #0x0, #0xd, pl", "b 0x160", "c.li s4, -13",
   * "ext.w.h $t1, $t6"; "(unknown)" when not decoded. Operands are separated by ", " and, unlike
   * objdump, no "// ..." or "# ..." comment is appended. Direct branches show their target as an
   * offset in the image (objdump shows the address, which is the same thing for an image at 0),
   * also on LoongArch, where objdump would print the displacement.
   */
  text: string;
  /** The mnemonic of `text` (an alias such as "mov", "j" or "nop" where `text` uses one); "(unknown)" when not decoded. */
  mnemonic: string;
  /** For direct branches/jumps: the target byte offset in the image (offset + displacement); may be negative. */
  branchTarget?: number;
  /**
   * Whether control continues at the next instruction (false for unconditional branches and
   * exception returns; true when not decoded, since nothing is known).
   */
  fallsThrough: boolean;
  /**
   * Registers or flags written, e.g. ["nzcv"], ["x13"], ["s4"], ["$t1"]; empty for a branch without
   * link. arm64 names the 64-bit register even for a 32-bit write (writing w13 also clears the top of x13),
   * and "v0" for a SIMD&FP load into s0/d0/q0.
   */
  writes: string[];
  /**
   * Whether it is harmless as a loader's first instruction: only clobbers registers/flags the boot
   * protocol does not pass (not x0-x3 on arm64, not a0/a1 on RISC-V, not a0-a2 on LoongArch), no
   * memory access, no system-register access, no trap, no indirect jump. False when not decoded.
   */
  harmless: boolean;
}

/** Options shared by the `decode*Sequence` helpers. */
export interface SequenceOptions {
  /** Byte offset of the first instruction in `bytes` (default 0). */
  start?: number;
}

/** Text and mnemonic of an instruction the decoders do not know. */
export const UNKNOWN_TEXT = "(unknown)";

/** Most instructions one `decode*Sequence` call decodes; the header only needs a handful. */
export const MAX_SEQUENCE_INSTRUCTIONS = 1024;

/** `value` as "0x" + lowercase hex, zero-padded to `size` bytes. */
export function encodingHex(value: number, size: number): string {
  return "0x" + (value >>> 0).toString(16).padStart(size * 2, "0");
}

/** A signed number as GNU-style hex: "0x160", "-0x4". */
export function signedHex(value: number): string {
  return value < 0 ? "-0x" + (-value).toString(16) : "0x" + value.toString(16);
}

/** Sign-extends the low `bits` bits of `value` (bits <= 32). */
export function signExtend(value: number, bits: number): number {
  const shift = 32 - bits;
  return (value << shift) >> shift;
}

/** Bits hi..lo (inclusive) of a 32-bit word, as an unsigned number. */
export function bitField(word: number, hi: number, lo: number): number {
  return (word >>> lo) & (2 ** (hi - lo + 1) - 1);
}

/**
 * Checks a 32-bit instruction word and its offset, and returns the word as an unsigned number.
 * Negative int32 values (from `DataView.getInt32`) are accepted and reinterpreted.
 */
export function checkWord(word: number, offset: number, structure: string): number {
  checkOffset(offset, structure);
  if (!Number.isInteger(word) || word < -0x8000_0000 || word > 0xffff_ffff) {
    throw new KimgError(ErrorCode.BAD_FIELD, `${structure}: instruction word ${String(word)} is not a 32-bit value`, {
      structure,
      offset,
      actual: String(word),
    });
  }
  return word >>> 0;
}

export function checkOffset(offset: number, structure: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new KimgError(ErrorCode.BAD_OFFSET, `${structure}: offset ${String(offset)} is not a non-negative integer`, {
      structure,
      actual: String(offset),
    });
  }
}

/** Checks a `decode*Sequence` request; returns the start offset. */
export function checkSequence(bytes: Uint8Array, count: number, options: SequenceOptions | undefined, structure: string): number {
  const start = options?.start ?? 0;
  checkOffset(start, structure);
  if (!Number.isInteger(count) || count < 0 || count > MAX_SEQUENCE_INSTRUCTIONS) {
    throw new KimgError(ErrorCode.LIMIT, `${structure}: instruction count ${String(count)} is outside 0..${MAX_SEQUENCE_INSTRUCTIONS}`, {
      structure,
      offset: start,
      expected: MAX_SEQUENCE_INSTRUCTIONS,
      actual: String(count),
    });
  }
  if (start > bytes.length) {
    throw new KimgError(ErrorCode.BAD_OFFSET, `${structure}: start 0x${start.toString(16)} is past the end (${bytes.length} bytes)`, {
      structure,
      offset: start,
      expected: bytes.length,
      actual: start,
    });
  }
  return start;
}

/** Reads a little-endian u32 at `offset`; the caller has checked that 4 bytes are there. */
export function readU32le(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8) | ((bytes[offset + 2] ?? 0) << 16) | ((bytes[offset + 3] ?? 0) << 24)) >>> 0;
}

/** What an ISA decoder finds out about one instruction; `buildInstruction` turns it into the public shape. */
export interface InstructionParts {
  mnemonic: string;
  operands?: string[];
  /** Registers or flags written (the write to a hard-wired zero register is left out). */
  writes?: string[];
  branchTarget?: number;
  /** Default true. */
  fallsThrough?: boolean;
  /** Touches memory or system state, may trap, waits, or jumps to a register: never harmless. */
  sideEffects?: boolean;
}

export function buildInstruction(
  offset: number,
  size: number,
  encoding: number,
  parts: InstructionParts,
  protectedRegisters: ReadonlySet<string>,
): DecodedInstruction {
  const operands = parts.operands ?? [];
  const writes = parts.writes ?? [];
  const decoded: DecodedInstruction = {
    offset,
    size,
    encoding: encodingHex(encoding, size),
    text: operands.length === 0 ? parts.mnemonic : `${parts.mnemonic} ${operands.join(", ")}`,
    mnemonic: parts.mnemonic,
    fallsThrough: parts.fallsThrough ?? true,
    writes,
    harmless: parts.sideEffects !== true && writes.every((register) => !protectedRegisters.has(register)),
  };
  if (parts.branchTarget !== undefined) decoded.branchTarget = parts.branchTarget;
  return decoded;
}

/** A result for an encoding the decoder does not know. */
export function unknownInstruction(offset: number, size: number, encoding: number): DecodedInstruction {
  return {
    offset,
    size,
    encoding: encodingHex(encoding, size),
    text: UNKNOWN_TEXT,
    mnemonic: UNKNOWN_TEXT,
    fallsThrough: true,
    writes: [],
    harmless: false,
  };
}
