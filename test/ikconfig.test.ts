/**
 * The embedded .config (CONFIG_IKCONFIG, issue 16) in every layer kind kimg reaches, built with
 * the real gzip: found, reported with its offsets, inflated to the exact bytes; the damaged
 * cases as coded diagnostics with offsets; and the diffconfig reading of a .config.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compressWith } from "../support/builders/compress.js";
import { concat, text } from "../support/builders/bytes.js";
import { ikconfigBlob, kernelWithConfig, SAMPLE_CONFIG, withBlob, type IkconfigCarrier } from "../support/builders/ikconfig.js";
import { buildFit, fitInputs, removeDir } from "../support/builders/fit.js";
import { buildArm64Image, buildElf } from "../support/builders/images.js";
import { buildArmZImage, rawKernel } from "../support/builders/self-decompressing.js";
import { compareConfigs, configOptions, kernelConfig } from "../src/api/index.js";
import { diffConfigs, readConfig } from "../src/analysis/kconfig.js";
import { indexOf } from "../src/io/layout.js";
import { IKCONFIG_MAX_CONFIG_BYTES } from "../src/io/limits.js";
import { isKimgError } from "../src/io/errors.js";
import { renderConfigDiff } from "../src/report/config-text.js";
import { renderText } from "../src/report/text.js";
import { analyse, field, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

const skip = needs("gzip");
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The options of SAMPLE_CONFIG counted here from its lines, independently of src/analysis/kconfig.ts. */
function sampleCounts(): { options: number; unset: number } {
  const lines = SAMPLE_CONFIG.split("\n");
  const unset = lines.filter((l) => /^# CONFIG_\w+ is not set$/.test(l)).length;
  return { options: lines.filter((l) => /^CONFIG_\w+=/.test(l)).length + unset, unset };
}

/** Where the kernel layer of each carrier is, and how its bytes are found. */
const CARRIERS: Array<[IkconfigCarrier, string]> = [
  ["arm64-image", "/"],
  ["riscv-image", "/"],
  ["loongarch-image", "/"],
  ["zboot", "/payload/decompressed"],
  ["elf", "/"],
  ["bzimage", "/payload/decompressed"],
  ["uki", "/.linux"],
];

for (const [carrier, path] of CARRIERS) {
  test(`${carrier}: the embedded .config is found in ${path}, with its offsets, and inflates to the exact bytes`, { skip }, async () => {
    const blob = ikconfigBlob();
    const { report, tree, kernelConfig: config } = await analyse(kernelWithConfig(carrier, blob));
    assert.equal(report.summary.kernelPath, path);
    const layer = layerAt(report, path);
    const bytes = tree.bytes.get(path);
    assert.ok(bytes);
    const at = layer.offset + indexOf(bytes, blob);
    const k = report.kernelConfig;
    const gz = blob.length - 16;
    assert.deepEqual(k, {
      layer: path,
      present: true,
      startMarkerOffset: at,
      dataOffset: at + 8,
      compressedSize: gz,
      endMarkerOffset: at + 8 + gz,
      size: text(SAMPLE_CONFIG).length,
      optionCount: sampleCounts().options,
      unsetCount: sampleCounts().unset,
      searchedBytes: k.searchedBytes,
    });
    assert.ok(k.searchedBytes > 0 && k.searchedBytes <= bytes.length);
    assert.equal(decode(config ?? new Uint8Array(0)), SAMPLE_CONFIG);
    assert.deepEqual(field(layer, "embedded .config", "IKCFG_ED"), { name: "IKCFG_ED", offset: at + 8 + gz, size: 8, value: "IKCFG_ED" });
    assert.equal(field(layer, "embedded .config", "kernel_config_data").size, gz);
    assert.deepEqual(report.diagnostics, []);
    assert.match(renderText(report), new RegExp(`\\.config +${sampleCounts().options} options \\(${sampleCounts().unset} not set\\)`));
  });
}

test("a kernel without CONFIG_IKCONFIG: reported absent, and kernelConfig says why with E_NO_SUCH_LAYER", async () => {
  const image = buildArm64Image();
  const { report } = await analyse(image);
  assert.deepEqual(report.kernelConfig, {
    layer: "/",
    present: false,
    startMarkerOffset: null,
    dataOffset: null,
    compressedSize: null,
    endMarkerOffset: null,
    size: null,
    optionCount: null,
    unsetCount: null,
    searchedBytes: image.length,
  });
  await assert.rejects(kernelConfig(image), (e) => isKimgError(e) && e.code === "E_NO_SUCH_LAYER" && /IKCFG_ST/.test(e.message));
  assert.match(renderText(report), /\.config +none in \/ \(built without CONFIG_IKCONFIG/);
});

test("an ELF is searched in its PT_LOAD segments only: markers in bytes no segment loads are not the kernel's", { skip }, async () => {
  const elf = buildElf();
  const outside = concat(elf, ikconfigBlob());
  const { report } = await analyse(outside);
  assert.equal(report.kernelConfig.present, false);
  assert.equal(report.kernelConfig.startMarkerOffset, null);
  assert.ok(report.kernelConfig.searchedBytes < elf.length);
});

test("bad input: a truncated gzip stream is E_CORRUPT_STREAM at the stream, not present", { skip }, async () => {
  const gz = compressWith("gzip", text(SAMPLE_CONFIG));
  const blob = ikconfigBlob(SAMPLE_CONFIG, gz.subarray(0, gz.length - 40));
  const image = kernelWithConfig("arm64-image", blob);
  const { report } = await analyse(image);
  const at = indexOf(image, blob);
  assert.equal(report.kernelConfig.present, false);
  assert.equal(report.kernelConfig.startMarkerOffset, at);
  const d = report.diagnostics.find((x) => x.code === "E_CORRUPT_STREAM");
  assert.ok(d, JSON.stringify(report.diagnostics));
  assert.equal(d.severity, "error");
  assert.equal(d.layer, "/");
  assert.ok(d.offset !== null && d.offset >= at + 8 && d.offset <= at + 8 + gz.length, String(d.offset));
  await assert.rejects(kernelConfig(image), (e) => isKimgError(e) && e.code === "E_CORRUPT_STREAM" && e.offset === d.offset);
});

test("bad input: IKCFG_ST and a gzip header without IKCFG_ED is IKCONFIG_NO_END_MARKER at the start marker", { skip }, async () => {
  const gz = compressWith("gzip", text(SAMPLE_CONFIG));
  const blob = concat(text("IKCFG_ST"), gz);
  const image = kernelWithConfig("arm64-image", blob);
  const at = indexOf(image, blob);
  const { report } = await analyse(image);
  assert.deepEqual(
    report.diagnostics.map((d) => [d.code, d.severity, d.offset]),
    [["IKCONFIG_NO_END_MARKER", "error", at]],
  );
  assert.equal(report.kernelConfig.endMarkerOffset, null);
  assert.equal(report.kernelConfig.present, false);
  await assert.rejects(kernelConfig(image), (e) => isKimgError(e) && e.code === "E_CORRUPT_STREAM" && /IKCONFIG_NO_END_MARKER/.test(e.message));
});

test("bad input: garbage between the gzip stream and IKCFG_ED is IKCONFIG_TRAILING_DATA where it starts; the .config is still read", { skip }, async () => {
  const gz = compressWith("gzip", text(SAMPLE_CONFIG));
  const blob = concat(text("IKCFG_ST"), gz, text("not gzip!"), text("IKCFG_ED"));
  const image = kernelWithConfig("arm64-image", blob);
  const at = indexOf(image, blob);
  const { report, kernelConfig: config } = await analyse(image);
  assert.deepEqual(
    report.diagnostics.map((d) => [d.code, d.severity, d.offset]),
    [["IKCONFIG_TRAILING_DATA", "warning", at + 8 + gz.length]],
  );
  assert.equal(decode(config ?? new Uint8Array(0)), SAMPLE_CONFIG);
});

test("bad input: a .config past IKCONFIG_MAX_CONFIG_BYTES stops the inflate with E_LIMIT", { skip }, async () => {
  const huge = new Uint8Array(IKCONFIG_MAX_CONFIG_BYTES + 1).fill(0x23); // "#" lines that never end
  const gz = compressWith("gzip", huge);
  const image = kernelWithConfig("arm64-image", ikconfigBlob(huge, gz));
  const { report } = await analyse(image);
  assert.deepEqual(
    report.diagnostics.map((d) => d.code),
    ["E_LIMIT"],
  );
  assert.equal(report.kernelConfig.present, false);
  assert.equal(report.kernelConfig.compressedSize, gz.length);
});

test("bad input: a gzip stream of binary bytes is IKCONFIG_NOT_TEXT", { skip }, async () => {
  const image = kernelWithConfig("arm64-image", ikconfigBlob(new Uint8Array([0x43, 0, 1, 2, 3])));
  const { report } = await analyse(image);
  assert.deepEqual(
    report.diagnostics.map((d) => d.code),
    ["IKCONFIG_NOT_TEXT"],
  );
});

test("an IKCFG_ST not followed by a gzip header is skipped, as extract-ikconfig skips it", { skip }, async () => {
  const blob = ikconfigBlob();
  const decoy = text("IKCFG_ST is a marker\0");
  const image = withBlob(kernelWithConfig("arm64-image", blob), decoy, 0x100);
  const { report } = await analyse(image);
  assert.equal(report.kernelConfig.startMarkerOffset, indexOf(image, blob));
  assert.equal(report.kernelConfig.present, true);
});

test("readConfig reads as scripts/diffconfig's readconfig: last value wins, 'is not set' is n, an unterminated last line loses its last character", () => {
  const map = readConfig('CONFIG_A=y\r\n# CONFIG_B is not set\nCONFIG_C="x=y"\nCONFIG_A=m\nCONFIG_NOEQ\n# comment\nCONFIG_D=12');
  assert.deepEqual(
    [...map],
    [
      ["A", "m"],
      ["B", "n"],
      ["C", '"x=y"'],
      ["D", "1"],
    ],
  );
  assert.deepEqual(configOptions("CONFIG_X=y\n# CONFIG_Y is not set\n"), { CONFIG_X: "y", CONFIG_Y: "n" });
});

test("diffConfigs: removed, then changed, then added, each sorted by code point; the text and -m forms of diffconfig", () => {
  const a = readConfig('CONFIG_Z=y\nCONFIG_B=y\nCONFIG_a=1\nCONFIG_S=""\nCONFIG_K=m\n# CONFIG_N is not set\n');
  const b = readConfig('CONFIG_B=n\nCONFIG_K=m\nCONFIG_N=y\nCONFIG_NEW=""\nCONFIG_A=y\n');
  const diff = diffConfigs(a, b);
  assert.equal(renderConfigDiff(diff), '-S ""\n-Z y\n-a 1\n B y -> n\n N n -> y\n+A y\n+NEW ""\n');
  assert.equal(renderConfigDiff(diff, { merge: true }), '# CONFIG_B is not set\nCONFIG_N=y\nCONFIG_A=y\nCONFIG_NEW=""\n');
});

test("compareConfigs: a kernel image against a .config file, and a gzipped .config (/proc/config.gz) read as text", { skip }, async () => {
  const other = SAMPLE_CONFIG.replace("CONFIG_LOG_BUF_SHIFT=17", "CONFIG_LOG_BUF_SHIFT=18").replace("CONFIG_EXT4_FS=m\n", "") + "CONFIG_XFS_FS=y\n";
  const r = await compareConfigs(kernelWithConfig("zboot"), text(other));
  assert.deepEqual(r.a.source, "kernel");
  assert.equal(r.a.location?.layer, "/payload/decompressed");
  assert.deepEqual(r.b, { source: "text", location: null });
  assert.equal(renderConfigDiff(r.diff), "-EXT4_FS m\n LOG_BUF_SHIFT 17 -> 18\n+XFS_FS y\n");
  const gz = await kernelConfig(compressWith("gzip", text(other)));
  assert.equal(gz.source, "gzip");
  assert.equal(decode(gz.config), other);
});

test("a FIT's kernel (mkimage, gzip): the .config of the Image inside kernel-1", { skip: needs("gzip", "mkimage", "dtc") }, async () => {
  const inputs = fitInputs();
  const image = kernelWithConfig("arm64-image");
  inputs["kernel-1"] = compressWith("gzip", image);
  const { itb, dir } = buildFit(inputs, "embedded");
  removeDir(dir);
  const { report, kernelConfig: config } = await analyse(itb);
  assert.equal(report.kernelConfig.layer, report.summary.kernelPath);
  assert.ok(report.kernelConfig.layer?.includes("kernel-1"), String(report.kernelConfig.layer));
  assert.equal(report.kernelConfig.startMarkerOffset, indexOf(image, ikconfigBlob()));
  assert.equal(decode(config ?? new Uint8Array(0)), SAMPLE_CONFIG);
});

test("an Arm zImage (gzip): the .config of the Image it decompresses", { skip }, async () => {
  const blob = ikconfigBlob();
  const kernel = withBlob(rawKernel("6.1.0-kimg-ikconfig"), blob, 0x1000);
  const { report, kernelConfig: config } = await analyse(buildArmZImage({ tool: "gzip", kernel }).bytes);
  assert.equal(report.kernelConfig.layer, report.summary.kernelPath);
  assert.equal(report.kernelConfig.startMarkerOffset, 0x1000);
  assert.equal(decode(config ?? new Uint8Array(0)), SAMPLE_CONFIG);
});
