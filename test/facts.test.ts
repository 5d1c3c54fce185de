/**
 * Typed facts (src/model/facts.ts): each parser produces them once, the analysed tree keeps them
 * by layer path, the report's `info` is their projection and never carries them; the kernel
 * roles are declared on the parsers and the registry's sets derive from them.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BOOTABLE_FORMATS, KERNEL_FORMATS, PLANNED_FORMATS, UNSUPPORTED_KERNEL_FORMATS, unsupportedName } from "../src/formats/registry.js";
import { readArm64ImageFacts } from "../src/formats/arm64.js";
import { allLayers } from "../src/analysis/tree.js";
import { factsOf } from "../src/model/facts.js";
import { buildArm64Image, buildElf, buildLoongArchImage } from "../support/builders/images.js";
import { analyse } from "./helpers/report.js";

test("kernel roles: the registry's sets come from the parsers' declarations", () => {
  assert.deepEqual([...KERNEL_FORMATS].sort(), ["arm-zimage", "arm64-image", "bzimage", "elf", "loongarch-image", "raw-kernel", "riscv-image", "s390-image"]);
  assert.deepEqual([...BOOTABLE_FORMATS].sort(), ["arm-zimage", "arm64-image", "bzimage", "loongarch-image", "riscv-image"]);
  assert.deepEqual(PLANNED_FORMATS, ["arm64-image", "riscv-image", "loongarch-image", "bzimage", "elf", "arm-zimage"]);
  assert.deepEqual([...UNSUPPORTED_KERNEL_FORMATS], [["s390-image", "s390 kernel image"]]);
  assert.equal(unsupportedName("s390-image"), "s390 kernel image (not supported yet)");
  assert.equal(unsupportedName("arm64-image"), null);
});

test("facts: zboot, its compressed payload and the arm64 Image inside, typed; info is their projection", async () => {
  const { report, tree } = await analyse(new Uint8Array(readFileSync("samples/arm64-zboot-gzip.efi")));
  const zboot = factsOf(tree.facts, "/", "zboot");
  assert.ok(zboot);
  assert.equal(zboot.codec, "gzip");
  assert.equal(zboot.compType, "gzip");
  assert.equal(zboot.payloadOffset, report.root.info.payloadOffset);
  assert.equal(zboot.sizeRule, report.root.info.sizeRule);
  const stream = factsOf(tree.facts, "/payload", "compressed");
  assert.ok(stream);
  assert.equal(stream.decompressed, true);
  assert.equal(stream.decompressedSize, tree.bytes.get("/payload/decompressed")?.length);
  const image = factsOf(tree.facts, "/payload/decompressed", "arm64-image");
  assert.ok(image);
  assert.equal(typeof image.textOffset, "bigint");
  const layer = [...allLayers(report.root)].find((l) => l.path === "/payload/decompressed");
  assert.equal(layer?.info.imageSize, Number(image.imageSize));
  assert.equal(layer?.info.pageSize, image.pageSize);
  assert.equal(image.banner?.text, report.summary.linuxVersion);
  // The standalone reader (for kexec) agrees with the parser, but for the banner it does not look for.
  assert.deepEqual(readArm64ImageFacts(tree.bytes.get("/payload/decompressed") as Uint8Array), { ...image, banner: null });
});

test("facts stay out of the report", async () => {
  const { report, tree } = await analyse(buildArm64Image());
  assert.ok(tree.facts.size > 0);
  for (const l of allLayers(report.root)) assert.ok(!("facts" in l), l.path);
  assert.ok(!JSON.stringify(report).includes("legacyHeader"));
});

test("facts: ELF addresses and LoongArch entries are bigints, not hex strings", async () => {
  const elf = await analyse(buildElf({ entry: 0xffffffff81000000n }));
  const e = factsOf(elf.tree.facts, "/", "elf");
  assert.equal(e?.entry, 0xffffffff81000000n);
  assert.ok(e && e.segments.length > 0 && e.segments.every((s) => typeof s.paddr === "bigint"));
  const la = await analyse(buildLoongArchImage({ entryForm: "dmw" }));
  const l = factsOf(la.tree.facts, "/", "loongarch-image");
  assert.equal(l?.entryForm, "dmw-virtual");
  assert.equal(l?.kernelEntry.toString(16).slice(0, 4), "9000");
  assert.equal(la.report.root.info.kernelEntry, "0x" + l?.kernelEntry.toString(16));
});
