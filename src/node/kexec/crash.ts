/**
 * `kimg kexec load --crash`: a crash (kdump) kernel, loaded into the `crashkernel=` reservation
 * and entered when the running kernel panics. Reads what the ELF core header describes from the
 * running system (sysfs, /proc/iomem, /proc/kallsyms), plans with src/kexec/crash.ts and loads
 * with KEXEC_ON_CRASH (segment mode) or KEXEC_FILE_ON_CRASH (file mode, where the kernel builds
 * the header itself).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { hex } from "../../io/bytes.js";
import { ErrorCode, KimgError } from "../../io/errors.js";
import { chooseCrashReservation, crashDumpRam, crashReservations, planArm64CrashSegments, runningKernelImage } from "../../kexec/crash.js";
import type { Arm64CrashPlan } from "../../kexec/crash.js";
import { buildElfCoreHeader } from "../../kexec/elfcore.js";
import type { CrashNote, ElfCoreHeader, KernelTextLoad } from "../../kexec/elfcore.js";
import { parseIomem } from "../../kexec/iomem.js";
import type { MemoryRange } from "../../kexec/iomem.js";
import type { KexecPlan } from "../../kexec/plan.js";
import type { KexecEnvironment } from "./environment.js";
import { SYSTEM_PATHS } from "./environment.js";
import { explainKexecError, kernelArchName, loadKexec } from "./loader.js";
import type { LoadRequest, PreparedKexec } from "./loader.js";
import { Errno, KEXEC_ARCH_DEFAULT, KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD } from "./syscalls.js";

/** include/uapi/linux/kexec.h */
export const KEXEC_ON_CRASH = 0x1;

/** Where the crash notes and vmcoreinfo are published (Documentation/ABI/testing/sysfs-devices-system-cpu, sysfs-kernel-vmcoreinfo). */
export const CRASH_PATHS = {
  possibleCpus: "/sys/devices/system/cpu/possible",
  crashNotes: (cpu: number) => `/sys/devices/system/cpu/cpu${cpu}/crash_notes`,
  crashNotesSize: (cpu: number) => `/sys/devices/system/cpu/cpu${cpu}/crash_notes_size`,
  vmcoreinfo: "/sys/kernel/vmcoreinfo",
  kallsyms: "/proc/kallsyms",
  crashSize: "/sys/kernel/kexec_crash_size",
} as const;

/** Most CPUs read (NR_CPUS is at most 8192 in Debian's configs). */
export const CRASH_MAX_CPUS = 8192;
/** kexec-tools' MAX_NOTE_BYTES: the note size assumed when crash_notes_size is absent (before v4.2). */
export const CRASH_NOTE_DEFAULT_BYTES = 4096;
/**
 * The symbol at the start of "Kernel code" in /proc/iomem: arm64 registers it from __pa(_stext)
 * (arch/arm64/kernel/setup.c), x86 from __pa(_text) (arch/x86/kernel/setup.c). kallsyms on
 * arm64 starts at _stext (the 64 KiB before it, from _text, is not listed).
 */
export const KERNEL_CODE_SYMBOL: Readonly<Record<string, string>> = { arm64: "_stext", x86_64: "_text" };

/**
 * /proc/kallsyms is read up to this many bytes to find that symbol: the kernel lists symbols in
 * address order, it among the first, and generating all of it (megabytes) takes seconds on
 * a slow machine.
 */
export const KALLSYMS_SCAN_BYTES = 64 * 1024;

/** The first `bytes` bytes of a file (procfs reports size 0, so read, do not stat), or null. */
function readFileHead(path: string, bytes: number): string | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buf = new Uint8Array(bytes);
    let got = 0;
    while (got < bytes) {
      const n = readSync(fd, buf, got, bytes - got, null);
      if (n === 0) break;
      got += n;
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** "0-3,5" (kernel cpulist format) → [0, 1, 2, 3, 5]. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new KimgError(ErrorCode.BAD_FIELD, `cpu list "${text.trim().slice(0, 40)}" is not in the kernel's format`, { structure: "cpu list" });
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first || last >= CRASH_MAX_CPUS) {
      throw new KimgError(ErrorCode.LIMIT, `cpu list "${part}" is outside 0-${CRASH_MAX_CPUS - 1}`, { structure: "cpu list" });
    }
    for (let c = first; c <= last; c++) cpus.push(c);
  }
  return cpus;
}

