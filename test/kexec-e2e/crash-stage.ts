/**
 * The crash kernel's initramfs for the crash-kernel test and its transcript: busybox and an init
 * that prints what /proc/vmcore (built by the crash kernel from the loader's ELF core header)
 * shows: its size, its ELF magic, the vmcoreinfo note's OSRELEASE line and the CPU notes.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WORK, makeCpio } from "./harness.js";
import type { GuestArch } from "./harness.js";

/** The crash kernel's initramfs: busybox and an init that looks at /proc/vmcore. */
export function crashStageInitrd(arch: GuestArch, root: string): string {
  const dir = join(WORK, `stage2-crash-${arch}`);
  rmSync(dir, { recursive: true, force: true });
  for (const d of ["bin", "proc", "sys", "dev", "tmp"]) mkdirSync(join(dir, d), { recursive: true });
  execFileSync("mknod", ["-m", "600", join(dir, "dev/console"), "c", "5", "1"]);
  copyFileSync(join(root, "bin/busybox"), join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  writeFileSync(
    join(dir, "init"),
    [
      "#!/bin/busybox sh",
      "/bin/busybox --install -s /bin",
      "mount -t proc proc /proc",
      'echo "KIMG-E2E crash kernel up $(cut -d" " -f1 /proc/uptime)"',
      'echo "KIMG-E2E crash cmdline: $(cat /proc/cmdline)"',
      'echo "KIMG-E2E vmcore size=$(stat -c %s /proc/vmcore 2>&1)"',
      'echo "KIMG-E2E vmcore magic=$(dd if=/proc/vmcore bs=4 count=1 2>/dev/null | od -An -c | tr -s " ")"',
      // The merged notes come first in /proc/vmcore: CPU notes (CORE) and the vmcoreinfo text.
      'echo "KIMG-E2E vmcore $(head -c 65536 /proc/vmcore | strings | grep -m1 ^OSRELEASE=)"',
      'echo "KIMG-E2E vmcore cpu notes=$(head -c 65536 /proc/vmcore | strings | grep -c ^CORE$)"',
      "poweroff -f",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const out = join(WORK, `stage2-crash-${arch}.cpio.gz`);
  makeCpio(dir, out, true);
  return out;
}
