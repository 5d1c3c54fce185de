/**
 * File mode, end to end: Debian's stock amd64 kernel (CONFIG_KEXEC_FILE=y) boots in
 * qemu-system-x86_64; inside it kimg takes a UKI apart (.linux = Debian's bzImage, .initrd,
 * .cmdline), hands the pieces to kexec_file_load as memfds, and execs; the second kernel's init
 * prints the command line it received, which must be the UKI's .cmdline. On the way, a bzImage
 * with --initrd/--append is loaded and unloaded, and segment mode is refused (arm64, riscv64 and loongarch64 only).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildUki } from "../../support/builders/images.js";
import { needs } from "../helpers/tools.js";
import { WORK, debianGuest, firstStageInitrd, markers, runQemu, secondStageInitrd } from "./harness.js";

// A ceiling for a hung guest, not a speed target: the emulated guest starts Node once per step
// (6-10 s each without KVM), and passing runs took 80-86 s of the old 90 s on a busy machine.
const QEMU_TIMEOUT_MS = 180_000;

describe("kexec file mode in qemu-system-x86_64 on Debian's amd64 kernel", { skip: needs("qemu-system-x86_64", "cpio", "gzip", "apt-get", "dpkg-deb") }, () => {
  const nonce = Date.now().toString(36);
  const ukiCmdline = `console=ttyS0 panic=-1 kimg.marker=uki-${nonce}`;
  const bzAppend = `console=ttyS0 panic=-1 kimg.marker=bzimage-${nonce}`;
  let vmlinuz = "";
  let stage1 = "";

  before(() => {
    const started = Date.now();
    const guest = debianGuest("amd64");
    vmlinuz = guest.vmlinuz;
    const stage2 = secondStageInitrd("amd64", guest.root);
    const uki = join(WORK, "kimg-test-uki.efi");
    writeFileSync(uki, buildUki({ linux: new Uint8Array(readFileSync(guest.vmlinuz)), initrd: new Uint8Array(readFileSync(stage2)), cmdline: ukiCmdline }));
    const mark = 'mark() { echo "KIMG-E2E t=$(cut -d" " -f1 /proc/uptime) $1"; }';
    stage1 = firstStageInitrd(
      "amd64",
      guest.root,
      { "uki.efi": uki, bzImage: guest.vmlinuz, "stage2.cpio.gz": stage2 },
      {
        uki: [
          mark,
          "mark start",
          "node kimg.mjs kexec status",
          'node kimg.mjs kexec load uki.efi --segments; echo "KIMG-E2E segments rc=$?"',
          `node kimg.mjs kexec load bzImage --initrd stage2.cpio.gz --append "${bzAppend}"; echo "KIMG-E2E bzimage load rc=$? loaded=$(cat /sys/kernel/kexec_loaded)"`,
          'node kimg.mjs kexec unload; echo "KIMG-E2E unload rc=$? loaded=$(cat /sys/kernel/kexec_loaded)"',
          'node kimg.mjs kexec load uki.efi --dry-run; echo "KIMG-E2E dry-run rc=$? loaded=$(cat /sys/kernel/kexec_loaded)"',
          'node kimg.mjs kexec load uki.efi; echo "KIMG-E2E load rc=$?"',
          "mark loaded",
          'echo "KIMG-E2E kexec_loaded=$(cat /sys/kernel/kexec_loaded)"',
          "node kimg.mjs kexec exec",
          'echo "KIMG-E2E exec returned rc=$?"',
          "",
        ].join("\n"),
      },
    );
    process.stdout.write(`# guest build ${Date.now() - started} ms (${guest.kernelPackage})\n`);
  });

  it("loads a UKI's .linux/.initrd/.cmdline with kexec_file_load and boots it", async (t) => {
    const run = await runQemu("amd64", vmlinuz, stage1, "panic=-1 quiet kimg.case=uki", QEMU_TIMEOUT_MS);
    const lines = markers(run.log);
    t.diagnostic(`qemu ${run.ms} ms: ${lines.filter((l) => l.includes("t=") || l.includes("stage2 up")).join(" | ")}`);
    assert.equal(run.timedOut, false, run.log.slice(-3000));
    assert.match(run.log, /kexec_file_load: +yes/);
    // Segment mode is for arm64, riscv64 and loongarch64: refused on x86_64 before anything is loaded.
    assert.match(run.log, /segment mode is implemented for arm64, riscv64, loongarch64, not x86_64/);
    assert.ok(lines.includes("KIMG-E2E segments rc=1"));
    // A bzImage with --initrd/--append loads, and unload empties the slot again.
    assert.ok(lines.includes("KIMG-E2E bzimage load rc=0 loaded=1"), run.log.slice(-3000));
    assert.ok(lines.includes("KIMG-E2E unload rc=0 loaded=0"));
    // The UKI: plan, load, boot.
    assert.match(run.log, /source: +uki \(x86_64(, \w+)?\): uki > bzimage/);
    assert.match(run.log, /mode: +file \(kexec_file_load\): the running kernel has kexec_file_load/);
    assert.match(run.log, /initrd: +UKI \.initrd/);
    assert.ok(lines.includes("KIMG-E2E dry-run rc=0 loaded=0"));
    assert.ok(lines.includes("KIMG-E2E load rc=0"), run.log.slice(-3000));
    assert.ok(lines.includes("KIMG-E2E kexec_loaded=1"));
    assert.ok(lines.includes(`KIMG-E2E stage2 cmdline: ${ukiCmdline}`), run.log.slice(-3000));
  });
});
