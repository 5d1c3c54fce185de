/** What `kimg plan` does (`cli/plan.ts` defines the command): loaded only when it runs. */
import { plan } from "../../api/plan.js";
import { inputSize, readInput } from "../../node/files.js";
import { writeStdout } from "../../node/stdout.js";
import { diagnosticLine } from "../../report/diagnostic.js";
import { renderPlanText } from "../../report/plan-text.js";
import { EXIT } from "../exit-codes.js";
import type { ImageFlags } from "../options.js";
import { readImage } from "../read-image.js";

/** The size of an --initrd/--dtb: checked like every input (a regular file, within maxInputBytes), not read. */
async function sizeOf(path: string | undefined, what: string): Promise<number | null> {
  return path ? inputSize(path, { what }) : null;
}

export interface PlanCliOptions extends ImageFlags {
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

export const actions = {
  async plan(file: string, opts: PlanCliOptions): Promise<void> {
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
  },
};
