/** What `kimg inspect` does (`cli/inspect.ts` defines the command): loaded only when it runs. */
import { writeStdout } from "../../node/stdout.js";
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
    const { bytes, options, markers } = await readImage(file, opts, { progress: !opts.json, searchAhead: true });
    // The analysis is loaded while a large image's kernel markers are searched for on other threads.
    const { inspect } = await import("../../api/inspect.js");
    await markers;
    const report = await inspect(bytes, { ...options, shallow: opts.shallow ?? false });
    const text = opts.json ? null : (await import("../../report/text.js")).renderText(report, { fields: !opts.brief });
    await writeStdout(text ?? JSON.stringify(report, null, 2) + "\n");
    if (report.diagnostics.some((d) => d.severity === "error")) process.exitCode = EXIT.BAD_INPUT;
  },
};
