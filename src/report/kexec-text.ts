/** The text views of kexec: the plan `kimg kexec load` prints (and `--dry-run` stops at), and `kimg kexec status`. */
import { hex } from "../io/layout.js";
import type { KexecPlan, PlanJsonOptions } from "../kexec/plan.js";
import type { KexecStatus } from "../kexec/status.js";

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
  lines.push(
    `image:   text_offset ${hex(p.image.textOffset)}, image_size ${hex(p.image.imageSize)}${p.image.pageSize ? `, ${p.image.pageSize / 1024}K pages` : ""}`,
  );
  lines.push("segments:");
  lines.push("  " + [pad("name", 10), pad("buf", 18), pad("bufsz", 11), pad("mem", 12), "memsz"].join(" "));
  for (const seg of p.segments) {
    const buf = options.bufAddresses?.get(seg.name);
    lines.push(
      "  " + [pad(seg.name, 10), pad(buf === undefined ? "-" : hex(buf), 18), pad(hex(seg.buf.length), 11), pad(hex(seg.mem), 12), hex(seg.memsz)].join(" "),
    );
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

/** The status as the lines `kimg kexec status` prints. */
export function formatKexecStatus(status: KexecStatus): string {
  const show = (value: boolean | null): string => (value === null ? "unknown" : value ? "yes" : "no");
  return [
    `loaded:           ${show(status.loaded)}`,
    `crash loaded:     ${show(status.crashLoaded)}`,
    `load disabled:    ${show(status.loadDisabled)}`,
    `lockdown:         ${status.lockdown ?? "not available"}`,
    `kexec_file_load:  ${status.fileLoad}`,
    `secure boot:      ${show(status.secureBoot)}`,
  ].join("\n");
}
