/**
 * The kexec_load(2) segment list for a LoongArch kernel (vmlinux.efi, unpacked from a zboot or
 * a UKI when needed). What the kernel does with it (arch/loongarch/kernel/machine_kexec.c):
 * - machine_kexec_prepare() takes the segment whose buffer starts with "kexec" as the command
 *   line, copies COMMAND_LINE_SIZE bytes of it to KEXEC_CMDLINE_ADDR (TO_CACHE(0x108000)) and
 *   refuses the load without one ("Command line not included in the provided image", EINVAL);
 *   it keeps the running kernel's own fw_arg0 (efi_boot) and fw_arg2 (the EFI system table).
 * - At `kexec exec` the relocation code jumps to phys_to_virt(entry) with a0 = efi_boot,
 *   a1 = KEXEC_CMDLINE_ADDR, a2 = the system table: the new kernel finds the same EFI and ACPI
 *   tables the running one was given. kimg cannot set those registers (and needs no stub): it
 *   shows them as the kernel will set them.
 * - The initrd travels in the command line as "initrd=ADDR,SIZE" (the kernel's early parameter),
 *   as kexec-tools' loongarch_load_other_segments() does (kexec/arch/loongarch/kexec-loongarch.c).
 * Placement as kexec-tools' pei_loongarch_load() (kexec-pei-loongarch.c): the kernel at its link
 * address (the header's load_offset, PHYS_LINK_KADDR; placement model boot/placement/loongarch.ts),
 * or, when that is not free, at the lowest 2 MiB aligned free range (a relocatable kernel),
 * entered at kernel_entry made physical (the DMW bits 63..48 masked off, as its virt_to_phys()
 * does: a virtual entry on kernels before v6.10, a physical one since), never at the PE entry; the
 * initrd and the command line above the kernel. Memory under the kernel's image may be in use by
 * the running kernel (kexec copies the segments only at exec time), but 0x100000-0x200000 holds
 * the relocation code and the command-line copy, so nothing goes there.
 */
import { alignUp, hex } from "../io/bytes.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { readStruct } from "../io/layout.js";
import { LOONGARCH_HEADER, isLoongArchImage, loongArchEntry } from "../formats/loongarch.js";
import type { LoongArchEntry } from "../formats/loongarch.js";
import { LOONGARCH_KERNEL_ALIGN, loongArchKernelNeeds, type LoongArchKernelNeeds } from "../boot/placement/loongarch.js";
import { kernelFootprint } from "../boot/placement/types.js";
import type { MemoryRange } from "./iomem.js";
import { subtractRange } from "./iomem.js";
import { checkSegments, findHole, noHole } from "./segments.js";
import type { KexecSegment } from "./segments.js";

/** arch/loongarch/include/uapi/asm/setup.h (4096; 512, asm-generic's, before it existed). */
export const LOONGARCH_COMMAND_LINE_SIZE = 4096;
/** The prefix machine_kexec_prepare() looks for (kexec-tools writes "kexec "). */
export const LOONGARCH_CMDLINE_PREFIX = "kexec ";
/** machine_kexec.c: "0x100000 ~ 0x200000 is safe": KEXEC_CONTROL_CODE and KEXEC_CMDLINE_ADDR live there. */
export const LOONGARCH_KEXEC_SAFE_AREA: MemoryRange = { start: 0x100000, end: 0x200000 };
/** TO_CACHE(0x108000): CACHE_BASE (DMW1, 0x9000000000000000) + the physical address. */
export const LOONGARCH_CACHE_BASE = 0x9000_0000_0000_0000n;
export const LOONGARCH_KEXEC_CMDLINE_PHYS = 0x108000;
export const LOONGARCH_MAX_IMAGE_BYTES = 1024 * 1024 * 1024;

export interface LoongArchLoadInfo {
  /** kernel_entry as read. */
  kernelEntry: bigint;
  entry: LoongArchEntry;
  /** kernel_asize, or the file length when 0. */
  imageSize: number;
  /** load_offset as read (0 on v6.1/v6.2 kernels). */
  loadOffset: bigint;
  needs: LoongArchKernelNeeds;
}

