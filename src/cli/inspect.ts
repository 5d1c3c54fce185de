/** `kimg inspect FILE [--json] [--shallow] [--brief]` */
import type { Command } from "commander";
import type { InspectFlags } from "./actions/inspect.js";
import { imageOptions } from "./options.js";

export function registerInspect(program: Command): void {
  const command = program
    .command("inspect")
    .description("describe a kernel image layer by layer, every field with its offset")
    .argument("<file>", "kernel image (vmlinuz, Image, vmlinux.efi, bzImage, vmlinux, UKI, ...)")
    .option("--json", "print the report as JSON")
    .option("--shallow", "do not decompress payloads")
    .option("--brief", "show the layer tree and key facts, not every field");
  // The action and what it needs (the analysis, the renderers) load only when the command runs.
  imageOptions(command).action(async (file: string, opts: InspectFlags) => (await import("./actions/inspect.js")).actions.inspect(file, opts));
}
