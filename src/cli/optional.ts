/** Commands that live in their own modules (plan, verify, kexec) register here. */
import type { Command } from "commander";
import { registerSignatureCommands } from "./verify.js";

export function registerOptionalCommands(program: Command): void {
  void program;
  registerSignatureCommands(program);
}