export interface CrashSystemFacts {
  iomemText: string;
  cpuNotes: CrashNote[];
  vmcoreinfo: CrashNote | null;
  kernelText: KernelTextLoad | null;
}

function hexNumber(text: string, what: string): bigint {
  const t = text.trim();
  if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(t))
    throw new KimgError(ErrorCode.BAD_FIELD, `${what}: "${t.slice(0, 40)}" is not a hex address`, { structure: "kexec crash" });
  return BigInt(t.startsWith("0x") ? t : `0x${t}`);
}

/** The running system's crash notes, vmcoreinfo and kernel image, as kexec-tools' crashdump.c reads them. */
export function readCrashFacts(env: KexecEnvironment, arch: string, readHead: (path: string, bytes: number) => string | null = readFileHead): CrashSystemFacts {
  const iomemText = env.readText(SYSTEM_PATHS.iomem);
  if (iomemText === null) throw new KimgError(ErrorCode.SYSTEM, `cannot read ${SYSTEM_PATHS.iomem}`, { structure: "kexec crash" });
  const possible = env.readText(CRASH_PATHS.possibleCpus);
  const cpus = possible === null ? [0] : parseCpuList(possible);
  const cpuNotes: CrashNote[] = [];
  for (const cpu of cpus) {
    const address = env.readText(CRASH_PATHS.crashNotes(cpu));
    if (address === null) continue; // not present: kexec-tools skips such CPUs too
    const sizeText = env.readText(CRASH_PATHS.crashNotesSize(cpu));
    const size = sizeText === null ? CRASH_NOTE_DEFAULT_BYTES : Number(sizeText.trim());
    if (!Number.isSafeInteger(size) || size <= 0 || size > 1024 * 1024) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${CRASH_PATHS.crashNotesSize(cpu)} is not a note size`, { structure: "kexec crash" });
    }
    cpuNotes.push({ name: `cpu${cpu}`, address: hexNumber(address, CRASH_PATHS.crashNotes(cpu)), size });
  }
  if (cpuNotes.length === 0) {
    throw new KimgError(
      ErrorCode.SYSTEM,
      `no CPU crash notes in /sys/devices/system/cpu/cpu*/crash_notes: the running kernel lacks CONFIG_CRASH_DUMP/KEXEC_CORE`,
      {
        structure: "kexec crash",
      },
    );
  }
  let vmcoreinfo: CrashNote | null = null;
  const info = env.readText(CRASH_PATHS.vmcoreinfo);
  if (info !== null) {
    const [address = "", size = ""] = info.trim().split(/\s+/);
    vmcoreinfo = { name: "vmcoreinfo", address: hexNumber(address, CRASH_PATHS.vmcoreinfo), size: Number(hexNumber(size, CRASH_PATHS.vmcoreinfo)) };
  }
  // The kernel image PT_LOAD: "Kernel code" in /proc/iomem starts at the physical address of
  // KERNEL_CODE_SYMBOL[arch], whose virtual address /proc/kallsyms gives (zeros to non-root).
  let kernelText: KernelTextLoad | null = null;
  const image = runningKernelImage(parseIomem(iomemText));
  const symbol = KERNEL_CODE_SYMBOL[arch];
  const kallsyms = symbol === undefined ? null : readHead(CRASH_PATHS.kallsyms, KALLSYMS_SCAN_BYTES);
  if (image && kallsyms !== null) {
    const m = new RegExp(`^([0-9a-f]{8,16}) [Tt] ${symbol}$`, "m").exec(kallsyms);
    const vaddr = m?.[1] === undefined ? 0n : BigInt(`0x${m[1]}`);
    if (vaddr !== 0n) kernelText = { paddr: BigInt(image.start), vaddr, size: BigInt(image.end - image.start) };
  }
  return { iomemText, cpuNotes, vmcoreinfo, kernelText };
}

export interface CrashDetails {
  reservation: MemoryRange;
  /** Segment mode only: the header kimg built (file mode: the kernel builds it). */
  elfcore: ElfCoreHeader | null;
  elfcorehdrMem: number | null;
}

/**
 * Turns an ordinary plan (prepareKexec: checks, unpacking, command line) into a crash load: in
 * segment mode (arm64) every segment moved into the crash reservation with the ELF core header
 * and the crash properties of /chosen; in file mode, KEXEC_FILE_ON_CRASH. A dry run for another
 * machine (--iomem/--arch) takes the reservation and RAM from the saved memory map and leaves
 * the CPU notes out, which only the target's sysfs knows.
 */
export function crashKexec(prepared: PreparedKexec, request: LoadRequest, env: KexecEnvironment): { prepared: PreparedKexec; crash: CrashDetails } {
  const warnings = prepared.warnings.filter((w) => !w.startsWith("a kernel is already loaded"));
  if (!request.dryRun && env.readText(SYSTEM_PATHS.kexecCrashLoaded)?.trim() === "1") warnings.push("a crash kernel is already loaded; this load replaces it");
  const foreign = prepared.targetArch !== kernelArchName(env.arch) || env.platform !== "linux";
  const iomemText = request.iomem ?? (foreign ? null : env.readText(SYSTEM_PATHS.iomem));
  if (iomemText === null) {
    throw new KimgError(ErrorCode.SYSTEM, `a crash load needs the memory map with its "Crash kernel" range: give --iomem FILE (a saved /proc/iomem)`, {
      structure: "kexec crash",
    });
  }
  const resources = parseIomem(iomemText);
  const reservation = chooseCrashReservation(crashReservations(resources));
  const plan = prepared.plan;
  if (plan.mode === "file") {
    return {
      prepared: { ...prepared, warnings, plan: { ...plan, flags: plan.flags | KEXEC_FILE_ON_CRASH } },
      crash: { reservation, elfcore: null, elfcorehdrMem: null },
    };
  }
  const base = plan.segmentPlan;
  if (base.arch !== "arm64") {
    throw new KimgError(ErrorCode.UNSUPPORTED, `crash kernels in segment mode are implemented for arm64, not ${base.arch}`, { structure: "kexec crash" });
  }
  const kernel = base.segments.find((s) => s.name === "kernel");
  if (!kernel) throw new KimgError(ErrorCode.SYSTEM, "segment plan without a kernel", { structure: "kexec crash" });
  const initrd = base.segments.find((s) => s.name === "initrd");
  const fdt = request.dtb ?? (foreign ? null : env.readBytes(SYSTEM_PATHS.fdt));
  if (fdt === null) throw new KimgError(ErrorCode.SYSTEM, `cannot read ${SYSTEM_PATHS.fdt}: give one with --dtb`, { structure: "kexec crash" });
  let facts: Omit<CrashSystemFacts, "iomemText"> = { cpuNotes: [], vmcoreinfo: null, kernelText: null };
  if (!foreign) {
    try {
      facts = readCrashFacts(env, prepared.targetArch);
    } catch (error) {
      if (!request.dryRun) throw error;
      warnings.push(`the ELF core header lacks the CPU notes: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    warnings.push("a plan for another machine: the ELF core header has no CPU or vmcoreinfo notes (a real load reads them from that machine's sysfs)");
  }
  const elfcore = buildElfCoreHeader({
    arch: prepared.targetArch,
    cpuNotes: facts.cpuNotes,
    vmcoreinfo: facts.vmcoreinfo,
    kernelText: facts.kernelText,
    ram: crashDumpRam(resources),
  });
  const crashPlan: Arm64CrashPlan = planArm64CrashSegments({
    kernel: kernel.buf,
    initrd: initrd?.buf,
    cmdline: plan.cmdline.text,
    fdt,
    pageSize: plan.pageSize,
    reservation,
    elfcore,
    seeds: request.dryRun ? undefined : { kaslr: env.randomBytes(8), rng: env.randomBytes(32) },
  });
  return {
    prepared: { ...prepared, warnings, plan: { ...plan, segmentPlan: crashPlan } },
    crash: { reservation, elfcore, elfcorehdrMem: crashPlan.elfcorehdr.mem },
  };
}

