/**
 * Android boot and vendor_boot images: versions 0-3 and vendor_boot v3 made by Debian's
 * `mkbootimg` and compared with what `unpack_bootimg` prints and extracts; v4 (which Debian's
 * tool does not write) from support/builders/android.ts; truncated and hostile variants.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { unpackLayers } from "../src/api/index.js";
import { KimgError } from "../src/io/errors.js";
import { decodeOsVersion, isAndroidBoot, isAndroidVendorBoot } from "../src/formats/android-boot.js";
import { buildBootV4, buildNewcCpio, buildVendorBootV4, packOsVersion } from "../support/builders/android.js";
import { ByteWriter, text } from "../support/builders/bytes.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image } from "../support/builders/images.js";
import { codes, field, inspect, layerAt, paths } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

const work = mkdtempSync(join(tmpdir(), "kimg-android-"));
after(() => rmSync(work, { recursive: true, force: true }));

const kernelRaw = buildArm64Image();
const initrd = buildNewcCpio([{ name: "init", data: text("#!/bin/sh\nexec /bin/sh\n") }]);
const DTS = '/dts-v1/;\n/ { model = "kimg android test"; compatible = "kimg,test"; };\n';

function file(name: string, data: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, data);
  return path;
}

function dtb(): Uint8Array {
  return new Uint8Array(execFileSync("dtc", ["-I", "dts", "-O", "dtb"], { input: DTS }));
}

/** unpack_bootimg's default output ("key: value" lines) and the files it wrote. */
function unpackBootimg(image: string, out: string): Map<string, string> {
  const printed = execFileSync("unpack_bootimg", ["--boot_img", image, "--out", out], { encoding: "utf8" });
  const fields = new Map<string, string>();
  for (const line of printed.split("\n")) {
    const at = line.indexOf(": ");
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 2));
  }
  return fields;
}

async function layersOf(image: Uint8Array): Promise<Map<string, Uint8Array>> {
  const { layers } = await unpackLayers(image);
  return new Map(layers.map((l) => [l.layer.path, l.data]));
}

/**
 * Debian's mkbootimg (android-platform-tools 29) computes the recovery DTBO offset with "/", a
 * float under Python 3, and fails on --recovery_dtbo; the tests run a copy with "//" (as AOSP
 * fixed it), every other line as Debian ships it.
 */
function mkbootimg(): string {
  const path = join(work, "mkbootimg.py");
  const source = readFileSync(execFileSync("sh", ["-c", "command -v mkbootimg"], { encoding: "utf8" }).trim(), "utf8");
  const fixed = source.replace("return (image_size + page_size - 1) / page_size", "return (image_size + page_size - 1) // page_size");
  writeFileSync(path, fixed);
  return path;
}

