/**
 * Legacy U-Boot images (uImage) made by the real `mkimage` (u-boot-tools) and compared with what
 * `dumpimage -l` prints and `dumpimage -p N` extracts: kernels with every compression mkimage
 * declares, a multi-file image, a ramdisk; CRC mismatches, truncation and hostile sizes.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { plan, unpack, unpackLayers } from "../src/api/index.js";
import { bootmArm64Entry, IH_ARCH, IH_COMP, IH_OS, IH_TYPE, isUImage, UIMAGE_HEADER, uimageHeaderCrc } from "../src/formats/uimage.js";
import { hex } from "../src/io/bytes.js";
import { KimgError } from "../src/io/errors.js";
import type { Report } from "../src/model/report.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image } from "../support/builders/images.js";
import { buildUImage } from "../support/builders/uimage.js";
import { analyse, codes, field, inspect, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";
import { cpioArchive, S_IFREG } from "../support/builders/cpio.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-uimage-"));
const EPOCH = "1700000000";
const IMAGE = buildArm64Image({ codeSize: 0x8000 });

/** Runs mkimage on `parts` (joined by ":" for -T multi) and returns the uImage. */
function mkimage(name: string, args: string[], parts: Uint8Array[]): Uint8Array {
  const files = parts.map((p, i) => {
    const f = join(dir, `${name}.in${i}`);
    writeFileSync(f, p);
    return f;
  });
  const out = join(dir, `${name}.uimg`);
  execFileSync("mkimage", [...args, "-d", files.join(":"), out], { env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH }, stdio: "pipe" });
  return new Uint8Array(readFileSync(out));
}

interface Listed {
  name: string;
  created: string;
  type: string;
  dataSize: number;
  load: number;
  entry: number;
  parts: number[];
}

/** The first block `dumpimage -l` prints (it prints the listing twice). */
function dumpimageList(file: string): Listed {
  const text = execFileSync("dumpimage", ["-l", file], { env: { ...process.env, TZ: "UTC" } }).toString();
  const get = (label: string): string => {
    const m = new RegExp(`^${label}:\\s+(.*)$`, "m").exec(text);
    if (!m?.[1]) throw new Error(`no ${label} in ${text}`);
    return m[1];
  };
  const block = text.split("Image Name:")[1] ?? "";
  return {
    name: get("Image Name").trimEnd(),
    created: new Date(`${get("Created")} UTC`).toISOString().replace(".000Z", "Z"),
    type: get("Image Type"),
    dataSize: Number(/^(\d+) Bytes/.exec(get("Data Size"))?.[1]),
    load: Number.parseInt(get("Load Address"), 16),
    entry: Number.parseInt(get("Entry Point"), 16),
    parts: [...block.matchAll(/^\s+Image \d+: (\d+) Bytes/gm)].map((m) => Number(m[1])),
  };
}

function dumpimagePart(file: string, type: string, index: number): Uint8Array {
  const out = join(dir, `part-${index}-${Math.random().toString(36).slice(2)}`);
  execFileSync("dumpimage", ["-T", type, "-p", String(index), "-o", out, file], { stdio: "pipe" });
  return new Uint8Array(readFileSync(out));
}

function assertListed(r: Report, listed: Listed): void {
  const root = layerAt(r, "/");
  assert.equal(root.format, "uimage");
  assert.deepEqual(
    {
      name: root.info.name,
      created: root.info.created,
      type: root.info.imageType,
      dataSize: root.info.dataSize,
      load: Number(root.info.loadAddress),
      entry: Number(root.info.entryPoint),
    },
    { name: listed.name, created: listed.created, type: listed.type, dataSize: listed.dataSize, load: listed.load, entry: listed.entry },
  );
  assert.equal(root.info.headerCrcOk, true);
  assert.equal(root.info.dataCrcOk, true);
}

/** Each mkimage -C name, the tool that compresses for it (lz4: the frame format U-Boot's ulz4fn reads). */
const COMPRESSIONS = [
  ["none", null],
  ["gzip", (b: Uint8Array) => compressWith("gzip", b)],
  ["bzip2", (b: Uint8Array) => compressWith("bzip2", b)],
  ["lzma", (b: Uint8Array) => compressWith("lzma", b)],
  ["lzo", (b: Uint8Array) => compressWith("lzo", b)],
  ["lz4", (b: Uint8Array) => new Uint8Array(execFileSync("lz4", ["-9", "-c", "-q"], { input: b }))],
  ["zstd", (b: Uint8Array) => compressWith("zstd", b)],
] as const;

