/**
 * The pictures of src/report/svg.ts: which regions a layout and a memory map contain, at which
 * offsets, and that names from the file are escaped and counts are capped.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { analyse, authenticodeLayout, findLayer, inspect, layerProtectionChecks, planFromTree, type Layer, type PeInfo } from "../src/index.js";
import {
  MAX_SVG_REGIONS,
  escapeXml,
  hashedRangesSvg,
  layoutRegions,
  layoutSvg,
  memoryMapFromElf,
  memoryMapFromPe,
  memoryMapSvg,
  memoryMapsFromPlan,
} from "../src/report/svg.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildElf, buildZboot, zbootInputs } from "../support/builders/images.js";
import { DATA_FLAGS, MACHINE, SCN_EXEC, SCN_READ, SCN_WRITE, TEXT_FLAGS, buildPe } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

const SAMPLE = new Uint8Array(readFileSync(new URL("../samples/arm64-zboot-gzip.efi", import.meta.url)));

function layer(root: Layer, path: string): Layer {
  const l = findLayer(root, path);
  assert.ok(l, `no layer ${path}`);
  return l;
}

function peOf(root: Layer, path: string): PeInfo {
  const pe = layer(root, path).pe;
  assert.ok(pe, `no PE at ${path}`);
  return pe;
}

/** The map of the PE image at `path` with the analysis' checks of it, as the page draws it without a plan. */
function peMap(root: Layer, path: string): ReturnType<typeof memoryMapFromPe> {
  return memoryMapFromPe(peOf(root, path), path, layerProtectionChecks(layer(root, path)));
}

function elfMap(root: Layer): ReturnType<typeof memoryMapFromElf> {
  return memoryMapFromElf(root, layerProtectionChecks(root));
}

/** An arm64 Image with a WIN_CERTIFICATE appended and data directory 4 pointing at it. */
async function signedImage(): Promise<{ image: Uint8Array; certAt: number; certSize: number }> {
  const image = buildArm64Image({ codeSize: 0x8000, bssSize: 0x20000 });
  const pe = peOf((await inspect(image)).root, "/pe");
  const certAt = Math.ceil(image.length / 8) * 8;
  const certSize = 0x40;
  const out = new Uint8Array(certAt + certSize);
  out.set(image);
  const v = new DataView(out.buffer);
  v.setUint32(certAt, certSize, true);
  v.setUint16(certAt + 4, 0x0200, true);
  v.setUint16(certAt + 6, 0x0002, true);
  v.setUint32(pe.dataDirectoryOffset + 4 * 8, certAt, true);
  v.setUint32(pe.dataDirectoryOffset + 4 * 8 + 4, certSize, true);
  return { image: out, certAt, certSize };
}

