/** The one registry of the CLI's commands, in the order `kimg --help` lists them. */
import type { Command } from "commander";
import { registerConfig } from "./config.js";
import { registerExtract } from "./extract.js";
import { registerInspect } from "./inspect.js";
import { registerKexecCommands } from "./kexec.js";
import { registerPlan } from "./plan.js";
import { registerSignatureCommands } from "./verify.js";
// Measured boot (issue 17)
import { registerMeasure } from "./measure.js";

/** Each entry adds one command (or a group: verify and digest; kexec and its subcommands) to the program. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerInspect,
  registerExtract,
  registerPlan,
  registerSignatureCommands,
  // Measured boot (issue 17): kimg pcr
  registerMeasure,
  (program) => registerKexecCommands(program),
  // The embedded .config and diffconfig (issue 16)
  registerConfig,
];
