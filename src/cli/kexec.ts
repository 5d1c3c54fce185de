/**
 * `kimg kexec load|exec|unload|status`. The plan is printed before anything is done;
 * `--dry-run` stops there.
 */
import { Option } from "commander";
// Initramfs archives (issue 16)
import { inspect } from "../api/inspect.js";
import { initrdSummary, initrdSummaryLines } from "../report/initramfs-summary.js";
import type { Command } from "commander";
import { ErrorCode, isKimgError, KimgError } from "../io/errors.js";
import { kexecPlanToJson } from "../kexec/plan.js";
import { formatKexecPlan, formatKexecStatus } from "../report/kexec-text.js";
import { createCoreUnpacker } from "../kexec/source.js";
import type { Unpacker } from "../kexec/source.js";
import { NODE_CODECS } from "../node/codecs.js";
import { readInput } from "../node/files.js";
import { writeStdoutLater } from "../node/stdout.js";
import { nodeEnvironment } from "../node/kexec/environment.js";
import type { KexecEnvironment } from "../node/kexec/environment.js";
import { checkArchName, execKexec, loadKexec, prepareKexec, segmentBufferAddresses, unloadKexec } from "../node/kexec/loader.js";
import type { LoadRequest } from "../node/kexec/loader.js";
import { readKexecStatus } from "../node/kexec/status.js";
import { crashDetailsToJson, crashKexec, formatCrashDetails, loadCrashKexec, unloadCrashKexec } from "../node/kexec/crash.js";

interface LoadFlags {
  initrd?: string;
  cmdline?: string;
  /** The old spelling of --cmdline (kexec-tools' name), kept as an alias. */
  append?: string;
  arch?: string;
  iomem?: string;
  pageSize?: string;
  checkSha256?: boolean;
  reuseCmdline?: boolean;
  dtb?: string;
  dryRun?: boolean;
  file?: boolean;
  segments?: boolean;
  force?: boolean;
  json?: boolean;
  exec?: boolean;
  crash?: boolean;
}

export interface KexecCliDependencies {
  env?: () => KexecEnvironment;
  unpack?: Unpacker;
  write?: (text: string) => void;
}