export function readLoongArchLoadInfo(image: Uint8Array): LoongArchLoadInfo {
  const structure = "LoongArch image header";
  if (!isLoongArchImage(image)) {
    throw new KimgError(ErrorCode.BAD_MAGIC, "not a LoongArch vmlinux.efi: no LoongArch kernel header (MZ, LOONGARCH64 PE header, kernel_entry)", {
      structure,
      offset: 0,
    });
  }
  const { record: h } = readStruct(LOONGARCH_HEADER, image, 0);
  if (h.kernel_asize > BigInt(LOONGARCH_MAX_IMAGE_BYTES)) {
    throw new KimgError(ErrorCode.LIMIT, `kernel_asize 0x${h.kernel_asize.toString(16)} exceeds ${LOONGARCH_MAX_IMAGE_BYTES} bytes`, {
      structure,
      offset: 0x10,
    });
  }
  const entry = loongArchEntry(h.kernel_entry, h.load_offset, image.length);
  if (entry.offset === null) {
    throw new KimgError(ErrorCode.BAD_FIELD, `kernel_entry ${hex(h.kernel_entry)} does not map into the image loaded at ${hex(entry.loadAddress)}`, {
      structure,
      offset: 0x08,
    });
  }
  const needs = loongArchKernelNeeds({ loadOffset: h.load_offset, imageSize: Number(h.kernel_asize), fileSize: image.length });
  return { kernelEntry: h.kernel_entry, entry, imageSize: needs.memorySize, loadOffset: h.load_offset, needs };
}

export interface LoongArchRegisters {
  /** efi_boot: the running kernel's fw_arg0 (1 when it was booted by EFI); the kernel passes it. */
  a0: "efi_boot";
  /** KEXEC_CMDLINE_ADDR, a cached-window (DMW1) virtual address. */
  a1: bigint;
  /** The running kernel's fw_arg2, the EFI system table; the kernel passes it. */
  a2: "systab";
  /** phys_to_virt(entry): where the relocation code jumps. */
  pc: bigint;
}

export interface LoongArchSegmentPlan {
  arch: "loongarch64";
  /** kexec_load's entry: kernel_entry as a physical address in the placed kernel. */
  entry: number;
  segments: KexecSegment[];
  registers: LoongArchRegisters;
  image: LoongArchLoadInfo;
  /** The command-line segment's text (prefix and initrd= included, NUL padding not). */
  cmdlineSegment: string;
  /**
   * The link address was not free: the kernel sits at the lowest 2 MiB aligned free range and
   * relocates itself (needs CONFIG_RELOCATABLE).
   */
  relocated: boolean;
}

export interface LoongArchSegmentInput {
  /** The uncompressed LoongArch vmlinux.efi. */
  kernel: Uint8Array;
  initrd?: Uint8Array | undefined;
  cmdline: string | null;
  /** System RAM from /proc/iomem, the running kernel's image included (see freeSystemRam). */
  freeRam: readonly MemoryRange[];
  pageSize: number;
}

