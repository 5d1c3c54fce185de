/** `kimg config FILE [-o OUT] [--json]` and `kimg config A B [--json] [-m]` (issue 16) */
import type { Command } from "commander";
import { compareConfigs, configOptions, kernelConfig } from "../api/index.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { writeAtomic } from "../node/files.js";
import { writeStdout } from "../node/stdout.js";
import { renderConfigDiff } from "../report/config-text.js";
import { imageOptions, readImage, type ImageFlags } from "./options.js";

interface ConfigFlags extends ImageFlags {
  output?: string;
  force?: boolean;
  sync?: boolean;
  json?: boolean;
  merge?: boolean;
}

export function registerConfig(program: Command): void {
  const command = program
    .command("config")
    .description("print a kernel's embedded .config (CONFIG_IKCONFIG) as built, or compare two configurations as scripts/diffconfig does")
    .argument("<file>", "kernel image (any kimg reads), or a .config (plain or gzipped)")
    .argument("[other]", "a second kernel image or .config: print what changed from <file> to it")
    .option("-o, --output <path>", "write the .config to a file (atomically) instead of stdout")
    .option("--force", "replace an existing output file")
    .option("--sync", "wait until the output is on disk (fsync) before exiting")
    .option("--json", 'print the options as JSON (option -> value, not set as "n"), or the comparison')
    .option("-m, --merge", "with two files: print the changed and added options as .config lines (diffconfig -m)");
  imageOptions(command).action(async (file: string, other: string | undefined, opts: ConfigFlags) => {
    if (other === undefined) {
      if (opts.merge) throw new KimgError(ErrorCode.USAGE, "-m compares two configurations: give two files");
      const { bytes, options } = await readImage(file, opts, { progress: false });
      const { config } = await kernelConfig(bytes, options);
      const data = opts.json ? new TextEncoder().encode(JSON.stringify(configOptions(config), null, 2) + "\n") : config;
      if (opts.output) {
        await writeAtomic(opts.output, data, { force: opts.force ?? false, sync: opts.sync ?? false, protect: [file] });
        process.stderr.write(`wrote ${opts.output}: ${data.length} bytes\n`);
      } else await writeStdout(data);
      return;
    }
    if (opts.output) throw new KimgError(ErrorCode.USAGE, "-o writes one configuration: give one file, or redirect the comparison");
    const a = await readImage(file, opts, { progress: false });
    const b = await readImage(other, opts, { progress: false });
    const comparison = await compareConfigs(a.bytes, b.bytes, { a: a.options, b: b.options });
    await writeStdout(opts.json ? JSON.stringify(comparison, null, 2) + "\n" : renderConfigDiff(comparison.diff, { merge: opts.merge ?? false }));
  });
}
