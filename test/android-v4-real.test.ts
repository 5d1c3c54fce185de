/**
 * Android boot.img v4 and vendor_boot v4 (and v0-v3 for good measure) made by Debian trixie's
 * `mkbootimg` (1:34.0.5, which writes header version 4; bookworm's 1:29.0.6 refuses it), compared
 * field by field with what trixie's `unpack_bootimg` prints and part by part with the files it
 * writes. The two scripts are fetched by scripts/fetch-debian-mkbootimg.sh into $KIMG_DEBIAN_CACHE
 * (default /var/cache/kimg-debian)/tools/trixie-all/mkbootimg and run with the host's python3.
 * Without the cache the tests skip, unless KIMG_REQUIRE_TOOLS=1 (CI), where it fails.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { unpackLayers } from "../src/api/index.js";
import type { Layer } from "../src/model/report.js";
import { packOsVersion } from "../support/builders/android.js";
import { text } from "../support/builders/bytes.js";
import { compressWith } from "../support/builders/compress.js";
import { cpioArchive, S_IFDIR, S_IFLNK, S_IFREG } from "../support/builders/cpio.js";
import { buildArm64Image } from "../support/builders/images.js";
import { codes, field, inspect, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

const CACHE = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
const TOOLS = join(CACHE, "tools", "trixie-all", "mkbootimg");
const MKBOOTIMG = join(TOOLS, "mkbootimg");
const UNPACK_BOOTIMG = join(TOOLS, "unpack_bootimg");

function missing(): string | false {
  const absent = [MKBOOTIMG, UNPACK_BOOTIMG].filter((f) => !existsSync(f));
  if (absent.length === 0) return needs("python3", "gzip", "dtc");
  const reason = `trixie's mkbootimg not cached (${absent.join(", ")}): run scripts/fetch-debian-mkbootimg.sh`;
  if (process.env.KIMG_REQUIRE_TOOLS === "1") throw new Error(`KIMG_REQUIRE_TOOLS=1, but ${reason}`);
  return reason;
}
const skip = missing();
const toolVersion = skip ? "" : (readFileSync(join(TOOLS, "package"), "utf8").split(" ")[1] ?? "").trim();

const work = mkdtempSync(join(tmpdir(), "kimg-android-v4-"));
after(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, data: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, data);
  return path;
}

function mkbootimg(args: string[]): void {
  execFileSync("python3", [MKBOOTIMG, ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

/** unpack_bootimg's --format=info output as "key: value" lines (the vendor ramdisk table apart), and the directory it wrote. */
function unpackBootimg(image: string, out: string): { printed: Map<string, string>; table: Array<Map<string, string>>; raw: string } {
  const raw = execFileSync("python3", [UNPACK_BOOTIMG, "--boot_img", image, "--out", out, "--format=info"], { encoding: "utf8" });
  const printed = new Map<string, string>();
  const table: Array<Map<string, string>> = [];
  let entry: Map<string, string> | null = null;
  let boardId: string[] | null = null;
  for (const line of raw.split("\n")) {
    const t = line.trim();
    if (/^vendor_ramdisk\d+: \{$/.test(t)) {
      entry = new Map([["file", t.slice(0, t.indexOf(":"))]]);
      table.push(entry);
    } else if (entry && t === "board_id: [") {
      boardId = [];
    } else if (entry && boardId && t === "]") {
      entry.set("board_id", boardId.join(" "));
      boardId = null;
    } else if (entry && boardId) {
      boardId.push(...t.split(/[\s,]+/).filter(Boolean));
    } else if (entry && t === "}") {
      entry = null;
    } else {
      // "key: value", the value possibly empty ("additional command line args: ").
      const kv = /^([^:]+): ?(.*)$/.exec(line.trimStart());
      if (kv?.[1] !== undefined && kv[2] !== undefined) (entry ?? printed).set(kv[1], kv[2]);
    }
  }
  return { printed, table, raw };
}

async function layersOf(image: Uint8Array): Promise<Map<string, Uint8Array>> {
  const { layers } = await unpackLayers(image);
  return new Map(layers.map((l) => [l.layer.path, l.data]));
}

/** Each [unpack_bootimg key, header field, the field's offset in the AOSP struct]: the value kimg read equals what the tool printed. */
function sameFields(root: Layer, struct: string, printed: Map<string, string>, rows: Array<[string, string, number]>): void {
  for (const [key, name, offset] of rows) {
    const f = field(root, struct, name);
    assert.equal(f.offset, offset, `${struct}.${name} offset`);
    const shown = printed.get(key);
    assert.ok(shown !== undefined, `unpack_bootimg printed no "${key}"`);
    if (typeof f.value === "number" || typeof f.value === "bigint") assert.equal(BigInt(f.value), BigInt(shown), `${name} = ${key}`);
    else assert.equal(f.value, shown, `${name} = ${key}`);
  }
}

const kernelRaw = buildArm64Image();
const kernel = compressWith("gzip", kernelRaw);
/** A real initramfs layout: a directory, /init, a symlink. */
const initrd = cpioArchive([
  { name: "bin", mode: S_IFDIR | 0o755, ino: 1, nlink: 2 },
  { name: "init", mode: S_IFREG | 0o755, ino: 2, data: "#!/bin/sh\nexec /bin/sh\n" },
  { name: "bin/sh", mode: S_IFLNK | 0o777, ino: 3, data: "busybox" },
]);
const ramdisk = compressWith("gzip", initrd);
const DTS = '/dts-v1/;\n/ { model = "kimg android v4"; compatible = "kimg,v4"; };\n';
const dtb = (): Uint8Array => new Uint8Array(execFileSync("dtc", ["-I", "dts", "-O", "dtb"], { input: DTS }));

describe(`Android images from trixie's mkbootimg ${toolVersion}`, { skip }, () => {
  it("boot.img v4: every header field as unpack_bootimg prints it, kernel and ramdisk byte-exact, the boot signature as the tool writes it", async () => {
    // v3/v4 have one 1536-byte command line: longer than v0-v2's 512 to cover the whole field.
    const cmdline = `console=ttyAMA0 androidboot.hardware=kimg ${"k".repeat(900)}`;
    const imagePath = join(work, "boot-v4.img");
    mkbootimg([
      "--header_version",
      "4",
      "--kernel",
      file("v4.kernel", kernel),
      "--ramdisk",
      file("v4.ramdisk", ramdisk),
      "--cmdline",
      cmdline,
      "--os_version",
      "14.2.1",
      "--os_patch_level",
      "2025-03",
      "-o",
      imagePath,
    ]);
    const image = new Uint8Array(readFileSync(imagePath));
    const out = join(work, "boot-v4.out");
    const { printed } = unpackBootimg(imagePath, out);

    const r = await inspect(image);
    assert.deepEqual(codes(r), []);
    const root = layerAt(r, "/");
    assert.equal(root.format, "android-boot");
    assert.equal(printed.get("boot magic"), "ANDROID!");
    sameFields(root, "boot_img_hdr_v4", printed, [
      ["boot magic", "magic", 0],
      ["kernel_size", "kernel_size", 8],
      ["ramdisk size", "ramdisk_size", 12],
      ["boot image header version", "header_version", 40],
      ["command line args", "cmdline", 44],
      ["boot.img signature size", "signature_size", 1580],
    ]);
    // os_version (offset 16) decoded as the tool decodes it; header_size (20) as mkbootimg wrote it.
    assert.equal(field(root, "boot_img_hdr_v4", "os_version").offset, 16);
    assert.equal(field(root, "boot_img_hdr_v4", "os_version").value, packOsVersion([14, 2, 1], 2025, 3));
    assert.equal(root.info.osVersion, printed.get("os version"));
    assert.equal(root.info.osPatchLevel, printed.get("os patch level"));
    assert.equal(root.info.osVersion, "14.2.1");
    assert.equal(root.info.osPatchLevel, "2025-03");
    assert.equal(field(root, "boot_img_hdr_v4", "header_size").offset, 20);
    assert.equal(root.info.headerSize, 1584);
    assert.equal(root.info.cmdline, cmdline);
    assert.equal(root.info.pageSize, 4096);
    assert.equal(r.summary.kernelFormat, "arm64-image");
    assert.equal(r.summary.compression, "gzip");
    // This mkbootimg has no GKI signing: it writes signature_size 0 and no signature pages, and
    // unpack_bootimg extracts no boot_signature; kimg places no signature part either.
    assert.equal(root.info.signatureSize, 0);
    assert.equal(existsSync(join(out, "boot_signature")), false);
    assert.equal(image.length, 4096 + Math.ceil(kernel.length / 4096) * 4096 + Math.ceil(ramdisk.length / 4096) * 4096);

    const layers = await layersOf(image);
    assert.deepEqual([...layers.keys()].filter((p) => p.split("/").length === 2).sort(), ["/kernel", "/ramdisk"]);
    for (const name of ["kernel", "ramdisk"]) {
      assert.deepEqual(layers.get(`/${name}`), new Uint8Array(readFileSync(join(out, name))), `/${name} = unpack_bootimg's ${name}`);
    }
    assert.equal(layerAt(r, "/kernel").offset, 4096);
    assert.equal(layerAt(r, "/ramdisk").offset, 4096 + Math.ceil(kernel.length / 4096) * 4096);
    assert.deepEqual(layers.get("/kernel/decompressed"), kernelRaw);
    assert.equal(layerAt(r, "/kernel/decompressed").format, "arm64-image");
    assert.deepEqual(layers.get("/ramdisk/decompressed"), initrd);
    assert.equal(layerAt(r, "/ramdisk/decompressed").format, "cpio");
  });

  for (const pageSize of [4096, 2048]) {
    it(`vendor_boot v4, ${pageSize}-byte pages: header, vendor ramdisk table, every ramdisk, bootconfig and DTB as unpack_bootimg sees them`, async () => {
      const platform = ramdisk;
      const dlkm = compressWith("gzip", cpioArchive([{ name: "lib/modules/kimg.ko", mode: S_IFREG | 0o644, data: new Uint8Array(5000).fill(7) }]));
      const recovery = cpioArchive([{ name: "system/bin/recovery", mode: S_IFREG | 0o755, data: "recovery\n" }]);
      const bootconfig = text("androidboot.hardware = kimg\nandroidboot.serialno = 0123456789\n");
      const device = dtb();
      const tag = `vendor-v4-${pageSize}`;
      const imagePath = join(work, `${tag}.img`);
      mkbootimg([
        "--header_version",
        "4",
        "--pagesize",
        String(pageSize),
        "--base",
        "0x40000000",
        "--vendor_cmdline",
        "androidboot.console=ttyMSM0 printk.devkmsg=on",
        "--board",
        "kimgvendor4",
        "--dtb",
        file(`${tag}.dtb`, device),
        "--vendor_bootconfig",
        file(`${tag}.bootconfig`, bootconfig),
        "--ramdisk_type",
        "platform",
        "--ramdisk_name",
        "platform",
        "--board_id0",
        "0x1234",
        "--board_id15",
        "0xfedcba98",
        "--vendor_ramdisk_fragment",
        file(`${tag}.platform`, platform),
        "--ramdisk_type",
        "dlkm",
        "--ramdisk_name",
        "dlkm",
        "--vendor_ramdisk_fragment",
        file(`${tag}.dlkm`, dlkm),
        "--ramdisk_type",
        "recovery",
        "--ramdisk_name",
        "recovery",
        "--board_id3",
        "7",
        "--vendor_ramdisk_fragment",
        file(`${tag}.recovery`, recovery),
        "--vendor_boot",
        imagePath,
      ]);
      const image = new Uint8Array(readFileSync(imagePath));
      const out = join(work, `${tag}.out`);
      const { printed, table } = unpackBootimg(imagePath, out);

      const r = await inspect(image);
      assert.deepEqual(codes(r), []);
      const root = layerAt(r, "/");
      assert.equal(root.format, "android-vendor-boot");
      const header = "vendor_boot_img_hdr_v4";
      sameFields(root, header, printed, [
        ["boot magic", "magic", 0],
        ["vendor boot image header version", "header_version", 8],
        ["page size", "page_size", 12],
        ["kernel load address", "kernel_addr", 16],
        ["ramdisk load address", "ramdisk_addr", 20],
        ["vendor ramdisk total size", "vendor_ramdisk_size", 24],
        ["vendor command line args", "cmdline", 28],
        ["kernel tags load address", "tags_addr", 2076],
        ["product name", "name", 2080],
        ["vendor boot image header size", "header_size", 2096],
        ["dtb size", "dtb_size", 2100],
        ["dtb address", "dtb_addr", 2104],
        ["vendor ramdisk table size", "vendor_ramdisk_table_size", 2112],
        ["vendor bootconfig size", "bootconfig_size", 2124],
      ]);
      assert.equal(field(root, header, "vendor_ramdisk_table_entry_num").value, table.length);
      assert.equal(field(root, header, "vendor_ramdisk_table_entry_num").offset, 2116);
      assert.equal(field(root, header, "vendor_ramdisk_table_entry_size").offset, 2120);
      assert.equal(field(root, header, "vendor_ramdisk_table_entry_size").value, 108);
      // The same values in the report's info, formatted as unpack_bootimg formats them.
      const info = root.info;
      assert.equal(info.headerVersion, 4);
      assert.equal(info.pageSize, pageSize);
      assert.equal(BigInt(String(info.kernelAddr)), BigInt(printed.get("kernel load address") ?? ""));
      assert.equal(BigInt(String(info.ramdiskAddr)), BigInt(printed.get("ramdisk load address") ?? ""));
      assert.equal(BigInt(String(info.tagsAddr)), BigInt(printed.get("kernel tags load address") ?? ""));
      assert.equal(BigInt(String(info.dtbAddr)), BigInt(printed.get("dtb address") ?? ""));
      assert.equal(info.kernelAddr, "0x40008000");
      assert.equal(info.cmdline, printed.get("vendor command line args"));
      assert.equal(info.name, "kimgvendor4");
      assert.equal(String(info.vendorRamdiskSize), printed.get("vendor ramdisk total size"));
      assert.equal(info.vendorRamdiskSize, platform.length + dlkm.length + recovery.length);
      assert.equal(String(info.bootconfigSize), printed.get("vendor bootconfig size"));
      assert.equal(String(info.dtbSize), printed.get("dtb size"));

      // The vendor ramdisk table, entry by entry, with each field's offset.
      const entries = info.vendorRamdisks as Array<{ name: string; type: string; size: number; offset: number; boardId: string[] }>;
      assert.equal(entries.length, 3);
      assert.equal(table.length, 3);
      const tableOffset =
        Math.ceil(2128 / pageSize) * pageSize +
        Math.ceil(Number(info.vendorRamdiskSize) / pageSize) * pageSize +
        Math.ceil(device.length / pageSize) * pageSize;
      const typeNames = ["none", "platform", "recovery", "dlkm"];
      for (const [i, shown] of table.entries()) {
        const e = entries[i];
        assert.ok(e);
        const struct = `vendor_ramdisk_table_entry_v4[${i}]`;
        assert.equal(layerAt(r, "/").structures.find((s) => s.name === struct)?.offset, tableOffset + i * 108);
        assert.equal(String(e.size), shown.get("size"), `${struct} size`);
        assert.equal(String(e.offset), shown.get("offset"), `${struct} offset`);
        assert.equal(e.name, shown.get("name"), `${struct} name`);
        assert.equal(e.type, typeNames[Number(shown.get("type"))], `${struct} type`);
        assert.deepEqual(
          e.boardId.map((b) => Number(b)),
          (shown.get("board_id") ?? "").split(" ").map((b) => Number(b)),
          `${struct} board_id`,
        );
        for (const [name, at] of [
          ["ramdisk_size", 0],
          ["ramdisk_offset", 4],
          ["ramdisk_type", 8],
          ["ramdisk_name", 12],
          ["board_id", 44],
        ] as const) {
          assert.equal(field(root, struct, name).offset, tableOffset + i * 108 + at, `${struct}.${name} offset`);
        }
      }
      assert.deepEqual(
        entries.map((e) => [e.name, e.type, Number(e.boardId[0]), Number(e.boardId[3]), Number(e.boardId[15])]),
        [
          ["platform", "platform", 0x1234, 0, 0xfedcba98],
          ["dlkm", "dlkm", 0, 0, 0],
          ["recovery", "recovery", 0, 7, 0],
        ],
      );

      // Every part byte-exact with the file unpack_bootimg wrote.
      const layers = await layersOf(image);
      const parts: Array<[string, string, Uint8Array]> = [
        ["/vendor_ramdisk.platform", "vendor_ramdisk00", platform],
        ["/vendor_ramdisk.dlkm", "vendor_ramdisk01", dlkm],
        ["/vendor_ramdisk.recovery", "vendor_ramdisk02", recovery],
        ["/bootconfig", "bootconfig", bootconfig],
        ["/dtb", "dtb", device],
      ];
      for (const [path, name, input] of parts) {
        const written = new Uint8Array(readFileSync(join(out, name)));
        assert.deepEqual(layers.get(path), written, `${path} = unpack_bootimg's ${name}`);
        assert.deepEqual(written, input, `unpack_bootimg's ${name} = mkbootimg's input`);
      }
      assert.deepEqual(layers.get("/vendor_ramdisk.platform/decompressed"), initrd);
      assert.equal(layerAt(r, "/vendor_ramdisk.platform/decompressed").format, "cpio");
      assert.equal(layerAt(r, "/vendor_ramdisk.recovery").format, "cpio");
      assert.equal(layerAt(r, "/dtb").format, "dtb");
      assert.equal(layerAt(r, "/bootconfig").format, "text");
    });
  }

  it("mkbootimg's defaults: a v4 boot.img with a kernel only (os_version not set) and a vendor_boot v4 whose --vendor_ramdisk is the unnamed first entry", async () => {
    const bootPath = join(work, "boot-v4-bare.img");
    mkbootimg(["--header_version", "4", "--kernel", file("bare.kernel", kernel), "-o", bootPath]);
    const boot = new Uint8Array(readFileSync(bootPath));
    const bootOut = join(work, "boot-v4-bare.out");
    const { printed } = unpackBootimg(bootPath, bootOut);
    const r = await inspect(boot);
    assert.deepEqual(codes(r), []);
    const root = layerAt(r, "/");
    // os_version 0: unpack_bootimg prints "None" for both halves, kimg reports null (not "0.0.0" / "2000-00").
    assert.equal(printed.get("os version"), "None");
    assert.equal(printed.get("os patch level"), "None");
    assert.equal(root.info.osVersion, null);
    assert.equal(root.info.osPatchLevel, null);
    assert.equal(root.info.ramdiskSize, 0);
    assert.equal(root.title, "Android boot image v4 (4096-byte pages)");
    const bootLayers = await layersOf(boot);
    assert.deepEqual(bootLayers.get("/kernel"), new Uint8Array(readFileSync(join(bootOut, "kernel"))));
    assert.equal(bootLayers.has("/ramdisk"), false);
    assert.equal(readFileSync(join(bootOut, "ramdisk")).length, 0);

    const vendorPath = join(work, "vendor-v4-default.img");
    const fragment = compressWith("gzip", cpioArchive([{ name: "first_stage_ramdisk/fstab", mode: S_IFREG | 0o644, data: "/dev/sda /system ext4 ro\n" }]));
    mkbootimg([
      "--header_version",
      "4",
      "--vendor_ramdisk",
      file("default.rd", ramdisk),
      "--ramdisk_type",
      "none",
      "--ramdisk_name",
      "extra",
      "--vendor_ramdisk_fragment",
      file("extra.rd", fragment),
      "--vendor_boot",
      vendorPath,
    ]);
    const vendor = new Uint8Array(readFileSync(vendorPath));
    const vendorOut = join(work, "vendor-v4-default.out");
    const { table } = unpackBootimg(vendorPath, vendorOut);
    const v = await inspect(vendor);
    assert.deepEqual(codes(v), []);
    const entries = layerAt(v, "/").info.vendorRamdisks as Array<{ name: string; type: string; size: number; offset: number }>;
    assert.deepEqual(
      entries.map((e) => [e.name, e.type, String(e.size), String(e.offset)]),
      table.map((t) => [t.get("name"), ["none", "platform", "recovery", "dlkm"][Number(t.get("type"))], t.get("size"), t.get("offset")]),
    );
    assert.deepEqual(
      entries.map((e) => [e.name, e.type]),
      [
        ["", "platform"],
        ["extra", "none"],
      ],
    );
    const vendorLayers = await layersOf(vendor);
    assert.deepEqual(vendorLayers.get("/vendor_ramdisk#0"), new Uint8Array(readFileSync(join(vendorOut, "vendor_ramdisk00"))));
    assert.deepEqual(vendorLayers.get("/vendor_ramdisk.extra"), new Uint8Array(readFileSync(join(vendorOut, "vendor_ramdisk01"))));
    assert.deepEqual(vendorLayers.get("/vendor_ramdisk#0/decompressed"), initrd);
  });

  for (const version of [0, 1, 2, 3]) {
    it(`boot.img v${version}${version === 1 || version === 2 ? " with a recovery DTBO" : ""}: fields and parts as unpack_bootimg sees them`, async () => {
      const tag = `boot-v${version}`;
      const cmdline = version === 1 ? `console=ttyS0 ${"x".repeat(600)}` : "console=ttyAMA0 androidboot.hardware=kimg";
      const args = ["--header_version", String(version), "--kernel", file(`${tag}.kernel`, kernel), "--ramdisk", file(`${tag}.ramdisk`, ramdisk)];
      args.push("--cmdline", cmdline, "--os_version", "12.0.3", "--os_patch_level", "2023-11");
      if (version < 3) args.push("--second", file(`${tag}.second`, text("second stage loader")), "--board", "kimgboard", "--pagesize", "4096");
      // trixie's mkbootimg computes the DTBO offset with "//": no patched copy needed, unlike bookworm's.
      if (version === 1 || version === 2) args.push("--recovery_dtbo", file(`${tag}.dtbo`, new Uint8Array(3000).fill(0xd7)));
      if (version === 2) args.push("--dtb", file(`${tag}.dtb`, dtb()), "--dtb_offset", "0x01f00000");
      const imagePath = join(work, `${tag}.img`);
      mkbootimg([...args, "-o", imagePath]);
      const image = new Uint8Array(readFileSync(imagePath));
      const out = join(work, `${tag}.out`);
      const { printed } = unpackBootimg(imagePath, out);

      const r = await inspect(image);
      assert.deepEqual(codes(r), []);
      const root = layerAt(r, "/");
      assert.equal(root.format, "android-boot");
      const struct = `boot_img_hdr_v${version}`;
      const rows: Array<[string, string, number]> = [
        ["boot magic", "magic", 0],
        ["kernel_size", "kernel_size", 8],
        ["boot image header version", "header_version", 40],
      ];
      if (version < 3) {
        rows.push(
          ["kernel load address", "kernel_addr", 12],
          ["ramdisk size", "ramdisk_size", 16],
          ["ramdisk load address", "ramdisk_addr", 20],
          ["second bootloader size", "second_size", 24],
          ["second bootloader load address", "second_addr", 28],
          ["kernel tags load address", "tags_addr", 32],
          ["page size", "page_size", 36],
          ["product name", "name", 48],
          ["command line args", "cmdline", 64],
          ["additional command line args", "extra_cmdline", 608],
        );
      } else {
        rows.push(["ramdisk size", "ramdisk_size", 12], ["command line args", "cmdline", 44]);
      }
      if (version === 1 || version === 2) {
        rows.push(
          ["recovery dtbo size", "recovery_dtbo_size", 1632],
          ["recovery dtbo offset", "recovery_dtbo_offset", 1636],
          ["boot header size", "header_size", 1644],
        );
      }
      if (version === 2) rows.push(["dtb size", "dtb_size", 1648], ["dtb address", "dtb_addr", 1652]);
      sameFields(root, struct, printed, rows);
      assert.equal(root.info.osVersion, printed.get("os version"));
      assert.equal(root.info.osPatchLevel, printed.get("os patch level"));
      assert.equal(root.info.osPatchLevel, "2023-11");
      assert.equal(`${root.info.cmdline}${root.info.extraCmdline ?? ""}`, cmdline);
      if (version === 1 || version === 2) assert.equal(root.info.recoveryDtboSize, 3000);
      // trixie prints the 64-bit dtb address with 16 digits (#018x), kimg's info with its own hex().
      if (version === 2) assert.equal(BigInt(String(root.info.dtbAddr)), BigInt(printed.get("dtb address") ?? ""));
      if (version === 2) assert.equal(root.info.dtbAddr, "0x11f00000");

      const layers = await layersOf(image);
      const expected = ["kernel", "ramdisk"];
      if (version < 3) expected.push("second");
      if (version === 1 || version === 2) expected.push("recovery_dtbo");
      if (version === 2) expected.push("dtb");
      for (const name of expected) {
        assert.deepEqual(layers.get(`/${name}`), new Uint8Array(readFileSync(join(out, name))), `/${name} = unpack_bootimg's ${name}`);
      }
      assert.deepEqual(layers.get("/kernel/decompressed"), kernelRaw);
      assert.deepEqual(layers.get("/ramdisk/decompressed"), initrd);
    });
  }
});
