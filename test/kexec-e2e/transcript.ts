/**
 * Prints a session transcript of `kimg kexec` inside the emulated machine, for the docs:
 *   node --import tsx test/kexec-e2e/transcript.ts arm64   # zboot (gzip) in segment mode
 *   node --import tsx test/kexec-e2e/transcript.ts amd64   # UKI in file mode
 * Uses the files the end-to-end tests left in .kexec-work/ (run `npm run test:kexec` first).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { WORK, debianGuest, firstStageInitrd, runQemu, secondStageInitrd } from "./harness.js";
import type { GuestArch } from "./harness.js";

const arch = (process.argv[2] ?? "arm64") as GuestArch;
const guest = debianGuest(arch);
const stage2 = secondStageInitrd(arch, guest.root);
const console_ = arch === "arm64" ? "ttyAMA0" : "ttyS0";
const image = arch === "arm64" ? join(WORK, `zboot-${guest.kernelPackage}-gzip.efi`) : join(WORK, "kimg-test-uki.efi");
if (!existsSync(image)) throw new Error(`${image} is missing: run npm run test:kexec first`);
const file = arch === "arm64" ? "vmlinuz.efi" : "uki.efi";
const load =
  arch === "arm64" ? `kimg kexec load ${file} --initrd initrd.cpio.gz --append "console=${console_} panic=-1 hello=kimg"` : `kimg kexec load ${file}`;

/** Each command is echoed after a "# " prompt, as typed in a root shell. */
function session(commands: string[]): string {
  const lines = ['kimg() { node /kimg/kimg.mjs "$@"; }', "cp stage2.cpio.gz initrd.cpio.gz"];
  for (const command of commands) lines.push(`echo ${JSON.stringify("# " + command)}`, command);
  return lines.join("\n") + "\n";
}

const initrd = firstStageInitrd(
  arch,
  guest.root,
  { [file]: image, "stage2.cpio.gz": stage2 },
  {
    demo: session(["kimg kexec status", `${load} --dry-run`, load, "kimg kexec exec"]),
  },
);
const run = await runQemu(arch, guest.vmlinuz, initrd, "panic=-1 quiet kimg.case=demo", 120_000);
const text = run.log
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the console's ANSI escape sequences
  .replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, "")
  .split("\n")
  .filter((l) => !/^(SeaBIOS|Booting from ROM)/.test(l))
  .join("\n");
process.stdout.write(text + `\n(qemu ran ${run.ms} ms)\n`);
