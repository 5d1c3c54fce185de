/**
 * The built-in initramfs (issue 16): an ELF kernel made by the real assembler and linker the
 * way the kernel build makes it: usr/initramfs_data.S puts the archive in `.init.ramfs` and its
 * size in `.init.ramfs.info` as `__initramfs_size`; the linker script's INIT_RAM_FS defines
 * `__initramfs_start` and merges both into `.init.data`. kimg finds it by the symbols there, and
 * by the section when a link keeps `.init.ramfs` by name; the listing equals `cpio -t`.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { analyse } from "../src/api/analyse.js";
import { inspect } from "../src/api/inspect.js";
import { unpack } from "../src/api/unpack.js";
import { kernelConfigLine } from "../src/report/config-text.js";
import { allLayers } from "../src/analysis/tree.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { cpioArchive } from "../support/builders/cpio.js";
import { buildArm64Image } from "../support/builders/images.js";
import { needs } from "./helpers/tools.js";

const skip = needs("as", "ld", "cpio", "gzip");

const ASM = `.section .text,"ax"
.ascii "Linux version 6.12.0-kimg (built-in initramfs test) #1 SMP\\n\\0"
.section .init.ramfs,"a"
__irf_start:
.incbin "initramfs_inc_data"
__irf_end:
.section .init.ramfs.info,"a"
.globl __initramfs_size
__initramfs_size:
.quad __irf_end - __irf_start
`;

/** include/asm-generic/vmlinux.lds.h's INIT_RAM_FS inside .init.data, as a vmlinux has it. */
const MERGED = `SECTIONS {
  . = 0xffffffff81000000;
  .text : { *(.text) }
  . = ALIGN(4096);
  .init.data : { . = ALIGN(4); __initramfs_start = .; KEEP(*(.init.ramfs)) . = ALIGN(8); KEEP(*(.init.ramfs.info)) }
}
`;

/** The same with .init.ramfs kept as an output section of its own. */
const NAMED = `SECTIONS {
  . = 0xffffffff81000000;
  .text : { *(.text) }
  . = ALIGN(4096);
  .init.ramfs : { KEEP(*(.init.ramfs)) }
  .init.ramfs.info : { KEEP(*(.init.ramfs.info)) }
}
`;

describe("a built-in initramfs in an ELF vmlinux made by as and ld", { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), "kimg-builtin-initramfs-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  const root = join(work, "root");
  mkdirSync(join(root, "etc"), { recursive: true });
  mkdirSync(join(root, "dev"));
  writeFileSync(join(root, "init"), "#!/bin/sh\nexec sh\n", { mode: 0o755 });
  writeFileSync(join(root, "etc", "motd"), "built in\n");
  const list = () => execFileSync("find", [".", "-print"], { cwd: root }).toString().split("\n").filter(Boolean).sort().join("\n") + "\n";

  for (const [what, script, compress, source] of [
    ["gzip archive found by __initramfs_start/__initramfs_size", MERGED, true, "symbols __initramfs_start, __initramfs_size"],
    ["plain cpio found by the .init.ramfs section", NAMED, false, "section .init.ramfs"],
  ] as const) {
    test(what, async () => {
      const dir = mkdtempSync(join(work, "build-"));
      const cpio = execFileSync("cpio", ["-o", "-H", "newc", "--quiet", "-R", "0:0"], { cwd: root, input: list() });
      const data = compress ? execFileSync("gzip", ["-n", "-9", "-c"], { input: cpio }) : cpio;
      writeFileSync(join(dir, "initramfs_inc_data"), data);
      writeFileSync(join(dir, "initramfs_data.S"), ASM);
      writeFileSync(join(dir, "vmlinux.lds"), script);
      execFileSync("as", ["-o", "initramfs_data.o", "initramfs_data.S"], { cwd: dir });
      execFileSync("ld", ["-T", "vmlinux.lds", "-o", "vmlinux", "initramfs_data.o"], { cwd: dir });
      const vmlinux = new Uint8Array(readFileSync(join(dir, "vmlinux")));
      const report = await inspect(vmlinux);
      assert.equal(report.root.format, "elf");
      assert.equal(report.summary.linuxVersion, "Linux version 6.12.0-kimg (built-in initramfs test) #1 SMP");
      const info = report.root.info.builtinInitramfs as { offset: number; size: number; source: string };
      assert.equal(info.source, source);
      assert.equal(info.size, data.length);
      assert.deepEqual(vmlinux.subarray(info.offset, info.offset + info.size), new Uint8Array(data));
      const archive = [...allLayers(report.root)].find((l) => l.archive);
      assert.equal(archive?.path, compress ? "/initramfs/decompressed" : "/initramfs");
      const expected = execFileSync("cpio", ["-t", "--quiet"], { input: cpio }).toString().split("\n").filter(Boolean);
      assert.deepEqual(
        archive?.archive?.entries.map((e) => e.name),
        expected,
      );
      assert.deepEqual(report.diagnostics, []);
      // kernelContents: false reads no banner the headers do not point at (this one is in .text).
      assert.equal((await analyse(vmlinux, { kernelContents: false })).report.summary.linuxVersion, null);
    });
  }

  test("kernelContents: false still reads the banner in .rodata, where the section headers point", async () => {
    const dir = mkdtempSync(join(work, "build-"));
    const banner = "Linux version 6.12.0-kimg (banner in .rodata) #1 SMP";
    writeFileSync(join(dir, "v.S"), `.section .text,"ax"\n.fill 4096, 1, 0x90\n.section .rodata,"a"\n.ascii "${banner}\\n\\0"\n`);
    writeFileSync(join(dir, "v.lds"), "SECTIONS {\n  . = 0xffffffff81000000;\n  .text : { *(.text) }\n  .rodata : { *(.rodata) }\n}\n");
    execFileSync("as", ["-o", "v.o", "v.S"], { cwd: dir });
    execFileSync("ld", ["-T", "v.lds", "-o", "vmlinux", "v.o"], { cwd: dir });
    const vmlinux = new Uint8Array(readFileSync(join(dir, "vmlinux")));
    for (const kernelContents of [true, false]) {
      const { report } = await analyse(vmlinux, { kernelContents });
      assert.equal(report.root.format, "elf");
      assert.equal(report.summary.linuxVersion, banner, `kernelContents: ${kernelContents}`);
    }
  });
});

