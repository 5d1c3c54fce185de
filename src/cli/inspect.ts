/** `kimg inspect FILE [--json] [--shallow] [--brief]` */
import type { Command } from "commander";
import { inspect } from "../api/index.js";
import { renderText } from "../report/text.js";
import { NODE_CODECS } from "../node/codecs.js";
import { readInput } from "../node/files.js";
import { EXIT } from "./exit-codes.js";
import { writeStdout } from "../node/stdout.js";
import { maxSizeOption, maxTotalSizeOption, sizeLimits } from "./options.js";
import { progressReporter } from "./progress.js";
import { basename } from "node:path";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("describe a kernel image layer by layer, every field with its offset")
    .argument("<file>", "kernel image (vmlinuz, Image, vmlinux.efi, bzImage, vmlinux, UKI, ...)")
    .option("--json", "print the report as JSON")
    .option("--shallow", "do not decompress payloads")
    .option("--brief", "show the layer tree and key facts, not every field")
    .addOption(maxSizeOption())
    .addOption(maxTotalSizeOption())
    .action(async (file: string, opts: { json?: boolean; shallow?: boolean; brief?: boolean; maxSize?: number; maxTotalSize?: number }) => {
      const bytes = await readInput(file);
      const report = await inspect(bytes, {
        name: basename(file),
        shallow: opts.shallow ?? false,
        codecs: NODE_CODECS,
        ...sizeLimits(opts),
        onProgress: progressReporter(!opts.json),
      });
      await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderText(report, { fields: !opts.brief }));
      if (report.diagnostics.some((d) => d.severity === "error")) process.exitCode = EXIT.BAD_INPUT;
    });
}
