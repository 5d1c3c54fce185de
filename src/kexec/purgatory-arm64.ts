/**
 * The arm64 entry stub ("purgatory") that kimg places as the last kexec_load segment.
 *
 * Why it exists: for kexec_load(2) the kernel jumps to the segment entry with x0 = 0 (only
 * kexec_file_load fills `kimage->arch.dtb_mem`), while Documentation/arch/arm64/booting.rst
 * requires at the kernel entry "x0 = physical address of device tree blob (dtb) in system RAM,
 * x1 = 0 (reserved for future use), x2 = 0, x3 = 0". The stub sets those registers and branches
 * to the Image; the running kernel has already turned the MMU off (arch/arm64/kernel/relocate_kernel.S).
 * kexec-tools does the same in purgatory/arch/arm64/entry.S, after a SHA-256 self-check that
 * kimg leaves out (it costs seconds under emulation and the kernel copied the segments itself).
 */
import { ErrorCode, KimgError } from "../io/errors.js";

export interface PurgatoryInstruction {
  offset: number;
  /** The little-endian instruction word, or the literal value for data words. */
  word: number | bigint;
  assembly: string;
}

export interface Arm64Purgatory {
  code: Uint8Array;
  listing: PurgatoryInstruction[];
}

/** Size of the generated stub: six instructions and two 8-byte literals. */
export const ARM64_PURGATORY_SIZE = 0x28;
const KERNEL_ENTRY_LITERAL = 0x18;
const DTB_LITERAL = 0x20;

/** LDR (literal), 64-bit: 0b01_011_0_00 imm19 Rt; the literal is at PC + imm19 * 4. */
function ldrLiteral64(rt: number, pc: number, target: number): number {
  const imm19 = (target - pc) / 4;
  return (0x58000000 | (imm19 << 5) | rt) >>> 0;
}

/** MOV Xd, XZR is ORR Xd, XZR, XZR (shifted register): sf=1 opc=01 01010 shift=00 N=0 Rm=31 imm6=0 Rn=31. */
function movFromZero(rd: number): number {
  return (0xaa1f03e0 | rd) >>> 0;
}

/** BR Xn: 1101011_0000_11111_000000_Rn_00000. */
function branchRegister(rn: number): number {
  return (0xd61f0000 | (rn << 5)) >>> 0;
}

const MAX_PHYSICAL_ADDRESS = 2n ** 52n;

export function buildArm64Purgatory(kernelEntry: number, dtbAddress: number): Arm64Purgatory {
  for (const [name, value, alignment] of [
    ["kernel entry", kernelEntry, 4],
    ["DTB address", dtbAddress, 8],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || BigInt(value) >= MAX_PHYSICAL_ADDRESS || value % alignment !== 0) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${name} 0x${value.toString(16)} is not a ${alignment}-byte aligned physical address`, {
        structure: "arm64 purgatory",
        actual: value,
      });
    }
  }
  const listing: PurgatoryInstruction[] = [
    { offset: 0x00, word: ldrLiteral64(17, 0x00, KERNEL_ENTRY_LITERAL), assembly: "ldr x17, 0x18        // x17 = kernel entry" },
    { offset: 0x04, word: ldrLiteral64(0, 0x04, DTB_LITERAL), assembly: "ldr x0, 0x20         // x0 = DTB physical address" },
    { offset: 0x08, word: movFromZero(1), assembly: "mov x1, xzr" },
    { offset: 0x0c, word: movFromZero(2), assembly: "mov x2, xzr" },
    { offset: 0x10, word: movFromZero(3), assembly: "mov x3, xzr" },
    { offset: 0x14, word: branchRegister(17), assembly: "br x17" },
    { offset: KERNEL_ENTRY_LITERAL, word: BigInt(kernelEntry), assembly: `.quad 0x${kernelEntry.toString(16)}  // kernel entry` },
    { offset: DTB_LITERAL, word: BigInt(dtbAddress), assembly: `.quad 0x${dtbAddress.toString(16)}  // DTB` },
  ];
  const code = new Uint8Array(ARM64_PURGATORY_SIZE);
  const view = new DataView(code.buffer);
  for (const item of listing) {
    if (typeof item.word === "bigint") view.setBigUint64(item.offset, item.word, true);
    else view.setUint32(item.offset, item.word, true);
  }
  return { code, listing };
}
