/**
 * `kimg plan` through the boot containers (issue 15): the load and entry addresses of a uImage
 * made by the real `mkimage`, of a FIT's default configuration (mkimage -f, two configurations),
 * of an Android boot image made by `mkbootimg` (v0 and v2), checked against the inner kernel's
 * boot rules: an arm64 Image entered at its start with x0 = DTB, text_offset above a 2 MiB
 * aligned base; a zImage entered at its start with r0 = 0, r1 = ~0, r2 = DTB.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { plan } from "../src/api/index.js";
import type { BootPlan } from "../src/model/plan.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { compressWith } from "../support/builders/compress.js";
import { FIT_BOARD_DTS } from "../support/builders/fit.js";
import { buildArm64Image } from "../support/builders/images.js";
import { buildArmZImage, rawKernel } from "../support/builders/self-decompressing.js";
import { needs } from "./helpers/tools.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-container-plan-"));
const IMAGE = buildArm64Image({ codeSize: 0x8000 });

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function mkimage(name: string, args: string[], data: Uint8Array): { bytes: Uint8Array; path: string } {
  const path = join(dir, `${name}.uimg`);
  execFileSync("mkimage", [...args, "-d", file(`${name}.in`, data), path], { env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000" }, stdio: "pipe" });
  return { bytes: new Uint8Array(readFileSync(path)), path };
}

function check(p: BootPlan, id: string): { ok: boolean; message: string; offset?: number | null } {
  const c = p.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} in ${p.checks.map((x) => x.id).join(", ")}`);
  return c;
}

function register(p: BootPlan, name: string): string | undefined {
  return p.registers.find((r) => r.name === name)?.value;
}

test("uImage from mkimage -A arm64 -C gzip -a 0x40200000 -e 0x40200000: the Image at ih_load, entered at its start, x0 = DTB", {
  skip: needs("mkimage", "gzip"),
}, async () => {
  const u = mkimage(
    "good",
    ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", "gzip", "-a", "0x40200000", "-e", "0x40200000", "-n", "kimg"],
    compressWith("gzip", IMAGE),
  );
  const listed = execFileSync("dumpimage", ["-l", u.path]).toString();
  assert.match(listed, /Load Address: 40200000/);
  const { plan: p } = await plan(u.bytes);
  assert.equal(p.kernel.path, "/payload/decompressed");
  assert.equal(p.load.kernelAddress, "0x40200000");
  assert.equal(p.entry.address, "0x40200000");
  assert.equal(p.entry.offset, 0);
  assert.deepEqual(p.container?.addresses, [
    { name: "ih_load", role: "kernel load", value: "0x40200000", offset: 0x10 },
    { name: "ih_ep", role: "kernel entry", value: "0x40200000", offset: 0x14 },
  ]);
  assert.deepEqual(p.container?.parts, [{ role: "kernel", name: "payload", layer: "/payload", size: u.bytes.length - 64 }]);
  assert.equal(p.container?.format, "uimage");
  assert.equal(check(p, "container-load").ok, true);
  assert.equal(check(p, "container-entry").ok, true);
  assert.equal(check(p, "container-arch").ok, true);
  const dtb = p.segments.find((s) => s.name === "dtb");
  assert.equal(register(p, "x0"), dtb?.address);
  assert.equal(register(p, "x1"), "0x0");
});

test("uImage whose ih_load is not 2 MiB aligned and ih_ep is not ih_load: both checks fail, bootm's address is planned", {
  skip: needs("mkimage"),
}, async () => {
  const u = mkimage("bad", ["-A", "arm64", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x40080000", "-e", "0x40080100"], IMAGE);
  const { plan: p } = await plan(u.bytes);
  // text_offset 0, flags bit 3: bootm moves the Image to the next 2 MiB boundary and enters it there.
  assert.equal(p.load.textOffset, 0);
  assert.equal(p.load.kernelAddress, "0x40200000");
  assert.equal(p.entry.address, "0x40200000");
  const load = check(p, "container-load");
  assert.equal(load.ok, false);
  assert.equal(load.offset, 0x10);
  assert.match(load.message, /ih_load 0x40080000 is not text_offset 0x0 above a 2 MiB aligned base .* moves the Image to 0x40200000/);
  const entry = check(p, "container-entry");
  assert.equal(entry.ok, false);
  assert.equal(entry.offset, 0x14);
  assert.match(entry.message, /ih_ep 0x40080100 is not ih_load 0x40080000: an arm64 Image must be entered at its first byte \(\+0x100/);
  // The CLI prints the container and, with --strict, fails on the checks.
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", "plan", "--strict", u.path], { encoding: "utf8" });
  assert.equal(r.status, 6, r.stderr);
  assert.match(
    r.stdout,
    /\ncontainer: uimage at \/\n {2}kernel {6}payload -> \/payload, \d+ bytes\n {2}ih_load = 0x40080000 \(kernel load\) at 0x10\n {2}ih_ep = 0x40080100 \(kernel entry\) at 0x14\n/,
  );
  assert.match(r.stdout, /FAIL container-entry/);
});

test("uImage -A arm with a zImage: loaded at ih_load, r0 = 0, r1 = ~0, r2 = DTB; a wrong ih_ep and a fixed start elsewhere fail", {
  skip: needs("mkimage", "xz"),
}, async () => {
  const z = buildArmZImage({ tool: "xz", kernel: rawKernel("6.1.0-kimg-armmp") });
  const u = mkimage("zimage", ["-A", "arm", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x80008000", "-e", "0x80008000"], z.bytes);
  const { plan: p } = await plan(u.bytes);
  assert.equal(p.arch, "arm");
  assert.equal(p.kernel.path, "/payload");
  assert.equal(p.load.kernelAddress, "0x80008000");
  assert.equal(p.entry.address, "0x80008000");
  // RAM taken as the 128 MiB region the container loads into.
  assert.equal(p.load.ramBase, "0x80000000");
  assert.equal(register(p, "r0"), "0x0");
  assert.equal(register(p, "r1"), "0xffffffff");
  assert.equal(register(p, "r2"), p.segments.find((s) => s.name === "dtb")?.address);
  assert.equal(check(p, "container-load").ok, true);
  assert.equal(check(p, "container-entry").ok, true);
  assert.equal(check(p, "arm-placement").ok, true);

  const wrongEntry = mkimage("zimage-ep", ["-A", "arm", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x80008000", "-e", "0x80008040"], z.bytes);
  const e = (await plan(wrongEntry.bytes)).plan;
  assert.equal(check(e, "container-entry").ok, false);
  assert.match(check(e, "container-entry").message, /a zImage must be entered at its first byte/);

  // A zImage linked to run at 0x60008000 (start and end at 0x28/0x2c) loaded at 0x80008000.
  const fixed = z.bytes.slice();
  const v = new DataView(fixed.buffer);
  v.setUint32(0x2c, v.getUint32(0x2c, true) + 0x60008000, true);
  v.setUint32(0x28, 0x60008000, true);
  const f = (
    await plan(mkimage("zimage-fixed", ["-A", "arm", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x80008000", "-e", "0x80008000"], fixed).bytes)
  ).plan;
  assert.equal(check(f, "container-load").ok, false);
  assert.match(check(f, "container-load").message, /linked to run at 0x60008000 .* ih_load is 0x80008000/);
});

const TWO_CONFIGS_ITS = `/dts-v1/;
/ {
	description = "two configurations";
	#address-cells = <1>;
	images {
		kernel-1 { data = /incbin/("Image.gz"); type = "kernel"; arch = "arm64"; os = "linux"; compression = "gzip"; load = <0x40080000>; entry = <0x40080000>; };
		kernel-2 { data = /incbin/("Image"); type = "kernel"; arch = "arm64"; os = "linux"; compression = "none"; load = <0x40400000>; entry = <0x40400000>; };
		fdt-1 { data = /incbin/("board.dtb"); type = "flat_dt"; arch = "arm64"; compression = "none"; load = <0x4a000000>; };
		ramdisk-1 { data = /incbin/("initrd"); type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none"; load = <0x48000000>; };
	};
	configurations {
		default = "conf-2";
		conf-1 { description = "gzip kernel"; kernel = "kernel-1"; fdt = "fdt-1"; };
		conf-2 { description = "raw kernel"; kernel = "kernel-2"; fdt = "fdt-1"; ramdisk = "ramdisk-1"; };
	};
};
`;

test("FIT with two configurations (mkimage -f): the default's kernel, fdt and ramdisk at their load addresses, the other named", {
  skip: needs("mkimage", "dtc", "gzip"),
}, async () => {
  file("Image", IMAGE);
  file("Image.gz", compressWith("gzip", IMAGE));
  const dtb = new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: FIT_BOARD_DTS }));
  file("board.dtb", dtb);
  const initrd = new TextEncoder().encode("070701kimg-ramdisk-bytes\n");
  file("initrd", initrd);
  writeFileSync(join(dir, "two.its"), TWO_CONFIGS_ITS);
  const itb = join(dir, "two.itb");
  execFileSync("mkimage", ["-f", join(dir, "two.its"), itb], { cwd: dir, stdio: "pipe" });
  assert.match(execFileSync("dumpimage", ["-l", itb]).toString(), /Default Configuration: 'conf-2'/);
  const { plan: p } = await plan(new Uint8Array(readFileSync(itb)));
  const c = p.container;
  assert.ok(c);
  assert.equal(c.format, "fit");
  assert.equal(c.configuration, "conf-2");
  assert.deepEqual(c.otherConfigurations, ["conf-1"]);
  assert.deepEqual(c.parts, [
    { role: "kernel", name: "kernel-2", layer: "/kernel-2", size: IMAGE.length },
    { role: "fdt", name: "fdt-1", layer: "/fdt-1", size: dtb.length },
    { role: "ramdisk", name: "ramdisk-1", layer: "/ramdisk-1", size: initrd.length },
  ]);
  assert.deepEqual(
    c.addresses.map((a) => [a.name, a.role, a.value]),
    [
      ["/images/kernel-2/load", "kernel load", "0x40400000"],
      ["/images/kernel-2/entry", "kernel entry", "0x40400000"],
      ["/images/fdt-1/load", "fdt load", "0x4a000000"],
      ["/images/ramdisk-1/load", "ramdisk load", "0x48000000"],
    ],
  );
  // Each address's offset is where its property's value sits: the 4 bytes there are the value.
  const bytes = new Uint8Array(readFileSync(itb));
  for (const a of c.addresses) assert.equal(new DataView(bytes.buffer).getUint32(a.offset ?? -1), Number(a.value), a.name);
  // The default's kernel (kernel-2, raw), not the first of /images; the DTB and initrd where the FIT puts them.
  assert.equal(p.kernel.path, "/kernel-2");
  assert.equal(p.load.kernelAddress, "0x40400000");
  assert.equal(p.entry.address, "0x40400000");
  assert.equal(register(p, "x0"), "0x4a000000");
  assert.deepEqual(
    p.segments.map((s) => [s.name, s.address, s.size]),
    [
      ["kernel", "0x40400000", IMAGE.length],
      ["initrd", "0x48000000", initrd.length],
      ["dtb", "0x4a000000", dtb.length],
    ],
  );
  for (const id of ["container-load", "container-entry", "container-arch", "container-overlap"]) assert.equal(check(p, id).ok, true, id);
});

test("Android boot v0 and v2 from mkbootimg: kernel_addr, ramdisk_addr, tags_addr / dtb_addr as the bootloader uses them", {
  skip: needs("mkbootimg", "dtc"),
}, async () => {
  const kernel = file("android.Image", IMAGE);
  const ramdisk = file("android.rd", new TextEncoder().encode("070701kimg-ramdisk-bytes\n"));
  const dtbPath = file("android.dtb", new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: FIT_BOARD_DTS })));
  const common = [
    "--kernel",
    kernel,
    "--ramdisk",
    ramdisk,
    "--base",
    "0x40000000",
    "--kernel_offset",
    "0x00200000",
    "--ramdisk_offset",
    "0x01000000",
    "--tags_offset",
    "0x00000100",
  ];
  const v0 = join(dir, "v0.img");
  execFileSync("mkbootimg", [...common, "--header_version", "0", "-o", v0]);
  const p0 = (await plan(new Uint8Array(readFileSync(v0)))).plan;
  assert.equal(p0.container?.format, "android-boot");
  assert.deepEqual(
    p0.container?.addresses.map((a) => [a.name, a.value, a.offset]),
    [
      ["kernel_addr", "0x40200000", 12],
      ["ramdisk_addr", "0x41000000", 20],
      ["tags_addr", "0x40000100", 32],
    ],
  );
  assert.equal(p0.kernel.path, "/kernel");
  assert.equal(p0.load.kernelAddress, "0x40200000");
  assert.equal(register(p0, "x0"), "0x40000100");
  assert.equal(p0.segments.find((s) => s.name === "initrd")?.address, "0x41000000");
  assert.equal(check(p0, "container-load").ok, true);

  // v2 with a DTB: x0 = dtb_addr; mkbootimg's default kernel_offset 0x8000 is not 2 MiB aligned for an arm64 Image.
  const v2 = join(dir, "v2.img");
  execFileSync("mkbootimg", ["--kernel", kernel, "--ramdisk", ramdisk, "--dtb", dtbPath, "--base", "0x40000000", "--header_version", "2", "-o", v2]);
  const p2 = (await plan(new Uint8Array(readFileSync(v2)))).plan;
  assert.equal(p2.container?.addresses.find((a) => a.name === "dtb_addr")?.value, "0x41f00000");
  assert.equal(register(p2, "x0"), "0x41f00000");
  assert.equal(p2.load.kernelAddress, "0x40000000", "not where kernel_addr says: the lowest place the Image may run");
  const load = check(p2, "container-load");
  assert.equal(load.ok, false);
  assert.match(load.message, /kernel_addr 0x40008000 is not text_offset 0x0 above a 2 MiB aligned base/);
});

test("multi-file uImage (mkimage -T multi -d kernel:ramdisk:dtb): part 1 planned as the initrd, part 2 as the DTB, with their sizes", {
  skip: needs("mkimage", "dtc", "gzip"),
}, async () => {
  const dtb = new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: FIT_BOARD_DTS }));
  const ramdisk = new TextEncoder().encode("070701kimg-ramdisk-bytes\n");
  const files = [file("m.kernel", compressWith("gzip", IMAGE)), file("m.ramdisk", ramdisk), file("m.dtb", dtb)];
  const path = join(dir, "multi.uimg");
  execFileSync("mkimage", ["-A", "arm64", "-O", "linux", "-T", "multi", "-C", "gzip", "-a", "0x40200000", "-e", "0x40200000", "-d", files.join(":"), path], {
    stdio: "pipe",
  });
  const { plan: p } = await plan(new Uint8Array(readFileSync(path)));
  assert.deepEqual(
    p.container?.parts.map((x) => [x.role, x.name, x.layer, x.size]),
    [
      ["kernel", "part0", "/part0", readFileSync(files[0] ?? "").length],
      ["ramdisk", "part1", "/part1", ramdisk.length],
      ["fdt", "part2", "/part2", dtb.length],
    ],
  );
  assert.equal(p.segments.find((s) => s.name === "initrd")?.size, ramdisk.length);
  assert.equal(p.segments.find((s) => s.name === "dtb")?.size, dtb.length);
  assert.equal(p.load.kernelAddress, "0x40200000");
});

// Debian's armhf kernel (linux-image-6.1.0-50-armmp, cached by scripts/fetch-debian-kernels.sh) in a uImage made by mkimage.
const ARMMP = join(process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian", "bookworm/armhf-armmp/vmlinuz-6.1.0-50-armmp");

test("Debian's armmp zImage in mkimage -A arm -a 0x40008000: loaded there, entered at its start, r2 = DTB; a wrong ih_ep fails", {
  skip: existsSync(ARMMP) ? needs("mkimage", "xz") : `no ${ARMMP}: run scripts/fetch-debian-kernels.sh`,
}, async () => {
  const zimage = new Uint8Array(readFileSync(ARMMP));
  const u = mkimage("armmp", ["-A", "arm", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x40008000", "-e", "0x40008000"], zimage);
  const { plan: p } = await plan(u.bytes, { codecs: NODE_CODECS });
  assert.equal(p.kernel.path, "/payload");
  assert.equal(p.kernel.format, "arm-zimage");
  assert.equal(p.kernel.size, zimage.length);
  assert.equal(p.load.kernelAddress, "0x40008000");
  assert.equal(p.load.ramBase, "0x40000000");
  assert.deepEqual(
    p.registers.map((r) => [r.name, r.value]),
    [
      ["r0", "0x0"],
      ["r1", "0xffffffff"],
      ["r2", p.segments.find((s) => s.name === "dtb")?.address],
    ],
  );
  for (const id of ["container-load", "container-entry", "container-arch", "arm-placement"]) assert.equal(check(p, id).ok, true, id);
  const wrong = mkimage("armmp-ep", ["-A", "arm", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x40008000", "-e", "0x40008024"], zimage);
  assert.equal(check((await plan(wrong.bytes, { codecs: NODE_CODECS })).plan, "container-entry").ok, false);
});
