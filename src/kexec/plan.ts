/**
 * A kexec plan: what kimg will hand the kernel, in either mode, before anything is touched.
 * The plan is printed (text or JSON) by `kimg kexec load`, and `--dry-run` stops there; the text
 * view is `formatKexecPlan` in report/kexec-text.ts.
 */
import type { Arm64SegmentPlan } from "./segments.js";
import { hex } from "../io/bytes.js";

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
  /** "--append", "/proc/cmdline + --append", "UKI .cmdline", "none". */
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
}

export interface SegmentModePlan extends PlanCommon {
  mode: "segments";
  segmentPlan: Arm64SegmentPlan;
  /** "/sys/firmware/fdt" or the --dtb path. */
  dtbFrom: string;
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
    };
  }
  const p = plan.segmentPlan;
  return {
    ...common,
    syscall: "kexec_load",
    dtbFrom: plan.dtbFrom,
    entry: hex(p.entry),
    segments: p.segments.map((s) => {
      const buf = options.bufAddresses?.get(s.name);
      return { name: s.name, buf: buf === undefined ? null : hex(buf), bufsz: hex(s.buf.length), mem: hex(s.mem), memsz: hex(s.memsz) };
    }),
    registers: { x0: hex(p.registers.x0), x1: hex(p.registers.x1), x2: hex(p.registers.x2), x3: hex(p.registers.x3), pc: hex(p.registers.pc) },
    image: { textOffset: hex(p.image.textOffset), imageSize: hex(p.image.imageSize), pageSize: p.image.pageSize },
    chosen: p.chosenChanges,
    purgatory: p.purgatory.map((i) => ({ offset: hex(i.offset), word: typeof i.word === "bigint" ? hex(i.word) : hex(i.word >>> 0), assembly: i.assembly })),
  };
}