describe("the uncompressed built-in initramfs of a raw kernel image, found by a bounded search", () => {
  test('an arm64 Image with a newc archive in its data: /initramfs lists it; a lone "070701" string is not taken for one', async () => {
    const image = buildArm64Image({ codeSize: 0x20000 });
    const archive = cpioArchive([
      { name: "dev", mode: 0o040755 },
      { name: "dev/console", mode: 0o020600, rdevMajor: 5, rdevMinor: 1 },
      { name: "root", mode: 0o040700 },
    ]);
    image.set(new TextEncoder().encode("070701 is the newc magic"), 0x8000);
    image.set(archive, 0x10000);
    const report = await inspect(image);
    assert.deepEqual(report.root.info.builtinInitramfs, { offset: 0x10000, size: archive.length, source: "search for a newc archive" });
    const layer = [...allLayers(report.root)].find((l) => l.path === "/initramfs");
    assert.deepEqual(
      layer?.archive?.entries.map((e) => [e.name, e.modeText, e.rdevMajor, e.rdevMinor]),
      [
        ["dev", "drwxr-xr-x", 0, 0],
        ["dev/console", "crw-------", 5, 1],
        ["root", "drwx------", 0, 0],
      ],
    );
    assert.equal(report.summary.kernelPath, "/");
  });

  test("kernelContents: false (what `kimg extract` of the kernel alone asks) searches neither for the archive, nor for a .config, nor for the banner", async () => {
    const image = buildArm64Image({ codeSize: 0x20000 });
    const archive = cpioArchive([{ name: "dev", mode: 0o040755 }]);
    image.set(archive, 0x10000);
    const banner = "Linux version 6.12.9 (builder@kimg) (gcc 14.2.0) #1 SMP PREEMPT_DYNAMIC";
    image.set(new TextEncoder().encode(`${banner}\n\0`), 0x18000);
    const full = await analyse(image);
    assert.equal(
      full.report.root.children.some((c) => c.path === "/initramfs"),
      true,
    );
    assert.equal(full.report.kernelConfig.searchedBytes, image.length);
    assert.equal(full.report.summary.linuxVersion, banner);
    assert.equal(full.report.root.info.release, "6.12.9");
    const kernelOnly = await analyse(image, { kernelContents: false });
    assert.equal(kernelOnly.report.summary.linuxVersion, null);
    assert.equal(kernelOnly.report.root.info.linuxVersion, undefined);
    assert.equal(
      kernelOnly.report.root.structures.some((s) => s.name === "kernel version string"),
      false,
    );
    assert.equal(kernelOnly.report.root.info.builtinInitramfs, undefined);
    assert.equal(
      kernelOnly.report.root.children.some((c) => c.path === "/initramfs"),
      false,
    );
    assert.deepEqual(kernelOnly.report.kernelConfig, { ...full.report.kernelConfig, searchedBytes: 0 });
    assert.equal(kernelConfigLine(kernelOnly.report.kernelConfig), "not searched in /");
    // The kernel's own bytes are the same either way.
    const { data } = await unpack(image, { kernelContents: false });
    assert.deepEqual(data, (await unpack(image)).data);
  });

  test("kimg extract: the kernel alone, and --layer /initramfs (found by the search extract skips for the kernel)", () => {
    const image = buildArm64Image({ codeSize: 0x20000 });
    const archive = cpioArchive([{ name: "dev", mode: 0o040755 }]);
    image.set(archive, 0x10000);
    const dir = mkdtempSync(join(tmpdir(), "kimg-builtin-cli-"));
    try {
      writeFileSync(join(dir, "Image"), image);
      const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8" });
      const kernel = cli("extract", join(dir, "Image"), "-o", join(dir, "kernel"));
      assert.equal(kernel.status, 0, kernel.stderr);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, "kernel"))), image);
      const initramfs = cli("extract", join(dir, "Image"), "--layer", "/initramfs", "-o", join(dir, "initramfs.cpio"));
      assert.equal(initramfs.status, 0, initramfs.stderr);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, "initramfs.cpio"))), archive);
      const missing = cli("extract", join(dir, "Image"), "--layer", "/nothing", "-o", join(dir, "x"));
      assert.match(missing.stderr, /E_NO_SUCH_LAYER|no layer "\/nothing"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const debian = "/var/cache/kimg-debian/bookworm/arm64-arm64/vmlinuz-6.1.0-50-arm64";
  test("Debian's arm64 kernel (when cached by test/debian-kernels.test.ts): the default initramfs of usr/default_cpio_list", {
    skip: existsSync(debian) ? false : `needs ${debian}`,
  }, async () => {
    const report = await inspect(new Uint8Array(readFileSync(debian)), { codecs: NODE_CODECS });
    const layer = [...allLayers(report.root)].find((l) => l.archive);
    assert.equal(layer?.path, `${report.summary.kernelPath === "/" ? "" : report.summary.kernelPath}/initramfs`);
    assert.deepEqual(
      layer?.archive?.entries.map((e) => [e.name, e.type]),
      [
        ["dev", "dir"],
        ["dev/console", "char"],
        ["root", "dir"],
      ],
    );
  });
});
