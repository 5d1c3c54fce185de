/**
 * The kimg command line: thin. Parse arguments, call the core, render, map errors to exit codes.
 * This is the only place that decides an exit code.
 */
import { Command, CommanderError } from "commander";
import { isKimgError } from "../io/errors.js";
import { drainStdout, StdoutClosed, writeStdoutLater } from "../node/stdout.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { COMMANDS } from "./commands.js";
import { packageVersion } from "./version.js";
import { writeStderr } from "../node/stderr.js";

/**
 * The top-level command names `register` defines, found without defining them: it runs on a
 * stand-in program whose methods all return the stand-in, recording only `program.command(name)`.
 */
function commandNames(register: (program: Command) => void): string[] {
  const names: string[] = [];
  const chain: unknown = new Proxy(() => undefined, { get: () => chain, apply: () => chain });
  const command = (nameAndArgs: string): unknown => {
    names.push(nameAndArgs.split(" ")[0] ?? "");
    return chain;
  };
  const program = new Proxy({}, { get: (_, key) => (key === "command" ? command : chain) });
  register(program as Command);
  return names;
}

/**
 * The kimg program. With `argv` naming a command (`kimg inspect ...`), only the entry of COMMANDS
 * that defines it is defined: commander never looks at the other commands then, and their
 * options cost a few ms to define (about 9 ms for all, Node 24). Anything else (no command, an
 * option, `help`, an unknown name) gets every command, for the help and the suggestions.
 */
export function buildProgram(argv: readonly string[] = []): Command {
  const program = new Command();
  program
    .name("kimg")
    .description("Inspect, unpack, plan and verify Linux kernel boot images")
    .version(packageVersion())
    .showHelpAfterError("(kimg --help lists the commands)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => writeStdoutLater(s), writeErr: (s) => writeStderr(s) });
  const first = argv[0];
  const named = first === undefined || first.startsWith("-") ? [] : COMMANDS.filter((register) => commandNames(register).includes(first));
  for (const register of named.length ? named : COMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
  if (argv.length === 0) {
    // No command at all is a wrong command line: the help goes to stderr, status 2.
    program.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    await drainStdout();
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof StdoutClosed) return EXIT.STDOUT_CLOSED;
    if (error instanceof CommanderError) {
      try {
        await drainStdout();
      } catch (e) {
        if (e instanceof StdoutClosed) return EXIT.STDOUT_CLOSED;
      }
      // help() after an error (a command group without its subcommand) exits non-zero.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || (error.code === "commander.help" && error.exitCode === 0))
        return EXIT.OK;
      return EXIT.USAGE;
    }
    if (isKimgError(error)) {
      writeStderr(`kimg: ${error.describe()}\n`);
      return exitCodeFor(error.code);
    }
    writeStderr(`kimg: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.KIMG_DEBUG) writeStderr(`${error instanceof Error ? error.stack : ""}\n`);
    return EXIT.INTERNAL;
  }
}
