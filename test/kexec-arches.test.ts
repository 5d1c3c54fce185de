/**
 * kexec on RISC-V and LoongArch: the segment plans from saved /proc/iomem and device-tree
 * fixtures (test/fixtures/kexec/), the RISC-V entry stub decoded with kimg's own RISC-V decoder,
 * and dry runs through the CLI of zboot images of arm64, riscv64 and loongarch64 in two codecs
 * each, on this machine and as a normal user. Nothing here calls the real kernel.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Command } from "commander";
import { registerKexecCommands } from "../src/cli/kexec.js";
import { isKimgError } from "../src/io/errors.js";
import { decodeRiscvSequence } from "../src/isa/riscv.js";
import { findNode, getProperty, parseFdt } from "../src/kexec/fdt.js";
import { freeSystemRam, parseIomem } from "../src/kexec/iomem.js";
import { RISCV_PURGATORY_SIZE, buildRiscvPurgatory } from "../src/kexec/purgatory-riscv.js";
import { LOONGARCH_COMMAND_LINE_SIZE, planLoongArchSegments } from "../src/kexec/segments-loongarch.js";
import { planRiscvSegments } from "../src/kexec/segments-riscv.js";
import { createCoreUnpacker } from "../src/kexec/source.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import type { KexecEnvironment } from "../src/node/kexec/environment.js";
import { Errno } from "../src/node/kexec/syscalls.js";
import type { KexecSyscalls } from "../src/node/kexec/syscalls.js";
import { buildArm64Image, buildLoongArchImage, buildRiscvImage, buildZboot, zbootInputs } from "../support/builders/images.js";
import { compressWith } from "../support/builders/compress.js";
import { MACHINE } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

const FIXTURES = "test/fixtures/kexec";
const RISCV_IOMEM = readFileSync(join(FIXTURES, "iomem-riscv64-qemu-virt.txt"), "utf8");
const LOONGARCH_IOMEM = readFileSync(join(FIXTURES, "iomem-loongarch64-qemu-virt.txt"), "utf8");

/** The QEMU 7.2 riscv64 virt machine's device tree (dumpdtb), with stale /chosen properties added as a running kernel would have them. */
function riscvDtb(): Uint8Array {
  const dts = readFileSync(join(FIXTURES, "riscv64-qemu-virt.dts"), "utf8").replace(
    "\tchosen {",
    '\tchosen {\n\t\tbootargs = "old";\n\t\tlinux,elfcorehdr = <0x00 0x90000000 0x00 0x1000>;\n\t\tlinux,initrd-start = <0x00 0x88000000>;\n\t\tlinux,initrd-end = <0x00 0x88100000>;',
  );
  return new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: dts }));
}

const u64 = (bytes: Uint8Array, offset: number): bigint => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);
/** FDT cells are big-endian. */
const be64 = (bytes: Uint8Array | undefined): bigint =>
  bytes === undefined ? -1n : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, false);
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

describe("RISC-V entry stub", () => {
  const stub = buildRiscvPurgatory(0x80200000, 0x80210000);

  it("is six instructions and two literals, decoded by kimg's RISC-V decoder", () => {
    assert.equal(stub.code.length, RISCV_PURGATORY_SIZE);
    const decoded = decodeRiscvSequence(stub.code, 6);
    assert.deepEqual(
      decoded.map((d) => [d.offset, d.encoding, d.text]),
      [
        [0x00, "0x00000297", "auipc t0, 0x0"],
        [0x04, "0x0182b303", "ld t1, 24(t0)"],
        [0x08, "0x0202b583", "ld a1, 32(t0)"],
        [0x0c, "0x18001073", "csrw satp, zero"],
        [0x10, "0x00030067", "jr t1"],
        [0x14, "0x00000013", "nop"],
      ],
    );
    // The loads read the literals at auipc's PC + 0x18 and + 0x20.
    assert.equal(u64(stub.code, 0x18), 0x80200000n);
    assert.equal(u64(stub.code, 0x20), 0x80210000n);
    // a0 (the hart id the kernel set) is never written; the jump does not fall through.
    assert.equal(
      decoded.some((d) => d.writes?.includes("a0")),
      false,
    );
    assert.equal(decoded[4]?.fallsThrough, false);
    assert.deepEqual(
      stub.listing.map((i) => i.offset),
      [0, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x20],
    );
  });

  it("refuses addresses it cannot hand over", () => {
    assert.throws(() => buildRiscvPurgatory(0x80200002, 0x80210000), /kernel entry 0x80200002 is not a 4-byte aligned/);
    assert.throws(() => buildRiscvPurgatory(0x80200000, 0x80210004), /DTB address 0x80210004 is not a 8-byte aligned/);
  });
});