for (const version of [0, 1, 2, 3]) {
  for (const kernelKind of ["raw", "gzip"] as const) {
    test(`boot.img v${version} from mkbootimg, ${kernelKind} kernel: fields and parts as unpack_bootimg sees them`, {
      skip: needs("gzip", "dtc", "mkbootimg", "unpack_bootimg"),
    }, async () => {
      const kernel = kernelKind === "gzip" ? compressWith("gzip", kernelRaw) : kernelRaw;
      const ramdisk = compressWith("gzip", initrd);
      const tag = `v${version}-${kernelKind}`;
      // A command line over 512 bytes spills into extra_cmdline in v0-v2.
      const cmdline = version === 1 ? `console=ttyS0 ${"x".repeat(600)}` : "console=ttyAMA0 androidboot.hardware=kimg";
      const args = ["--kernel", file(`${tag}.kernel`, kernel), "--ramdisk", file(`${tag}.ramdisk`, ramdisk), "--cmdline", cmdline];
      args.push("--header_version", String(version), "--os_version", "13.1.2", "--os_patch_level", "2024-05");
      if (version < 3) args.push("--second", file(`${tag}.second`, text("second stage loader")), "--board", "kimgboard", "--pagesize", "4096");
      if (version === 1 || version === 2) args.push("--recovery_dtbo", file(`${tag}.dtbo`, new Uint8Array(3000).fill(0xd7)));
      if (version === 2) args.push("--dtb", file(`${tag}.dtb`, dtb()));
      const imagePath = join(work, `${tag}.img`);
      execFileSync("python3", [mkbootimg(), ...args, "-o", imagePath]);
      const image = new Uint8Array(readFileSync(imagePath));
      const out = join(work, `${tag}.out`);
      const printed = unpackBootimg(imagePath, out);

      const r = await inspect(image);
      assert.deepEqual(codes(r), []);
      const root = layerAt(r, "/");
      assert.equal(root.format, "android-boot");
      assert.equal(r.summary.kernelFormat, "arm64-image");
      assert.equal(r.summary.compression, kernelKind === "gzip" ? "gzip" : null);
      const info = root.info;
      assert.equal(String(info.headerVersion), printed.get("boot image header version"));
      assert.equal(String(info.kernelSize), printed.get("kernel_size"));
      assert.equal(String(info.ramdiskSize), printed.get("ramdisk size"));
      assert.equal(info.osVersion, printed.get("os version"));
      assert.equal(info.osPatchLevel, printed.get("os patch level"));
      assert.equal(info.osVersion, "13.1.2");
      assert.equal(info.osPatchLevel, "2024-05");
      assert.equal(info.cmdline, printed.get("command line args"));
      assert.equal(field(root, "boot_img_hdr", "header_version").offset, 40);
      if (version < 3) {
        assert.equal(info.pageSize, 4096);
        assert.equal(String(info.pageSize), printed.get("page size"));
        assert.equal(info.kernelAddr, printed.get("kernel load address"));
        assert.equal(info.ramdiskAddr, printed.get("ramdisk load address"));
        assert.equal(info.tagsAddr, printed.get("kernel tags load address"));
        assert.equal(String(info.secondSize), printed.get("second bootloader size"));
        assert.equal(info.secondAddr, printed.get("second bootloader load address"));
        assert.equal(info.name, printed.get("product name"));
        assert.equal(info.extraCmdline, printed.get("additional command line args"));
        assert.equal(field(root, "boot_img_hdr", "page_size").offset, 36);
      } else {
        assert.equal(info.pageSize, 4096);
        assert.equal(layerAt(r, "/kernel").offset, 4096);
      }
      if (version === 1 || version === 2) {
        assert.equal(String(info.recoveryDtboSize), printed.get("recovery dtbo size"));
        assert.equal(info.recoveryDtboOffset, printed.get("recovery dtbo offset"));
        assert.equal(info.recoveryDtboSize, 3000);
        assert.equal(String(info.headerSize), printed.get("boot header size"));
      }
      if (version === 2) {
        assert.equal(String(info.dtbSize), printed.get("dtb size"));
        assert.equal(info.dtbAddr, printed.get("dtb address"));
        assert.equal(layerAt(r, "/dtb").format, "dtb");
      }
      if (version === 1) assert.equal(`${info.cmdline}${info.extraCmdline}`, cmdline);

      // Byte-exact parts, as unpack_bootimg extracts them.
      const layers = await layersOf(image);
      const expected: Array<[string, string]> = [
        ["/kernel", "kernel"],
        ["/ramdisk", "ramdisk"],
      ];
      if (version < 3) expected.push(["/second", "second"]);
      if (version === 1 || version === 2) expected.push(["/recovery_dtbo", "recovery_dtbo"]);
      if (version === 2) expected.push(["/dtb", "dtb"]);
      for (const [path, name] of expected) {
        assert.deepEqual(layers.get(path), new Uint8Array(readFileSync(join(out, name))), `${path} = unpack_bootimg's ${name}`);
      }
      assert.deepEqual(layers.get("/kernel"), kernel);
      assert.deepEqual(layers.get("/ramdisk/decompressed"), initrd);
      assert.equal(layerAt(r, "/ramdisk/decompressed").format, "cpio");
      const innerKernel = kernelKind === "gzip" ? "/kernel/decompressed" : "/kernel";
      assert.equal(layerAt(r, innerKernel).format, "arm64-image");
      assert.deepEqual(layers.get(innerKernel), kernelRaw);
    });
  }
}

