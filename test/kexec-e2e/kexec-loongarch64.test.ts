/**
 * LoongArch, end to end: Debian's sid loong64 kernel (itself a zstd EFI zboot image) boots under
 * EDK2 in trixie's qemu-system-loongarch64 (fetch-qemu-trixie.sh: bookworm's QEMU 7.2 cannot);
 * inside it kimg kexecs, in segment mode, Debian's own zstd zboot and the same kernel rewrapped
 * as a gzip zboot by the fixture builder (cached); the second kernel's init prints its command line.
 * In the gzip case the 160 MiB first-stage initrd (it carries the 10 MiB gzip zboot) leaves the EFI
 * stub no room at the link address: the running kernel sits at 0x80000000 and one of its early
 * allocations at 0x200000, so kimg places the new kernel at the lowest 2 MiB aligned free range
 * (relocated); the zstd case places it at the link address.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { createCoreUnpacker } from "../../src/kexec/source.js";
import { NODE_CODECS } from "../../src/node/codecs.js";
import { KERNEL_FLAGS } from "../../support/builders/compress.js";
import { buildZboot, zbootInputs } from "../../support/builders/images.js";
import { MACHINE } from "../../support/builders/pe.js";
import { needs } from "../helpers/tools.js";
import { WORK, debianGuest, firstStageInitrd, trixieQemu, markers, pipeToFile, runQemu, secondStageInitrd, withCaseFiles } from "./harness.js";

const QEMU_TIMEOUT_MS = 600_000;
/**
 * Debian's own zstd zboot and its kernel rewrapped as a gzip zboot (21-35 s of QEMU more;
 * KIMG_E2E_LOONGARCH_GZIP=0 leaves it out).
 */
const CASES: ReadonlyArray<[string, string]> = [
  ["debian-zstd", "zstd"],
  ...(process.env.KIMG_E2E_LOONGARCH_GZIP === "0" ? [] : [["gzip", "gzip"] as [string, string]]),
];

describe("kexec segment mode in qemu-system-loongarch64 (trixie's QEMU and EDK2) on Debian's loong64 kernel", {
  skip: needs("cpio", "gzip", "apt-get", "dpkg-deb", "debian-archive-keyring"),
}, () => {
  const nonce = Date.now().toString(36);
  const appendFor = (name: string): string => `console=ttyS0,115200 panic=-1 kimg.marker=${name}-${nonce}`;
  let vmlinuz = "";
  let stage1 = "";
  const zboots = new Map<string, string>();

  before(async () => {
    const started = Date.now();
    trixieQemu();
    const guest = debianGuest("loong64");
    vmlinuz = guest.vmlinuz;
    zboots.set("debian-zstd", guest.vmlinuz);
    const gzipZboot = join(WORK, `zboot-${guest.kernelPackage}-gzip.efi`);
    if (!existsSync(gzipZboot)) {
      const { kernel } = await createCoreUnpacker({ codecs: NODE_CODECS })(new Uint8Array(readFileSync(guest.vmlinuz)));
      const { toCompress, trailer } = zbootInputs(kernel, "v6.4", "gzip");
      const [command, args] = KERNEL_FLAGS.gzip;
      await pipeToFile(command, args, toCompress, `${gzipZboot}.payload`);
      const payload = new Uint8Array(readFileSync(`${gzipZboot}.payload`));
      rmSync(`${gzipZboot}.payload`);
      writeFileSync(`${gzipZboot}.tmp`, buildZboot({ machine: MACHINE.LOONGARCH64, compType: "gzip", payload, trailer: trailer(payload) }).bytes);
      renameSync(`${gzipZboot}.tmp`, gzipZboot);
    }
    zboots.set("gzip", gzipZboot);
    const cases: Record<string, string> = {};
    for (const [name] of CASES) {
      cases[name] = [
        'mark() { echo "KIMG-E2E t=$(cut -d" " -f1 /proc/uptime) $1"; }',
        "mark start",
        `node kimg.mjs kexec load vmlinuz-${name}.efi --initrd stage2.cpio.gz --cmdline "${appendFor(name)}" --exec; echo "KIMG-E2E load rc=$?"; cat /proc/iomem`,
        "",
      ].join("\n");
    }
    stage1 = firstStageInitrd("loong64", guest.root, { "stage2.cpio.gz": secondStageInitrd("loong64", guest.root) }, cases);
    process.stdout.write(`# guest build ${Date.now() - started} ms (${guest.kernelPackage})\n`);
  });

  for (const [name, codec] of CASES) {
    it(`unpacks a ${codec} LoongArch zboot image (${name}) and boots it in segment mode`, async (t) => {
      const zboot = zboots.get(name);
      assert.ok(zboot);
      const initrd = withCaseFiles(stage1, `loong64-${name}`, { [`vmlinuz-${name}.efi`]: zboot });
      // nokaslr: the running kernel stays where the EFI stub put it (its link address when that
      // was free), so each case takes the same placement path in every run.
      const run = await runQemu("loong64", vmlinuz, initrd, `panic=-1 quiet nokaslr kimg.case=${name}`, QEMU_TIMEOUT_MS);
      rmSync(initrd);
      writeFileSync(join(WORK, `loong64-${name}.log`), run.log);
      const lines = markers(run.log);
      const placed = /^ {2}kernel +\S+ +\S+ +(0x[0-9a-f]+)/m.exec(run.log)?.[1] ?? "-";
      t.diagnostic(
        `qemu ${run.ms} ms, kernel at ${placed}${run.log.includes("placed:  at ") ? " (relocated)" : ""}: ${lines.filter((l) => l.includes("t=") || l.includes("stage2 up")).join(" | ")}`,
      );
      assert.equal(run.timedOut, false, run.log.slice(-3000));
      assert.ok(!lines.some((l) => l.startsWith("KIMG-E2E load rc=")), run.log.slice(-3000));
      assert.match(run.log, new RegExp(`source: +zboot \\(loongarch64, ${codec}\\)`));
      assert.match(run.log, /loaded with kexec_load; booting it/);
      // The kernel shows the command-line segment as kimg wrote it: the "kexec " prefix the running
      // kernel looks for, the text, and the initrd as initrd=ADDR,SIZE.
      assert.ok(
        lines.some((l) => new RegExp(`KIMG-E2E stage2 cmdline: kexec ${appendFor(name)} initrd=0x[0-9a-f]+,0x[0-9a-f]+$`).test(l)),
        run.log.slice(-3000),
      );
    });
  }
});
