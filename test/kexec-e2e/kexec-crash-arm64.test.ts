/**
 * A crash kernel, end to end: Debian's stock arm64 kernel boots in qemu-system-aarch64 with
 * crashkernel=256M; inside it `kimg kexec load --crash` puts Debian's kernel, a small initramfs,
 * the device tree and kimg's ELF core header into the reservation with kexec_load(KEXEC_ON_CRASH);
 * `echo c > /proc/sysrq-trigger` panics the first kernel, which enters the crash kernel; the
 * crash kernel's init reads /proc/vmcore (built by the crash kernel from kimg's header) and
 * prints its ELF magic and the vmcoreinfo note's OSRELEASE line, which only a correct PT_NOTE
 * address yields.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { needs } from "../helpers/tools.js";
import { crashStageInitrd } from "./crash-stage.js";
import { WORK, debianGuest, firstStageInitrd, markers, runQemu } from "./harness.js";

const QEMU_TIMEOUT_MS = 420_000;

describe("crash kernel (kexec_load with KEXEC_ON_CRASH) in qemu-system-aarch64 on Debian's arm64 kernel", {
  skip: needs("qemu-system-aarch64", "cpio", "gzip", "apt-get", "dpkg-deb"),
}, () => {
  const nonce = Date.now().toString(36);
  const crashAppend = `console=ttyAMA0 panic=-1 nr_cpus=1 reset_devices kimg.marker=crash-${nonce}`;
  let vmlinuz = "";
  let stage1 = "";
  let kernelRelease = "";

  before(() => {
    const started = Date.now();
    const guest = debianGuest("arm64");
    vmlinuz = guest.vmlinuz;
    kernelRelease = guest.kernelPackage.replace(/^linux-image-/, "");
    // Debian's arm64 vmlinuz is a plain Image (EFI stub, not compressed).
    const files: Record<string, string> = { Image: guest.vmlinuz, "crash.cpio.gz": crashStageInitrd("arm64", guest.root) };
    const cases: Record<string, string> = {
      crash: [
        'mark() { echo "KIMG-E2E t=$(cut -d" " -f1 /proc/uptime) $1"; }',
        "mark start",
        'echo "KIMG-E2E iomem $(grep "Crash kernel" /proc/iomem | tr -s " ")"',
        // One node start (seconds under emulation): the load prints its plan as JSON, then loads.
        `node kimg.mjs kexec load Image --crash --initrd crash.cpio.gz --append "${crashAppend}" --json > /tmp/plan.json; echo "KIMG-E2E load rc=$?"`,
        'echo "KIMG-E2E plan-json $(tr -d "\\n" < /tmp/plan.json)"',
        "mark loaded",
        'echo "KIMG-E2E kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded) kexec_loaded=$(cat /sys/kernel/kexec_loaded)"',
        "mark panic",
        "echo c > /proc/sysrq-trigger",
        'echo "KIMG-E2E still alive after sysrq-c"',
        "",
      ].join("\n"),
    };
    stage1 = firstStageInitrd("arm64", guest.root, files, cases);
    process.stdout.write(`# guest build ${Date.now() - started} ms (${guest.kernelPackage})\n`);
  });

  it("loads a crash kernel into the crashkernel= reservation and a panic boots it with a readable /proc/vmcore", async (t) => {
    const run = await runQemu("arm64", vmlinuz, stage1, "panic=-1 quiet crashkernel=256M kimg.case=crash", QEMU_TIMEOUT_MS);
    writeFileSync(join(WORK, "crash-arm64.log"), run.log);
    const lines = markers(run.log);
    t.diagnostic(`qemu ${run.ms} ms: ${lines.filter((l) => l.includes("t=") || l.includes("crash kernel up")).join(" | ")}`);
    assert.equal(run.timedOut, false, run.log.slice(-4000));
    const iomem = /KIMG-E2E iomem +([0-9a-f]+)-([0-9a-f]+) : Crash kernel/.exec(run.log);
    assert.ok(iomem, run.log.slice(-4000));
    const reservation = { start: BigInt(`0x${iomem[1]}`), end: BigInt(`0x${iomem[2]}`) + 1n };
    assert.equal(reservation.end - reservation.start, 256n << 20n);

    // The plan: every segment inside the reservation, the header described.
    const planLine = lines.find((l) => l.startsWith("KIMG-E2E plan-json "));
    assert.ok(planLine, run.log.slice(-4000));
    const json = JSON.parse(planLine.slice("KIMG-E2E plan-json ".length)) as {
      plan: { mode: string; segments: Array<{ name: string; mem: string; memsz: string }>; chosen: Array<{ property: string; action: string }> };
      crash: {
        reservation: { start: string; end: string };
        elfcorehdr: { mem: string; size: number; programHeaders: Array<{ type: string; what: string }> };
      };
    };
    assert.equal(json.plan.mode, "segments");
    assert.deepEqual(
      json.plan.segments.map((s) => s.name),
      ["kernel", "initrd", "dtb", "purgatory", "elfcorehdr"],
    );
    for (const s of json.plan.segments) {
      assert.ok(BigInt(s.mem) >= reservation.start && BigInt(s.mem) + BigInt(s.memsz) <= reservation.end, `${s.name} at ${s.mem}`);
    }
    assert.deepEqual(json.crash.reservation, { start: `0x${reservation.start.toString(16)}`, end: `0x${reservation.end.toString(16)}` });
    assert.equal(json.crash.elfcorehdr.mem, json.plan.segments[4]?.mem);
    const types = json.crash.elfcorehdr.programHeaders.map((h) => `${h.type} ${h.what}`);
    assert.deepEqual(types.slice(0, 3), ["PT_NOTE cpu0", "PT_NOTE vmcoreinfo", "PT_LOAD kernel text"]);
    assert.ok(types.includes("PT_LOAD System RAM"));
    assert.ok(json.plan.chosen.some((c) => c.property === "linux,elfcorehdr"));

    // The load, the panic, the crash kernel.
    assert.ok(lines.includes("KIMG-E2E load rc=0"), run.log.slice(-4000));
    assert.ok(lines.includes("KIMG-E2E kexec_crash_loaded=1 kexec_loaded=0"));
    assert.match(run.log, /Kernel panic - not syncing: sysrq triggered crash/);
    assert.match(run.log, /Starting crashdump kernel/);
    assert.ok(!lines.includes("KIMG-E2E still alive after sysrq-c"));
    assert.ok(lines.includes(`KIMG-E2E crash cmdline: ${crashAppend}`), run.log.slice(-4000));
    assert.ok(
      lines.some((l) => /^KIMG-E2E vmcore size=\d+$/.test(l) && Number(l.split("=")[1]) > 0),
      run.log.slice(-4000),
    );
    assert.ok(lines.includes("KIMG-E2E vmcore magic= 177 E L F"), run.log.slice(-4000));
    assert.ok(lines.includes(`KIMG-E2E vmcore OSRELEASE=${kernelRelease}`), run.log.slice(-4000));
    assert.ok(lines.includes("KIMG-E2E vmcore cpu notes=1"), run.log.slice(-4000));
  });
});
