/**
 * The LoongArch placement model. Source: Documentation/arch/loongarch/booting.rst (the header's
 * load_offset is the kernel's link address, PHYS_LINK_KADDR; kernel_asize the memory it needs)
 * and arch/loongarch/kernel/head.S. A kernel goes to its link address, or, built with
 * CONFIG_RELOCATABLE, to a 2 MiB aligned address (the alignment kimg's plans have always used;
 * issue 18 should check it against the kernel's kexec_file loader, arch/loongarch/kernel/kexec_efi.c).
 * Used by analysis/plan/loongarch.ts; kexec for LoongArch (issue 18) passes the free RAM from
 * /proc/iomem.
 */
import { LOONGARCH_LEGACY_LOAD_OFFSET } from "../../formats/loongarch.js";
import { findHolePhys, type PhysRange } from "./memory.js";
import { kernelFootprint, type KernelPlacement } from "./types.js";

/** The alignment of a relocated kernel. */
export const LOONGARCH_KERNEL_ALIGN = 2 * 1024 * 1024;

/** The header numbers the model needs. */
export interface LoongArchImageHeader {
  /** load_offset as read (u64); 0 in kernels that left it out (PHYS_LINK_KADDR 0x200000 is assumed). */
  loadOffset: number | bigint;
  /** kernel_asize as read (0 when absent). */
  imageSize: number;
  fileSize: number;
}

export interface LoongArchKernelNeeds {
  /** The link address: where a kernel that is not relocatable must go. */
  linkAddress: bigint;
  /** load_offset was 0 and the link address is assumed. */
  linkAddressAssumed: boolean;
  /** kernel_asize, or the file length when the header gives none. */
  memorySize: number;
  fileSize: number;
  alignment: number;
}

export function loongArchKernelNeeds(header: LoongArchImageHeader): LoongArchKernelNeeds {
  const assumed = !header.loadOffset;
  return {
    linkAddress: BigInt(assumed ? LOONGARCH_LEGACY_LOAD_OFFSET : header.loadOffset),
    linkAddressAssumed: assumed,
    memorySize: header.imageSize || header.fileSize,
    fileSize: header.fileSize,
    alignment: LOONGARCH_KERNEL_ALIGN,
  };
}

/**
 * With `free` null the kernel goes to its link address; with free memory given it is relocated
 * to the lowest 2 MiB aligned address that holds it (null when nothing fits).
 */
export function placeLoongArchKernel(needs: LoongArchKernelNeeds, free: readonly PhysRange[] | null, granule = 1): KernelPlacement | null {
  const footprint = kernelFootprint(needs.memorySize, needs.fileSize, granule);
  const address = free === null ? needs.linkAddress : findHolePhys(free, footprint, needs.alignment);
  if (address === null) return null;
  return { alignment: needs.alignment, base: address, address, textOffset: 0, memorySize: needs.memorySize, fileSize: needs.fileSize, footprint };
}