const TOOL_OF = { none: "gzip", gzip: "gzip", bzip2: "bzip2", lzma: "lzma", lzo: "lzo", lz4: "lz4", zstd: "zstd" } as const;

for (const [comp, compress] of COMPRESSIONS) {
  test(`uImage kernel -C ${comp}: fields as dumpimage -l, the arm64 Image inside byte-exact, planned`, {
    skip: needs("mkimage", "dumpimage", TOOL_OF[comp]),
  }, async () => {
    const data = compress ? compress(IMAGE) : IMAGE;
    const bytes = mkimage(
      `kernel-${comp}`,
      ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", comp, "-a", "0x80200000", "-e", "0x80200000", "-n", `Linux ${comp}`],
      [data],
    );
    const file = join(dir, `kernel-${comp}.uimg`);
    const { report: r, tree } = await analyse(bytes);
    assertListed(r, dumpimageList(file));
    assert.deepEqual(codes(r), []);
    const root = layerAt(r, "/");
    assert.equal(root.info.compression, comp);
    assert.equal(
      field(root, "uImage header", "ih_comp").value,
      IH_COMP.findIndex((c) => c[0] === comp),
    );
    assert.equal(field(root, "uImage header", "ih_name").offset, 0x20);
    const kernelPath = comp === "none" ? "/payload" : "/payload/decompressed";
    assert.equal(r.summary.kernelFormat, "arm64-image");
    assert.equal(r.summary.kernelPath, kernelPath);
    assert.equal(r.summary.arch, "arm64");
    // The payload is what dumpimage extracts; the kernel inside is the Image, byte for byte.
    assert.deepEqual(tree.bytes.get("/payload"), dumpimagePart(file, "kernel", 0));
    const u = await unpack(bytes);
    assert.equal(u.path, kernelPath);
    assert.equal(u.bootable?.format, "arm64-image");
    assert.deepEqual(u.data, IMAGE);
    const p = await plan(bytes);
    assert.equal(p.plan.kernel.path, kernelPath);
    assert.equal(p.plan.arch, "arm64");
  });
}

test("uImage multi-file: the size table, each part as dumpimage -p N extracts it, part 0 decompressed", {
  skip: needs("mkimage", "dumpimage", "gzip"),
}, async () => {
  const kernel = compressWith("gzip", IMAGE);
  // A real newc archive of odd length (padded to 4 by mkimage), listed by the archive reader.
  const archive = cpioArchive([{ name: "init", mode: S_IFREG | 0o755, data: "#!/bin/sh\n" }]);
  const ramdisk = new Uint8Array(archive.length + 3); // three zero bytes of padding after it: an odd length
  ramdisk.set(archive);
  const dtb = new Uint8Array([0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 0x28, ...new Array<number>(0x20).fill(0)]);
  const bytes = mkimage(
    "multi",
    ["-A", "arm64", "-O", "linux", "-T", "multi", "-C", "gzip", "-a", "0x80200000", "-e", "0x80200000", "-n", "multi"],
    [kernel, ramdisk, dtb],
  );
  const file = join(dir, "multi.uimg");
  const listed = dumpimageList(file);
  const { report: r, tree } = await analyse(bytes);
  assertListed(r, listed);
  // The third part is a bare FDT header (version 0, no blocks): the dtb reader says its tree is not read.
  assert.deepEqual(codes(r), ["DTB_TREE_REFUSED"]);
  const root = layerAt(r, "/");
  assert.equal(root.info.parts, 3);
  assert.deepEqual(listed.parts, [kernel.length, ramdisk.length, dtb.length]);
  const table = root.structures.find((s) => s.name === "multi-file size table");
  assert.deepEqual(
    table?.fields.map((f) => [f.name, f.offset, f.value]),
    [
      ["size[0]", 0x40, kernel.length],
      ["size[1]", 0x44, ramdisk.length],
      ["size[2]", 0x48, dtb.length],
      ["terminator", 0x4c, 0],
    ],
  );
  for (let i = 0; i < 3; i++) assert.deepEqual(tree.bytes.get(`/part${i}`), dumpimagePart(file, "multi", i), `part ${i}`);
  assert.equal(layerAt(r, "/part0").format, "compressed");
  assert.equal(layerAt(r, "/part0/decompressed").format, "arm64-image");
  assert.equal(layerAt(r, "/part1").format, "cpio");
  assert.equal(layerAt(r, "/part2").format, "dtb");
  assert.equal(layerAt(r, "/part2").offset, 0x50 + ((kernel.length + 3) & ~3) + ((ramdisk.length + 3) & ~3));
  const { layers } = await unpackLayers(bytes);
  assert.deepEqual(layers.find((l) => l.layer.path === "/part0/decompressed")?.data, IMAGE);
});

