/**
 * The kimg command line as the emulated machine runs it: commander + `registerKexecCommands`,
 * bundled by esbuild into one file (koffi stays external, with its native package beside it).
 */
import { Command } from "commander";
import { registerKexecCommands } from "../../src/cli/kexec.js";
import { isKimgError } from "../../src/io/errors.js";

const program = new Command("kimg");
registerKexecCommands(program);
program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`kimg: ${isKimgError(error) ? error.describe() : String(error)}\n`);
  process.exitCode = 1;
});