describe("RISC-V segments from a saved /proc/iomem and the QEMU virt device tree", { skip: needs("dtc") }, () => {
  const kernel = buildRiscvImage();
  const initrd = new Uint8Array(0x3001).fill(7);
  const freeRam = freeSystemRam(parseIomem(RISCV_IOMEM), { avoidRunningKernel: false });

  it("keeps off the firmware and reserved memory, and may reuse the running kernel's place", () => {
    // "Reserved" (RISC-V's spelling) is taken out like arm64's "reserved".
    assert.deepEqual(freeRam, [{ start: 0x80040000, end: 0xbfe00000 }]);
  });

  it("places the Image on the first 2 MiB boundary, then initrd, DTB and stub, and sets /chosen", () => {
    const plan = planRiscvSegments({ kernel, initrd, cmdline: "console=ttyS0 hello=kimg", fdt: riscvDtb(), freeRam, pageSize: 4096 });
    const imageSize = Number(u64(kernel, 0x10));
    const kernelEnd = 0x80200000 + alignUp(Math.max(imageSize, kernel.length), 4096);
    // The kernel reserves its image up to the next 2 MiB (arch/riscv/mm/init.c setup_bootmem): the initrd goes after that.
    const tailEnd = alignUp(kernelEnd, 0x200000);
    const dtb = plan.segments[2]?.buf ?? new Uint8Array(0);
    const dtbAt = tailEnd + 0x4000;
    const stubAt = dtbAt + alignUp(dtb.length, 4096);
    assert.deepEqual(
      plan.segments.map((s) => [s.name, s.buf.length, s.mem, s.memsz]),
      [
        ["kernel", kernel.length, 0x80200000, kernelEnd - 0x80200000],
        ["initrd", 0x3001, tailEnd, 0x4000],
        ["dtb", dtb.length, dtbAt, alignUp(dtb.length, 4096)],
        ["purgatory", RISCV_PURGATORY_SIZE, stubAt, 0x1000],
      ],
    );
    assert.equal(plan.entry, stubAt);
    assert.deepEqual(plan.registers, { a0: null, a1: dtbAt, satp: 0, pc: 0x80200000 });
    assert.equal(u64(plan.segments[3]?.buf ?? new Uint8Array(0x28), 0x18), 0x80200000n);
    assert.equal(u64(plan.segments[3]?.buf ?? new Uint8Array(0x28), 0x20), BigInt(dtbAt));

    const chosen = findNode(parseFdt(dtb), "/chosen");
    assert.ok(chosen);
    const prop = (name: string): Uint8Array | undefined => getProperty(chosen, name);
    assert.equal(new TextDecoder().decode(prop("bootargs")), "console=ttyS0 hello=kimg\0");
    assert.equal(be64(prop("linux,initrd-start")), BigInt(tailEnd));
    assert.equal(be64(prop("linux,initrd-end")), BigInt(tailEnd + 0x3001));
    assert.equal(prop("linux,elfcorehdr"), undefined);
    assert.equal(new TextDecoder().decode(prop("stdout-path")), "/soc/serial@10000000\0");
    assert.deepEqual(plan.chosenChanges, [
      { property: "bootargs", action: "set" },
      { property: "linux,initrd-start", action: "set" },
      { property: "linux,initrd-end", action: "set" },
      { property: "linux,elfcorehdr", action: "removed" },
    ]);
  });

  it("without an initrd removes the old initrd properties; refuses big-endian Images and a full memory", () => {
    const plan = planRiscvSegments({ kernel, cmdline: null, fdt: riscvDtb(), freeRam, pageSize: 4096 });
    assert.deepEqual(
      plan.chosenChanges.map((c) => `${c.action} ${c.property}`),
      ["removed bootargs", "removed linux,initrd-start", "removed linux,initrd-end", "removed linux,elfcorehdr"],
    );
    const bigEndian = kernel.slice();
    bigEndian[0x18] = 1;
    assert.throws(() => planRiscvSegments({ kernel: bigEndian, cmdline: null, fdt: riscvDtb(), freeRam, pageSize: 4096 }), /big-endian RISC-V Images/);
    assert.throws(
      () => planRiscvSegments({ kernel, cmdline: null, fdt: riscvDtb(), freeRam: [{ start: 0x80040000, end: 0x80100000 }], pageSize: 4096 }),
      /no free RAM for the kernel/,
    );
  });
});

