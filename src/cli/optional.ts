/** Commands that live in their own modules (verify, digest, kexec) register here. */
import type { Command } from "commander";
import { registerKexecCommands } from "./kexec.js";
import { registerSignatureCommands } from "./verify.js";

export function registerOptionalCommands(program: Command): void {
  registerSignatureCommands(program);
  registerKexecCommands(program);
}
