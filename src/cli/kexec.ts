/**
 * `kimg kexec load|exec|unload|status`. The plan is printed before anything is done;
 * `--dry-run` stops there.
 */
import { Option } from "commander";
import type { Command } from "commander";
import { ErrorCode, isKimgError } from "../io/errors.js";
import { writeStdoutLater } from "../node/stdout.js";
import type { KexecCliDependencies, LoadFlags } from "./actions/kexec.js";

export type { KexecCliDependencies } from "./actions/kexec.js";

export function registerKexecCommands(program: Command, deps: KexecCliDependencies = {}): void {
  const write = deps.write ?? ((text: string) => writeStdoutLater(text));
  // The actions and what they need (the loader, the segment builders, the entry stubs) load only when a command runs.
  const actions = async () => (await import("./actions/kexec.js")).actions;
  const kexec = program.command("kexec").description("load and boot a kernel image with kexec (Linux, root)");

  const load = kexec
    .command("load")
    .description("unpack FILE (zboot, UKI, compressed Image) as needed, print the plan, and load it")
    .argument("<file>", "kernel image: EFI zboot, UKI, arm64 Image, bzImage")
    .option("--initrd <file>", "initial ramdisk (overrides a UKI's .initrd)")
    .option("--cmdline <text>", "kernel command line (overrides a UKI's .cmdline), as `kimg plan --cmdline`")
    .addOption(new Option("--append <text>", "old name of --cmdline (kexec-tools' name)").hideHelp())
    .option("--reuse-cmdline", "start from the running kernel's /proc/cmdline (--cmdline adds to it)")
    .option("--dtb <file>", "device tree for the new kernel instead of /sys/firmware/fdt (segment mode, arm64 and riscv64)")
    .option("--iomem <file>", "a saved /proc/iomem: the memory map to place segments in (for a dry run of another machine)")
    .option(
      "--arch <arch>",
      "plan for this architecture, by the kernel's name: x86_64, arm64, riscv64, loongarch64 (default: this machine's, or in a dry run the image's)",
    )
    .option("--page-size <bytes>", "the target's page size (default: this machine's, or 4096; 16384 for loongarch64)")
    .option("--check-sha256", "arm64 segment mode: the entry stub checks the segments' SHA-256 before the jump (seconds with the MMU off)")
    .option("--file", "use kexec_file_load (file mode)")
    .option("--segments", "use kexec_load with segments computed by kimg (segment mode)")
    .option("--force", "load even if a plan check failed")
    .option("--dry-run", "print the plan and what a real load would need, and stop (no root needed, any machine)")
    .option("--exec", "boot the kernel right after loading it (as `kimg kexec exec`)")
    .option("--json", 'print the plan as JSON (errors too, as {"error": {code, message, ...}})')
    .option("--crash", "load a crash (kdump) kernel into the crashkernel= reservation, booted on panic (issue 18)")
    .action(async (file: string, flags: LoadFlags) => {
      try {
        await (await actions()).load(file, flags, deps, write);
      } catch (error) {
        // --json means JSON in every outcome: the error as an object on stdout, the exit code as usual.
        if (flags.json && isKimgError(error)) write(JSON.stringify({ dryRun: flags.dryRun === true, error: error.toJSON() }, null, 2) + "\n");
        throw error;
      }
    });

  // A wrong command line (unknown option, missing FILE) with --json: the error as JSON too.
  load.exitOverride((error) => {
    if (error.exitCode !== 0 && load.getOptionValue("json") === true) {
      const message = error.message.replace(/^error: /, "");
      write(
        JSON.stringify({ error: { code: ErrorCode.USAGE, message, offset: null, data: { structure: "kimg kexec load", commander: error.code } } }, null, 2) +
          "\n",
      );
    }
    throw error;
  });

  kexec
    .command("exec")
    .description("boot the loaded kernel now (reboot(LINUX_REBOOT_CMD_KEXEC), no clean shutdown)")
    .action(async () => (await actions()).exec(deps));

  kexec
    .command("unload")
    .description("unload the loaded kernel")
    .option("--crash", "unload the crash kernel instead")
    .action(async (flags: { crash?: boolean }) => (await actions()).unload(flags, deps, write));

  kexec
    .command("status")
    .description("show kexec state: loaded, disabled, lockdown, kexec_file_load")
    .option("--json", "print as JSON")
    .action(async (flags: { json?: boolean }) => (await actions()).status(flags, deps, write));
}