describe("LoongArch segments from a saved /proc/iomem", () => {
  const freeRam = freeSystemRam(parseIomem(LOONGARCH_IOMEM), { avoidRunningKernel: false });
  const initrd = new Uint8Array(0x3001).fill(9);

  it('puts the kernel at its link address, the initrd and the "kexec" command line above it', () => {
    const kernel = buildLoongArchImage();
    const plan = planLoongArchSegments({ kernel, initrd, cmdline: "console=ttyS0,115200", freeRam, pageSize: 16384 });
    assert.deepEqual(
      plan.segments.map((s) => [s.name, s.buf.length, s.mem, s.memsz]),
      [
        ["kernel", kernel.length, 0x200000, 0xc000],
        ["initrd", 0x3001, 0x20c000, 0x4000],
        ["cmdline", LOONGARCH_COMMAND_LINE_SIZE, 0x210000, 0x4000],
      ],
    );
    // kernel_entry (0x201080 in the header) as kexec_load's entry; the kernel jumps to phys_to_virt of it.
    assert.equal(plan.entry, 0x201080);
    assert.deepEqual(plan.registers, { a0: "efi_boot", a1: 0x9000000000108000n, a2: "systab", pc: 0x9000000000201080n });
    const text = "kexec console=ttyS0,115200 initrd=0x20c000,0x3001";
    assert.equal(plan.cmdlineSegment, text);
    const expected = new Uint8Array(LOONGARCH_COMMAND_LINE_SIZE);
    expected.set(new TextEncoder().encode(text));
    assert.deepEqual(plan.segments[2]?.buf, expected);
  });

  it("maps a DMW virtual kernel_entry (before v6.10) and a v6.1 header without load_offset to the same physical entry", () => {
    const dmw = planLoongArchSegments({ kernel: buildLoongArchImage({ entryForm: "dmw", loadOffsetSet: true }), cmdline: "x", freeRam, pageSize: 16384 });
    assert.equal(dmw.image.kernelEntry, 0x9000000000201080n);
    assert.equal(dmw.image.entry.form, "dmw-virtual");
    assert.equal(dmw.entry, 0x201080);
    const v61 = planLoongArchSegments({ kernel: buildLoongArchImage({ entryForm: "dmw", linuxPeMagic: false }), cmdline: null, freeRam, pageSize: 16384 });
    assert.equal(v61.image.loadOffset, 0n);
    assert.equal(v61.image.needs.linkAddressAssumed, true);
    assert.equal(v61.entry, 0x201080);
    assert.deepEqual(
      v61.segments.map((s) => [s.name, s.mem]),
      [
        ["kernel", 0x200000],
        ["cmdline", 0x20c000],
      ],
    );
    assert.equal(v61.cmdlineSegment, "kexec ");
  });

  it("relocates the kernel to the lowest 2 MiB aligned free range when its link address is taken (captured iomem)", () => {
    // The running kernel sits at 0x80000000 (the EFI stub moved it) and its early allocation
    // "Reserved 00200000-002c3fff" covers the link address: the kernel goes to 0x400000, above it.
    const moved = freeSystemRam(parseIomem(readFileSync(join(FIXTURES, "iomem-loongarch64-qemu-virt-relocated.txt"), "utf8")), {
      avoidRunningKernel: false,
    });
    assert.deepEqual(moved.slice(0, 2), [
      { start: 0x2c4000, end: 0x2b90000 },
      { start: 0x6ba0000, end: 0xd960000 },
    ]);
    const kernel = buildLoongArchImage();
    const plan = planLoongArchSegments({ kernel, initrd, cmdline: "console=ttyS0,115200", freeRam: moved, pageSize: 16384 });
    assert.equal(plan.relocated, true);
    assert.deepEqual(
      plan.segments.map((s) => [s.name, s.mem, s.memsz]),
      [
        ["kernel", 0x400000, 0xc000],
        ["initrd", 0x40c000, 0x4000],
        ["cmdline", 0x410000, 0x4000],
      ],
    );
    // kernel_entry keeps its offset in the image (0x1080), at the new place.
    assert.equal(plan.entry, 0x401080);
    assert.equal(plan.registers.pc, 0x9000000000401080n);
    assert.equal(plan.cmdlineSegment, "kexec console=ttyS0,115200 initrd=0x40c000,0x3001");
    // A kernel of Debian's 7.2 size (kernel_asize 0x1a00000) fits there too, below 0x2b90000.
    const sized = buildLoongArchImage();
    new DataView(sized.buffer, sized.byteOffset).setBigUint64(16, 0x1a00000n, true); // kernel_asize
    const big = planLoongArchSegments({ kernel: sized, cmdline: null, freeRam: moved, pageSize: 16384 });
    assert.deepEqual(big.segments[0] && [big.segments[0].mem, big.segments[0].memsz], [0x400000, 0x1a00000]);
    // At its link address when that is free (the hand-written map): not relocated.
    assert.equal(planLoongArchSegments({ kernel, cmdline: null, freeRam, pageSize: 16384 }).relocated, false);
  });

  it("refuses when neither the link address nor a 2 MiB aligned range is free RAM, and a command line the kernel would cut", () => {
    const kernel = buildLoongArchImage();
    assert.throws(
      () => planLoongArchSegments({ kernel, cmdline: null, freeRam: [{ start: 0x90010000, end: 0x901f0000 }], pageSize: 16384 }),
      /link address 0x200000 \(\+0xc000 bytes\) is not free System RAM on this machine, and no 2 MiB aligned free range holds it/,
    );
    assert.throws(() => planLoongArchSegments({ kernel, cmdline: "a".repeat(4090), freeRam, pageSize: 16384 }), /the kernel copies 4095 at most/);
    assert.throws(() => planLoongArchSegments({ kernel: buildRiscvImage(), cmdline: null, freeRam, pageSize: 16384 }), /not a LoongArch vmlinux.efi/);
  });
});

