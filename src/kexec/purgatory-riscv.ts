/**
 * The RISC-V entry stub ("purgatory") that kimg places as the last kexec_load segment.
 *
 * What the running kernel does already (arch/riscv/kernel/machine_kexec.c, kexec_relocate.S):
 * machine_kexec_prepare() looks for the segment holding a flattened device tree (FDT magic and a
 * valid header) and remembers its physical address; at `kexec -e` the relocation code copies the
 * segments, turns translation off (satp = 0) and jumps to the entry with a0 = the id of the hart
 * doing the kexec and a1 = that FDT address. Documentation/arch/riscv/boot.rst asks exactly this
 * of a boot loader: "a0 = hart id, a1 = physical address of the device tree, satp = 0".
 *
 * The stub keeps a0 (only the kernel knows which hart runs the kexec), loads a1 with the address
 * of the DTB kimg placed (the same the kernel found, written here so the hand-over does not
 * depend on the kernel's search), writes satp = 0 again and jumps to the Image's first byte.
 * kexec-tools' RISC-V loader enters the Image directly and lets the kernel set a0/a1; kimg keeps
 * a stub on every architecture that needs one so the plan shows every register it relies on.
 *
 * Encodings (RISC-V Unprivileged ISA, RV32I/RV64I base formats; Zicsr; satp is CSR 0x180 in the
 * Privileged ISA):
 *   auipc rd, imm20      U-type: imm[31:12] rd opcode 0010111
 *   ld rd, imm(rs1)      I-type: imm[11:0] rs1 funct3=011 rd opcode 0000011
 *   csrrw x0, csr, rs1   I-type: csr[11:0] rs1 funct3=001 rd=0 opcode 1110011 ("csrw csr, rs1")
 *   jalr x0, 0(rs1)      I-type: imm=0 rs1 funct3=000 rd=0 opcode 1100111 ("jr rs1")
 *   addi x0, x0, 0       the canonical nop
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { PurgatoryInstruction } from "./purgatory-arm64.js";

export interface RiscvPurgatory {
  code: Uint8Array;
  listing: PurgatoryInstruction[];
}

/** Size of the generated stub: six instructions and two 8-byte literals. */
export const RISCV_PURGATORY_SIZE = 0x28;
const KERNEL_ENTRY_LITERAL = 0x18;
const DTB_LITERAL = 0x20;

/** Integer register numbers used by the stub (psABI names). */
const REG = { zero: 0, t0: 5, t1: 6, a1: 11 } as const;
/** The supervisor address translation and protection register. */
const CSR_SATP = 0x180;

function auipc(rd: number, imm20: number): number {
  return ((imm20 << 12) | (rd << 7) | 0x17) >>> 0;
}

function ld(rd: number, rs1: number, imm12: number): number {
  return (((imm12 & 0xfff) << 20) | (rs1 << 15) | (0b011 << 12) | (rd << 7) | 0x03) >>> 0;
}

function csrw(csr: number, rs1: number): number {
  return ((csr << 20) | (rs1 << 15) | (0b001 << 12) | 0x73) >>> 0;
}

function jr(rs1: number): number {
  return ((rs1 << 15) | 0x67) >>> 0;
}

const NOP = 0x00000013;

/** RISC-V physical addresses are at most 56 bits (Sv57's PPN width). */
const MAX_PHYSICAL_ADDRESS = 2n ** 56n;

export function buildRiscvPurgatory(kernelEntry: number, dtbAddress: number): RiscvPurgatory {
  for (const [name, value, alignment] of [
    ["kernel entry", kernelEntry, 4],
    ["DTB address", dtbAddress, 8],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || BigInt(value) >= MAX_PHYSICAL_ADDRESS || value % alignment !== 0) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${name} 0x${value.toString(16)} is not a ${alignment}-byte aligned physical address`, {
        structure: "riscv purgatory",
        actual: value,
      });
    }
  }
  const listing: PurgatoryInstruction[] = [
    { offset: 0x00, word: auipc(REG.t0, 0), assembly: "auipc t0, 0           // t0 = this stub" },
    { offset: 0x04, word: ld(REG.t1, REG.t0, KERNEL_ENTRY_LITERAL), assembly: "ld t1, 0x18(t0)       // t1 = kernel entry" },
    { offset: 0x08, word: ld(REG.a1, REG.t0, DTB_LITERAL), assembly: "ld a1, 0x20(t0)       // a1 = DTB physical address" },
    { offset: 0x0c, word: csrw(CSR_SATP, REG.zero), assembly: "csrw satp, zero       // translation off; a0 = hart id, kept" },
    { offset: 0x10, word: jr(REG.t1), assembly: "jr t1" },
    { offset: 0x14, word: NOP, assembly: "nop                   // pads the literals to 8 bytes" },
    { offset: KERNEL_ENTRY_LITERAL, word: BigInt(kernelEntry), assembly: `.quad 0x${kernelEntry.toString(16)}  // kernel entry` },
    { offset: DTB_LITERAL, word: BigInt(dtbAddress), assembly: `.quad 0x${dtbAddress.toString(16)}  // DTB` },
  ];
  const code = new Uint8Array(RISCV_PURGATORY_SIZE);
  const view = new DataView(code.buffer);
  for (const item of listing) {
    if (typeof item.word === "bigint") view.setBigUint64(item.offset, item.word, true);
    else view.setUint32(item.offset, item.word, true);
  }
  return { code, listing };
}
