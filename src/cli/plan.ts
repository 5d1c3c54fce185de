/** `kimg plan FILE [--json] [--ram-base ADDR] [--initrd FILE] [--dtb FILE] [--cmdline TEXT] [--strict]` */
import { Option } from "commander";
import type { Command } from "commander";
import { plan } from "../api/index.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { inputSize, readInput } from "../node/files.js";
import { writeStdout } from "../node/stdout.js";
import { diagnosticLine } from "../report/diagnostic.js";
import { renderPlanText } from "../report/plan-text.js";
import { EXIT } from "./exit-codes.js";
import { imageOptions, parseCount, readImage, type ImageFlags } from "./options.js";

function parseAddress(text: string): bigint {
  try {
    const v = BigInt(text.trim());
    if (v < 0n || v >= 1n << 64n) throw new Error("range");
    return v;
  } catch {
    throw new KimgError(ErrorCode.USAGE, `not an address: "${text}" (use e.g. 0x40000000)`);
  }
}

/** The size of an --initrd/--dtb: checked like every input (a regular file, within maxInputBytes), not read. */
async function sizeOf(path: string | undefined, what: string): Promise<number | null> {
  return path ? inputSize(path, { what }) : null;
}

interface PlanCliOptions extends ImageFlags {
  json?: boolean;
  ramBase?: bigint;
  initrd?: string;
  dtb?: string;
  cmdline?: string;
  /** `kimg kexec load`'s old name for --cmdline, accepted here too (hidden alias). */
  append?: string;
  hart: number;
  strict?: boolean;
  vmlinux?: string;
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
  imageOptions(command).action(async (file: string, opts: PlanCliOptions) => {
    const { bytes, options } = await readImage(file, opts, { progress: !opts.json });
    const { plan: result, report } = await plan(bytes, {
      ...options,
      ...(opts.ramBase !== undefined ? { ramBase: opts.ramBase } : {}),
      initrdSize: await sizeOf(opts.initrd, "--initrd"),
      dtbSize: await sizeOf(opts.dtb, "--dtb"),
      cmdline: opts.cmdline ?? opts.append ?? null,
      hartId: opts.hart,
      ...(opts.vmlinux ? { vmlinux: await readInput(opts.vmlinux, { what: "--vmlinux" }) } : {}),
    });
    const errors = report.diagnostics.filter((d) => d.severity === "error");
    if (opts.json) await writeStdout(JSON.stringify({ ...result, diagnostics: report.diagnostics }, null, 2) + "\n");
    else {
      const lines = errors.map((d) => `${diagnosticLine(d)}\n`);
      await writeStdout(renderPlanText(result) + lines.join(""));
    }
    if (opts.strict && result.checks.some((c) => !c.ok)) process.exitCode = EXIT.CHECK_FAILED;
    else if (errors.length) process.exitCode = EXIT.BAD_INPUT;
  });
}
