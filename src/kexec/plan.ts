/**
 * A kexec plan: what kimg will hand the kernel, in either mode, before anything is touched.
 * The plan is printed (text or JSON) by `kimg kexec load`, and `--dry-run` stops there.
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

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** The plan as the lines `kimg kexec load` prints. */
export function formatKexecPlan(plan: KexecPlan, options: PlanJsonOptions = {}): string {
  const s = plan.source;
  const lines = [
    `source:  ${s.format} (${s.arch}${s.compression ? ", " + s.compression : ""}): ${s.path}`,
    `mode:    ${plan.mode === "file" ? "file (kexec_file_load)" : "segments (kexec_load)"}: ${plan.why}`,
    `cmdline: ${plan.cmdline.text === null ? "(none)" : JSON.stringify(plan.cmdline.text)} [${plan.cmdline.from}]`,
  ];
  if (plan.mode === "file") {
    lines.push(`kernel:  ${s.kernelFormat}, ${plan.kernel.length} bytes, passed as a memfd`);
    lines.push(`initrd:  ${plan.initrd ? `${plan.initrdFrom ?? "initrd"}, ${plan.initrd.length} bytes, passed as a memfd` : "(none)"}`);
    lines.push(`flags:   ${hex(plan.flags)}${plan.initrd ? "" : " (KEXEC_FILE_NO_INITRAMFS)"}`);
    return lines.join("\n");
  }
  lines.push(`initrd:  ${plan.initrdFrom ?? "(none)"}`);
  const p = plan.segmentPlan;
  lines.push(`dtb:     ${plan.dtbFrom}, /chosen: ${p.chosenChanges.map((c) => (c.action === "set" ? c.property : "-" + c.property)).join(", ")}`);
  lines.push(`image:   text_offset ${hex(p.image.textOffset)}, image_size ${hex(p.image.imageSize)}${p.image.pageSize ? `, ${p.image.pageSize / 1024}K pages` : ""}`);
  lines.push("segments:");
  lines.push("  " + [pad("name", 10), pad("buf", 18), pad("bufsz", 11), pad("mem", 12), "memsz"].join(" "));
  for (const seg of p.segments) {
    const buf = options.bufAddresses?.get(seg.name);
    lines.push("  " + [pad(seg.name, 10), pad(buf === undefined ? "-" : hex(buf), 18), pad(hex(seg.buf.length), 11), pad(hex(seg.mem), 12), hex(seg.memsz)].join(" "));
  }
  lines.push(`entry:   ${hex(p.entry)} (purgatory)`);
  const r = p.registers;
  lines.push(`registers at kernel entry: x0=${hex(r.x0)} (dtb) x1=${hex(r.x1)} x2=${hex(r.x2)} x3=${hex(r.x3)} pc=${hex(r.pc)}`);
  lines.push("purgatory:");
  for (const i of p.purgatory) {
    const word = typeof i.word === "bigint" ? i.word.toString(16).padStart(16, "0") : (i.word >>> 0).toString(16).padStart(8, "0");
    lines.push(`  +${i.offset.toString(16).padStart(2, "0")}  ${pad(word, 16)}  ${i.assembly}`);
  }
  return lines.join("\n");
}
