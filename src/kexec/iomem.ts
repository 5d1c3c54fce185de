/**
 * /proc/iomem: the physical address map the running kernel publishes, one resource a line,
 * children indented by two spaces per level (kernel/resource.c r_show: "%*s%0*llx-%0*llx : %s").
 *
 *   40000000-bfffffff : System RAM
 *     40210000-4185ffff : Kernel code
 *     48000000-4e100fff : reserved
 *
 * Free memory for kexec_load segments is "System RAM" minus the resources inside it that must
 * not be overwritten: kexec-tools (kexec/arch/arm64/kexec-arm64.c) takes out "reserved"; kimg
 * also keeps off the crash kernel region and the running kernel's image, which costs a few
 * megabytes of choice and leaves no doubt about what the new kernel may land on.
 */
import { alignUp } from "../io/bytes.js";
import { ErrorCode, KimgError } from "../io/errors.js";

export interface IomemResource {
  /** First byte. */
  start: number;
  /** Last byte (inclusive, as printed). */
  end: number;
  name: string;
  /** Nesting level from the indentation: 0 for top-level resources. */
  depth: number;
}

/** A half-open physical range [start, end). */
export interface MemoryRange {
  start: number;
  end: number;
}

/** /proc/iomem is a few kilobytes; anything far larger is not it. */
export const IOMEM_MAX_BYTES = 4 * 1024 * 1024;
export const IOMEM_MAX_LINES = 65536;

const LINE = /^( *)([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) : (.*)$/;

export function parseIomem(text: string): IomemResource[] {
  if (text.length > IOMEM_MAX_BYTES) {
    throw new KimgError(ErrorCode.LIMIT, `/proc/iomem text of ${text.length} bytes exceeds ${IOMEM_MAX_BYTES}`, {
      structure: "/proc/iomem",
      actual: text.length,
    });
  }
  const lines = text.split("\n");
  if (lines.length > IOMEM_MAX_LINES) {
    throw new KimgError(ErrorCode.LIMIT, `/proc/iomem has more than ${IOMEM_MAX_LINES} lines`, { structure: "/proc/iomem", actual: lines.length });
  }
  const resources: IomemResource[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    const match = LINE.exec(line);
    if (!match) {
      throw new KimgError(ErrorCode.BAD_FIELD, `/proc/iomem line ${index + 1} is not "start-end : name": ${JSON.stringify(line.slice(0, 80))}`, {
        structure: "/proc/iomem",
        line: index + 1,
      });
    }
    const start = Number.parseInt(match[2] ?? "", 16);
    const end = Number.parseInt(match[3] ?? "", 16);
    // Ranges past 2^53 (only ever I/O windows) cannot be held exactly in a number and are never RAM.
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return;
    if (end < start) {
      throw new KimgError(ErrorCode.BAD_FIELD, `/proc/iomem line ${index + 1} ends before it starts`, { structure: "/proc/iomem", line: index + 1 });
    }
    resources.push({ start, end, name: (match[4] ?? "").trim(), depth: Math.floor((match[1] ?? "").length / 2) });
  });
  return resources;
}

/** Resource names inside System RAM that segments must avoid. */
export const IOMEM_EXCLUDED_NAMES: readonly string[] = [
  "reserved",
  "Crash kernel",
  "Kernel code",
  "Kernel rodata",
  "Kernel data",
  "Kernel bss",
  "Kernel image",
];

export interface FreeRamOptions {
  /** Also avoid the running kernel's image ("Kernel code", "Kernel data", ...). Default true. */
  avoidRunningKernel?: boolean;
}

/** System RAM minus excluded resources, sorted, as half-open ranges. */
/** The largest page size the kernel's image reservation is rounded to (64 KiB pages on arm64/LoongArch). */
const KERNEL_TAIL_PAGE_BYTES = 64 * 1024;

export function freeSystemRam(resources: readonly IomemResource[], options: FreeRamOptions = {}): MemoryRange[] {
  const avoidKernel = options.avoidRunningKernel ?? true;
  const ram = resources.filter((r) => r.name === "System RAM");
  if (ram.length > 0 && ram.every((r) => r.start === 0 && r.end === 0)) {
    throw new KimgError(ErrorCode.SYSTEM, "/proc/iomem shows all addresses as 0: the kernel hides them from non-root readers", { structure: "/proc/iomem" });
  }
  // Case-insensitive: arm64 names reserved memory "reserved", RISC-V "Reserved" (arch/riscv/kernel/setup.c).
  const excludedNames = new Set(IOMEM_EXCLUDED_NAMES.map((n) => n.toLowerCase()));
  // Reusing the running kernel's place also reuses the rest of its last page: LoongArch lists the
  // bytes from the end of "Kernel bss" to the next 16 KiB page as "Reserved" (seen in
  // qemu-system-loongarch64 with Debian's 7.2 kernel), which would otherwise block the link address.
  const image = resources.filter((r) => r.name.startsWith("Kernel "));
  const imageEnd = image.length === 0 ? 0 : Math.max(...image.map((r) => r.end + 1));
  const imagePagesEnd = alignUp(imageEnd, KERNEL_TAIL_PAGE_BYTES);
  const kernelTail = (r: IomemResource): boolean => !avoidKernel && image.length > 0 && r.start >= imageEnd && r.end < imagePagesEnd;
  const excluded = resources.filter(
    (r) => r.name !== "System RAM" && excludedNames.has(r.name.toLowerCase()) && (avoidKernel || !r.name.startsWith("Kernel ")) && !kernelTail(r),
  );
  let free: MemoryRange[] = ram.map((r) => ({ start: r.start, end: r.end + 1 }));
  for (const r of excluded) free = subtractRange(free, { start: r.start, end: r.end + 1 });
  return mergeRanges(free);
}

export function subtractRange(ranges: readonly MemoryRange[], cut: MemoryRange): MemoryRange[] {
  const out: MemoryRange[] = [];
  for (const r of ranges) {
    if (cut.end <= r.start || cut.start >= r.end) {
      out.push(r);
      continue;
    }
    if (cut.start > r.start) out.push({ start: r.start, end: cut.start });
    if (cut.end < r.end) out.push({ start: cut.end, end: r.end });
  }
  return out;
}

export function mergeRanges(ranges: readonly MemoryRange[]): MemoryRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: MemoryRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