export function registerKexecCommands(program: Command, deps: KexecCliDependencies = {}): void {
  const env = deps.env ?? nodeEnvironment;
  const write = deps.write ?? ((text: string) => writeStdoutLater(text));
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
        await loadCommand(file, flags);
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

  async function loadCommand(file: string, flags: LoadFlags): Promise<void> {
    if (flags.crash && flags.exec)
      throw new KimgError(ErrorCode.USAGE, "--exec does not apply to --crash: a panic boots a crash kernel", { structure: "kexec" });
    if (flags.file && flags.segments) throw new KimgError(ErrorCode.USAGE, "--file and --segments exclude each other", { structure: "kexec" });
    if (flags.cmdline !== undefined && flags.append !== undefined && flags.cmdline !== flags.append) {
      throw new KimgError(ErrorCode.USAGE, "--cmdline and --append (its old name) were both given", { structure: "kexec" });
    }
    const text = flags.cmdline ?? flags.append;
    if (text?.includes("\0")) {
      throw new KimgError(ErrorCode.USAGE, "--cmdline must not contain NUL", { structure: "kexec" });
    }
    let pageSize: number | undefined;
    if (flags.pageSize !== undefined) {
      pageSize = Number(flags.pageSize);
      if (!Number.isInteger(pageSize) || pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
        throw new KimgError(ErrorCode.USAGE, `--page-size ${flags.pageSize} is not 4096, 16384 or 65536`, { structure: "kexec" });
      }
    }
    const arch = flags.arch === undefined ? undefined : checkArchName(flags.arch);
    // Every file goes through the CLI's one checked reader: regular files only, at most maxInputBytes.
    const image = await readInput(file);
    const initrd = flags.initrd ? await readInput(flags.initrd, { what: "--initrd" }) : undefined;
    const dtb = flags.dtb ? await readInput(flags.dtb, { what: "--dtb" }) : undefined;
    const iomem = flags.iomem ? new TextDecoder().decode(await readInput(flags.iomem, { what: "--iomem" })) : undefined;
    const system = env();
    const request: LoadRequest = {
      image,
      imagePath: file,
      initrd,
      initrdName: flags.initrd,
      append: text,
      reuseCmdline: flags.reuseCmdline,
      dtb,
      dtbName: flags.dtb,
      iomem,
      iomemName: flags.iomem,
      arch,
      pageSize,
      checkSha256: flags.checkSha256,
      mode: flags.file ? "file" : flags.segments ? "segments" : "auto",
      force: flags.force,
      dryRun: flags.dryRun,
      unpack: deps.unpack ?? createCoreUnpacker({ codecs: NODE_CODECS }),
    };
    let prepared = await prepareKexec(request, system);
    // --crash: the same plan moved into the crashkernel= reservation (node/kexec/crash.ts).
    const crash = flags.crash ? crashKexec(prepared, request, system) : null;
    if (crash) prepared = crash.prepared;
    const { plan, warnings, wouldRefuse, needs, targetArch } = prepared;
    // Initramfs archives (issue 16): what the initrd passed holds, read as `kimg inspect` reads it
    const initrdBytes = initrd ?? (plan.mode === "file" ? plan.initrd : null);
    const initrdContents = initrdBytes
      ? await inspect(initrdBytes, { codecs: NODE_CODECS }).then(initrdSummary, (error: unknown) => ({
          format: "unknown",
          segments: [],
          errors: [error instanceof KimgError ? error.describe() : String(error)],
        }))
      : null;
    const bufAddresses = flags.dryRun ? new Map<string, bigint>() : segmentBufferAddresses(plan, system);
    if (flags.json) {
      write(
        JSON.stringify(
          {
            dryRun: flags.dryRun === true,
            targetArch,
            warnings,
            ...(flags.dryRun ? { wouldRefuse, needs } : {}),
            plan: kexecPlanToJson(plan, { bufAddresses }),
            ...(initrdContents ? { initrdContents } : {}),
            ...(crash ? { crash: crashDetailsToJson(crash.crash) } : {}),
          },
          null,
          2,
        ) + "\n",
      );
    } else {
      for (const w of warnings) write(`warning: ${w}\n`);
      write(formatKexecPlan(plan, { bufAddresses }) + "\n");
      if (initrdContents) write(initrdSummaryLines(initrdContents).join("\n") + "\n");
      if (crash) write(formatCrashDetails(crash.crash) + "\n");
      if (flags.dryRun) {
        write(`dry run (${targetArch}): nothing loaded\n`);
        write(`a real load needs: ${needs.join("; ")}\n`);
        for (const r of wouldRefuse) write(`a real load here would be refused: ${r}\n`);
      }
    }
    if (flags.dryRun) return;
    if (crash) {
      loadCrashKexec(plan, system);
      if (!flags.json)
        write(
          `loaded as the crash kernel with ${plan.mode === "file" ? "kexec_file_load (KEXEC_FILE_ON_CRASH)" : "kexec_load (KEXEC_ON_CRASH)"}; a panic boots it\n`,
        );
      return;
    }
    loadKexec(plan, system);
    if (flags.exec) {
      if (!flags.json) write(`loaded with ${plan.mode === "file" ? "kexec_file_load" : "kexec_load"}; booting it\n`);
      execKexec(system);
    }
    if (!flags.json) write(`loaded with ${plan.mode === "file" ? "kexec_file_load" : "kexec_load"}; boot it with: kimg kexec exec\n`);
  }

  kexec
    .command("exec")
    .description("boot the loaded kernel now (reboot(LINUX_REBOOT_CMD_KEXEC), no clean shutdown)")
    .action(() => {
      execKexec(env());
    });

  kexec
    .command("unload")
    .description("unload the loaded kernel")
    .option("--crash", "unload the crash kernel instead")
    .action((flags: { crash?: boolean }) => {
      if (flags.crash) {
        unloadCrashKexec(env());
        write("crash kernel unloaded\n");
        return;
      }
      unloadKexec(env());
      write("unloaded\n");
    });

  kexec
    .command("status")
    .description("show kexec state: loaded, disabled, lockdown, kexec_file_load")
    .option("--json", "print as JSON")
    .action((flags: { json?: boolean }) => {
      const status = readKexecStatus(env());
      write(flags.json ? JSON.stringify(status, null, 2) + "\n" : formatKexecStatus(status) + "\n");
    });
}
