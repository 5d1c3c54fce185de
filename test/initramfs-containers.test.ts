/**
 * The same archive layer wherever an initramfs appears (issue 16): a UKI's .initrd, an Android
 * boot image's ramdisk, a vendor_boot image's vendor ramdisks, a uImage ramdisk: each lists the
 * archive's entries, and `archives()` plans its extraction under the layer's name.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { archives } from "../src/api/archive.js";
import { inspect } from "../src/api/inspect.js";
import { initrdSummary, initrdSummaryLines } from "../src/report/initramfs-summary.js";
import { allLayers } from "../src/analysis/tree.js";
import { buildDtb } from "../fuzz/seeds.js";
import { buildBootV4, buildVendorBootV4 } from "../support/builders/android.js";
import { compressWith } from "../support/builders/compress.js";
import { cpioArchive } from "../support/builders/cpio.js";
import { buildArm64Image, buildBzImage, buildElf, buildUki } from "../support/builders/images.js";
import { buildUImage } from "../support/builders/uimage.js";
import { needs } from "./helpers/tools.js";

const archive = cpioArchive([
  { name: "init", mode: 0o100755, data: "#!/bin/sh\nexec /bin/sh\n" },
  { name: "bin", mode: 0o120777, data: "usr/bin" },
]);

async function listed(bytes: Uint8Array): Promise<Array<[string, string, string[]]>> {
  const { report, archives: found } = await archives(bytes);
  assert.deepEqual(
    report.diagnostics.filter((d) => d.severity === "error"),
    [],
  );
  assert.deepEqual(
    found.map((a) => a.layer.path),
    [...allLayers(report.root)].filter((l) => l.archive).map((l) => l.path),
  );
  return found.map((a) => [a.layer.path, a.dirName, a.plan.ops.map((op) => `${op.kind} ${op.path}`)]);
}

const ops = ["file init", "symlink bin"];

test("a UKI's .initrd, an Android boot ramdisk, vendor ramdisks and a uImage ramdisk are read as archives", { skip: needs("gzip") }, async () => {
  const gz = compressWith("gzip", archive);
  const uki = buildUki({ linux: buildBzImage({ payload: compressWith("gzip", buildElf()) }), initrd: gz });
  assert.deepEqual(await listed(uki), [["/.initrd/decompressed", "initrd.decompressed", ops]]);

  const boot = buildBootV4({ kernel: compressWith("gzip", buildArm64Image()), ramdisk: gz, cmdline: "console=ttyS0" });
  assert.deepEqual(await listed(boot), [["/ramdisk/decompressed", "ramdisk.decompressed", ops]]);

  const vendor = buildVendorBootV4({
    pageSize: 2048,
    ramdisks: [
      { name: "platform", type: 1, data: gz, boardId: [1, 2] },
      { name: "dlkm", type: 3, data: archive },
    ],
    dtb: buildDtb(),
  });
  assert.deepEqual(await listed(vendor), [
    ["/vendor_ramdisk.platform/decompressed", "vendor_ramdisk.platform.decompressed", ops],
    ["/vendor_ramdisk.dlkm", "vendor_ramdisk.dlkm", ops],
  ]);

  const uimage = buildUImage({ type: 3, comp: 1, parts: [gz] });
  const got = await listed(uimage);
  assert.deepEqual(
    got.map(([, , o]) => o),
    [ops],
  );
});

test("what kexec load prints for its initrd: each segment with its range and archive", { skip: needs("gzip") }, async () => {
  const early = cpioArchive([{ name: "kernel/x86/microcode/AuthenticAMD.bin", mode: 0o100644, data: "microcode" }]);
  const main = compressWith("gzip", archive);
  const bytes = new Uint8Array(early.length + 8 + main.length);
  bytes.set(early, 0);
  bytes.set(main, early.length + 8);
  const summary = initrdSummary(await inspect(bytes));
  assert.deepEqual(initrdSummaryLines(summary), [
    "initrd contents: initramfs, 2 segments",
    `  cpio   [0x0, +0x${early.length.toString(16)})  newc cpio, 1 entries (1 files, 9 bytes)`,
    `  gzip   [0x${(early.length + 8).toString(16)}, +0x${main.length.toString(16)})  newc cpio, 2 entries (1 files, 23 bytes)`,
  ]);
});