/** A machine that is not the target: x86_64, a normal user, nothing readable. */
function x86User(): { env: KexecEnvironment; calls: string[] } {
  const calls: string[] = [];
  const refused = (name: string) => (): number => {
    calls.push(name);
    return -Errno.EPERM;
  };
  const syscalls: KexecSyscalls = {
    kexecLoad: refused("kexec_load"),
    kexecFileLoad: refused("kexec_file_load"),
    memfdCreate: refused("memfd_create"),
    rebootKexec: refused("reboot"),
    pageSize: () => 4096,
    addressOf: () => 0n,
  };
  const env: KexecEnvironment = {
    platform: "linux",
    arch: "x64",
    uid: 1000,
    readText: () => null,
    readBytes: () => null,
    syscalls: () => syscalls,
    randomBytes: (n) => new Uint8Array(n),
    writeAll: () => undefined,
    close: () => undefined,
  };
  return { env, calls };
}

async function cli(args: string[]): Promise<{ out: string; error: unknown; calls: string[] }> {
  const { env, calls } = x86User();
  let out = "";
  const program = new Command().exitOverride();
  registerKexecCommands(program, { env: () => env, unpack: createCoreUnpacker({ codecs: NODE_CODECS }), write: (t) => void (out += t) });
  let error: unknown = null;
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    error = e;
  }
  return { out, error, calls };
}

