/**
 * Segment mode, end to end: Debian's stock arm64 kernel (CONFIG_KEXEC=y, no KEXEC_FILE) boots in
 * qemu-system-aarch64; inside it kimg loads a kernel with kexec_load (segments, DTB, purgatory
 * computed by kimg) and execs it; the second kernel's init prints the command line it received.
 * Cases: the plain Debian Image, then that Image wrapped as an EFI zboot image by the fixture
 * builder in each codec kimg's core decodes.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { BUILTIN_CODECS } from "../../src/codecs/registry.js";
import type { CodecName } from "../../src/codecs/types.js";
import { KERNEL_FLAGS } from "../../support/builders/compress.js";
import type { Tool } from "../../support/builders/compress.js";
import { buildZboot, zbootInputs } from "../../support/builders/images.js";
import { needs } from "../helpers/tools.js";
import { WORK, debianGuest, firstStageInitrd, markers, pipeToFile, runQemu, secondStageInitrd, withCaseFiles } from "./harness.js";

/** zboot comp_type → (codec kimg reports, tool the kernel build uses). */
const ZBOOT_CODECS: ReadonlyArray<[string, CodecName, Tool]> = [
  ["gzip", "gzip", "gzip"],
  ["zstd22", "zstd", "zstd"],
  ["xzkern", "xz", "xz-arm64"],
  ["lzma", "lzma", "lzma"],
  ["lz4", "lz4", "lz4"],
  ["lzo", "lzo", "lzo"],
];
const IMAGE_FILE_MACHINE_ARM64 = 0xaa64;
// A ceiling for a hung guest, not a speed target: the emulated guest starts Node once per step
// (6-10 s each without KVM), and passing runs took 80-86 s of the old 90 s on a busy machine.
const QEMU_TIMEOUT_MS = 180_000;

function chosenCodecs(): Array<[string, CodecName, Tool]> {
  const wanted = process.env.KIMG_E2E_CODECS?.split(",");
  return ZBOOT_CODECS.filter(([id, codec]) => (wanted ? wanted.includes(id) || wanted.includes(codec) : BUILTIN_CODECS[codec] !== undefined));
}

/**
 * The Debian Image as Makefile.zboot (v6.4+) would wrap it, compressed with the kernel build's
 * own flags; cached per kernel package. Compressing a 32 MiB Image takes seconds to a minute, so
 * it runs in the background while QEMU runs earlier cases.
 */
async function zbootOf(image: Uint8Array, kernelPackage: string, compType: string, tool: Tool): Promise<string> {
  const out = join(WORK, `zboot-${kernelPackage}-${compType}.efi`);
  if (existsSync(out)) return out;
  const { toCompress, trailer } = zbootInputs(image, "v6.4", compType);
  const [command, args] = KERNEL_FLAGS[tool];
  const compressed = `${out}.payload`;
  await pipeToFile(command, args, toCompress, compressed);
  const payload = new Uint8Array(readFileSync(compressed));
  rmSync(compressed);
  writeFileSync(out, buildZboot({ machine: IMAGE_FILE_MACHINE_ARM64, compType, payload, trailer: trailer(payload) }).bytes);
  return out;
}

function stamp(): string {
  return 'echo "KIMG-E2E t=$(cut -d" " -f1 /proc/uptime) $1"';
}

