/** Commands that live in their own modules (plan, verify, kexec) register here. */
import type { Command } from "commander";

export function registerOptionalCommands(program: Command): void {
  void program;
}
