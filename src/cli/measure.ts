/** `kimg pcr FILE [--bank BANK ...] [--phase PHASE ...] [--json]`: the measured-boot report. */
import type { Command } from "commander";
import type { PcrFlags } from "./actions/measure.js";
import { imageOptions } from "./options.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerMeasure(program: Command): void {
  const command = program
    .command("pcr")
    .description("predict the TPM PCR values booting FILE produces: PCR 11 of a UKI (as systemd-measure calculate), PCR 12 of add-ons, PCR 4 of every PE image")
    .argument("<file>", "UKI, UKI add-on, or any kernel image with PE layers")
    .option("--bank <name>", "sha1, sha256, sha384 or sha512; repeatable (default all four)", collect, [])
    .option(
      "--phase <words>",
      'a boot phase as systemd-measure takes it ("enter-initrd:leave-initrd"); repeatable (default the six of systemd-pcrphase)',
      collect,
      [],
    )
    .option("--json", "print the report as JSON");
  // The action and what it needs (the measurements, the digests) load only when the command runs.
  imageOptions(command).action(async (file: string, opts: PcrFlags) => (await import("./actions/measure.js")).actions.pcr(file, opts));
}