export function planLoongArchSegments(input: LoongArchSegmentInput): LoongArchSegmentPlan {
  const { pageSize } = input;
  if (!Number.isInteger(pageSize) || pageSize < 4096 || (pageSize & (pageSize - 1)) !== 0) {
    throw new KimgError(ErrorCode.USAGE, `page size ${pageSize} is not a power of two of at least 4096`, { structure: "kexec segments" });
  }
  const image = readLoongArchLoadInfo(input.kernel);
  let free: MemoryRange[] = subtractRange(
    input.freeRam.map((r) => ({ start: r.start, end: r.end })),
    LOONGARCH_KEXEC_SAFE_AREA,
  );
  const take = (start: number, size: number): void => {
    free = subtractRange(free, { start, end: start + size });
  };

  // The kernel goes to its link address, as kexec-tools puts it (locate_hole between
  // text_offset and text_offset + image_size); a kernel built without CONFIG_RELOCATABLE can run
  // nowhere else.
  const { needs } = image;
  const footprint = kernelFootprint(needs.memorySize, needs.fileSize, pageSize);
  const linkAddress = Number(needs.linkAddress);
  if (!Number.isSafeInteger(linkAddress) || linkAddress % pageSize !== 0) {
    throw new KimgError(ErrorCode.BAD_FIELD, `load_offset ${hex(needs.linkAddress)} is not a page-aligned physical address`, {
      structure: "LoongArch image header",
      offset: 0x18,
    });
  }
  // When the link address is taken (the running kernel was itself moved away from it by the EFI
  // stub, and the running kernel's early allocations sit there), the kernel goes to the lowest
  // 2 MiB aligned free range, as the EFI stub (efi_relocate_kernel: the preferred address, else
  // any) and kexec-tools (locate_hole, lowest first) do: a relocatable kernel (CONFIG_RELOCATABLE,
  // what every EFI-booted LoongArch kernel must be to survive the stub's fallback) applies its
  // own relocations at kernel_entry (relocate_kernel(): reloc_offset = _text - link address).
  let kernelAt = findHole(free, footprint, pageSize, linkAddress, linkAddress + footprint);
  let relocated = false;
  if (kernelAt !== linkAddress) {
    kernelAt = findHole(free, footprint, Math.max(LOONGARCH_KERNEL_ALIGN, pageSize));
    if (kernelAt === null) {
      throw new KimgError(
        ErrorCode.SYSTEM,
        `the kernel's link address ${hex(linkAddress)} (+${hex(footprint)} bytes) is not free System RAM on this machine, and no 2 MiB aligned free range holds it`,
        { structure: "kexec segments", actual: linkAddress },
      );
    }
    relocated = true;
  }
  take(kernelAt, footprint);
  const segments: KexecSegment[] = [{ name: "kernel", buf: input.kernel, mem: kernelAt, memsz: footprint }];
  const above = kernelAt + footprint;
  const entry = kernelAt + Number(image.entry.physical - image.entry.loadAddress);

  let cmdline = LOONGARCH_CMDLINE_PREFIX + (input.cmdline ?? "");
  if (input.initrd && input.initrd.length > 0) {
    const memsz = alignUp(input.initrd.length, pageSize);
    const mem = findHole(free, memsz, pageSize, above) ?? noHole("initrd", memsz, pageSize, free);
    take(mem, memsz);
    segments.push({ name: "initrd", buf: input.initrd, mem, memsz });
    cmdline += ` initrd=${hex(mem)},${hex(input.initrd.length)}`;
  }
  const encoded = new TextEncoder().encode(cmdline);
  if (encoded.length + 1 > LOONGARCH_COMMAND_LINE_SIZE) {
    throw new KimgError(
      ErrorCode.LIMIT,
      `the command line segment ("kexec " + command line + initrd=) is ${encoded.length} bytes; the kernel copies ${LOONGARCH_COMMAND_LINE_SIZE - 1} at most`,
      { structure: "kexec segments", actual: encoded.length },
    );
  }
  // The kernel copies COMMAND_LINE_SIZE bytes from the buffer whatever its size: give it all of them.
  const cmdlineBuf = new Uint8Array(LOONGARCH_COMMAND_LINE_SIZE);
  cmdlineBuf.set(encoded);
  const cmdlineMemsz = alignUp(cmdlineBuf.length, pageSize);
  const cmdlineMem = findHole(free, cmdlineMemsz, pageSize, above) ?? noHole("command line", cmdlineMemsz, pageSize, free);
  take(cmdlineMem, cmdlineMemsz);
  segments.push({ name: "cmdline", buf: cmdlineBuf, mem: cmdlineMem, memsz: cmdlineMemsz });

  checkSegments(segments, pageSize);
  return {
    arch: "loongarch64",
    entry,
    segments,
    registers: {
      a0: "efi_boot",
      a1: LOONGARCH_CACHE_BASE | BigInt(LOONGARCH_KEXEC_CMDLINE_PHYS),
      a2: "systab",
      pc: LOONGARCH_CACHE_BASE | BigInt(entry),
    },
    image,
    cmdlineSegment: cmdline,
    relocated,
  };
}
