/** `kimg extract FILE -o OUT | --all DIR [--layer PATH] [--trim]` */
import type { Command } from "commander";
import type { ExtractOptions } from "./actions/extract.js";
import { imageOptions } from "./options.js";

export function registerExtract(program: Command): void {
  const command = program
    .command("extract")
    .description("write the innermost kernel image (or another layer, or every layer) byte-exact")
    .argument("<file>", "kernel image")
    .option("-o, --output <path>", 'output file, or "-" for stdout')
    .option("--layer <path>", "the layer to write (a path from `kimg inspect`, e.g. /payload)")
    .option("--all <dir>", "write every layer into DIR")
    .option("--trim", "cut a signed image after its certificate table (drops zboot v6.4+ zero padding)")
    .option("--force", "replace existing output files")
    .option("--sync", "wait until the output is on disk (fsync) before exiting")
    .option("--json", "print what was written as JSON");
  // The action and what it needs (unpacking, the archive writer) load only when the command runs.
  imageOptions(command).action(async (file: string, opts: ExtractOptions) => (await import("./actions/extract.js")).actions.extract(file, opts));
}
