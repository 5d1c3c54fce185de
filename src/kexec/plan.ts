/**
 * A kexec plan: what kimg will hand the kernel, in either mode, before anything is touched.
 * The plan is printed (text or JSON) by `kimg kexec load`, and `--dry-run` stops there; the text
 * view is `formatKexecPlan` in report/kexec-text.ts.
 */
import type { Arm64SegmentPlan } from "./segments.js";
import type { RiscvSegmentPlan } from "./segments-riscv.js";
import type { LoongArchSegmentPlan } from "./segments-loongarch.js";
import { hex } from "../io/bytes.js";
import type { PurgatoryInstruction } from "./purgatory-arm64.js";

/** A kexec_load segment list, per architecture. */
export type SegmentPlan = Arm64SegmentPlan | RiscvSegmentPlan | LoongArchSegmentPlan;

export type KexecMode = "file" | "segments";

/** Where the bootable pieces came from. */
export interface KexecSource {
  /** Format of the file the user named ("zboot", "uki", "arm64-image", ...). */
  format: string;
  /** Format of the kernel handed to the kernel ("arm64-image", "bzimage"). */
  kernelFormat: string;
  /** The layers unpacked on the way, e.g. "zboot > gzip > arm64-image". */
  path: string;
  arch: string;
  /** Codec of the outer payload, when there was one. */
  compression: string | null;
}

export interface CommandLineChoice {
  text: string | null;
  /** "--cmdline", "/proc/cmdline + --cmdline", "UKI .cmdline", "none". */
  from: string;
}

interface PlanCommon {
  source: KexecSource;
  cmdline: CommandLineChoice;
  /** Why this mode was chosen. */
  why: string;
  /** The initrd's origin ("--initrd FILE", "UKI .initrd") or null. */
  initrdFrom: string | null;
}

export interface FileModePlan extends PlanCommon {
  mode: "file";
  kernel: Uint8Array;
  initrd: Uint8Array | null;
  /** kexec_file_load flags. */
  flags: number;
  /**
   * How the kernel reaches kexec_file_load: "file" passes the descriptor of the file the user
   * named (the kernel is used as it is, so IMA appraises the file and its signature), "memfd"
   * passes what kimg unpacked.
   */
  kernelFd: "file" | "memfd";
  /** Path of the file whose descriptor is passed ("file"), else null. */
  kernelPath: string | null;
  /** The same for the initrd: "file" for --initrd FILE, "memfd" for a UKI's .initrd. */
  initrdFd: "file" | "memfd" | null;
  initrdPath: string | null;
}

export interface SegmentModePlan extends PlanCommon {
  mode: "segments";
  segmentPlan: SegmentPlan;
  /** "/sys/firmware/fdt" or the --dtb path; null where no device tree is passed (LoongArch). */
  dtbFrom: string | null;
  /** Where the free RAM came from: "/proc/iomem" or "--iomem FILE". */
  memoryFrom: string;
  /** The page size the segments are aligned to, and where it came from. */
  pageSize: number;
}

export type KexecPlan = FileModePlan | SegmentModePlan;

export interface PlanJsonOptions {
  /** User-space addresses of the segment buffers, when known (a real load, not a dry run). */
  bufAddresses?: ReadonlyMap<string, bigint>;
}

/** The plan as plain JSON (addresses as hex strings, no bytes). */
export function kexecPlanToJson(plan: KexecPlan, options: PlanJsonOptions = {}): Record<string, unknown> {
  const common = {
    mode: plan.mode,
    why: plan.why,
    source: plan.source,
    cmdline: plan.cmdline,
    initrdFrom: plan.initrdFrom,
  };
  if (plan.mode === "file") {
    return {
      ...common,
      syscall: "kexec_file_load",
      kernelBytes: plan.kernel.length,
      initrdBytes: plan.initrd?.length ?? null,
      flags: hex(plan.flags),
      kernelFd: plan.kernelFd,
      kernelPath: plan.kernelPath,
      initrdFd: plan.initrdFd,
      initrdPath: plan.initrdPath,
    };
  }
  const p = plan.segmentPlan;
  const base = {
    ...common,
    syscall: "kexec_load",
    arch: p.arch,
    dtbFrom: plan.dtbFrom,
    memoryFrom: plan.memoryFrom,
    pageSize: plan.pageSize,
    entry: hex(p.entry),
    segments: p.segments.map((s) => {
      const buf = options.bufAddresses?.get(s.name);
      return { name: s.name, buf: buf === undefined ? null : hex(buf), bufsz: hex(s.buf.length), mem: hex(s.mem), memsz: hex(s.memsz) };
    }),
  };
  const listing = (items: readonly PurgatoryInstruction[]) =>
    items.map((i) => ({ offset: hex(i.offset), word: typeof i.word === "bigint" ? hex(i.word) : hex(i.word >>> 0), assembly: i.assembly }));
  if (p.arch === "arm64") {
    return {
      ...base,
      registers: { x0: hex(p.registers.x0), x1: hex(p.registers.x1), x2: hex(p.registers.x2), x3: hex(p.registers.x3), pc: hex(p.registers.pc) },
      image: { textOffset: hex(p.image.textOffset), imageSize: hex(p.image.imageSize), pageSize: p.image.pageSize },
      chosen: p.chosenChanges,
      sha256Checked: p.checked,
      purgatory: listing(p.purgatory),
    };
  }
  if (p.arch === "riscv64") {
    return {
      ...base,
      registers: { a0: "hart id (set by the running kernel)", a1: hex(p.registers.a1), satp: hex(p.registers.satp), pc: hex(p.registers.pc) },
      image: {
        textOffset: hex(p.image.textOffset),
        alignment: hex(p.image.needs.alignment),
        imageSize: hex(p.image.imageSize),
        imageSizeMissing: p.image.imageSizeMissing,
        version: p.image.version,
      },
      chosen: p.chosenChanges,
      sha256Checked: p.checked,
      purgatory: listing(p.purgatory),
    };
  }
  return {
    ...base,
    registers: {
      a0: "efi_boot (the running kernel's fw_arg0, passed by the kernel)",
      a1: hex(p.registers.a1),
      a2: "EFI system table (the running kernel's fw_arg2, passed by the kernel)",
      pc: hex(p.registers.pc),
    },
    image: {
      kernelEntry: hex(p.image.kernelEntry),
      entryForm: p.image.entry.form,
      entryOffset: p.image.entry.offset === null ? null : hex(p.image.entry.offset),
      loadOffset: hex(p.image.loadOffset),
      linkAddress: hex(p.image.needs.linkAddress),
      linkAddressAssumed: p.image.needs.linkAddressAssumed,
      relocated: p.relocated,
      imageSize: hex(p.image.imageSize),
    },
    cmdlineSegment: p.cmdlineSegment,
  };
}