test("boot.img v0 with an lz4 (legacy) kernel and 2048-byte pages: the kernel decompressed and inspected", {
  skip: needs("lz4", "gzip", "mkbootimg", "unpack_bootimg"),
}, async () => {
  const kernel = compressWith("lz4", kernelRaw);
  const imagePath = join(work, "v0-lz4.img");
  execFileSync("mkbootimg", ["--kernel", file("v0-lz4.kernel", kernel), "--ramdisk", file("v0-lz4.rd", compressWith("gzip", initrd)), "-o", imagePath]);
  const image = new Uint8Array(readFileSync(imagePath));
  const r = await inspect(image);
  assert.deepEqual(codes(r), []);
  assert.equal(layerAt(r, "/").info.pageSize, 2048);
  assert.equal(layerAt(r, "/ramdisk").offset, 2048 + Math.ceil(kernel.length / 2048) * 2048);
  assert.equal(layerAt(r, "/kernel/decompressed").format, "arm64-image");
  assert.equal(r.summary.compression, "lz4");
  const layers = await layersOf(image);
  assert.deepEqual(layers.get("/kernel/decompressed"), kernelRaw);
});

for (const pageSize of [4096, 2048]) {
  test(`vendor_boot v3 from mkbootimg, ${pageSize}-byte pages`, { skip: needs("gzip", "dtc", "mkbootimg", "unpack_bootimg") }, async () => {
    const ramdisk = compressWith("gzip", initrd);
    const device = dtb();
    const imagePath = join(work, `vendor-v3-${pageSize}.img`);
    execFileSync("mkbootimg", [
      "--header_version",
      "3",
      "--pagesize",
      String(pageSize),
      "--vendor_ramdisk",
      file(`vendor-v3-${pageSize}.rd`, ramdisk),
      "--dtb",
      file(`vendor-v3-${pageSize}.dtb`, device),
      "--vendor_cmdline",
      "androidboot.console=ttyMSM0",
      "--board",
      "kimgvendor",
      "--vendor_boot",
      imagePath,
    ]);
    const image = new Uint8Array(readFileSync(imagePath));
    const r = await inspect(image);
    assert.deepEqual(codes(r), []);
    const root = layerAt(r, "/");
    assert.equal(root.format, "android-vendor-boot");
    assert.equal(root.info.pageSize, pageSize);
    const layers = await layersOf(image);
    // The header (over 2 KiB) takes two 2048-byte pages: the parts are where mkbootimg wrote them.
    assert.deepEqual(layers.get("/vendor_ramdisk"), ramdisk);
    assert.deepEqual(layers.get("/vendor_ramdisk/decompressed"), initrd);
    assert.deepEqual(layers.get("/dtb"), device);
    assert.equal(layerAt(r, "/dtb").format, "dtb");
    if (pageSize === 4096) {
      // Debian's unpack_bootimg assumes a one-page header, right only for pages of 4 KiB and more.
      const out = join(work, `vendor-v3-${pageSize}.out`);
      const printed = unpackBootimg(imagePath, out);
      assert.equal(String(root.info.headerVersion), printed.get("vendor boot image header version"));
      assert.equal(root.info.kernelAddr, printed.get("kernel load address"));
      assert.equal(root.info.ramdiskAddr, printed.get("ramdisk load address"));
      assert.equal(String(root.info.vendorRamdiskSize), printed.get("vendor ramdisk size"));
      assert.equal(root.info.cmdline, printed.get("vendor command line args"));
      assert.equal(root.info.tagsAddr, printed.get("kernel tags load address"));
      assert.equal(root.info.name, printed.get("product name"));
      assert.equal(String(root.info.dtbSize), printed.get("dtb size"));
      assert.equal(root.info.dtbAddr, printed.get("dtb address"));
      assert.deepEqual(layers.get("/vendor_ramdisk"), new Uint8Array(readFileSync(join(out, "vendor_ramdisk"))));
      assert.deepEqual(layers.get("/dtb"), new Uint8Array(readFileSync(join(out, "dtb"))));
    }
  });
}

