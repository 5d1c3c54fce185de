/**
 * The kexec_load(2) segment list for an arm64 kernel, computed from the Image header, the free
 * RAM of the running system and its device tree. Rules:
 * - kexec_load(2): "each segment's mem and memsz must be page aligned"; bufsz <= memsz;
 *   segments must not overlap (kernel/kexec_core.c sanity_check_segment_list).
 * - Documentation/arch/arm64/booting.rst: the Image "must be placed text_offset bytes from a 2MB
 *   aligned base address anywhere in usable system RAM", with image_size bytes free from the
 *   start of the Image; the DTB 8-byte aligned, at most 2 MiB; the initrd "within a 1GB aligned
 *   physical memory window of up to 32GB in size that fully covers the kernel Image as well".
 *   These rules live in the placement model (boot/placement/arm64.ts), which `kimg plan` uses
 *   too; this module adds what only the running system knows: its free RAM (/proc/iomem), its
 *   page size (the segment granule) and its device tree.
 * - The entry is the purgatory stub (purgatory-arm64.ts), which sets x0 = DTB and branches to
 *   the Image's first instruction.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { alignUp } from "../io/bytes.js";
import { readArm64LoadInfo } from "./arm64-image.js";
import type { Arm64LoadInfo } from "./arm64-image.js";
import { fdtTotalSize, parseFdt, serializeFdt, updateChosen } from "./fdt.js";
import type { ChosenChange } from "./fdt.js";
import type { MemoryRange } from "./iomem.js";
import { subtractRange } from "./iomem.js";
import { ARM64_PURGATORY_SIZE, buildArm64Purgatory } from "./purgatory-arm64.js";
import { buildArm64CheckingPurgatory } from "./purgatory-arm64-sha256.js";
import type { PurgatoryInstruction } from "./purgatory-arm64.js";
import { arm64DtbFits, arm64InitrdWindow, placeArm64Kernel } from "../boot/placement/arm64.js";
import { findHolePhys, type PhysRange } from "../boot/placement/memory.js";
import { kernelFootprint, placementEnd } from "../boot/placement/types.js";

export { ARM64_INITRD_WINDOW_ALIGN, ARM64_INITRD_WINDOW_BYTES, ARM64_KERNEL_ALIGN } from "../boot/placement/arm64.js";
/** struct kexec_segment limit in include/linux/kexec.h: KEXEC_SEGMENT_MAX. */
export const KEXEC_SEGMENT_MAX = 16;

export type SegmentName = "kernel" | "initrd" | "dtb" | "purgatory" | "cmdline" | "elfcorehdr";

/** One struct kexec_segment { const void *buf; size_t bufsz; const void *mem; size_t memsz; }. */
export interface KexecSegment {
  name: SegmentName;
  /** The bytes to copy (bufsz = buf.length); the rest of memsz is zero-filled by the kernel. */
  buf: Uint8Array;
  /** Physical destination, page aligned. */
  mem: number;
  /** Destination size, page aligned. */
  memsz: number;
}

export interface Arm64Registers {
  x0: number;
  x1: number;
  x2: number;
  x3: number;
  /** Where the purgatory branches: the Image's first instruction. */
  pc: number;
}

export interface Arm64SegmentPlan {
  arch: "arm64";
  /** The address kexec_load is given as entry: the purgatory. */
  entry: number;
  segments: KexecSegment[];
  /** The registers the kernel sees at its entry. */
  registers: Arm64Registers;
  image: Arm64LoadInfo;
  chosenChanges: ChosenChange[];
  purgatory: PurgatoryInstruction[];
  /** The segments the stub checks with SHA-256 before the jump (empty without the check). */
  checked: SegmentName[];
}

export interface Arm64SegmentInput {
  /** The uncompressed arm64 Image. */
  kernel: Uint8Array;
  initrd?: Uint8Array | undefined;
  /** The command line for the new kernel; null leaves /chosen/bootargs out. */
  cmdline: string | null;
  /** The running system's device tree (/sys/firmware/fdt), slack after totalsize allowed. */
  fdt: Uint8Array;
  /** Free physical RAM (see iomem.ts freeSystemRam). */
  freeRam: readonly MemoryRange[];
  /** The running kernel's page size. */
  pageSize: number;
  /** Fresh seeds for /chosen; omitted in dry runs that must print stable output. */
  seeds?: { kaslr: Uint8Array; rng: Uint8Array } | undefined;
  /**
   * Check the segments' SHA-256 in the entry stub before the jump (purgatory-arm64-sha256.ts).
   * `sha256` digests the parts in order (the core has no synchronous hash; Node passes node:crypto).
   */
  check?: { sha256(parts: readonly Uint8Array[]): Uint8Array } | undefined;
}

