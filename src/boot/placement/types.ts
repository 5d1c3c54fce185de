/** The shape every architecture's placement model returns. */

/**
 * Where a kernel image goes in physical memory, computed by one model per architecture and
 * shared by `kimg plan` (analysis/plan/) and `kimg kexec load` (kexec/).
 */
export interface KernelPlacement {
  /** Alignment the boot protocol demands of `base`, in bytes. */
  alignment: number;
  /** The aligned base the protocol speaks of (arm64: the 2 MiB aligned base below text_offset). */
  base: bigint;
  /** Where the image's first byte goes: `base + textOffset`. */
  address: bigint;
  /** Bytes from `base` to `address` (arm64 text_offset; 0 on RISC-V and LoongArch). */
  textOffset: number;
  /** Bytes the kernel uses from `address` on, BSS included (image_size, or what is assumed without one). */
  memorySize: number;
  /** The image file's length. */
  fileSize: number;
  /**
   * Bytes reserved from `address`: the larger of `memorySize` and `fileSize` (a loader copies the
   * whole file), rounded up to the placement granule. Other segments start at or above
   * `address + footprint`.
   */
  footprint: number;
}

/** The first byte above the kernel's reserved memory. */
export function placementEnd(p: KernelPlacement): bigint {
  return p.address + BigInt(p.footprint);
}

/**
 * Bytes a loader reserves from the image start: the larger of what the kernel uses and the file
 * it copies, rounded up to `granule` (the page size for kexec_load segments, 1 for a plan).
 */
export function kernelFootprint(memorySize: number, fileSize: number, granule = 1): number {
  const size = Math.max(memorySize, fileSize);
  return granule > 1 ? Math.ceil(size / granule) * granule : size;
}