/** Loads the crash kernel: kexec_load(..., KEXEC_ON_CRASH) or kexec_file_load(..., KEXEC_FILE_ON_CRASH). */
export function loadCrashKexec(plan: KexecPlan, env: KexecEnvironment): void {
  if (plan.mode === "file") {
    if ((plan.flags & KEXEC_FILE_ON_CRASH) === 0) throw new KimgError(ErrorCode.USAGE, "not a crash plan", { structure: "kexec crash" });
    loadKexec(plan, env);
    return;
  }
  const rc = env.syscalls().kexecLoad(plan.segmentPlan.entry, plan.segmentPlan.segments, KEXEC_ON_CRASH | KEXEC_ARCH_DEFAULT);
  if (rc < 0) {
    if (rc === -Errno.EADDRNOTAVAIL) {
      throw new KimgError(ErrorCode.SYSTEM, "kexec_load failed with errno 99: a segment lies outside the crash reservation the kernel knows", {
        structure: "kexec crash",
        errno: 99,
      });
    }
    throw explainKexecError("kexec_load", rc, "segments");
  }
}

/** Unloads the crash kernel (the reservation stays). */
export function unloadCrashKexec(env: KexecEnvironment): void {
  if (env.uid !== 0) throw new KimgError(ErrorCode.SYSTEM, "kexec refused: kexec unload needs root (CAP_SYS_BOOT)", { structure: "kexec" });
  const sys = env.syscalls();
  let rc = sys.kexecFileLoad(-1, -1, null, KEXEC_FILE_UNLOAD | KEXEC_FILE_ON_CRASH);
  if (rc === -Errno.ENOSYS) rc = sys.kexecLoad(0, [], KEXEC_ON_CRASH | KEXEC_ARCH_DEFAULT);
  if (rc < 0) throw explainKexecError("kexec_load", rc, "segments");
}