/** /proc/iomem ranges as the placement model's bigint ranges. */
export function phys(free: readonly MemoryRange[]): PhysRange[] {
  return free.map((r) => ({ start: BigInt(r.start), end: BigInt(r.end) }));
}

/**
 * Lowest address `a` with `a % align == 0` such that [a, a + size) lies in one free range and
 * within [min, max): the placement model's findHolePhys on /proc/iomem's number ranges.
 */
export function findHole(free: readonly MemoryRange[], size: number, align: number, min = 0, max = Number.MAX_SAFE_INTEGER): number | null {
  const at = findHolePhys(phys(free), size, align, BigInt(min), BigInt(max));
  return at === null ? null : Number(at);
}

/** The error for a segment that found no free RAM. */
export function noHole(what: string, size: number, align: number, free: readonly MemoryRange[]): never {
  const largest = free.reduce((m, r) => Math.max(m, r.end - r.start), 0);
  throw new KimgError(
    ErrorCode.SYSTEM,
    `no free RAM for the ${what}: needs 0x${size.toString(16)} bytes aligned to 0x${align.toString(16)}, largest free range is 0x${largest.toString(16)} bytes`,
    {
      structure: "kexec segments",
      expected: size,
      actual: largest,
    },
  );
}

/** The lowest hole at or above `above` (after the kernel), else the lowest anywhere; a refusal naming `what` when none fits. */
export function placeAbove(free: readonly MemoryRange[], size: number, align: number, above: number, what: string): number {
  return findHole(free, size, align, above) ?? findHole(free, size, align) ?? noHole(what, size, align, free);
}

/** What a checking entry stub verifies: each segment's memsz bytes, the buffer and the zeros the kernel fills in after it. */
export function segmentDigests(
  segments: readonly { name: string; buf: Uint8Array; mem: number; memsz: number }[],
  check: { sha256(parts: readonly Uint8Array[]): Uint8Array },
): { name: string; mem: number; memsz: number; sha256: Uint8Array }[] {
  return segments.map((s) => ({ name: s.name, mem: s.mem, memsz: s.memsz, sha256: check.sha256([s.buf, new Uint8Array(s.memsz - s.buf.length)]) }));
}

