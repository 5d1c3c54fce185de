/** `kimg config FILE [-o OUT] [--json]` and `kimg config A B [--json] [-m]` (issue 16) */
import type { Command } from "commander";
import type { ConfigFlags } from "./actions/config.js";
import { imageOptions } from "./options.js";

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
  // The action and what it needs (the .config reader, the comparison) load only when the command runs.
  imageOptions(command).action(async (file: string, other: string | undefined, opts: ConfigFlags) =>
    (await import("./actions/config.js")).actions.config(file, other, opts),
  );
}
