/** `kimg plan FILE [--json] [--ram-base ADDR] [--initrd FILE] [--dtb FILE] [--cmdline TEXT] [--strict]` */
import { Option } from "commander";
import type { Command } from "commander";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { PlanCliOptions } from "./actions/plan.js";
import { imageOptions, parseCount } from "./options.js";

function parseAddress(text: string): bigint {
  try {
    const v = BigInt(text.trim());
    if (v < 0n || v >= 1n << 64n) throw new Error("range");
    return v;
  } catch {
    throw new KimgError(ErrorCode.USAGE, `not an address: "${text}" (use e.g. 0x40000000)`);
  }
}

export function registerPlan(program: Command): void {
  const command = program
    .command("plan")
    .description("how a non-EFI loader (kexec) must load and enter the kernel, and its memory-protection map")
    .argument("<file>", "kernel image (unpacked as needed)")
    .option("--json", "print the plan as JSON")
    .option("--ram-base <addr>", "start of usable RAM (default: arm64 0x40000000, riscv 0x80000000; LoongArch: its link address)", parseAddress)
    .option("--initrd <file>", "an initrd to place")
    .option("--dtb <file>", "a device tree to place (default: the running system's, size estimated)")
    .option("--cmdline <text>", "the kernel command line (as `kimg kexec load --cmdline`)")
    .addOption(new Option("--append <text>", "alias of --cmdline").hideHelp())
    .option("--hart <id>", "RISC-V: the booting hart id", (v) => parseCount(v, "--hart"), 0)
    .option(
      "--vmlinux <file>",
      "the matching ELF vmlinux with symbols (e.g. from a -dbg package): check the entry against primary_entry/_start_kernel/kernel_entry",
    )
    .option("--strict", "exit with 6 when a check fails");
  // The action and what it needs (the planners, the renderer) load only when the command runs.
  imageOptions(command).action(async (file: string, opts: PlanCliOptions) => (await import("./actions/plan.js")).actions.plan(file, opts));
}
