/**
 * Prints a session transcript of `kimg kexec load --crash` inside the emulated arm64 machine
 * (booted with crashkernel=256M), the panic, and the crash kernel reading /proc/vmcore:
 *   node --import tsx test/kexec-e2e/transcript-crash.ts
 */
import { crashStageInitrd } from "./crash-stage.js";
import { debianGuest, firstStageInitrd, runQemu } from "./harness.js";

const guest = debianGuest("arm64");
const append = "console=ttyAMA0 panic=-1 nr_cpus=1 reset_devices";
const load = `kimg kexec load Image --crash --initrd crash.cpio.gz --append "${append}"`;

/** Each command is echoed after a "# " prompt, as typed in a root shell. */
function session(commands: string[]): string {
  const lines = ['kimg() { node /kimg/kimg.mjs "$@"; }'];
  for (const command of commands) lines.push(`echo ${JSON.stringify("# " + command)}`, command);
  return lines.join("\n") + "\n";
}

const initrd = firstStageInitrd(
  "arm64",
  guest.root,
  { Image: guest.vmlinuz, "crash.cpio.gz": crashStageInitrd("arm64", guest.root) },
  {
    demo: session(['grep "Crash kernel" /proc/iomem', load, "kimg kexec status", "echo c > /proc/sysrq-trigger"]),
  },
);
const run = await runQemu("arm64", guest.vmlinuz, initrd, "panic=-1 quiet crashkernel=256M kimg.case=demo", 600_000);
process.stdout.write(run.log + `\n(qemu ran ${run.ms} ms)\n`);
