/** What `kimg pcr` does (`cli/measure.ts` defines the command): loaded only when it runs. */
import { measureImage } from "../../api/measure.js";
import { ErrorCode, KimgError } from "../../io/errors.js";
import { ALL_BANKS, isPcrBank } from "../../measure/pcr.js";
import { writeStdout } from "../../node/stdout.js";
import { renderMeasureText } from "../../report/measure-text.js";
import { EXIT } from "../exit-codes.js";
import type { ImageFlags } from "../options.js";
import { readImage } from "../read-image.js";

export interface PcrFlags extends ImageFlags {
  bank: string[];
  phase: string[];
  json?: boolean;
}

export const actions = {
  async pcr(file: string, opts: PcrFlags): Promise<void> {
    const banks = opts.bank.map((b) => b.toLowerCase());
    for (const b of banks) if (!isPcrBank(b)) throw new KimgError(ErrorCode.USAGE, `--bank ${b}: use one of ${ALL_BANKS.join(", ")}`);
    const { bytes, options } = await readImage(file, opts, { progress: !opts.json });
    const report = await measureImage(bytes, {
      ...options,
      ...(banks.length ? { banks: banks.filter(isPcrBank) } : {}),
      ...(opts.phase.length ? { phases: opts.phase } : {}),
    });
    await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderMeasureText(report));
    if (report.diagnostics.some((d) => d.severity === "error")) process.exitCode = EXIT.BAD_INPUT;
  },
};
