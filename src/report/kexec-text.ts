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
    const how = (fd: "file" | "memfd" | null, path: string | null): string =>
      fd === "file" ? `passed as the file itself (${path ?? "FILE"}: IMA appraises it)` : "passed as a memfd (kimg unpacked it)";
    lines.push(`kernel:  ${s.kernelFormat}, ${plan.kernel.length} bytes, ${how(plan.kernelFd, plan.kernelPath)}`);
    lines.push(`initrd:  ${plan.initrd ? `${plan.initrdFrom ?? "initrd"}, ${plan.initrd.length} bytes, ${how(plan.initrdFd, plan.initrdPath)}` : "(none)"}`);
    lines.push(`flags:   ${hex(plan.flags)}${plan.initrd ? "" : " (KEXEC_FILE_NO_INITRAMFS)"}`);
    return lines.join("\n");
  }
  lines.push(`initrd:  ${plan.initrdFrom ?? "(none)"}`);
  const p = plan.segmentPlan;
  if (p.arch !== "loongarch64") {
    lines.push(`dtb:     ${plan.dtbFrom ?? "(none)"}, /chosen: ${p.chosenChanges.map((c) => (c.action === "set" ? c.property : "-" + c.property)).join(", ")}`);
  }
  lines.push(`memory:  ${plan.memoryFrom}, ${plan.pageSize / 1024}K pages`);
  if (p.arch === "arm64") {
    lines.push(
      `image:   text_offset ${hex(p.image.textOffset)}, image_size ${hex(p.image.imageSize)}${p.image.pageSize ? `, ${p.image.pageSize / 1024}K pages` : ""}`,
    );
  } else if (p.arch === "riscv64") {
    lines.push(
      `image:   RISC-V Image v${p.image.version >> 16}.${p.image.version & 0xffff}, text_offset ${hex(p.image.textOffset)} (load alignment ${hex(p.image.needs.alignment)}), image_size ${hex(p.image.imageSize)}${p.image.imageSizeMissing ? " (header 0: the file length)" : ""}`,
    );
  } else {
    const e = p.image.entry;
    lines.push(
      `image:   LoongArch vmlinux.efi, kernel_entry ${hex(p.image.kernelEntry)} (${e.form === "physical" ? "physical, v6.10+" : `DMW virtual, before v6.10: physical ${hex(e.physical)}`}; image offset ${e.offset === null ? "-" : hex(e.offset)}), load_offset ${hex(p.image.loadOffset)}${p.image.needs.linkAddressAssumed ? ` (0: link address ${hex(p.image.needs.linkAddress)} assumed)` : ""}, kernel_asize ${hex(p.image.imageSize)}`,
    );
  }
  lines.push("segments:");
  lines.push("  " + [pad("name", 10), pad("buf", 18), pad("bufsz", 11), pad("mem", 12), "memsz"].join(" "));
  for (const seg of p.segments) {
    const buf = options.bufAddresses?.get(seg.name);
    lines.push(
      "  " + [pad(seg.name, 10), pad(buf === undefined ? "-" : hex(buf), 18), pad(hex(seg.buf.length), 11), pad(hex(seg.mem), 12), hex(seg.memsz)].join(" "),
    );
  }
  if (p.arch === "loongarch64") {
    const r = p.registers;
    lines.push(`entry:   ${hex(p.entry)} (kernel_entry; the running kernel jumps to ${hex(r.pc)})`);
    if (p.relocated) {
      lines.push(
        `placed:  at ${hex(p.segments[0]?.mem ?? 0)}, not the link address ${hex(p.image.needs.linkAddress)} (not free System RAM here): the kernel relocates itself (CONFIG_RELOCATABLE, as after the EFI stub moves it)`,
      );
    }
    lines.push(
      `registers at kernel entry, set by the running kernel (machine_kexec.c): a0=efi_boot (its fw_arg0) a1=${hex(r.a1)} (command line copy) a2=its EFI system table (fw_arg2)`,
    );
    lines.push(`cmdline segment: ${JSON.stringify(p.cmdlineSegment)} (NUL-padded to ${p.segments.find((x) => x.name === "cmdline")?.buf.length ?? 0} bytes)`);
    return lines.join("\n");
  }
  lines.push(`entry:   ${hex(p.entry)} (purgatory)`);
  if (p.arch === "arm64") {
    const r = p.registers;
    lines.push(`registers at kernel entry: x0=${hex(r.x0)} (dtb) x1=${hex(r.x1)} x2=${hex(r.x2)} x3=${hex(r.x3)} pc=${hex(r.pc)}`);
    if (p.checked.length > 0) lines.push(`check:   the stub compares the SHA-256 of ${p.checked.join(", ")} before the jump, and stops on a mismatch`);
  } else {
    const r = p.registers;
    lines.push(`registers at kernel entry: a0=hart id (set by the running kernel) a1=${hex(r.a1)} (dtb) satp=${hex(r.satp)} pc=${hex(r.pc)}`);
    if (p.checked.length > 0) lines.push(`check:   the stub compares the SHA-256 of ${p.checked.join(", ")} before the jump, and stops on a mismatch`);
  }
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