test("boot.img v4: 4096-byte pages, the boot signature described, kernel and ramdisk exact", { skip: needs("gzip") }, async () => {
  const kernel = compressWith("gzip", kernelRaw);
  const ramdisk = compressWith("gzip", initrd);
  const signature = new Uint8Array(4096).fill(0x41);
  const image = buildBootV4({ kernel, ramdisk, signature, osVersion: packOsVersion([14, 0, 0], 2025, 1), cmdline: "console=ttyS0" });
  const r = await inspect(image);
  assert.deepEqual(codes(r), []);
  const root = layerAt(r, "/");
  assert.equal(root.info.headerVersion, 4);
  assert.equal(root.info.osVersion, "14.0.0");
  assert.equal(root.info.osPatchLevel, "2025-01");
  assert.equal(root.info.signatureSize, 4096);
  assert.equal(field(root, "boot_img_hdr_v4", "signature_size").offset, 1580);
  const sigOffset = 4096 + Math.ceil(kernel.length / 4096) * 4096 + Math.ceil(ramdisk.length / 4096) * 4096;
  assert.equal(field(root, "boot signature", "signature").offset, sigOffset);
  const layers = await layersOf(image);
  assert.deepEqual(layers.get("/kernel"), kernel);
  assert.deepEqual(layers.get("/kernel/decompressed"), kernelRaw);
  assert.deepEqual(layers.get("/ramdisk/decompressed"), initrd);
  assert.deepEqual(layers.get("/boot_signature"), signature);
  assert.equal(r.summary.kernelFormat, "arm64-image");
});

test("vendor_boot v4: the vendor ramdisk table (name, type, board id), one layer per ramdisk, bootconfig", { skip: needs("gzip", "dtc") }, async () => {
  const platform = compressWith("gzip", initrd);
  const dlkm = compressWith("gzip", buildNewcCpio([{ name: "lib/modules/m.ko", data: new Uint8Array(300).fill(7) }]));
  const bootconfig = text("androidboot.hardware = kimg\n");
  const device = dtb();
  const image = buildVendorBootV4({
    pageSize: 2048,
    ramdisks: [
      { name: "platform", type: 1, data: platform, boardId: [0x1234, 0, 7] },
      { name: "dlkm", type: 3, data: dlkm },
    ],
    dtb: device,
    bootconfig,
    cmdline: "androidboot.console=ttyS0",
    name: "kimgv4",
  });
  const r = await inspect(image);
  assert.deepEqual(codes(r), []);
  const root = layerAt(r, "/");
  assert.equal(root.format, "android-vendor-boot");
  assert.equal(root.info.headerVersion, 4);
  assert.equal(root.info.bootconfigSize, bootconfig.length);
  assert.deepEqual(
    (root.info.vendorRamdisks as Array<{ name: string; type: string }>).map((e) => [e.name, e.type]),
    [
      ["platform", "platform"],
      ["dlkm", "dlkm"],
    ],
  );
  assert.equal((root.info.vendorRamdisks as Array<{ boardId: string[] }>)[0]?.boardId[0], "0x1234");
  assert.equal(field(root, "vendor_ramdisk_table_entry_v4[1]", "ramdisk_type").meaning, "dlkm");
  assert.ok(paths(r.root).includes("/vendor_ramdisk.platform/decompressed"));
  const layers = await layersOf(image);
  assert.deepEqual(layers.get("/vendor_ramdisk.platform"), platform);
  assert.deepEqual(layers.get("/vendor_ramdisk.dlkm"), dlkm);
  assert.deepEqual(layers.get("/vendor_ramdisk.platform/decompressed"), initrd);
  assert.deepEqual(layers.get("/dtb"), device);
  assert.deepEqual(layers.get("/bootconfig"), bootconfig);
  assert.equal(layerAt(r, "/bootconfig").format, "text");
});

test("os_version decodes as unpack_bootimg formats it", () => {
  assert.deepEqual(decodeOsVersion(packOsVersion([11, 0, 0], 2021, 3)), { version: "11.0.0", patchLevel: "2021-03" });
  // 0 is "not set" (mkbootimg's default), which trixie's unpack_bootimg prints as None.
  assert.deepEqual(decodeOsVersion(0), { version: null, patchLevel: null });
  assert.deepEqual(decodeOsVersion(packOsVersion([13, 0, 0], 2000, 0)), { version: "13.0.0", patchLevel: null });
  assert.deepEqual(decodeOsVersion(packOsVersion([0, 0, 0], 2024, 2)), { version: null, patchLevel: "2024-02" });
  assert.deepEqual(decodeOsVersion(0xffffffff), { version: "127.127.127", patchLevel: "2127-15" });
});

