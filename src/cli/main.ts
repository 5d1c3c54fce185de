/**
 * The kimg command line: thin. Parse arguments, call the core, render, map errors to exit codes.
 * This is the only place that decides an exit code.
 */
import { Command, CommanderError } from "commander";
import { isKimgError } from "../io/errors.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { registerExtract } from "./extract.js";
import { registerInspect } from "./inspect.js";
import { registerOptionalCommands } from "./optional.js";
import { registerPlan } from "./plan.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("kimg")
    .description("Inspect, unpack, plan and verify Linux kernel boot images")
    .version("0.1.0")
    .showHelpAfterError("(kimg --help lists the commands)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerInspect(program);
  registerExtract(program);
  registerPlan(program);
  registerOptionalCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return EXIT.OK;
      return EXIT.USAGE;
    }
    if (isKimgError(error)) {
      process.stderr.write(`kimg: ${error.describe()}\n`);
      return exitCodeFor(error.code);
    }
    process.stderr.write(`kimg: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.KIMG_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : ""}\n`);
    return EXIT.INTERNAL;
  }
}