/** Lines the text view adds after the plan. */
export function formatCrashDetails(crash: CrashDetails): string {
  const { reservation, elfcore, elfcorehdrMem } = crash;
  const lines = [`crash:   reservation ${hex(reservation.start)}-${hex(reservation.end - 1)} ("Crash kernel" in /proc/iomem)`];
  if (elfcore && elfcorehdrMem !== null) {
    lines.push(
      `elfcorehdr: ${hex(elfcorehdrMem)}, ${elfcore.length} bytes, ${elfcore.headers.length} program headers (/chosen linux,elfcorehdr, linux,usable-memory-range)`,
    );
    lines.push("  type     what          offset/paddr        vaddr               size");
    for (const h of elfcore.headers) {
      lines.push(`  ${h.type.padEnd(8)} ${h.what.padEnd(13)} ${hex(h.paddr).padEnd(19)} ${hex(h.vaddr).padEnd(19)} ${hex(h.filesz)}`);
    }
  } else {
    lines.push("elfcorehdr: built by the running kernel (kexec_file_load with KEXEC_FILE_ON_CRASH)");
  }
  return lines.join("\n");
}

/** The crash part of `--json`. */
export function crashDetailsToJson(crash: CrashDetails): Record<string, unknown> {
  const { reservation, elfcore, elfcorehdrMem } = crash;
  return {
    reservation: { start: hex(reservation.start), end: hex(reservation.end) },
    elfcorehdr:
      elfcore && elfcorehdrMem !== null
        ? {
            mem: hex(elfcorehdrMem),
            size: elfcore.length,
            programHeaders: elfcore.headers.map((h) => ({
              type: h.type,
              what: h.what,
              headerOffset: h.headerOffset,
              offset: hex(h.offset),
              vaddr: hex(h.vaddr),
              paddr: hex(h.paddr),
              filesz: hex(h.filesz),
            })),
          }
        : null,
  };
}