/** The root format, or the code of the KimgError inspect threw. */
async function formatOrCode(bytes: Uint8Array): Promise<string> {
  try {
    return (await inspect(bytes)).root.format;
  } catch (e) {
    if (e instanceof KimgError) return e.code;
    throw e;
  }
}

test("hostile and truncated Android images: coded diagnostics, no crash", { skip: needs("gzip") }, async () => {
  const kernel = compressWith("gzip", kernelRaw);
  const good = buildBootV4({ kernel, ramdisk: compressWith("gzip", initrd) });
  // Cut inside the ramdisk: the kernel is still read, the ramdisk is a coded error.
  const kernelEnd = 4096 + Math.ceil(kernel.length / 4096) * 4096;
  const cut = await inspect(good.subarray(0, kernelEnd + 10));
  assert.equal(cut.root.format, "android-boot");
  assert.ok(codes(cut).includes("ANDROID_PART_OUTSIDE"));
  assert.equal(layerAt(cut, "/kernel/decompressed").format, "arm64-image");
  // Cut inside the kernel or the header: no longer an Android image (the probe checks the sizes).
  for (const n of [8, 44, 1000, 4096, 5000]) assert.equal(await formatOrCode(good.subarray(0, n)), "E_UNKNOWN_FORMAT", `${n} bytes`);
  // Absurd sizes and versions.
  const hostile = (edit: (w: ByteWriter) => void): Uint8Array => {
    const w = new ByteWriter(good.length);
    w.set(0, good);
    edit(w);
    return w.bytes;
  };
  assert.equal(isAndroidBoot(hostile((w) => w.u32(8, 0xffffffff))), false);
  assert.equal(isAndroidBoot(hostile((w) => w.u32(40, 5))), false);
  assert.equal(isAndroidBoot(hostile((w) => w.u32(40, 1).u32(36, 3000))), false);
  const hugeRamdisk = await inspect(hostile((w) => w.u32(12, 0xfffff000)));
  assert.ok(codes(hugeRamdisk).includes("ANDROID_PART_OUTSIDE"));
  const hugeSignature = await inspect(hostile((w) => w.u32(1580, 0xffffffff)));
  assert.ok(codes(hugeSignature).includes("ANDROID_PART_OUTSIDE"));

  const vendor = buildVendorBootV4({ ramdisks: [{ name: "a/../../b", type: 9, data: compressWith("gzip", initrd) }], dtb: new Uint8Array(64) });
  const v = await inspect(vendor);
  // A hostile name stays one path segment; an unknown type is named as such.
  assert.ok(paths(v.root).includes("/vendor_ramdisk.a_.._.._b"));
  assert.equal((layerAt(v, "/").info.vendorRamdisks as Array<{ type: string }>)[0]?.type, "unknown (9)");
  const vw = (edit: (w: ByteWriter) => void): Uint8Array => {
    const w = new ByteWriter(vendor.length);
    w.set(0, vendor);
    edit(w);
    return w.bytes;
  };
  for (const bad of [vw((w) => w.u32(2116, 0xffffffff)), vw((w) => w.u32(2120, 4)), vw((w) => w.u32(2112, 0x7fffffff))]) {
    const r = await inspect(bad);
    assert.equal(r.root.format, "android-vendor-boot");
    assert.ok(codes(r).includes("ANDROID_RAMDISK_TABLE_BAD"));
  }
  const entryOutside = await inspect(vw((w) => w.u32(4096 * 3 + 4, 0x7ffffff0)));
  assert.ok(codes(entryOutside).includes("ANDROID_PART_OUTSIDE"));
  assert.equal(isAndroidVendorBoot(vw((w) => w.u32(8, 2))), false);
  assert.equal(isAndroidVendorBoot(vw((w) => w.u32(24, 0xffffffff))), false);
  // Every prefix: never an exception.
  for (let n = 0; n < vendor.length; n += 509) assert.match(await formatOrCode(vendor.subarray(0, n)), /^(android-vendor-boot|E_[A-Z_]+)$/);
});
