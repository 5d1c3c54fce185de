/**
 * `kimg extract` on each boot container (issue 15): `--all DIR` writes every layer under its safe
 * name, byte-exact; `--layer` reaches a part by its FIT node name or Android field name.
 * FIT from mkimage, Android boot v2 from mkbootimg, vendor_boot v4 and a zImage from the builders.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { unpack, unpackLayers } from "../src/api/index.js";
import { layerFileName } from "../src/report/file-names.js";
import { buildDtbo, buildNewcCpio, buildVendorBootV4 } from "../support/builders/android.js";
import { buildFit, FIT_BOARD_DTS, fitInputs, removeDir } from "../support/builders/fit.js";
import { buildArm64Image } from "../support/builders/images.js";
import { buildArmZImage, rawKernel } from "../support/builders/self-decompressing.js";
import { needs } from "./helpers/tools.js";

const work = mkdtempSync(join(tmpdir(), "kimg-container-extract-"));

function kimg(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
}

/** `extract --all` writes exactly the layers unpackLayers gives, each under its safe name, byte-exact. */
async function extractAll(name: string, bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const input = join(work, name);
  writeFileSync(input, bytes);
  const dir = join(work, `${name}.all`);
  const r = kimg("extract", "--all", dir, "--json", input);
  assert.equal(r.status, 0, r.stderr);
  const written = JSON.parse(r.stdout) as { written: Array<{ layer: string; path: string; bytes: number }>; archives?: unknown[] };
  const { layers } = await unpackLayers(bytes);
  assert.deepEqual(
    written.written.map((w) => [w.layer, w.path]),
    layers.map((l) => [l.layer.path, join(dir, layerFileName(l.layer))]),
  );
  // One file per layer, and one folder per archive layer (a ramdisk's files, issue 16).
  const entries = readdirSync(dir, { withFileTypes: true });
  assert.equal(entries.filter((e) => e.isFile()).length, layers.length);
  assert.equal(entries.filter((e) => e.isDirectory()).length, written.archives?.length ?? 0);
  for (const l of layers) assert.deepEqual(new Uint8Array(readFileSync(join(dir, layerFileName(l.layer)))), l.data, l.layer.path);
  return new Map(layers.map((l) => [l.layer.path, l.data]));
}

async function layer(bytes: Uint8Array, path: string): Promise<Uint8Array> {
  return (await unpack(bytes, { layer: path })).data;
}

test("FIT (mkimage -f): --all, and --layer by node name (/kernel-2, /fdt-1, /ramdisk-1, /kernel-1/decompressed)", {
  skip: needs("mkimage", "dtc", "gzip"),
}, async () => {
  const inputs = fitInputs();
  const built = buildFit(inputs, "external");
  try {
    const all = await extractAll("image.itb", built.itb);
    for (const p of ["/kernel-1", "/kernel-1/decompressed", "/kernel-2", "/fdt-1", "/ramdisk-1"]) assert.ok(all.has(p), p);
    assert.deepEqual(await layer(built.itb, "/kernel-2"), inputs["kernel-2"]);
    assert.deepEqual(await layer(built.itb, "/fdt-1"), inputs["fdt-1"]);
    assert.deepEqual(await layer(built.itb, "/ramdisk-1"), inputs["ramdisk-1"]);
    assert.deepEqual(await layer(built.itb, "/kernel-1"), inputs["kernel-1"]);
    assert.deepEqual(await layer(built.itb, "/kernel-1/decompressed"), inputs["kernel-2"]);
    // The CLI's --layer with a node name, as dumpimage -p would give it.
    const out = join(work, "kernel-2.bin");
    const r = kimg("extract", "--layer", "/kernel-2", "-o", out, built.path);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(out)), inputs["kernel-2"]);
  } finally {
    removeDir(built.dir);
  }
});

test("Android boot v2 (mkbootimg) and vendor_boot v4: --all, and --layer by field name", { skip: needs("mkbootimg", "dtc") }, async () => {
  const kernel = buildArm64Image({ codeSize: 0x2000 });
  const ramdisk = buildNewcCpio([{ name: "init", data: new TextEncoder().encode("#!/bin/sh\n") }]);
  const dtb = new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: FIT_BOARD_DTS }));
  const files = Object.entries({ kernel, ramdisk, dtb, second: new Uint8Array([9, 8, 7]) }).map(([n, b]) => {
    writeFileSync(join(work, `a.${n}`), b);
    return join(work, `a.${n}`);
  });
  const [k, rd, d, second] = files as [string, string, string, string];
  const out = join(work, "boot-v2.img");
  execFileSync("mkbootimg", ["--kernel", k, "--ramdisk", rd, "--second", second, "--dtb", d, "--header_version", "2", "-o", out]);
  const boot = new Uint8Array(readFileSync(out));
  const all = await extractAll("boot-v2.img", boot);
  assert.deepEqual([...all.keys()], ["/kernel", "/ramdisk", "/second", "/dtb"]);
  assert.deepEqual(await layer(boot, "/kernel"), kernel);
  assert.deepEqual(await layer(boot, "/ramdisk"), ramdisk);
  assert.deepEqual(await layer(boot, "/second"), new Uint8Array([9, 8, 7]));
  assert.deepEqual(await layer(boot, "/dtb"), dtb);

  const vendor = buildVendorBootV4({
    pageSize: 2048,
    ramdisks: [
      { name: "platform", type: 1, data: ramdisk },
      { name: "dlkm", type: 3, data: buildNewcCpio([]) },
    ],
    dtb,
    bootconfig: new TextEncoder().encode("androidboot.hardware = kimg\n"),
  });
  const vall = await extractAll("vendor_boot.img", vendor);
  assert.ok(vall.has("/vendor_ramdisk.platform") && vall.has("/vendor_ramdisk.dlkm") && vall.has("/bootconfig"), [...vall.keys()].join(" "));
  assert.deepEqual(await layer(vendor, "/vendor_ramdisk.platform"), ramdisk);
  assert.deepEqual(await layer(vendor, "/dtb"), dtb);
  assert.equal(new TextDecoder().decode(await layer(vendor, "/bootconfig")), "androidboot.hardware = kimg\n");
  // A DTBO's entries, by index.
  const dtbo = buildDtbo([{ dtb }, { dtb }]);
  assert.deepEqual(await layer(dtbo, "/dt1"), dtb);
});

test("Arm zImage: --all writes the zImage, its payload and the decompressed Image", { skip: needs("xz") }, async () => {
  const raw = rawKernel("6.1.0-kimg-extract", 0x8000);
  const z = buildArmZImage({ tool: "xz", kernel: raw });
  const all = await extractAll("zImage", z.bytes);
  assert.deepEqual(all.get("/payload/decompressed"), raw);
  assert.deepEqual(await layer(z.bytes, "/payload/decompressed"), raw);
});
