/**
 * `kimg kexec load --crash` and `kimg kexec unload --crash`: the crash (kdump) kernel. Same
 * flags, plan printing and refusals as an ordinary load (cli/kexec.ts), plus the reservation and
 * the ELF core header; `--exec` does not apply (a panic boots it).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { kexecPlanToJson } from "../kexec/plan.js";
import type { Unpacker } from "../kexec/source.js";
import { createCoreUnpacker } from "../kexec/source.js";
import { NODE_CODECS } from "../node/codecs.js";
import { crashDetailsToJson, formatCrashDetails, loadCrashKexec, prepareCrashKexec, unloadCrashKexec } from "../node/kexec/crash.js";
import type { KexecEnvironment } from "../node/kexec/environment.js";
import { readInput } from "../node/files.js";
import { segmentBufferAddresses } from "../node/kexec/loader.js";
import { formatKexecPlan } from "../report/kexec-text.js";

export interface CrashLoadFlags {
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
}

export async function crashLoadAction(
  file: string,
  flags: CrashLoadFlags,
  env: () => KexecEnvironment,
  write: (text: string) => void,
  unpack: Unpacker | undefined,
): Promise<void> {
  if (flags.exec)
    throw new KimgError(ErrorCode.USAGE, "--exec does not apply to --crash: a crash kernel boots when the running kernel panics", { structure: "kexec" });
  if (flags.file && flags.segments) throw new KimgError(ErrorCode.USAGE, "--file and --segments exclude each other", { structure: "kexec" });
  if (flags.append?.includes("\0")) throw new KimgError(ErrorCode.USAGE, "--append must not contain NUL", { structure: "kexec" });
  const image = await readInput(file);
  const initrd = flags.initrd ? await readInput(flags.initrd, { what: "--initrd" }) : undefined;
  const dtb = flags.dtb ? await readInput(flags.dtb, { what: "--dtb" }) : undefined;
  const system = env();
  const prepared = await prepareCrashKexec(
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
      unpack: unpack ?? createCoreUnpacker({ codecs: NODE_CODECS }),
    },
    system,
  );
  const { plan, warnings, wouldRefuse } = prepared;
  const bufAddresses = flags.dryRun ? new Map<string, bigint>() : segmentBufferAddresses(plan, system);
  if (flags.json) {
    write(
      JSON.stringify(
        {
          dryRun: flags.dryRun === true,
          warnings,
          ...(flags.dryRun ? { wouldRefuse } : {}),
          plan: kexecPlanToJson(plan, { bufAddresses }),
          crash: crashDetailsToJson(prepared),
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    for (const w of warnings) write(`warning: ${w}\n`);
    write(formatKexecPlan(plan, { bufAddresses }) + "\n");
    write(formatCrashDetails(prepared) + "\n");
    if (flags.dryRun) {
      write("dry run: nothing loaded\n");
      for (const r of wouldRefuse) write(`a real load here would be refused: ${r}\n`);
    }
  }
  if (flags.dryRun) return;
  loadCrashKexec(plan, system);
  if (!flags.json) {
    write(
      `loaded as the crash kernel with ${plan.mode === "file" ? "kexec_file_load (KEXEC_FILE_ON_CRASH)" : "kexec_load (KEXEC_ON_CRASH)"}; a panic boots it\n`,
    );
  }
}

export function crashUnloadAction(env: () => KexecEnvironment, write: (text: string) => void): void {
  const system = env();
  if (system.uid !== 0) throw new KimgError(ErrorCode.SYSTEM, "kexec refused: kexec unload needs root (CAP_SYS_BOOT)", { structure: "kexec" });
  unloadCrashKexec(system);
  write("crash kernel unloaded\n");
}
