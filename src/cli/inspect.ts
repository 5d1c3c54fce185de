/** `kimg inspect FILE [--json] [--shallow] [--brief]` */
import type { Command } from "commander";
import { inspect } from "../api/index.js";
import { renderText } from "../report/text.js";
import { EXIT } from "./exit-codes.js";
import { writeStdout } from "../node/stdout.js";
import { imageOptions, readImage, type ImageFlags } from "./options.js";

export function registerInspect(program: Command): void {
  const command = program
    .command("inspect")
    .description("describe a kernel image layer by layer, every field with its offset")
    .argument("<file>", "kernel image (vmlinuz, Image, vmlinux.efi, bzImage, vmlinux, UKI, ...)")
    .option("--json", "print the report as JSON")
    .option("--shallow", "do not decompress payloads")
    .option("--brief", "show the layer tree and key facts, not every field");
  imageOptions(command).action(async (file: string, opts: ImageFlags & { json?: boolean; shallow?: boolean; brief?: boolean }) => {
    const { bytes, options } = await readImage(file, opts, { progress: !opts.json });
    const report = await inspect(bytes, { ...options, shallow: opts.shallow ?? false });
    await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderText(report, { fields: !opts.brief }));
    if (report.diagnostics.some((d) => d.severity === "error")) process.exitCode = EXIT.BAD_INPUT;
  });
}
