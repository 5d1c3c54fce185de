/** What `kimg inspect` does (`cli/inspect.ts` defines the command): loaded only when it runs. */
import { inspect } from "../../api/inspect.js";
import { writeStdout } from "../../node/stdout.js";
import { renderText } from "../../report/text.js";
import { EXIT } from "../exit-codes.js";
import type { ImageFlags } from "../options.js";
import type { Image } from "../read-image.js";

export interface InspectFlags extends ImageFlags {
  json?: boolean;
  shallow?: boolean;
  brief?: boolean;
}

export const actions = {
  /** `image`: the read of FILE that the command started while this module loaded (cli/options.ts readAhead). */
  async inspect(_file: string, opts: InspectFlags, image: Promise<Image>): Promise<void> {
    const { bytes, options } = await image;
    const report = await inspect(bytes, { ...options, shallow: opts.shallow ?? false });
    await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderText(report, { fields: !opts.brief }));
    if (report.diagnostics.some((d) => d.severity === "error")) process.exitCode = EXIT.BAD_INPUT;
  },
};