test("uImage ramdisk: fields as dumpimage -l, the cpio archive inside", { skip: needs("mkimage", "dumpimage") }, async () => {
  const ramdisk = new TextEncoder().encode("070701" + "0".repeat(200));
  const bytes = mkimage("ramdisk", ["-A", "arm", "-O", "linux", "-T", "ramdisk", "-C", "none", "-n", "initrd"], [ramdisk]);
  const file = join(dir, "ramdisk.uimg");
  const { report: r, tree } = await analyse(bytes);
  assertListed(r, dumpimageList(file));
  assert.equal(layerAt(r, "/").info.type, "ramdisk");
  assert.equal(layerAt(r, "/").arch, "arm");
  assert.equal(layerAt(r, "/payload").format, "cpio");
  assert.deepEqual(tree.bytes.get("/payload"), dumpimagePart(file, "ramdisk", 0));
});

test("uImage CRCs: a changed data byte and a changed header byte are diagnostics, not exceptions", { skip: needs("mkimage", "gzip") }, async () => {
  const good = mkimage("crc", ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x40000000", "-e", "0x40000000", "-n", "crc"], [IMAGE]);
  const data = good.slice();
  data[0x40 + 0x2000] = (data[0x40 + 0x2000] ?? 0) ^ 0xff;
  let r = await inspect(data);
  assert.deepEqual(codes(r), ["UIMAGE_DATA_CRC_MISMATCH"]);
  assert.equal(layerAt(r, "/").info.dataCrcOk, false);
  assert.equal(layerAt(r, "/").info.headerCrcOk, true);
  assert.equal(r.diagnostics[0]?.offset, 0x18);
  assert.equal(layerAt(r, "/payload").format, "arm64-image");

  const header = good.slice();
  header[0x25] = 0x58; // a letter of ih_name
  r = await inspect(header);
  assert.deepEqual(codes(r), ["UIMAGE_HEADER_CRC_MISMATCH"]);
  assert.equal(layerAt(r, "/").info.headerCrcOk, false);
  assert.match(field(layerAt(r, "/"), "uImage header", "ih_hcrc").meaning ?? "", /^mismatch/);
  assert.equal(r.summary.kernelFormat, "arm64-image");
});

test("uImage truncated and hostile: coded errors, no crash", { skip: needs("mkimage") }, async () => {
  const good = mkimage("hostile", ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0", "-e", "0", "-n", "x"], [IMAGE]);
  // Shorter than the header: no longer a uImage.
  await assert.rejects(inspect(good.subarray(0, 40)), (e: unknown) => e instanceof KimgError && e.code === "E_UNKNOWN_FORMAT");
  // Data cut short: the header is read, the truncation diagnosed, no payload descended into.
  for (const cut of [64, 65, 1000, good.length - 1]) {
    const r = await inspect(good.subarray(0, cut));
    assert.equal(r.root.format, "uimage");
    assert.deepEqual(codes(r), ["UIMAGE_DATA_TRUNCATED"], `cut at ${cut}`);
    assert.equal(r.root.children.length, 0);
    assert.equal(r.root.info.dataCrcOk, null);
  }
  // ih_size 0xffffffff with a header CRC that matches it.
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(0x0c, 0xffffffff);
  new DataView(huge.buffer).setUint32(4, uimageHeaderCrc(huge));
  assert.deepEqual(codes(await inspect(huge)), ["UIMAGE_DATA_TRUNCATED"]);
  // Trailing bytes after the data: noted.
  const padded = new Uint8Array(good.length + 100);
  padded.set(good);
  assert.deepEqual(codes(await inspect(padded)), ["UIMAGE_TRAILING_DATA"]);
  // Unknown os/arch/type/comp values under a matching CRC.
  const odd = good.slice();
  odd.set([200, 201, 202, 203], 0x1c);
  new DataView(odd.buffer).setUint32(4, uimageHeaderCrc(odd));
  const r = await inspect(odd);
  assert.deepEqual(codes(r), ["UIMAGE_UNKNOWN_VALUE", "UIMAGE_UNKNOWN_VALUE", "UIMAGE_UNKNOWN_VALUE", "UIMAGE_UNKNOWN_VALUE"]);
  assert.equal(r.root.info.os, "unknown (200)");
  // ... and without a matching CRC they are not a uImage at all.
  odd[4] = (odd[4] ?? 0) ^ 1;
  assert.equal(isUImage(odd), false);
});

test("uImage multi-file with hostile size tables", async () => {
  const build = (table: number[], dataLength: number): Uint8Array => {
    const b = new Uint8Array(64 + dataLength);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x27051956);
    v.setUint32(0x0c, dataLength);
    b.set([5, 22, 4, 0], 0x1c);
    table.forEach((size, i) => {
      if (64 + i * 4 + 4 <= b.length) v.setUint32(64 + i * 4, size);
    });
    v.setUint32(4, uimageHeaderCrc(b));
    return b;
  };
  // No terminator within the data.
  let r = await inspect(build([1, 1, 1, 1], 16));
  assert.deepEqual(codes(r), ["UIMAGE_DATA_CRC_MISMATCH", "UIMAGE_BAD_PART_TABLE"]);
  // A part past the data: the parts before it are kept.
  r = await inspect(build([4, 0xfffffff0, 0], 64));
  assert.ok(codes(r).includes("UIMAGE_BAD_PART_TABLE"));
  assert.equal(r.root.children.length, 1);
  // More parts than MAX_UIMAGE_PARTS.
  r = await inspect(build(new Array<number>(100).fill(1), 1000));
  assert.ok(codes(r).includes("UIMAGE_BAD_PART_TABLE"));
  assert.equal(r.root.children.length, 0);
});

test("uImage tables: numbered as include/image.h, the header 64 bytes", () => {
  assert.equal(UIMAGE_HEADER.size, 64);
  assert.deepEqual(
    [IH_OS[5], IH_OS[17], IH_OS[28]],
    [
      ["linux", "Linux"],
      ["u-boot", "U-Boot"],
      ["efi", "EFI Firmware"],
    ],
  );
  assert.deepEqual([IH_ARCH[2]?.[0], IH_ARCH[22]?.[0], IH_ARCH[26]?.[0]], ["arm", "arm64", "riscv"]);
  assert.deepEqual(
    [IH_TYPE[2]?.[0], IH_TYPE[4]?.[0], IH_TYPE[14]?.[0], IH_TYPE[40]?.[0], IH_TYPE[41]?.[0]],
    ["kernel", "multi", "kernel_noload", "sunxi_egon", "sunxi_toc0"],
  );
  assert.deepEqual(
    IH_COMP.map((c) => c[0]),
    ["none", "gzip", "bzip2", "lzma", "lzo", "lz4", "zstd"],
  );
});

test("support/builders/uimage.ts writes what mkimage writes, byte for byte", { skip: needs("mkimage") }, () => {
  const ramdisk = new TextEncoder().encode("070701" + "0".repeat(101));
  const args = ["-A", "arm64", "-O", "linux", "-C", "none", "-a", "0x80080000", "-e", "0x80080000", "-n", "built"];
  assert.deepEqual(buildUImage({ name: "built", parts: [IMAGE] }), mkimage("builder-kernel", [...args, "-T", "kernel"], [IMAGE]));
  assert.deepEqual(
    buildUImage({ name: "built", type: 4, parts: [IMAGE, ramdisk, IMAGE] }),
    mkimage("builder-multi", [...args, "-T", "multi"], [IMAGE, ramdisk, IMAGE]),
  );
});

test("uImage with an arm64 Image: where bootm moves it and enters it (booti_setup), whatever ih_ep says", { skip: needs("mkimage") }, async () => {
  const legacy = buildArm64Image({ codeSize: 0x1000, imageSizeZero: true, code0: "add" });
  const cases = [
    // [image, ih_load, ih_ep, bootm's entry, diagnosed]
    [IMAGE, 0x80200000, 0x80200000, "0x80200000", false],
    [IMAGE, 0x80080000, 0x80080000, "0x80200000", true],
    [IMAGE, 0x80200000, 0x80200040, "0x80200000", true],
    [legacy, 0x80080000, 0x80080000, null, true],
  ] as const;
  for (const [image, load, ep, entry, diagnosed] of cases) {
    const bytes = mkimage("moved", ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", "none", "-a", hex(load), "-e", hex(ep), "-n", "moved"], [image]);
    const r = await inspect(bytes);
    assert.equal(r.root.info.bootmEntry, entry, `${hex(load)} ${hex(ep)}`);
    assert.deepEqual(
      codes(r).filter((c) => c.startsWith("UIMAGE")),
      diagnosed ? ["UIMAGE_ARM64_MOVED"] : [],
    );
  }
  assert.equal(bootmArm64Entry(0x40080000, { textOffset: 0x80000n, legacyHeader: false, placeAnywhere: true }), 0x40080000);
  assert.equal(bootmArm64Entry(0x40080001, { textOffset: 0x80000n, legacyHeader: false, placeAnywhere: true }), 0x40280000);
});

test("uImage around a real kernel fixture (an arm64 zboot from kernel 6.1): the chain reaches the Image inside", { skip: needs("mkimage") }, async () => {
  const efi = new Uint8Array(readFileSync("test/fixtures/kernels/arm64-6.1-zboot-gzip.efi"));
  const bytes = mkimage("fixture", ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x40200000", "-e", "0x40200000", "-n", "zboot"], [efi]);
  const bare = await inspect(efi);
  const r = await inspect(bytes);
  assert.equal(layerAt(r, "/payload").format, "zboot");
  assert.equal(r.summary.kernelFormat, "arm64-image");
  assert.equal(r.summary.kernelPath, `/payload${bare.summary.kernelPath}`);
  assert.equal(r.summary.linuxVersion, bare.summary.linuxVersion);
  assert.deepEqual((await unpack(bytes)).data, (await unpack(efi)).data);
});

test("uImage -C lz4 over the kernel's legacy lz4 (lz4 -l): decoded, and warned that U-Boot refuses it", { skip: needs("mkimage", "lz4") }, async () => {
  const bytes = mkimage(
    "lz4-legacy",
    ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", "lz4", "-a", "0x80200000", "-e", "0x80200000", "-n", "lz4 -l"],
    [compressWith("lz4", IMAGE)],
  );
  const r = await inspect(bytes);
  assert.deepEqual(codes(r), ["UIMAGE_LZ4_LEGACY"]);
  assert.equal(r.diagnostics[0]?.offset, 0x40);
  assert.deepEqual((await unpack(bytes)).data, IMAGE);
});

test("kimg inspect, extract --all and plan on a multi-file uImage", { skip: needs("mkimage", "gzip") }, () => {
  const ramdisk = cpioArchive([{ name: "init", mode: S_IFREG | 0o755, data: "#!/bin/sh\n" }]);
  mkimage(
    "cli",
    ["-A", "arm64", "-O", "linux", "-T", "multi", "-C", "gzip", "-a", "0x80200000", "-e", "0x80200000", "-n", "cli"],
    [compressWith("gzip", IMAGE), ramdisk],
  );
  const file = join(dir, "cli.uimg");
  const kimg = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { maxBuffer: 1 << 26 });
  let r = kimg("inspect", file);
  assert.equal(r.status, 0);
  assert.match(r.stdout.toString(), /U-Boot legacy image "cli": AArch64 Linux Multi-File Image \(gzip compressed\)/);
  assert.match(r.stdout.toString(), /kernel\s+arm64-image at \/part0\/decompressed/);
  const out = join(dir, "cli-all");
  r = kimg("extract", "--all", out, file);
  assert.equal(r.status, 0, r.stderr.toString());
  // The layers, and the ramdisk archive's files in a folder of their own (issue 16).
  assert.deepEqual(readdirSync(out).sort(), ["part0.decompressed.Image", "part0.gz", "part1", "part1.cpio"]);
  assert.deepEqual(readFileSync(join(out, "part1", "init"), "utf8"), "#!/bin/sh\n");
  assert.deepEqual(new Uint8Array(readFileSync(join(out, "part0.decompressed.Image"))), IMAGE);
  assert.deepEqual(new Uint8Array(readFileSync(join(out, "part1.cpio"))), ramdisk);
  r = kimg("plan", file);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.match(r.stdout.toString(), /^boot plan for \/part0\/decompressed \(arm64-image, arm64/);
});
