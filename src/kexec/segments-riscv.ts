/**
 * The kexec_load(2) segment list for a RISC-V kernel (an Image, unpacked from a zboot or a UKI
 * when needed), computed from the Image header, the free RAM of the running system and its
 * device tree. Rules:
 * - Documentation/arch/riscv/boot.rst: the Image goes on a PMD-aligned address (2 MiB on rv64),
 *   which the header's text_offset states (boot-image-header.rst); the placement model in
 *   boot/placement/riscv.ts, shared with `kimg plan`, puts it at the lowest aligned free address,
 *   as kexec-tools' riscv_find_pbase() does (kexec/arch/riscv/kexec-image-riscv.c).
 * - At entry: a0 = hart id, a1 = physical address of the DTB, satp = 0 (boot.rst). The running
 *   kernel finds the DTB segment itself (arch/riscv/kernel/machine_kexec.c looks for the FDT
 *   magic) and the entry stub (purgatory-riscv.ts) hands a1 over explicitly.
 * - /chosen as kexec-tools' load_extra_segments() leaves it (kexec/arch/riscv/kexec-riscv.c):
 *   bootargs set, linux,initrd-start/end set or removed, linux,elfcorehdr and
 *   linux,usable-memory-range removed for a normal kexec (fdt.ts STALE_CHOSEN_PROPERTIES).
 * - kexec_load(2): segments page aligned and not overlapping (segments.ts checkSegments).
 */
import { alignUp } from "../io/bytes.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { readStruct } from "../io/layout.js";
import { RISCV_HEADER, RISCV_IMAGE_MAGIC2, isRiscvImage } from "../formats/riscv.js";
import { placeRiscvKernel, riscvKernelNeeds, type RiscvKernelNeeds } from "../boot/placement/riscv.js";
import { kernelFootprint, placementEnd } from "../boot/placement/types.js";
import { fdtTotalSize, parseFdt, serializeFdt, updateChosen } from "./fdt.js";
import type { ChosenChange } from "./fdt.js";
import type { MemoryRange } from "./iomem.js";
import { subtractRange } from "./iomem.js";
import { RISCV_PURGATORY_SIZE, buildRiscvPurgatory } from "./purgatory-riscv.js";
import { buildRiscvCheckingPurgatory } from "./purgatory-riscv-sha256.js";
import type { PurgatoryInstruction } from "./purgatory-arm64.js";
import { checkSegments, noHole, phys, placeAbove, segmentDigests } from "./segments.js";
import type { KexecSegment } from "./segments.js";

/** Image sizes beyond this are not kernels. */
export const RISCV_MAX_IMAGE_BYTES = 1024 * 1024 * 1024;

export interface RiscvLoadInfo {
  textOffset: number;
  /** image_size, or the file length when the header gives none. */
  imageSize: number;
  /** The header's image_size was 0 (kexec-tools refuses such Images; kimg uses the file length). */
  imageSizeMissing: boolean;
  /** Header version (0.2 = 2). */
  version: number;
  needs: RiscvKernelNeeds;
}

/** The load facts of a RISC-V Image, read with the core's header layout (formats/riscv.ts). */
export function readRiscvLoadInfo(image: Uint8Array): RiscvLoadInfo {
  const structure = "RISC-V Image header";
  if (image.length < RISCV_HEADER.size || !isRiscvImage(image)) {
    throw new KimgError(ErrorCode.BAD_MAGIC, 'not a RISC-V Image: no "RISCV" magic at 0x30 and no "RSC\\x05" at 0x38', {
      structure,
      offset: 0x30,
      expected: RISCV_IMAGE_MAGIC2,
    });
  }
  const { record: h } = readStruct(RISCV_HEADER, image, 0);
  const max = BigInt(RISCV_MAX_IMAGE_BYTES);
  if (h.text_offset > max || h.image_size > max) {
    throw new KimgError(
      ErrorCode.LIMIT,
      `text_offset 0x${h.text_offset.toString(16)} / image_size 0x${h.image_size.toString(16)} exceed ${RISCV_MAX_IMAGE_BYTES} bytes`,
      { structure, offset: 0x08 },
    );
  }
  // boot-image-header.rst: flags bit 0 is the kernel's endianness (1 = big-endian).
  if ((h.flags & 1n) !== 0n) {
    throw new KimgError(ErrorCode.UNSUPPORTED, "big-endian RISC-V Images are not supported", { structure, offset: 0x18 });
  }
  const textOffset = Number(h.text_offset);
  if (textOffset !== 0 && (textOffset & (textOffset - 1)) !== 0) {
    throw new KimgError(ErrorCode.BAD_FIELD, `text_offset 0x${textOffset.toString(16)} is not a power of two (it is the load alignment)`, {
      structure,
      offset: 0x08,
    });
  }
  const needs = riscvKernelNeeds({ textOffset, imageSize: Number(h.image_size), fileSize: image.length, rv32: false });
  return { textOffset, imageSize: needs.memorySize, imageSizeMissing: h.image_size === 0n, version: h.version, needs };
}

export interface RiscvRegisters {
  /** The hart id: set by the running kernel at `kexec exec` (the hart that runs it), so null in a plan. */
  a0: null;
  /** The DTB's physical address. */
  a1: number;
  satp: 0;
  /** Where the stub jumps: the Image's first byte. */
  pc: number;
}