describe("layoutRegions", () => {
  it("lists the zboot header, the PE sections and the payload of the sample at their file offsets", async () => {
    const report = await inspect(SAMPLE);
    const regions = layoutRegions(report.root);
    const pick = (kind: string, name: string) => regions.find((r) => r.kind === kind && r.name === name);
    assert.deepEqual(
      { ...pick("header", "zboot header") },
      { kind: "header", lane: "headers", name: "zboot header", offset: 0, size: 64, detail: "zboot header @ 0x0, 64 bytes, 9 fields" },
    );
    assert.equal(pick("header", "COFF header")?.offset, 0x40);
    assert.equal(pick("header", "payload size trailer")?.offset, 0xe212);
    const text = pick("section", ".text");
    assert.deepEqual([text?.offset, text?.size, text?.perms, text?.lane], [0x1000, 0xd400, "r-x", "sections"]);
    assert.deepEqual([pick("section", ".data")?.offset, pick("section", ".data")?.perms], [0xf000, "rw-"]);
    const payload = pick("layer", "payload");
    assert.deepEqual([payload?.offset, payload?.size, payload?.format, payload?.codec, payload?.path], [0x1400, 52758, "compressed", "gzip", "/payload"]);
    // The PE view covers the same bytes as the zboot layer: it is not drawn as an inner layer.
    assert.equal(regions.filter((r) => r.kind === "layer").length, 1);
  });

  it("counts offsets from the start of a decompressed layer and shows the certificate table and padding", { skip: needs("zstd") }, async () => {
    const { image, certAt, certSize } = await signedImage();
    const { toCompress, trailer } = zbootInputs(image, "v6.4", "zstd22");
    const payload = compressWith("zstd", toCompress);
    const zboot = buildZboot({ machine: MACHINE.ARM64, compType: "zstd22", payload, trailer: trailer(payload) }).bytes;
    const report = await inspect(zboot);
    const kernel = layer(report.root, "/payload/decompressed");
    const regions = layoutRegions(kernel);
    const cert = regions.find((r) => r.kind === "certificates");
    const pad = regions.find((r) => r.kind === "padding");
    assert.deepEqual([cert?.offset, cert?.size, cert?.lane], [certAt, certSize, "signature"]);
    assert.deepEqual([pad?.offset, pad?.size], [certAt + certSize, toCompress.length - image.length]);
    assert.equal(regions.find((r) => r.name === "arm64 Image header")?.offset, 0);
  });

  it("lists ELF LOAD segments by file offset", async () => {
    const report = await inspect(buildElf());
    const segments = layoutRegions(report.root).filter((r) => r.kind === "section");
    assert.deepEqual(
      segments.map((r) => [r.name, r.offset, r.size]),
      [
        ["LOAD r-x", 0x1000, 0x2000],
        ["LOAD rw-", 0x3000, 67],
      ],
    );
  });

  it("clips regions to the layer and drops those outside it", () => {
    const fake: Layer = {
      path: "/",
      format: "data",
      title: "data",
      space: "file",
      offset: 0,
      size: 0x100,
      arch: null,
      structures: [
        { name: "inside", offset: 0x10, size: 0x10, fields: [] },
        { name: "overhanging", offset: 0xf0, size: 0x100, fields: [] },
        { name: "outside", offset: 0x1000, size: 0x10, fields: [] },
        { name: "empty", offset: 0x20, size: 0, fields: [] },
      ],
      info: {},
      children: [],
    };
    assert.deepEqual(
      layoutRegions(fake).map((r) => [r.name, r.offset, r.size]),
      [
        ["inside", 0x10, 0x10],
        ["overhanging", 0xf0, 0x10],
      ],
    );
  });
});

