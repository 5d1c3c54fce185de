/** `kimg pcr FILE [--bank BANK ...] [--phase PHASE ...] [--json]`: the measured-boot report. */
import type { Command } from "commander";
import { measureImage } from "../api/index.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { ALL_BANKS, isPcrBank } from "../measure/pcr.js";
import { writeStdout } from "../node/stdout.js";
import { renderMeasureText } from "../report/measure-text.js";
import { EXIT } from "./exit-codes.js";
import { imageOptions, readImage, type ImageFlags } from "./options.js";

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
  imageOptions(command).action(async (file: string, opts: ImageFlags & { bank: string[]; phase: string[]; json?: boolean }) => {
    const banks = opts.bank.map((b) => b.toLowerCase());
    for (const b of banks) if (!isPcrBank(b)) throw new KimgError(ErrorCode.USAGE, `--bank ${b}: use one of ${ALL_BANKS.join(", ")}`);
    const { bytes, options } = await readImage(file, opts, { progress: !opts.json });
    const report = await measureImage(bytes, {
      ...options,
      ...(banks.length ? { banks: banks.filter(isPcrBank) } : {}),
      ...(opts.phase.length ? { phases: opts.phase } : {}),
    });
    await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderMeasureText(report));
    if (report.diagnostics.some((d) => d.severity === "error")) process.exitCode = EXIT.BAD_INPUT;
  });
}
