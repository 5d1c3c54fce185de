/**
 * `kimg kexec load|exec|unload|status`. The plan is printed before anything is done;
 * `--dry-run` stops there.
 */
import type { Command } from "commander";
import { ErrorCode, KimgError } from "../io/errors.js";
import { kexecPlanToJson } from "../kexec/plan.js";
import { formatKexecPlan, formatKexecStatus } from "../report/kexec-text.js";
import { createCoreUnpacker } from "../kexec/source.js";
import type { Unpacker } from "../kexec/source.js";
import { NODE_CODECS } from "../node/codecs.js";
import { readInput } from "../node/files.js";
import { writeStdoutLater } from "../node/stdout.js";
import { nodeEnvironment } from "../node/kexec/environment.js";
import type { KexecEnvironment } from "../node/kexec/environment.js";
import { execKexec, loadKexec, prepareKexec, segmentBufferAddresses, unloadKexec } from "../node/kexec/loader.js";
import { readKexecStatus } from "../node/kexec/status.js";
import { crashLoadAction, crashUnloadAction } from "./kexec-crash.js";

interface LoadFlags {
  initrd?: string;
  append?: string;
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

  kexec
    .command("load")
    .description("unpack FILE (zboot, UKI, compressed Image) as needed, print the plan, and load it")
    .argument("<file>", "kernel image: EFI zboot, UKI, arm64 Image, bzImage")
    .option("--initrd <file>", "initial ramdisk (overrides a UKI's .initrd)")
    .option("--append <text>", "kernel command line (overrides a UKI's .cmdline)")
    .option("--reuse-cmdline", "start from the running kernel's /proc/cmdline (--append adds to it)")
    .option("--dtb <file>", "device tree for the new kernel instead of /sys/firmware/fdt (segment mode)")
    .option("--file", "use kexec_file_load (file mode)")
    .option("--segments", "use kexec_load with segments computed by kimg (segment mode)")
    .option("--force", "load even if a plan check failed")
    .option("--dry-run", "print the plan and stop")
    .option("--exec", "boot the kernel right after loading it (as `kimg kexec exec`)")
    .option("--json", "print the plan as JSON")
    .option("--crash", "load a crash (kdump) kernel into the crashkernel= reservation, booted on panic")
    .action(async (file: string, flags: LoadFlags) => {
      if (flags.crash) return crashLoadAction(file, flags, env, write, deps.unpack);
      if (flags.file && flags.segments) throw new KimgError(ErrorCode.USAGE, "--file and --segments exclude each other", { structure: "kexec" });
      if (flags.append?.includes("\0")) {
        throw new KimgError(ErrorCode.USAGE, "--append must not contain NUL", { structure: "kexec" });
      }
      // Every file goes through the CLI's one checked reader: regular files only, at most maxInputBytes.
      const image = await readInput(file);
      const initrd = flags.initrd ? await readInput(flags.initrd, { what: "--initrd" }) : undefined;
      const dtb = flags.dtb ? await readInput(flags.dtb, { what: "--dtb" }) : undefined;
      const system = env();
      const prepared = await prepareKexec(
        {
          image,
          initrd,
          initrdName: flags.initrd,
          append: flags.append,
          reuseCmdline: flags.reuseCmdline,
          dtb,
          dtbName: flags.dtb,
          mode: flags.file ? "file" : flags.segments ? "segments" : "auto",
          force: flags.force,
          dryRun: flags.dryRun,
          unpack: deps.unpack ?? createCoreUnpacker({ codecs: NODE_CODECS }),
        },
        system,
      );
      const { plan, warnings, wouldRefuse } = prepared;
      const bufAddresses = flags.dryRun ? new Map<string, bigint>() : segmentBufferAddresses(plan, system);
      if (flags.json) {
        write(
          JSON.stringify(
            { dryRun: flags.dryRun === true, warnings, ...(flags.dryRun ? { wouldRefuse } : {}), plan: kexecPlanToJson(plan, { bufAddresses }) },
            null,
            2,
          ) + "\n",
        );
      } else {
        for (const w of warnings) write(`warning: ${w}\n`);
        write(formatKexecPlan(plan, { bufAddresses }) + "\n");
        if (flags.dryRun) {
          write("dry run: nothing loaded\n");
          for (const r of wouldRefuse) write(`a real load here would be refused: ${r}\n`);
        }
      }
      if (flags.dryRun) return;
      loadKexec(plan, system);
      if (flags.exec) {
        if (!flags.json) write(`loaded with ${plan.mode === "file" ? "kexec_file_load" : "kexec_load"}; booting it\n`);
        execKexec(system);
      }
      if (!flags.json) write(`loaded with ${plan.mode === "file" ? "kexec_file_load" : "kexec_load"}; boot it with: kimg kexec exec\n`);
    });

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
      if (flags.crash) return crashUnloadAction(env, write);
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