describe("layoutSvg", () => {
  it("draws one focusable rect per region with its offset and size, and a close-up on request", async () => {
    const report = await inspect(SAMPLE);
    const svg = layoutSvg(report.root);
    const rects = [...svg.matchAll(/<rect class="k-region [^"]*"[^>]*data-kind="(\w+)" data-name="([^"]*)" data-offset="(\d+)" data-size="(\d+)"/g)].map(
      (m) => [m[1], m[2], Number(m[3]), Number(m[4])],
    );
    assert.equal(rects.length, layoutRegions(report.root).length);
    assert.ok(rects.some((r) => r[0] === "layer" && r[1] === "payload" && r[2] === 0x1400 && r[3] === 52758));
    assert.match(
      svg,
      /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="kimg-svg kimg-layout"[^>]* role="img" aria-label="Layout of \/ \(EFI zboot image \(arm64, gzip\)\)/,
    );
    assert.equal((svg.match(/tabindex="0"/g) ?? []).length, rects.length);
    const closeUp = layoutSvg(report.root, { end: 0x1000 });
    assert.match(closeUp, /data-start="0" data-end="4096"/);
    // Sections and the payload start at or after 0x1000: only the headers lane is left.
    assert.doesNotMatch(closeUp, /data-kind="section"|data-kind="layer"/);
  });

  it("escapes names that come from the file", async () => {
    const nasty = `<b>&"'`;
    const pe = buildPe({ machine: MACHINE.AMD64, sections: [{ name: nasty, data: new Uint8Array(0x200), characteristics: TEXT_FLAGS }] });
    const report = await inspect(pe.bytes);
    const view = layer(report.root, "/");
    const svg = layoutSvg(view) + memoryMapSvg(peMap(report.root, "/"));
    assert.equal(escapeXml(nasty), "&lt;b&gt;&amp;&quot;&#39;");
    assert.ok(svg.includes(`data-name="&lt;b&gt;&amp;&quot;&#39;"`));
    assert.ok(!svg.includes("<b>"));
  });

  it(`draws at most ${MAX_SVG_REGIONS} regions and says how many it left out`, () => {
    const structures = Array.from({ length: 5000 }, (_, i) => ({ name: `s${i}`, offset: i, size: 1, fields: [] }));
    const fake: Layer = { path: "/", format: "data", title: "data", space: "file", offset: 0, size: 5000, arch: null, structures, info: {}, children: [] };
    const svg = layoutSvg(fake);
    assert.equal((svg.match(/<rect class="k-region /g) ?? []).length, MAX_SVG_REGIONS);
    assert.match(svg, />3000 more regions not drawn</);
  });
});

describe("memory maps", () => {
  it("maps a PE image by RVA with W^X and NX_COMPAT badges and the EFI entry", async () => {
    const report = await inspect(SAMPLE);
    const map = peMap(report.root, "/payload/decompressed/pe");
    assert.deepEqual(
      map.regions.map((r) => [r.name, r.offset, r.size, r.perms]),
      [
        ["headers", 0, 0x1000, "r--"],
        [".text", 0x1000, 0x20000, "r-x"],
        [".data", 0x21000, 0xd000, "rw-"],
      ],
    );
    assert.equal(map.span, 0x2e000);
    assert.deepEqual(
      map.marks.map((m) => [m.offset, m.label]),
      [[0x1100, "EFI entry 0x1100"]],
    );
    // The analysis' checks (the ones `kimg plan` prints), not the picture's own.
    assert.deepEqual(
      map.checks.map((c) => [c.id, c.status]),
      [
        ["w^x", "pass"],
        ["section-alignment", "pass"],
        ["sections-overlap", "pass"],
        ["header-not-executable", "pass"],
        ["entry-executable", "pass"],
        ["nx-compat", "pass"],
        ["control-flow", "info"],
      ],
    );
    const svg = memoryMapSvg(map);
    assert.match(svg, /data-check="w\^x" data-status="pass"/);
    assert.match(svg, /data-check="nx-compat" data-status="pass"/);
    assert.match(svg, /data-mark="EFI entry 0x1100" data-offset="4352"/);
    assert.match(svg, /data-name="\.text" data-offset="4096" data-size="131072" data-perms="r-x"/);
  });

  it("fails W^X for a writable code section; a clear NX_COMPAT is information", async () => {
    const rwx = (SCN_READ | SCN_WRITE | SCN_EXEC | 0x20) >>> 0;
    const pe = buildPe({
      machine: MACHINE.AMD64,
      dllCharacteristics: 0,
      sections: [
        { name: ".text", data: new Uint8Array(0x200), characteristics: rwx },
        { name: ".data", data: new Uint8Array(0x200), characteristics: DATA_FLAGS },
      ],
    });
    const map = peMap((await inspect(pe.bytes)).root, "/");
    assert.deepEqual(
      map.checks.map((c) => [c.id, c.status]),
      [
        ["w^x", "fail"],
        ["section-alignment", "pass"],
        ["sections-overlap", "pass"],
        ["header-not-executable", "pass"],
        ["entry-executable", "pass"],
        ["nx-compat", "info"],
        ["control-flow", "info"],
      ],
    );
    assert.match(map.checks[0]?.detail ?? "", /^writable and executable: \.text: firmware that maps sections by their flags/);
    assert.match(memoryMapSvg(map), /class="k-region k-rwx"/);
  });

  it("maps ELF segments from the lowest virtual address", async () => {
    const map = elfMap((await inspect(buildElf({ entry: 0xffffffff81001040n }))).root);
    assert.ok(map);
    assert.equal(map.base, "0xffffffff81001000");
    assert.deepEqual(
      map.regions.map((r) => [r.name, r.offset, r.size]),
      [
        ["LOAD r-x", 0, 0x2100],
        ["LOAD rw-", 0x2000, 0x143],
      ],
    );
    assert.deepEqual(
      map.marks.map((m) => [m.offset, m.label]),
      [[0x40, "e_entry 0xffffffff81001040"]],
    );
    assert.match(memoryMapSvg(map), />0xffffffff81001000</);
  });

  it("maps by physical address when e_entry is physical, as in an x86 vmlinux", async () => {
    const map = elfMap((await inspect(buildElf({ entry: 0x1000n }))).root);
    assert.ok(map);
    assert.deepEqual([map.unit, map.base], ["paddr", "0x1000"]);
    assert.deepEqual(
      map.regions.map((r) => [r.offset, r.size]),
      [
        [0, 0x2100],
        [0x2000, 0x143],
      ],
    );
    assert.deepEqual(
      map.marks.map((m) => [m.offset, m.label]),
      [[0, "e_entry 0x1000"]],
    );
  });

  it("marks the loader entry on a bare Image's own PE view", async () => {
    const { report, tree } = await analyse(buildArm64Image());
    const maps = memoryMapsFromPlan(planFromTree(tree), report);
    assert.deepEqual(
      maps.map((m) => m.path),
      ["/pe"],
    );
    assert.deepEqual(
      maps[0]?.marks.map((m) => m.label),
      ["EFI entry 0x1100", "loader entry +0x0", "branch → +0x1040"],
    );
  });

  it("draws one map per table the boot plan read, with the plan's checks and the loader entry on the kernel", async () => {
    const { report, tree } = await analyse(SAMPLE);
    const plan = planFromTree(tree);
    const maps = memoryMapsFromPlan(plan, report);
    assert.deepEqual(
      maps.map((m) => m.path),
      ["/pe", "/payload/decompressed/pe"],
    );
    const kernel = maps[1];
    assert.ok(kernel);
    assert.deepEqual(
      kernel.marks.map((m) => m.label),
      ["EFI entry 0x1100", "loader entry +0x0", "branch → +0x1040"],
    );
    const ids = kernel.checks.map((c) => c.id);
    for (const id of ["w^x", "nx-compat", "entry-branch"]) assert.ok(ids.includes(id), `${id} in ${ids.join(", ")}`);
    // All pass; the sample declares no CET/CFI flags, which is information (issue 17's control-flow check).
    assert.ok(kernel.checks.every((c) => c.status === "pass" || (c.id === "control-flow" && c.status === "info")));
    // Every check with a layer lands on exactly one map; dtb-size has none and stays off them.
    const onMaps = maps.flatMap((m) => m.checks).length;
    assert.equal(onMaps, plan.checks.filter((c) => c.layer !== undefined).length);
  });
});

describe("hashedRangesSvg", () => {
  it("draws the ranges the Authenticode digest hashes and the ones it leaves out", async () => {
    const { tree, report } = await analyse(SAMPLE);
    const pe = peOf(report.root, "/pe");
    const bytes = tree.bytes.get("/pe");
    assert.ok(bytes);
    const ranges = authenticodeLayout(bytes, pe);
    const svg = hashedRangesSvg("/pe", ranges, bytes.length);
    const drawn = [...svg.matchAll(/<rect class="k-region (k-\w+)"[^>]*data-kind="(\w+)" data-name="([^"]*)" data-offset="(\d+)" data-size="(\d+)"/g)].map(
      (m) => [m[1], m[2], m[3], Number(m[4]), Number(m[5])],
    );
    assert.deepEqual(drawn, [
      ...ranges.hashed.map((r) => ["k-hashed", "hashed", r.label, r.start, r.end - r.start]),
      ...ranges.skipped.map((r) => ["k-skipped", "skipped", r.label, r.start, r.end - r.start]),
    ]);
    assert.deepEqual(
      ranges.skipped.map((r) => [r.label, r.start]),
      [
        ["CheckSum", 0x98],
        ["certificate-table entry", 0xe8],
      ],
    );
    const closeUp = hashedRangesSvg("/pe", ranges, bytes.length, { end: 0x200 });
    assert.match(closeUp, /data-start="0" data-end="512"/);
    assert.match(closeUp, /<title>not hashed: CheckSum, 0x98 to 0x9c \(4 bytes\)<\/title>/);
  });
});
