/**
 * Crash (kdump) kernels: a kernel loaded now into the memory the running kernel reserved with
 * `crashkernel=` and entered only when the running kernel panics (kexec_load with
 * KEXEC_ON_CRASH, kexec_file_load with KEXEC_FILE_ON_CRASH).
 *
 * In segment mode kimg computes what the kernel's own kexec_file code computes in file mode:
 * - every segment inside the reservation ("Crash kernel" in /proc/iomem): kexec_core.c
 *   sanity_check_segment_list refuses anything outside crashk_res with EADDRNOTAVAIL;
 * - the ELF core header (elfcore.ts) in its own segment, describing the crashed kernel's CPUs'
 *   crash notes, its vmcoreinfo and its RAM minus the reservation;
 * - on arm64, the device tree's /chosen tells the crash kernel where that header is
 *   (`linux,elfcorehdr` = <addr size>) and which memory it may use
 *   (`linux,usable-memory-range` = the reservation), both in the root's #address-cells and
 *   #size-cells (Documentation/devicetree/bindings/chosen.txt, dt-schema's chosen.yaml); kexec-tools'
 *   kexec/arch/arm64 writes the same two properties and adds nothing to the command line.
 * The crash kernel then reserves the header (arch/arm64/mm/init.c reserve_elfcorehdr), limits
 * itself to the usable range and offers the old memory as /proc/vmcore.
 */
import { alignUp } from "../io/bytes.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { ElfCoreHeader } from "./elfcore.js";
import { findNode, parseFdt, serializeFdt, setProperty } from "./fdt.js";
import type { Fdt } from "./fdt.js";
import type { IomemResource, MemoryRange } from "./iomem.js";
import { mergeRanges, subtractRange } from "./iomem.js";
import { ARM64_PURGATORY_SIZE, buildArm64Purgatory } from "./purgatory-arm64.js";
import type { Arm64SegmentInput, Arm64SegmentPlan, KexecSegment } from "./segments.js";
import { checkSegments, findHole, planArm64Segments } from "./segments.js";

/** The resource name kernel/crash_reserve.c (kernel/kexec_core.c before v6.9) gives the reservation. */
export const CRASH_KERNEL_RESOURCE = "Crash kernel";

/** The crash reservations in /proc/iomem (arm64 and x86 may have a low and a high one), half-open. */
export function crashReservations(resources: readonly IomemResource[]): MemoryRange[] {
  return mergeRanges(resources.filter((r) => r.name === CRASH_KERNEL_RESOURCE).map((r) => ({ start: r.start, end: r.end + 1 })));
}

/** What the crash kernel dumps: System RAM minus the crash reservations, as kexec-tools' crash_get_memory_ranges. */
export function crashDumpRam(resources: readonly IomemResource[]): MemoryRange[] {
  let ram: MemoryRange[] = mergeRanges(resources.filter((r) => r.name === "System RAM").map((r) => ({ start: r.start, end: r.end + 1 })));
  for (const cut of crashReservations(resources)) ram = subtractRange(ram, cut);
  return ram;
}

/** The running kernel's image in /proc/iomem: "Kernel code" start to the end of "Kernel data"/"Kernel bss". */
export function runningKernelImage(resources: readonly IomemResource[]): MemoryRange | null {
  const parts = resources.filter((r) => r.name === "Kernel code" || r.name === "Kernel rodata" || r.name === "Kernel data" || r.name === "Kernel bss");
  const code = parts.find((r) => r.name === "Kernel code");
  if (!code) return null;
  const end = Math.max(...parts.map((r) => r.end + 1));
  return { start: code.start, end };
}

/** The reservation a crash load goes to: the largest one (arm64's high reservation over its low one). */
export function chooseCrashReservation(reservations: readonly MemoryRange[]): MemoryRange {
  const largest = [...reservations].sort((a, b) => b.end - b.start - (a.end - a.start))[0];
  if (!largest) {
    throw new KimgError(
      ErrorCode.SYSTEM,
      'no "Crash kernel" range in /proc/iomem: boot the running kernel with crashkernel=SIZE (for example crashkernel=256M) to reserve memory for a crash kernel',
      { structure: "kexec crash" },
    );
  }
  return largest;
}

export interface Arm64CrashInput extends Omit<Arm64SegmentInput, "freeRam"> {
  /** The crash reservation (half-open). */
  reservation: MemoryRange;
  elfcore: ElfCoreHeader;
}

export interface Arm64CrashPlan extends Arm64SegmentPlan {
  reservation: MemoryRange;
  /** Where the ELF core header is, and its unpadded length (what linux,elfcorehdr says). */
  elfcorehdr: { mem: number; size: number };
}

interface Cells {
  address: number;
  size: number;
}

/** The root node's #address-cells/#size-cells (the devicetree specification's defaults, 2 and 1, when absent). */
function rootCells(fdt: Fdt): Cells {
  const read = (name: string, fallback: number): number => {
    const p = fdt.root.properties.find((q) => q.name === name);
    if (p?.value.length !== 4) return fallback;
    const v = new DataView(p.value.buffer, p.value.byteOffset, 4).getUint32(0, false);
    if (v !== 1 && v !== 2) {
      throw new KimgError(ErrorCode.BAD_FIELD, `root ${name} is ${v}; only 1 or 2 cells describe a physical address`, { structure: "device tree" });
    }
    return v;
  };
  return { address: read("#address-cells", 2), size: read("#size-cells", 1) };
}

