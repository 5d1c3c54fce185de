/**
 * The arm64 placement model: where an Image goes, what the initrd and the DTB must respect.
 * Used by `kimg plan` (analysis/plan/arm64.ts, all RAM above a base assumed free) and by
 * `kimg kexec load` (kexec/segments.ts, free RAM from /proc/iomem), so the address the plan
 * prints is the address kexec loads at.
 *
 * Source: Documentation/arch/arm64/booting.rst, section 4 "Call the kernel image":
 *
 *   The Image must be placed text_offset bytes from a 2MB aligned base address anywhere in
 *   usable system RAM and called there. [...] At least image_size bytes from the start of the
 *   image must be free for use by the kernel.
 *
 * and arch/arm64/include/asm/boot.h (MIN_KIMG_ALIGN SZ_2M, MIN_FDT_ALIGN 8, MAX_FDT_SIZE SZ_2M).
 */
import { ARM64_LEGACY_TEXT_OFFSET } from "../../formats/generations.js";
import { alignDownPhys, findHolePhys, type PhysRange } from "./memory.js";
import { kernelFootprint, type KernelPlacement } from "./types.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** booting.rst: "text_offset bytes from a 2MB aligned base address" (asm/boot.h MIN_KIMG_ALIGN). */
export const ARM64_KERNEL_ALIGN = 2 * MiB;
/** booting.rst: "Where image_size is zero, text_offset can be assumed to be 0x80000." (defined with the header's generations) */
export { ARM64_LEGACY_TEXT_OFFSET };
/**
 * What a pre-v3.17 Image (image_size 0) is assumed to use: kexec-tools' KERNEL_IMAGE_SIZE,
 * MiB(16) in kexec/arch/arm64/kexec-arm64.c arm64_process_image_header(). kimg takes the file
 * length when that is larger.
 */
export const ARM64_LEGACY_IMAGE_SIZE = 16 * MiB;
/** booting.rst: "The device tree blob (dtb) must be placed on an 8-byte boundary". */
export const ARM64_DTB_ALIGN = 8;
/** booting.rst: "and must not exceed 2 megabytes in size". */
export const ARM64_DTB_MAX_BYTES = 2 * MiB;
/** booting.rst: the initrd lies "within a 1GB aligned physical memory window of up to 32GB in size that fully covers the kernel Image as well". */
export const ARM64_INITRD_WINDOW_ALIGN = GiB;
export const ARM64_INITRD_WINDOW_BYTES = 32 * GiB;

/** The header numbers the model needs (plain numbers, so any parser's facts can feed it). */
export interface Arm64ImageHeader {
  /** text_offset as read; ignored when image_size is 0. */
  textOffset: number;
  /** image_size as read; 0 in pre-v3.17 headers. */
  imageSize: number;
  /** Length of the Image file. */
  fileSize: number;
}

/** What an Image asks of its loader, after the pre-v3.17 defaults are applied. */
export interface Arm64KernelNeeds {
  /** Bytes above the 2 MiB aligned base where the Image starts. */
  textOffset: number;
  /** Bytes from the Image start the kernel uses, BSS included. */
  memorySize: number;
  fileSize: number;
  /** image_size was 0: text_offset and memorySize are assumed, not read. */
  legacyHeader: boolean;
  /** Alignment of the base: 2 MiB. */
  alignment: number;
}

/**
 * The load facts of an Image header. booting.rst: "Prior to v3.17, the endianness of
 * text_offset was not specified. In these cases image_size is zero and text_offset is 0x80000"
 * — so with image_size 0 the read text_offset is not trusted, and the size is assumed as
 * kexec-tools does (16 MiB, or the file if longer).
 */
export function arm64KernelNeeds(header: Arm64ImageHeader): Arm64KernelNeeds {
  const legacyHeader = header.imageSize === 0;
  return {
    textOffset: legacyHeader ? ARM64_LEGACY_TEXT_OFFSET : header.textOffset,
    memorySize: legacyHeader ? Math.max(ARM64_LEGACY_IMAGE_SIZE, header.fileSize) : header.imageSize,
    fileSize: header.fileSize,
    legacyHeader,
    alignment: ARM64_KERNEL_ALIGN,
  };
}

/**
 * Places the Image in the lowest 2 MiB aligned base of `free` that holds text_offset plus the
 * kernel's footprint; null when nothing fits. `granule` rounds the footprint (kexec_load wants
 * page-sized segments; a plan uses 1).
 *
 * Lowest first: booting.rst flags bit 3 = 0 asks for a base "as close as possible to the base of
 * DRAM, since memory below it is not accessible via the linear mapping", and kernels before v4.6
 * cannot use memory below the Image at all; with bit 3 = 1 lowest is still allowed.
 */
export function placeArm64Kernel(needs: Arm64KernelNeeds, free: readonly PhysRange[], granule = 1): KernelPlacement | null {
  const footprint = kernelFootprint(needs.memorySize, needs.fileSize, granule);
  // The region between the base and the Image "has no special significance to the kernel"
  // (booting.rst), but it is reserved with the Image: kexec-tools' locate_hole() asks for
  // text_offset + image_size from the base too.
  const base = findHolePhys(free, BigInt(needs.textOffset) + BigInt(footprint), needs.alignment);
  if (base === null) return null;
  return {
    alignment: needs.alignment,
    base,
    address: base + BigInt(needs.textOffset),
    textOffset: needs.textOffset,
    memorySize: needs.memorySize,
    fileSize: needs.fileSize,
    footprint,
  };
}

/**
 * The 32 GiB window, 1 GiB aligned, that must hold the initrd and the whole Image: anchored at
 * the 1 GiB boundary at or below the Image start, so it covers as much above the Image as possible.
 */
export function arm64InitrdWindow(kernel: KernelPlacement): PhysRange {
  const start = alignDownPhys(kernel.address, ARM64_INITRD_WINDOW_ALIGN);
  return { start, end: start + BigInt(ARM64_INITRD_WINDOW_BYTES) };
}

/** Whether [start, end) of an initrd lies inside {@link arm64InitrdWindow} of the kernel. */
export function arm64InitrdInWindow(kernel: KernelPlacement, initrd: PhysRange): boolean {
  const window = arm64InitrdWindow(kernel);
  return initrd.start >= window.start && initrd.end <= window.end;
}

/** booting.rst: the DTB "must not exceed 2 megabytes in size". */
export function arm64DtbFits(size: number): boolean {
  return size <= ARM64_DTB_MAX_BYTES;
}