export function planArm64Segments(input: Arm64SegmentInput): Arm64SegmentPlan {
  const { pageSize } = input;
  if (!Number.isInteger(pageSize) || pageSize < 4096 || (pageSize & (pageSize - 1)) !== 0) {
    throw new KimgError(ErrorCode.USAGE, `page size ${pageSize} is not a power of two of at least 4096`, { structure: "kexec segments" });
  }
  const image = readArm64LoadInfo(input.kernel);
  if (image.bigEndian) {
    throw new KimgError(ErrorCode.UNSUPPORTED, "big-endian arm64 Images are not supported", { structure: "arm64 Image header", offset: 0x18 });
  }
  if (image.textOffset % pageSize !== 0) {
    throw new KimgError(ErrorCode.BAD_FIELD, `text_offset 0x${image.textOffset.toString(16)} is not page aligned`, {
      structure: "arm64 Image header",
      offset: 0x08,
    });
  }
  let free: MemoryRange[] = input.freeRam.map((r) => ({ start: r.start, end: r.end }));
  const take = (start: number, size: number): void => {
    free = subtractRange(free, { start, end: start + size });
  };

  // The kernel goes where `kimg plan` puts it: the placement model, given the free RAM the
  // running system reports and the page size as the segment granule (kexec_load's rule).
  const { needs } = image;
  const placement = placeArm64Kernel(needs, phys(free), pageSize);
  if (placement === null) {
    noHole("kernel", needs.textOffset + kernelFootprint(needs.memorySize, needs.fileSize, pageSize), needs.alignment, free);
  }
  const base = Number(placement.base);
  const kernelMem = Number(placement.address);
  const kernelMemsz = placement.footprint;
  take(base, placement.textOffset + kernelMemsz);
  const segments: KexecSegment[] = [{ name: "kernel", buf: input.kernel, mem: kernelMem, memsz: kernelMemsz }];

  const window = arm64InitrdWindow(placement);
  const windowStart = Number(window.start);
  const windowEnd = Number(window.end);
  const above = Number(placementEnd(placement));
  let initrdRange: { start: number; end: number } | null = null;
  if (input.initrd && input.initrd.length > 0) {
    const memsz = alignUp(input.initrd.length, pageSize);
    const mem =
      findHole(free, memsz, pageSize, above, windowEnd) ?? findHole(free, memsz, pageSize, windowStart, windowEnd) ?? noHole("initrd", memsz, pageSize, free);
    take(mem, memsz);
    segments.push({ name: "initrd", buf: input.initrd, mem, memsz });
    initrdRange = { start: mem, end: mem + input.initrd.length };
  }

  const fdt = parseFdt(input.fdt.subarray(0, fdtTotalSize(input.fdt)));
  const chosenChanges = updateChosen(fdt, {
    bootargs: input.cmdline,
    initrd: initrdRange,
    ...(input.seeds ? { kaslrSeed: input.seeds.kaslr, rngSeed: input.seeds.rng } : {}),
  });
  const dtb = serializeFdt(fdt);
  const dtbMemsz = alignUp(dtb.length, pageSize);
  // booting.rst's 2 MiB DTB limit, from the placement model (as `kimg plan`'s dtb-size check).
  if (!arm64DtbFits(dtb.length)) noHole("device tree (over 2 MiB)", dtbMemsz, pageSize, []);
  const dtbMem = placeAbove(free, dtbMemsz, pageSize, above, "device tree");
  take(dtbMem, dtbMemsz);
  segments.push({ name: "dtb", buf: dtb, mem: dtbMem, memsz: dtbMemsz });

  // With a check, the stub hashes each segment's memsz bytes: the buffer and the zeros the kernel fills in after it.
  const check = input.check;
  const purgatory = check ? buildArm64CheckingPurgatory(kernelMem, dtbMem, segmentDigests(segments, check)) : buildArm64Purgatory(kernelMem, dtbMem);
  const purgatoryMemsz = alignUp(check ? purgatory.code.length : ARM64_PURGATORY_SIZE, pageSize);
  const purgatoryMem = placeAbove(free, purgatoryMemsz, pageSize, above, "purgatory");
  take(purgatoryMem, purgatoryMemsz);
  segments.push({ name: "purgatory", buf: purgatory.code, mem: purgatoryMem, memsz: purgatoryMemsz });

  checkSegments(segments, pageSize);
  return {
    arch: "arm64",
    entry: purgatoryMem,
    segments,
    registers: { x0: dtbMem, x1: 0, x2: 0, x3: 0, pc: kernelMem },
    image,
    chosenChanges,
    purgatory: purgatory.listing,
    checked: check ? segments.filter((s) => s.name !== "purgatory").map((s) => s.name) : [],
  };
}

/** The checks kernel/kexec_core.c applies, so a bad plan fails here with a reason, not EINVAL. */
export function checkSegments(segments: readonly KexecSegment[], pageSize: number): void {
  if (segments.length > KEXEC_SEGMENT_MAX) {
    throw new KimgError(ErrorCode.LIMIT, `${segments.length} segments, the kernel takes at most ${KEXEC_SEGMENT_MAX}`, { structure: "kexec segments" });
  }
  const sorted = [...segments].sort((a, b) => a.mem - b.mem);
  sorted.forEach((s, index) => {
    if (s.mem % pageSize !== 0 || s.memsz % pageSize !== 0) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${s.name} segment mem 0x${s.mem.toString(16)}/memsz 0x${s.memsz.toString(16)} is not page aligned`, {
        structure: "kexec segments",
      });
    }
    if (s.buf.length > s.memsz) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${s.name} segment has bufsz 0x${s.buf.length.toString(16)} > memsz 0x${s.memsz.toString(16)}`, {
        structure: "kexec segments",
      });
    }
    const next = sorted[index + 1];
    if (next && s.mem + s.memsz > next.mem) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${s.name} segment overlaps the ${next.name} segment`, { structure: "kexec segments" });
    }
  });
}
