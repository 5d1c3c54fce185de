/** What `kimg config` does (`cli/config.ts` defines the command): loaded only when it runs. */
import { compareConfigs, configOptions, kernelConfig } from "../../api/config.js";
import { ErrorCode, KimgError } from "../../io/errors.js";
import { writeAtomic } from "../../node/files.js";
import { writeStdout } from "../../node/stdout.js";
import { renderConfigDiff } from "../../report/config-text.js";
import type { ImageFlags } from "../options.js";
import { readImage } from "../read-image.js";
import { writeStderr } from "../../node/stderr.js";

export interface ConfigFlags extends ImageFlags {
  output?: string;
  force?: boolean;
  sync?: boolean;
  json?: boolean;
  merge?: boolean;
}

export const actions = {
  async config(file: string, other: string | undefined, opts: ConfigFlags): Promise<void> {
    if (other === undefined) {
      if (opts.merge) throw new KimgError(ErrorCode.USAGE, "-m compares two configurations: give two files");
      const { bytes, options } = await readImage(file, opts, { progress: false });
      const { config } = await kernelConfig(bytes, options);
      const data = opts.json ? new TextEncoder().encode(JSON.stringify(configOptions(config), null, 2) + "\n") : config;
      if (opts.output) {
        await writeAtomic(opts.output, data, { force: opts.force ?? false, sync: opts.sync ?? false, protect: [file] });
        writeStderr(`wrote ${opts.output}: ${data.length} bytes\n`);
      } else await writeStdout(data);
      return;
    }
    if (opts.output) throw new KimgError(ErrorCode.USAGE, "-o writes one configuration: give one file, or redirect the comparison");
    const a = await readImage(file, opts, { progress: false });
    const b = await readImage(other, opts, { progress: false });
    const comparison = await compareConfigs(a.bytes, b.bytes, { a: a.options, b: b.options });
    await writeStdout(opts.json ? JSON.stringify(comparison, null, 2) + "\n" : renderConfigDiff(comparison.diff, { merge: opts.merge ?? false }));
  },
};
