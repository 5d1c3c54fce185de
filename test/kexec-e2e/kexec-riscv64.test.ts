/**
 * RISC-V, end to end: Debian's trixie riscv64 kernel (CONFIG_KEXEC=y, no KEXEC_FILE) boots in
 * trixie's qemu-system-riscv64 -M virt -cpu rva23s64 under OpenSBI (bookworm's QEMU 7.2 lacks the
 * RVA23 extensions koffi's riscv64 build uses); inside it kimg unpacks a RISC-V EFI zboot image
 * (Debian's riscv64 Image wrapped by the fixture builder as Makefile.zboot would, cached per
 * kernel package), plans the segments (kernel, initrd, the running DTB with /chosen updated,
 * the entry stub with a0 = hart id, a1 = DTB) and loads them with kexec_load, then execs; the
 * second kernel's init prints the command line it received.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { CodecName } from "../../src/codecs/types.js";
import { KERNEL_FLAGS } from "../../support/builders/compress.js";
import type { Tool } from "../../support/builders/compress.js";
import { buildZboot, zbootInputs } from "../../support/builders/images.js";
import { needs } from "../helpers/tools.js";
import { WORK, debianGuest, trixieQemu, firstStageInitrd, markers, pipeToFile, runQemu, secondStageInitrd, withCaseFiles } from "./harness.js";

/** Two codecs: gzip (what kexec-tools also unpacks) and zstd, the one Debian builds its own zboot kernels with. */
const ZBOOT_CODECS: ReadonlyArray<[string, CodecName, Tool]> = [
  ["gzip", "gzip", "gzip"],
  ["zstd22", "zstd", "zstd"],
];
const IMAGE_FILE_MACHINE_RISCV64 = 0x5064;
const QEMU_TIMEOUT_MS = 420_000;

async function zbootOf(image: Uint8Array, kernelPackage: string, compType: string, tool: Tool): Promise<string> {
  const out = join(WORK, `zboot-${kernelPackage}-${compType}.efi`);
  if (existsSync(out)) return out;
  const { toCompress, trailer } = zbootInputs(image, "v6.4", compType);
  const [command, args] = KERNEL_FLAGS[tool];
  const compressed = `${out}.payload`;
  await pipeToFile(command, args, toCompress, compressed);
  const payload = new Uint8Array(readFileSync(compressed));
  rmSync(compressed);
  writeFileSync(`${out}.tmp`, buildZboot({ machine: IMAGE_FILE_MACHINE_RISCV64, compType, payload, trailer: trailer(payload) }).bytes);
  renameSync(`${out}.tmp`, out);
  return out;
}

describe("kexec segment mode in qemu-system-riscv64 on Debian's riscv64 kernel", {
  skip: needs("cpio", "gzip", "zstd", "apt-get", "dpkg-deb", "debian-archive-keyring"),
}, () => {
  const nonce = Date.now().toString(36);
  const appendFor = (name: string): string => `console=ttyS0 panic=-1 kimg.marker=${name}-${nonce}`;
  let vmlinuz = "";
  let stage1 = "";
  const zboots = new Map<string, Promise<string>>();

  before(() => {
    const started = Date.now();
    trixieQemu();
    const guest = debianGuest("riscv64");
    vmlinuz = guest.vmlinuz;
    const image = new Uint8Array(readFileSync(guest.vmlinuz));
    const files: Record<string, string> = { "stage2.cpio.gz": secondStageInitrd("riscv64", guest.root) };
    const cases: Record<string, string> = {};
    let queue: Promise<unknown> = Promise.resolve();
    for (const [compType, codec, tool] of ZBOOT_CODECS) {
      const name = `zboot-${compType}`;
      const job = queue.then(() => zbootOf(image, guest.kernelPackage, compType, tool));
      queue = job.catch(() => undefined);
      zboots.set(compType, job);
      cases[name] = [
        'mark() { echo "KIMG-E2E t=$(cut -d" " -f1 /proc/uptime) $1"; }',
        "mark start",
        `node kimg.mjs kexec load vmlinuz-${compType}.efi --initrd stage2.cpio.gz --append "${appendFor(name)}" --exec; echo "KIMG-E2E load rc=$?"`,
        `# ${codec}`,
        "",
      ].join("\n");
    }
    stage1 = firstStageInitrd("riscv64", guest.root, files, cases);
    process.stdout.write(`# guest build ${Date.now() - started} ms (${guest.kernelPackage})\n`);
  });

  for (const [compType, codec] of ZBOOT_CODECS) {
    it(`unpacks a ${compType} RISC-V zboot image (${codec}) and boots it in segment mode`, async (t) => {
      const name = `zboot-${compType}`;
      const zboot = await zboots.get(compType);
      assert.ok(zboot);
      const initrd = withCaseFiles(stage1, `riscv64-${name}`, { [`vmlinuz-${compType}.efi`]: zboot });
      const run = await runQemu("riscv64", vmlinuz, initrd, `panic=-1 quiet kimg.case=${name}`, QEMU_TIMEOUT_MS, 1024);
      rmSync(initrd);
      writeFileSync(join(WORK, `riscv64-${name}.log`), run.log);
      const lines = markers(run.log);
      t.diagnostic(`qemu ${run.ms} ms: ${lines.filter((l) => l.includes("t=") || l.includes("stage2 up")).join(" | ")}`);
      assert.equal(run.timedOut, false, run.log.slice(-3000));
      assert.ok(!lines.some((l) => l.startsWith("KIMG-E2E load rc=")), run.log.slice(-3000));
      assert.match(run.log, new RegExp(`source: +zboot \\(riscv64, ${codec}\\)`));
      assert.match(run.log, /loaded with kexec_load; booting it/);
      assert.ok(lines.includes(`KIMG-E2E stage2 cmdline: ${appendFor(name)}`), run.log.slice(-3000));
    });
  }
});
