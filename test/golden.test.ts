/**
 * Golden reports: the whole report of a few fixtures, compared field by field with the JSON
 * committed beside them. Any change to the report shape shows up here. Regenerate on purpose
 * with UPDATE_GOLDEN=1 and review the diff.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { buildElf, buildLoongArchImage, buildRiscvImage, buildUki } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { buildBootV4, buildNewcCpio, buildVendorBootV4, packOsVersion } from "../support/builders/android.js";
import { buildArm64Image } from "../support/builders/images.js";
import { inspect } from "./helpers/report.js";
import { buildUImage } from "../support/builders/uimage.js";
import { buildArmZImage, rawKernel } from "../support/builders/self-decompressing.js";
import { needs } from "./helpers/tools.js";

const FIXTURES: Array<[string, () => Uint8Array]> = [
  ["arm64-zboot-gzip", () => new Uint8Array(readFileSync("samples/arm64-zboot-gzip.efi"))],
  ["riscv64-image", () => buildRiscvImage()],
  ["loongarch64-image-dmw", () => buildLoongArchImage({ entryForm: "dmw" })],
  ["elf32-be", () => buildElf({ is64: false, bigEndian: true, machine: 20, entry: 0xc0001000n })],
  ["uki-arm64", () => buildUki({ machine: MACHINE.ARM64, linux: buildRiscvImage(), cmdline: "console=ttyAMA0" })],
  // Android boot images (issue 15)
  [
    "android-boot-v4",
    () => buildBootV4({ kernel: buildArm64Image(), ramdisk: buildNewcCpio([]), osVersion: packOsVersion([14, 0, 0], 2025, 1), cmdline: "console=ttyS0" }),
  ],
  [
    "android-vendor-boot-v4",
    () =>
      buildVendorBootV4({
        pageSize: 2048,
        ramdisks: [{ name: "platform", type: 1, data: buildNewcCpio([]), boardId: [0x1234] }],
        dtb: new Uint8Array(0),
        bootconfig: new TextEncoder().encode("androidboot.hardware = kimg\n"),
        name: "kimg",
      }),
  ],
  // Boot containers (issue 15): a uImage around an arm64 Image (with the plan's container part), a 32-bit Arm zImage.
  ["uimage-arm64", () => buildUImage({ load: 0x40200000, entry: 0x40200000, name: "kimg golden", parts: [buildArm64Image()] })],
  ["arm-zimage-gzip", () => buildArmZImage({ tool: "gzip", kernel: rawKernel("6.1.0-kimg-golden", 0x8000) }).bytes],
];

for (const [name, make] of FIXTURES) {
  // Fixtures made with a real compressor are skipped without it.
  test(`golden report: ${name}`, { skip: name === "arm-zimage-gzip" ? needs("gzip") : false }, async () => {
    const report = JSON.parse(JSON.stringify(await inspect(make(), { name })));
    const file = `test/fixtures/golden/${name}.report.json`;
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
    assert.ok(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`);
    assert.deepEqual(report, JSON.parse(readFileSync(file, "utf8")));
  });
}