describe("dry runs of zboot images on an x86_64 machine as a normal user", { skip: needs("dtc", "gzip", "zstd", "xz") }, () => {
  const dir = mkdtempSync(join(tmpdir(), "kimg-kexec-arches-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const arm64Dtb = join(dir, "arm64.dtb");
  const riscvDtbFile = join(dir, "riscv64.dtb");
  writeFileSync(riscvDtbFile, riscvDtb());
  writeFileSync(
    arm64Dtb,
    execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: "/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; chosen { }; };\n" }),
  );
  const arm64Iomem = join(dir, "iomem-arm64");
  writeFileSync(arm64Iomem, "40000000-7fffffff : System RAM\n  40210000-4185ffff : Kernel code\n");

  const cases = [
    { arch: "arm64", machine: MACHINE.ARM64, image: buildArm64Image(), codecs: ["gzip", "zstd22"], extra: ["--dtb", arm64Dtb, "--iomem", arm64Iomem] },
    {
      arch: "riscv64",
      machine: MACHINE.RISCV64,
      image: buildRiscvImage(),
      codecs: ["gzip", "xzkern"],
      extra: ["--dtb", riscvDtbFile, "--iomem", join(FIXTURES, "iomem-riscv64-qemu-virt.txt")],
    },
    {
      arch: "loongarch64",
      machine: MACHINE.LOONGARCH64,
      image: buildLoongArchImage(),
      codecs: ["zstd", "gzip"],
      extra: ["--iomem", join(FIXTURES, "iomem-loongarch64-qemu-virt.txt")],
    },
  ] as const;
  const tools: Record<string, "gzip" | "zstd" | "xz"> = { gzip: "gzip", zstd: "zstd", zstd22: "zstd", xzkern: "xz" };

  for (const c of cases) {
    for (const codec of c.codecs) {
      it(`${c.arch} zboot (${codec}): the full plan, and why this machine would refuse it`, async () => {
        const { toCompress, trailer } = zbootInputs(c.image, "v6.4", codec);
        const payload = compressWith(tools[codec] ?? "gzip", toCompress);
        const file = join(dir, `${c.arch}-${codec}.efi`);
        writeFileSync(file, buildZboot({ machine: c.machine, compType: codec, payload, trailer: trailer(payload) }).bytes);
        const { out, error, calls } = await cli(["kexec", "load", file, "--cmdline", "console=ttyS0 hello=kimg", ...c.extra, "--dry-run", "--json"]);
        assert.equal(error, null, String(error));
        assert.deepEqual(calls, [], "a dry run makes no system call");
        const result = JSON.parse(out) as {
          targetArch: string;
          wouldRefuse: string[];
          needs: string[];
          plan: { mode: string; source: { arch: string; compression: string; path: string }; segments: Array<{ name: string; mem: string }>; entry: string };
        };
        assert.equal(result.targetArch, c.arch);
        assert.equal(result.plan.mode, "segments");
        assert.equal(result.plan.source.arch, c.arch);
        assert.equal(result.plan.source.compression, { zstd22: "zstd", xzkern: "xz" }[codec as string] ?? codec);
        assert.deepEqual(result.wouldRefuse, ["kexec needs root (CAP_SYS_BOOT)", `the image is for ${c.arch}, this machine is x86_64`]);
        assert.equal(result.needs[0], `${c.arch === "arm64" ? "an" : "a"} ${c.arch} Linux machine`);
        // arm64: below the running kernel's code (0x40210000), which arm64 plans keep off.
        const kernelAt = { arm64: "0x40000000", riscv64: "0x80200000", loongarch64: "0x200000" }[c.arch];
        assert.equal(result.plan.segments[0]?.mem, kernelAt);
        if (c.arch === "loongarch64") assert.equal(result.plan.entry, "0x201080");

        const text = await cli(["kexec", "load", file, "--cmdline", "console=ttyS0 hello=kimg", ...c.extra, "--dry-run"]);
        assert.match(text.out, new RegExp(`^dry run \\(${c.arch}\\): nothing loaded$`, "m"));
        assert.match(text.out, /^a real load here would be refused: the image is for \S+, this machine is x86_64$/m);
      });
    }
  }

  it("--json prints an error object with its code, for a missing memory map and a Node architecture name", async () => {
    const file = join(dir, "riscv64.Image");
    writeFileSync(file, buildRiscvImage());
    const missing = await cli(["kexec", "load", file, "--dry-run", "--json"]);
    assert.ok(isKimgError(missing.error));
    const parsed = JSON.parse(missing.out) as { dryRun: boolean; error: { code: string; message: string } };
    assert.equal(parsed.error.code, "E_SYSTEM");
    assert.match(parsed.error.message, /a plan for a riscv64 machine on this x86_64 one needs that machine's memory map: give --iomem FILE/);
    const x64 = await cli(["kexec", "load", file, "--arch", "x64", "--dry-run", "--json"]);
    assert.deepEqual(JSON.parse(x64.out), {
      dryRun: true,
      error: {
        code: "E_USAGE",
        message: 'unknown architecture "x64" (the kernel calls x64 "x86_64"): use one of x86_64, arm64, riscv64, loongarch64',
        offset: null,
        data: { structure: "kexec", actual: "x64" },
      },
    });
    // A wrong command line too.
    const unknown = await cli(["kexec", "load", file, "--json", "--bogus"]);
    assert.ok(unknown.error instanceof Error);
    assert.deepEqual(JSON.parse(unknown.out), {
      error: {
        code: "E_USAGE",
        message: "unknown option '--bogus'",
        offset: null,
        data: { structure: "kimg kexec load", commander: "commander.unknownOption" },
      },
    });
    const mismatch = await cli(["kexec", "load", file, "--arch", "loongarch64", "--dry-run", "--json"]);
    assert.equal((JSON.parse(mismatch.out) as { error: { code: string } }).error.code, "E_SYSTEM");
    assert.match(mismatch.out, /the image is for riscv64, --arch says loongarch64/);
  });
});

const DEBIAN = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
const DEBIAN_LOONG64 = join(DEBIAN, "sid/loong64-loong64/vmlinuz-7.2.13+deb14-loong64");

describe("a dry run of Debian's loong64 zboot through the real CLI", () => {
  it("as an unprivileged user on this x86_64 machine", {
    skip: existsSync(DEBIAN_LOONG64) ? false : `${DEBIAN_LOONG64} absent (scripts/fetch-debian-kernels.sh loong64/loong64:sid)`,
  }, () => {
    // Run as nobody when the tests run as root, so no privilege hides a problem.
    const asUser = typeof process.getuid === "function" && process.getuid() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/run.ts",
        "kexec",
        "load",
        DEBIAN_LOONG64,
        "--cmdline",
        "console=ttyS0,115200",
        "--iomem",
        join(FIXTURES, "iomem-loongarch64-qemu-virt.txt"),
        "--dry-run",
        "--json",
      ],
      { encoding: "utf8", maxBuffer: 1 << 26, env: { ...process.env, HOME: tmpdir() }, ...asUser },
    );
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      wouldRefuse: string[];
      plan: { source: { path: string; compression: string }; entry: string; image: { kernelEntry: string; linkAddress: string }; cmdlineSegment: string };
    };
    assert.equal(result.plan.source.path, "zboot > compressed > loongarch-image");
    assert.equal(result.plan.source.compression, "zstd");
    // The entry is the header's kernel_entry with the DMW bits masked off (a physical one since v6.10).
    assert.equal(BigInt(result.plan.entry), BigInt(result.plan.image.kernelEntry) & ((1n << 48n) - 1n));
    assert.equal(result.plan.image.linkAddress, "0x200000");
    assert.equal(result.plan.cmdlineSegment, "kexec console=ttyS0,115200");
    assert.deepEqual(result.wouldRefuse, [
      ...(asUser.uid === undefined && process.getuid?.() === 0 ? [] : ["kexec needs root (CAP_SYS_BOOT)"]),
      "the image is for loongarch64, this machine is x86_64",
    ]);
  });
});