function cellsValue(pairs: ReadonlyArray<[number, number]>, cells: Cells): Uint8Array {
  const out = new Uint8Array(pairs.length * (cells.address + cells.size) * 4);
  const view = new DataView(out.buffer);
  let at = 0;
  const put = (value: number, count: number, what: string): void => {
    const big = BigInt(value);
    if (count === 1 && big > 0xffffffffn) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${what} 0x${value.toString(16)} does not fit the device tree's one cell`, { structure: "device tree" });
    }
    if (count === 2) {
      view.setUint32(at, Number(big >> 32n), false);
      at += 4;
    }
    view.setUint32(at, Number(big & 0xffffffffn), false);
    at += 4;
  };
  for (const [address, size] of pairs) {
    put(address, cells.address, "address");
    put(size, cells.size, "size");
  }
  return out;
}

/**
 * The arm64 crash load: the elfcorehdr at the top of the reservation, kernel, initrd, device
 * tree and purgatory below it (the ordinary segment planner, given only the reservation as free
 * RAM), then the device tree's /chosen completed with the two crash properties and the DTB and
 * purgatory placed again for the grown tree.
 */
export function planArm64CrashSegments(input: Arm64CrashInput): Arm64CrashPlan {
  const { pageSize, reservation } = input;
  const hdrMemsz = alignUp(input.elfcore.bytes.length, pageSize);
  const hdrMem = Math.floor((reservation.end - hdrMemsz) / pageSize) * pageSize;
  if (hdrMem < reservation.start) {
    throw new KimgError(ErrorCode.SYSTEM, "the crash reservation is too small for the ELF core header", { structure: "kexec crash" });
  }
  const free: MemoryRange[] = subtractRange([reservation], { start: hdrMem, end: hdrMem + hdrMemsz });
  const base = planArm64Segments({ ...input, freeRam: free });
  const kernel = base.segments.find((s) => s.name === "kernel");
  const initrd = base.segments.find((s) => s.name === "initrd");
  const dtbSegment = base.segments.find((s) => s.name === "dtb");
  if (!kernel || !dtbSegment) throw new KimgError(ErrorCode.SYSTEM, "segment plan without kernel or dtb", { structure: "kexec crash" });

  const fdt = parseFdt(dtbSegment.buf);
  let chosen = findNode(fdt, "/chosen");
  if (!chosen) {
    chosen = { name: "chosen", properties: [], children: [] };
    fdt.root.children.push(chosen);
  }
  const cells = rootCells(fdt);
  setProperty(chosen, "linux,elfcorehdr", cellsValue([[hdrMem, input.elfcore.length]], cells));
  setProperty(chosen, "linux,usable-memory-range", cellsValue([[reservation.start, reservation.end - reservation.start]], cells));
  const dtb = serializeFdt(fdt);
  const chosenChanges = [
    ...base.chosenChanges,
    { property: "linux,elfcorehdr", action: "set" as const },
    { property: "linux,usable-memory-range", action: "set" as const },
  ];

  // Place the DTB and the purgatory again, in what the kernel, initrd and header left.
  let left = free;
  const take = (s: { mem: number; memsz: number }, from = s.mem): void => {
    left = subtractRange(left, { start: from, end: s.mem + s.memsz });
  };
  take(kernel, kernel.mem - base.image.textOffset);
  if (initrd) take(initrd);
  const noRoom = (what: string): never => {
    throw new KimgError(ErrorCode.SYSTEM, `the crash reservation has no room left for the ${what}`, { structure: "kexec crash" });
  };
  const dtbMemsz = alignUp(dtb.length, pageSize);
  const dtbMem = findHole(left, dtbMemsz, pageSize) ?? noRoom("device tree");
  take({ mem: dtbMem, memsz: dtbMemsz });
  const purgatory = buildArm64Purgatory(kernel.mem, dtbMem);
  const purgatoryMemsz = alignUp(ARM64_PURGATORY_SIZE, pageSize);
  const purgatoryMem = findHole(left, purgatoryMemsz, pageSize) ?? noRoom("purgatory");

  const segments: KexecSegment[] = [
    kernel,
    ...(initrd ? [initrd] : []),
    { name: "dtb", buf: dtb, mem: dtbMem, memsz: dtbMemsz },
    { name: "purgatory", buf: purgatory.code, mem: purgatoryMem, memsz: purgatoryMemsz },
    { name: "elfcorehdr", buf: input.elfcore.bytes, mem: hdrMem, memsz: hdrMemsz },
  ];
  checkSegments(segments, pageSize);
  for (const s of segments) {
    if (s.mem < reservation.start || s.mem + s.memsz > reservation.end) {
      throw new KimgError(ErrorCode.SYSTEM, `${s.name} segment outside the crash reservation`, { structure: "kexec crash" });
    }
  }
  return {
    arch: "arm64",
    entry: purgatoryMem,
    segments,
    registers: { x0: dtbMem, x1: 0, x2: 0, x3: 0, pc: kernel.mem },
    image: base.image,
    chosenChanges,
    purgatory: purgatory.listing,
    // The crash entry stub is the plain one: no SHA-256 check of the segments (yet).
    checked: [],
    reservation,
    elfcorehdr: { mem: hdrMem, size: input.elfcore.length },
  };
}
