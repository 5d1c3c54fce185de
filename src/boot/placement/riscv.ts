/**
 * The RISC-V placement model. Source: Documentation/arch/riscv/boot.rst ("The kernel image must
 * be placed at a PMD-aligned address": 2 MiB on rv64, 4 MiB on rv32) and
 * Documentation/arch/riscv/boot-image-header.rst (text_offset is the image load offset; kernels
 * set it to the PMD size). kexec-tools does the same for an Image (kexec/arch/riscv/
 * kexec-image-riscv.c: riscv_find_pbase(info, &addr, image_size, text_offset), the lowest fitting
 * range, text_offset used as the alignment; it refuses image_size 0 and big-endian Images, where
 * a plan falls back to the file length). Used by analysis/plan/riscv.ts;
 * kexec for RISC-V (issue 18) passes the free RAM from /proc/iomem instead of {@link riscvStaticRam}.
 */
import { alignUpPhys, findHolePhys, UNBOUNDED, type PhysRange } from "./memory.js";
import { kernelFootprint, type KernelPlacement } from "./types.js";

const MiB = 1024 * 1024;

/** boot.rst: PMD size, the kernel's alignment when the header does not say. */
export const RISCV64_PMD_BYTES = 2 * MiB;
export const RISCV32_PMD_BYTES = 4 * MiB;

/** The header numbers the model needs. */
export interface RiscvImageHeader {
  /** text_offset as read (0 when absent). */
  textOffset: number;
  /** image_size as read (0 when absent). */
  imageSize: number;
  fileSize: number;
  rv32: boolean;
}

export interface RiscvKernelNeeds {
  /** The alignment of the load address: text_offset, or the PMD size when it is 0. */
  alignment: number;
  /** text_offset as read (shown in plans; it is an alignment, not an offset from a base). */
  textOffset: number;
  /** image_size, or the file length when the header gives none. */
  memorySize: number;
  fileSize: number;
}

/** What an Image asks of its loader: its PMD alignment (text_offset) and image_size. */
export function riscvKernelNeeds(header: RiscvImageHeader): RiscvKernelNeeds {
  return {
    alignment: header.textOffset > 0 ? header.textOffset : header.rv32 ? RISCV32_PMD_BYTES : RISCV64_PMD_BYTES,
    textOffset: header.textOffset,
    memorySize: header.imageSize || header.fileSize,
    fileSize: header.fileSize,
  };
}

/**
 * Free RAM when no memory map is known: everything from `ramBase`, except that when `ramBase`
 * is itself aligned its first PMD holds the SBI firmware (OpenSBI's fw_jump/fw_dynamic load at
 * the RAM base and the kernel at the next boundary, e.g. 0x80200000 on QEMU virt).
 */
export function riscvStaticRam(ramBase: bigint, needs: RiscvKernelNeeds): PhysRange[] {
  const aligned = alignUpPhys(ramBase, needs.alignment) === ramBase;
  return [{ start: aligned ? ramBase + BigInt(needs.alignment) : ramBase, end: UNBOUNDED }];
}

/** Places the Image at the lowest aligned address of `free` that holds it; null when nothing fits. */
export function placeRiscvKernel(needs: RiscvKernelNeeds, free: readonly PhysRange[], granule = 1): KernelPlacement | null {
  const footprint = kernelFootprint(needs.memorySize, needs.fileSize, granule);
  const address = findHolePhys(free, footprint, needs.alignment);
  if (address === null) return null;
  return { alignment: needs.alignment, base: address, address, textOffset: 0, memorySize: needs.memorySize, fileSize: needs.fileSize, footprint };
}