const DEBIAN_RISCV64 = join(DEBIAN, "trixie/riscv64-riscv64/vmlinux-6.12.117+deb13-riscv64");

describe("Debian's riscv64 Image in the QEMU virt memory map", { skip: needs("dtc") }, () => {
  it("goes on the first 2 MiB boundary of RAM with its own image_size reserved", {
    skip: existsSync(DEBIAN_RISCV64) ? false : `${DEBIAN_RISCV64} absent (scripts/fetch-debian-kernels.sh riscv64/riscv64:trixie)`,
  }, () => {
    const kernel = new Uint8Array(readFileSync(DEBIAN_RISCV64));
    const freeRam = freeSystemRam(parseIomem(RISCV_IOMEM), { avoidRunningKernel: false });
    const plan = planRiscvSegments({ kernel, cmdline: "console=ttyS0", fdt: riscvDtb(), freeRam, pageSize: 4096 });
    // The header's own numbers: text_offset is the 2 MiB alignment, image_size (BSS included) the reservation.
    assert.equal(u64(kernel, 0x08), 0x200000n);
    assert.equal(plan.image.version, 2);
    assert.equal(plan.segments[0]?.mem, 0x80200000);
    assert.equal(plan.segments[0]?.memsz, alignUp(Number(u64(kernel, 0x10)), 4096));
    // The next segment after the 2 MiB the kernel reserves its image in (setup_bootmem rounds _end up to a PMD).
    assert.equal(plan.segments[1]?.mem, alignUp(0x80200000 + alignUp(Number(u64(kernel, 0x10)), 4096), 0x200000));
    assert.equal(plan.registers.pc, 0x80200000);
  });
});

