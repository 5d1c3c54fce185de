/** What `kimg kexec load|exec|unload|status` do (`cli/kexec.ts` defines them): loaded only when one runs. */
// Initramfs archives (issue 16)
import { inspect } from "../../api/inspect.js";
import { initrdSummary, initrdSummaryLines } from "../../report/initramfs-summary.js";
import { ErrorCode, KimgError } from "../../io/errors.js";
import { kexecPlanToJson } from "../../kexec/plan.js";
import { formatKexecPlan, formatKexecStatus } from "../../report/kexec-text.js";
import { createCoreUnpacker } from "../../kexec/source.js";
import type { Unpacker } from "../../kexec/source.js";
import { NODE_CODECS } from "../../node/codecs.js";
import { readInput } from "../../node/files.js";
import { nodeEnvironment } from "../../node/kexec/environment.js";
import type { KexecEnvironment } from "../../node/kexec/environment.js";
import { checkArchName, execKexec, loadKexec, prepareKexec, segmentBufferAddresses, unloadKexec } from "../../node/kexec/loader.js";
import type { LoadRequest } from "../../node/kexec/loader.js";
import { readKexecStatus } from "../../node/kexec/status.js";
import { crashDetailsToJson, crashKexec, formatCrashDetails, loadCrashKexec, unloadCrashKexec } from "../../node/kexec/crash.js";

export interface LoadFlags {
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

/** The system the actions act on: the test's, or this machine's. */
const systemOf = (deps: KexecCliDependencies): KexecEnvironment => (deps.env ?? nodeEnvironment)();

export const actions = {
  async load(file: string, flags: LoadFlags, deps: KexecCliDependencies, write: (text: string) => void): Promise<void> {
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
    const system = systemOf(deps);
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
  },

  exec(deps: KexecCliDependencies): void {
    execKexec(systemOf(deps));
  },

  unload(flags: { crash?: boolean }, deps: KexecCliDependencies, write: (text: string) => void): void {
    if (flags.crash) {
      unloadCrashKexec(systemOf(deps));
      write("crash kernel unloaded\n");
      return;
    }
    unloadKexec(systemOf(deps));
    write("unloaded\n");
  },

  status(flags: { json?: boolean }, deps: KexecCliDependencies, write: (text: string) => void): void {
    const status = readKexecStatus(systemOf(deps));
    write(flags.json ? JSON.stringify(status, null, 2) + "\n" : formatKexecStatus(status) + "\n");
  },
};