describe("kexec segment mode in qemu-system-aarch64 on Debian's arm64 kernel", {
  skip: needs("qemu-system-aarch64", "cpio", "gzip", "apt-get", "dpkg-deb", ...chosenCodecs().map(([, , tool]) => tool)),
}, () => {
  const nonce = Date.now().toString(36);
  const appendFor = (name: string): string => `console=ttyAMA0 panic=-1 kimg.marker=${name}-${nonce}`;
  let vmlinuz = "";
  let stage1 = "";
  const codecs = chosenCodecs();
  const zboots = new Map<string, Promise<string>>();

  before(() => {
    const started = Date.now();
    const guest = debianGuest("arm64");
    vmlinuz = guest.vmlinuz;
    const image = new Uint8Array(readFileSync(guest.vmlinuz));
    const files: Record<string, string> = { Image: guest.vmlinuz, "stage2.cpio.gz": secondStageInitrd("arm64", guest.root) };
    const cases: Record<string, string> = {
      image: [
        `mark() { ${stamp()}; }`,
        "mark start",
        `node kimg.mjs kexec load Image --file --initrd stage2.cpio.gz --append "${appendFor("image")}"; echo "KIMG-E2E file-mode rc=$?"`,
        `node kimg.mjs kexec load Image --initrd stage2.cpio.gz --append "${appendFor("image")}" --dry-run --json > /tmp/plan.json; echo "KIMG-E2E dry-run rc=$?"`,
        'echo "KIMG-E2E plan-json $(tr -d "\\n" < /tmp/plan.json)"',
        "mark dry-run-done",
        `node kimg.mjs kexec load Image --initrd stage2.cpio.gz --append "${appendFor("image")}"; echo "KIMG-E2E load rc=$?"`,
        "mark loaded",
        'echo "KIMG-E2E kexec_loaded=$(cat /sys/kernel/kexec_loaded)"',
        "node kimg.mjs kexec exec",
        'echo "KIMG-E2E exec returned rc=$?"',
        "",
      ].join("\n"),
    };
    // One compressor at a time, in the order the cases run.
    let queue: Promise<unknown> = Promise.resolve();
    for (const [compType, codec, tool] of codecs) {
      const name = `zboot-${compType}`;
      const job = queue.then(() => zbootOf(image, guest.kernelPackage, compType, tool));
      queue = job.catch(() => undefined);
      zboots.set(compType, job);
      cases[name] = [
        `mark() { ${stamp()}; }`,
        "mark start",
        // --exec boots straight after the load: one node start fewer under emulation.
        `node kimg.mjs kexec load vmlinuz-${compType}.efi --initrd stage2.cpio.gz --append "${appendFor(name)}" --exec; echo "KIMG-E2E load rc=$?"`,
        `# ${codec}`,
        "",
      ].join("\n");
    }
    stage1 = firstStageInitrd("arm64", guest.root, files, cases);
    process.stdout.write(`# guest build ${Date.now() - started} ms (${guest.kernelPackage}; codecs ${codecs.map((c) => c[0]).join(", ")})\n`);
  });

  it("loads the plain Debian Image with kexec_load and boots it with kimg's command line", async (t) => {
    const run = await runQemu("arm64", vmlinuz, stage1, "panic=-1 quiet kimg.case=image", QEMU_TIMEOUT_MS);
    const lines = markers(run.log);
    t.diagnostic(`qemu ${run.ms} ms: ${lines.filter((l) => l.includes("t=") || l.includes("stage2 up")).join(" | ")}`);
    assert.equal(run.timedOut, false, run.log.slice(-3000));
    // Refusals come before anything is touched.
    assert.match(run.log, /this kernel has no kexec_file_load \(CONFIG_KEXEC_FILE not set\): use segment mode/);
    assert.ok(lines.includes("KIMG-E2E file-mode rc=1"));
    // The dry run's plan, as JSON.
    const planLine = lines.find((l) => l.startsWith("KIMG-E2E plan-json "));
    assert.ok(planLine, run.log.slice(-3000));
    const plan = JSON.parse(planLine.slice("KIMG-E2E plan-json ".length)) as {
      dryRun: boolean;
      plan: {
        mode: string;
        entry: string;
        segments: Array<{ name: string; mem: string; memsz: string; bufsz: string }>;
        registers: Record<string, string>;
        cmdline: { text: string };
      };
    };
    assert.equal(plan.dryRun, true);
    assert.equal(plan.plan.mode, "segments");
    assert.equal(plan.plan.cmdline.text, appendFor("image"));
    assert.deepEqual(
      plan.plan.segments.map((s) => s.name),
      ["kernel", "initrd", "dtb", "purgatory"],
    );
    const [kernel, , dtb, purgatory] = plan.plan.segments;
    assert.ok(kernel && dtb && purgatory);
    assert.equal(Number(kernel.mem) % (2 * 1024 * 1024), 0);
    assert.equal(Number(kernel.memsz), readFileSync(vmlinuz).readUInt32LE(0x10));
    assert.equal(plan.plan.registers.x0, dtb.mem);
    assert.equal(plan.plan.registers.pc, kernel.mem);
    assert.equal(plan.plan.entry, purgatory.mem);
    assert.ok(lines.includes("KIMG-E2E dry-run rc=0"));
    // The real load, then the second kernel.
    assert.ok(lines.includes("KIMG-E2E load rc=0"), run.log.slice(-3000));
    assert.ok(lines.includes("KIMG-E2E kexec_loaded=1"));
    assert.ok(lines.includes(`KIMG-E2E stage2 cmdline: ${appendFor("image")}`), run.log.slice(-3000));
  });

  for (const [compType, codec] of codecs) {
    it(`unpacks a ${compType} zboot image (${codec}) and boots it in segment mode`, async (t) => {
      const name = `zboot-${compType}`;
      const zboot = await zboots.get(compType);
      assert.ok(zboot);
      const initrd = withCaseFiles(stage1, name, { [`vmlinuz-${compType}.efi`]: zboot });
      const run = await runQemu("arm64", vmlinuz, initrd, `panic=-1 quiet kimg.case=${name}`, QEMU_TIMEOUT_MS);
      rmSync(initrd);
      const lines = markers(run.log);
      t.diagnostic(`qemu ${run.ms} ms: ${lines.filter((l) => l.includes("t=") || l.includes("stage2 up")).join(" | ")}`);
      assert.equal(run.timedOut, false, run.log.slice(-3000));
      assert.ok(!lines.some((l) => l.startsWith("KIMG-E2E load rc=")), run.log.slice(-3000));
      assert.match(run.log, new RegExp(`source: +zboot \\(arm64, ${codec}\\)`));
      assert.match(run.log, /loaded with kexec_load; booting it/);
      assert.ok(lines.includes(`KIMG-E2E stage2 cmdline: ${appendFor(name)}`), run.log.slice(-3000));
    });
  }
});