export interface RiscvSegmentPlan {
  arch: "riscv64";
  /** The address kexec_load is given as entry: the purgatory. */
  entry: number;
  segments: KexecSegment[];
  registers: RiscvRegisters;
  image: RiscvLoadInfo;
  chosenChanges: ChosenChange[];
  purgatory: PurgatoryInstruction[];
  /** The segments the stub checks with SHA-256 before the jump (empty without the check). */
  checked: string[];
}

export interface RiscvSegmentInput {
  /** The uncompressed RISC-V Image. */
  kernel: Uint8Array;
  initrd?: Uint8Array | undefined;
  cmdline: string | null;
  /** The running system's device tree (/sys/firmware/fdt or --dtb). */
  fdt: Uint8Array;
  freeRam: readonly MemoryRange[];
  pageSize: number;
  /** A fresh rng-seed for /chosen; omitted in dry runs that must print stable output. */
  seeds?: { kaslr: Uint8Array; rng: Uint8Array } | undefined;
  /** Check the segments' SHA-256 in the entry stub before the jump (purgatory-riscv-sha256.ts). */
  check?: { sha256(parts: readonly Uint8Array[]): Uint8Array } | undefined;
}

/** PMD_SIZE on rv64 (Sv39/48/57 with 4 KiB pages): the granule the kernel reserves its image in. */
const RISCV_PMD_BYTES = 2 * 1024 * 1024;

export function planRiscvSegments(input: RiscvSegmentInput): RiscvSegmentPlan {
  const { pageSize } = input;
  if (!Number.isInteger(pageSize) || pageSize < 4096 || (pageSize & (pageSize - 1)) !== 0) {
    throw new KimgError(ErrorCode.USAGE, `page size ${pageSize} is not a power of two of at least 4096`, { structure: "kexec segments" });
  }
  const image = readRiscvLoadInfo(input.kernel);
  let free: MemoryRange[] = input.freeRam.map((r) => ({ start: r.start, end: r.end }));
  const take = (start: number, size: number): void => {
    free = subtractRange(free, { start, end: start + size });
  };

  const { needs } = image;
  const placement = placeRiscvKernel(needs, phys(free), pageSize);
  if (placement === null) noHole("kernel", kernelFootprint(needs.memorySize, needs.fileSize, pageSize), needs.alignment, free);
  const kernelMem = Number(placement.address);
  // arch/riscv/mm/init.c setup_bootmem reserves the new kernel up to the next PMD (2 MiB on rv64),
  // so nothing may sit in that tail: an initrd there is "overlaps in-use memory region - disabling
  // initrd" (seen with Debian's 6.12 kernel in qemu-system-riscv64; h-kexec-b's lab).
  const kernelTailEnd = alignUp(kernelMem + placement.footprint, RISCV_PMD_BYTES);
  take(kernelMem, kernelTailEnd - kernelMem);
  const segments: KexecSegment[] = [{ name: "kernel", buf: input.kernel, mem: kernelMem, memsz: placement.footprint }];
  const above = Math.max(Number(placementEnd(placement)), kernelTailEnd);

  let initrdRange: { start: number; end: number } | null = null;
  if (input.initrd && input.initrd.length > 0) {
    const memsz = alignUp(input.initrd.length, pageSize);
    const mem = placeAbove(free, memsz, pageSize, above, "initrd");
    take(mem, memsz);
    segments.push({ name: "initrd", buf: input.initrd, mem, memsz });
    initrdRange = { start: mem, end: mem + input.initrd.length };
  }

  const fdt = parseFdt(input.fdt.subarray(0, fdtTotalSize(input.fdt)));
  // RISC-V has no kaslr-seed in /chosen (its KASLR seed comes from the EFI stub or Zkr); rng-seed it reads.
  const chosenChanges = updateChosen(fdt, {
    bootargs: input.cmdline,
    initrd: initrdRange,
    ...(input.seeds ? { rngSeed: input.seeds.rng } : {}),
  });
  const dtb = serializeFdt(fdt);
  const dtbMemsz = alignUp(dtb.length, pageSize);
  const dtbMem = placeAbove(free, dtbMemsz, pageSize, above, "device tree");
  take(dtbMem, dtbMemsz);
  segments.push({ name: "dtb", buf: dtb, mem: dtbMem, memsz: dtbMemsz });

  const check = input.check;
  const purgatory = check ? buildRiscvCheckingPurgatory(kernelMem, dtbMem, segmentDigests(segments, check)) : buildRiscvPurgatory(kernelMem, dtbMem);
  const purgatoryMemsz = alignUp(check ? purgatory.code.length : RISCV_PURGATORY_SIZE, pageSize);
  const purgatoryMem = placeAbove(free, purgatoryMemsz, pageSize, above, "purgatory");
  take(purgatoryMem, purgatoryMemsz);
  segments.push({ name: "purgatory", buf: purgatory.code, mem: purgatoryMem, memsz: purgatoryMemsz });

  checkSegments(segments, pageSize);
  return {
    arch: "riscv64",
    entry: purgatoryMem,
    segments,
    registers: { a0: null, a1: dtbMem, satp: 0, pc: kernelMem },
    image,
    chosenChanges,
    purgatory: purgatory.listing,
    checked: check ? segments.filter((s) => s.name !== "purgatory").map((s) => s.name) : [],
  };
}
