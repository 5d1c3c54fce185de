/** What `kimg inspect` does (`cli/inspect.ts` defines the command): loaded only when it runs. */
import { inspect } from "../../api/inspect.js";
import { writeStdout } from "../../node/stdout.js";
import { renderText } from "../../report/text.js";
import { EXIT } from "../exit-codes.js";
import type { ImageFlags } from "../options.js";
import { readImage } from "../read-image.js";

export interface InspectFlags extends ImageFlags {
  json?: boolean;
  shallow?: boolean;
  brief?: boolean;
}

export const actions = {
  async inspect(file: string, opts: InspectFlags): Promise<void> {
    const { bytes, options } = await readImage(file, opts, { progress: !opts.json });
    const report = await inspect(bytes, { ...options, shallow: opts.shallow ?? false });
    await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderText(report, { fields: !opts.brief }));
    if (report.diagnostics.some((d) => d.severity === "error")) process.exitCode = EXIT.BAD_INPUT;
  },
};