describe("file mode and IMA", () => {
  it("passes the user's own file when the kernel is used as it is, a memfd for what kimg unpacked", async () => {
    const { prepareKexec, loadKexec } = await import("../src/node/kexec/loader.js");
    const calls: string[] = [];
    const syscalls: KexecSyscalls = {
      kexecLoad: () => 0,
      kexecFileLoad: (kernelFd, initrdFd, _cmdline, flags) => {
        calls.push(`kexec_file_load ${kernelFd} ${initrdFd} ${flags}`);
        return flags === 0x80000000 ? -Errno.EINVAL : 0;
      },
      memfdCreate: (name) => {
        calls.push(`memfd_create ${name}`);
        return 20;
      },
      rebootKexec: () => -Errno.EPERM,
      pageSize: () => 4096,
      addressOf: () => 0n,
    };
    const env: KexecEnvironment = {
      ...x86User().env,
      arch: "riscv64",
      uid: 0,
      syscalls: () => syscalls,
      openRead: (path) => {
        calls.push(`open ${path}`);
        return 30;
      },
    };
    const image = buildRiscvImage();
    const unpack = createCoreUnpacker({ codecs: NODE_CODECS });
    const asIs = await prepareKexec({ image, imagePath: "/boot/Image", initrd: new Uint8Array(8), initrdName: "/boot/initrd.img", append: "x", unpack }, env);
    assert.equal(asIs.plan.mode, "file");
    assert.ok(asIs.plan.mode === "file");
    assert.deepEqual([asIs.plan.kernelFd, asIs.plan.kernelPath, asIs.plan.initrdFd, asIs.plan.initrdPath], ["file", "/boot/Image", "file", "/boot/initrd.img"]);
    calls.length = 0;
    loadKexec(asIs.plan, env);
    assert.deepEqual(calls, ["open /boot/Image", "open /boot/initrd.img", "kexec_file_load 30 30 0"]);

    const { toCompress, trailer } = zbootInputs(image, "v6.4", "gzip");
    const payload = compressWith("gzip", toCompress);
    const zboot = buildZboot({ machine: MACHINE.RISCV64, compType: "gzip", payload, trailer: trailer(payload) }).bytes;
    const unpacked = await prepareKexec({ image: zboot, imagePath: "/boot/vmlinuz.efi", unpack: createCoreUnpacker({ codecs: NODE_CODECS }) }, env);
    assert.ok(unpacked.plan.mode === "file");
    assert.deepEqual([unpacked.plan.kernelFd, unpacked.plan.kernelPath, unpacked.plan.initrdFd], ["memfd", null, null]);
    calls.length = 0;
    loadKexec(unpacked.plan, env);
    assert.deepEqual(calls, ["memfd_create kimg-kernel", "kexec_file_load 20 -1 4"]);
  });
});
