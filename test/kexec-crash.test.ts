/**
 * Crash kernels: the ELF core header (checked with GNU readelf), the crash reservation read from
 * /proc/iomem, and the arm64 crash segment plan (every segment inside the reservation, /chosen's
 * linux,elfcorehdr and linux,usable-memory-range, checked with dtc).
 * The iomem text is what Debian's arm64 6.1 kernel printed in qemu-system-aarch64 -M virt -m 2048
 * booted with crashkernel=256M.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KimgError } from "../src/io/errors.js";
import { chooseCrashReservation, crashDumpRam, crashReservations, planArm64CrashSegments, runningKernelImage } from "../src/kexec/crash.js";
import { ELFCORE_ALIGN, buildElfCoreHeader } from "../src/kexec/elfcore.js";
import { findNode, getProperty, parseFdt } from "../src/kexec/fdt.js";
import { parseIomem } from "../src/kexec/iomem.js";
import { parseCpuList, readCrashFacts } from "../src/node/kexec/crash.js";
import type { KexecEnvironment } from "../src/node/kexec/environment.js";
import { buildArm64Image } from "../support/builders/images.js";
import { needs } from "./helpers/tools.js";
import { Command } from "commander";
import { registerKexecCommands } from "../src/cli/kexec.js";
import { createCoreUnpacker } from "../src/kexec/source.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { Errno } from "../src/node/kexec/syscalls.js";
import type { KexecSyscalls } from "../src/node/kexec/syscalls.js";

const CRASH_IOMEM = `09000000-09000fff : pl011@9000000
  09000000-09000fff : 9000000.pl011 pl011@9000000
10000000-3efeffff : pcie@10000000
40000000-bfffffff : System RAM
  40210000-4185ffff : Kernel code
  41860000-41eaffff : reserved
  41eb0000-4220ffff : Kernel data
  48000000-4e100fff : reserved
  a8000000-b7ffffff : Crash kernel
  b9800000-bf9fffff : reserved
4010000000-401fffffff : PCI ECAM
`;

const DTS = `/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	chosen {
		bootargs = "console=ttyAMA0 crashkernel=256M";
		linux,elfcorehdr = <0x0 0x1 0x0 0x2>;
	};
	memory@40000000 {
		device_type = "memory";
		reg = <0x0 0x40000000 0x0 0x80000000>;
	};
};
`;

function withTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "kimg-crash-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withTempAsync(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "kimg-crash-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const resources = parseIomem(CRASH_IOMEM);

describe("crash reservation and dumped RAM from /proc/iomem", () => {
  it("finds the Crash kernel range and takes it out of System RAM", () => {
    assert.deepEqual(crashReservations(resources), [{ start: 0xa8000000, end: 0xb8000000 }]);
    assert.deepEqual(crashDumpRam(resources), [
      { start: 0x40000000, end: 0xa8000000 },
      { start: 0xb8000000, end: 0xc0000000 },
    ]);
    assert.deepEqual(runningKernelImage(resources), { start: 0x40210000, end: 0x42210000 });
  });

  it("says how to reserve memory when there is none", () => {
    assert.throws(
      () => chooseCrashReservation(crashReservations(parseIomem("40000000-bfffffff : System RAM\n"))),
      (e: unknown) => e instanceof KimgError && /crashkernel=SIZE/.test(e.message),
    );
  });

  it("reads the kernel's cpu lists", () => {
    assert.deepEqual(parseCpuList("0-3,6\n"), [0, 1, 2, 3, 6]);
    assert.throws(() => parseCpuList("0-99999"), KimgError);
    assert.throws(() => parseCpuList("a-b"), KimgError);
  });
});

describe("reading the running system's crash facts", () => {
  // What Debian's arm64 6.1 kernel showed in qemu-system-aarch64 (-smp 2, crashkernel=256M).
  const files: Record<string, string> = {
    "/proc/iomem": CRASH_IOMEM,
    "/sys/devices/system/cpu/possible": "0-1\n",
    "/sys/devices/system/cpu/cpu0/crash_notes": "bfbc5600\n",
    "/sys/devices/system/cpu/cpu0/crash_notes_size": "424\n",
    "/sys/devices/system/cpu/cpu1/crash_notes": "bfbd5600\n",
    "/sys/devices/system/cpu/cpu1/crash_notes_size": "424\n",
    "/sys/kernel/vmcoreinfo": "42768000 1024\n",
  };
  const env = { readText: (path: string) => files[path] ?? null } as unknown as KexecEnvironment;
  const kallsyms = "ffffa920d7410000 t bcm2835_handle_irq\nffffa920d7410000 T _stext\nffffa920d7410000 T __irqentry_text_start\n";

  it("takes each CPU's note, the vmcoreinfo note and the kernel code at _stext (arm64)", () => {
    const facts = readCrashFacts(env, "arm64", () => kallsyms);
    assert.deepEqual(facts.cpuNotes, [
      { name: "cpu0", address: 0xbfbc5600n, size: 424 },
      { name: "cpu1", address: 0xbfbd5600n, size: 424 },
    ]);
    assert.deepEqual(facts.vmcoreinfo, { name: "vmcoreinfo", address: 0x42768000n, size: 0x1024 });
    assert.deepEqual(facts.kernelText, { paddr: 0x40210000n, vaddr: 0xffffa920d7410000n, size: 0x2000000n });
  });

  it("leaves the kernel text out when kallsyms hides addresses (non-root) or has no such symbol", () => {
    assert.equal(readCrashFacts(env, "arm64", () => kallsyms.replaceAll("ffffa920d7410000", "0000000000000000")).kernelText, null);
    assert.equal(readCrashFacts(env, "riscv64", () => kallsyms).kernelText, null);
  });

  it("refuses a system without crash notes and garbage in sysfs", () => {
    const none = { readText: (path: string) => (path === "/proc/iomem" ? CRASH_IOMEM : null) } as unknown as KexecEnvironment;
    assert.throws(
      () => readCrashFacts(none, "arm64", () => null),
      (e: unknown) => e instanceof KimgError && /no CPU crash notes/.test(e.message),
    );
    const bad = { readText: (path: string) => (path.endsWith("cpu0/crash_notes") ? "zz\n" : (files[path] ?? null)) } as unknown as KexecEnvironment;
    assert.throws(() => readCrashFacts(bad, "arm64", () => null), KimgError);
  });
});

const NOTES = [
  { name: "cpu0", address: 0xbf6c3e00n, size: 0x1b0 },
  { name: "cpu1", address: 0xbf6d3e00n, size: 0x1b0 },
];
const VMCOREINFO = { name: "vmcoreinfo", address: 0x41f4a000n, size: 0x1000 };

describe("the ELF core header", { skip: needs("readelf") }, () => {
  const header = buildElfCoreHeader({
    arch: "arm64",
    cpuNotes: NOTES,
    vmcoreinfo: VMCOREINFO,
    kernelText: { paddr: 0x40210000n, vaddr: 0xffff800008000000n, size: 0x2000000n },
    ram: crashDumpRam(resources),
  });

  it("is an ELF64 core file for AArch64 that readelf -h reads", () => {
    assert.equal(header.bytes.length, ELFCORE_ALIGN);
    assert.equal(header.length, 64 + 6 * 56);
    withTemp((dir) => {
      const file = join(dir, "elfcorehdr");
      writeFileSync(file, header.bytes);
      const out = execFileSync("readelf", ["-h", "-W", file], { encoding: "utf8" });
      assert.match(out, /Class:\s+ELF64/);
      assert.match(out, /Data:\s+2's complement, little endian/);
      assert.match(out, /Type:\s+CORE \(Core file\)/);
      assert.match(out, /Machine:\s+AArch64/);
      assert.match(out, /Start of program headers:\s+64 \(bytes into file\)/);
      assert.match(out, /Size of program headers:\s+56 \(bytes\)/);
      assert.match(out, /Number of program headers:\s+6/);
      assert.match(out, /Number of section headers:\s+0/);
    });
  });

  it("lists the notes, the kernel text and each RAM range outside the reservation (readelf -l)", () => {
    withTemp((dir) => {
      const file = join(dir, "elfcorehdr");
      writeFileSync(file, header.bytes);
      const out = execFileSync("readelf", ["-l", "-W", file], { encoding: "utf8" });
      const rows = out
        .split("\n")
        .filter((l) => /^\s+(NOTE|LOAD)\s/.test(l))
        .map((l) => l.trim().split(/\s+/));
      assert.deepEqual(rows, [
        ["NOTE", "0xbf6c3e00", "0x0000000000000000", "0x00000000bf6c3e00", "0x0001b0", "0x0001b0", "0"],
        ["NOTE", "0xbf6d3e00", "0x0000000000000000", "0x00000000bf6d3e00", "0x0001b0", "0x0001b0", "0"],
        ["NOTE", "0x41f4a000", "0x0000000000000000", "0x0000000041f4a000", "0x001000", "0x001000", "0"],
        ["LOAD", "0x40210000", "0xffff800008000000", "0x0000000040210000", "0x2000000", "0x2000000", "RWE", "0"],
        ["LOAD", "0x40000000", "0x0000000000000000", "0x0000000040000000", "0x68000000", "0x68000000", "RWE", "0"],
        ["LOAD", "0xb8000000", "0x0000000000000000", "0x00000000b8000000", "0x8000000", "0x8000000", "RWE", "0"],
      ]);
      assert.deepEqual(
        header.headers.map((h) => [h.type, h.what, h.headerOffset]),
        [
          ["PT_NOTE", "cpu0", 64],
          ["PT_NOTE", "cpu1", 120],
          ["PT_NOTE", "vmcoreinfo", 176],
          ["PT_LOAD", "kernel text", 232],
          ["PT_LOAD", "System RAM", 288],
          ["PT_LOAD", "System RAM", 344],
        ],
      );
    });
  });

  it("points each PT_NOTE at its note: readelf -n reads them from a file laid out like old memory", () => {
    // A CPU note as crash_save_cpu writes it (name "CORE", NT_PRSTATUS) and a VMCOREINFO note,
    // placed at small "physical" addresses inside the file so readelf can follow p_offset.
    const note = (name: string, type: number, desc: Uint8Array): Uint8Array => {
      const nameBytes = new TextEncoder().encode(`${name}\0`);
      const namesz = Math.ceil(nameBytes.length / 4) * 4;
      const descsz = Math.ceil(desc.length / 4) * 4;
      const out = new Uint8Array(12 + namesz + descsz);
      const v = new DataView(out.buffer);
      v.setUint32(0, nameBytes.length, true);
      v.setUint32(4, desc.length, true);
      v.setUint32(8, type, true);
      out.set(nameBytes, 12);
      out.set(desc, 12 + namesz);
      return out;
    };
    const prstatus = note("CORE", 1, new Uint8Array(392));
    const info = note("VMCOREINFO", 0, new TextEncoder().encode("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n"));
    const small = buildElfCoreHeader({
      arch: "arm64",
      cpuNotes: [{ name: "cpu0", address: 0x1000n, size: prstatus.length }],
      vmcoreinfo: { name: "vmcoreinfo", address: 0x2000n, size: info.length },
      ram: [{ start: 0x3000, end: 0x4000 }],
    });
    const image = new Uint8Array(0x4000);
    image.set(small.bytes.subarray(0, small.length), 0);
    image.set(prstatus, 0x1000);
    image.set(info, 0x2000);
    withTemp((dir) => {
      const file = join(dir, "core");
      writeFileSync(file, image);
      const out = execFileSync("readelf", ["-n", "-W", file], { encoding: "utf8" });
      assert.match(out, /Displaying notes found at file offset 0x00001000 with length 0x0000019c:/);
      assert.match(out, /CORE\s+0x00000188\s+NT_PRSTATUS \(prstatus structure\)/);
      assert.match(out, /Displaying notes found at file offset 0x00002000 with length 0x0000003c:/);
      assert.match(out, /VMCOREINFO\s+0x00000023\s+Unknown note type: \(0x00000000\)/);
    });
  });

  it("refuses what it cannot describe", () => {
    assert.throws(() => buildElfCoreHeader({ arch: "sparc", cpuNotes: NOTES, vmcoreinfo: null, ram: [] }), KimgError);
    assert.throws(() => buildElfCoreHeader({ arch: "arm64", cpuNotes: [{ name: "cpu0", address: 0n, size: 0 }], vmcoreinfo: null, ram: [] }), KimgError);
  });
});

describe("the arm64 crash segment plan", { skip: needs("dtc") }, () => {
  const fdt = new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: DTS }));
  const kernel = buildArm64Image({ textOffset: 0, bssSize: 0x2000000 });
  const elfcore = buildElfCoreHeader({ arch: "arm64", cpuNotes: NOTES, vmcoreinfo: VMCOREINFO, ram: crashDumpRam(resources) });
  const reservation = chooseCrashReservation(crashReservations(resources));

  it("puts every segment in the reservation, the header at its top, and tells the crash kernel in /chosen", () => {
    const plan = planArm64CrashSegments({
      kernel,
      initrd: new Uint8Array(0x3000).fill(7),
      cmdline: "console=ttyAMA0 nr_cpus=1 reset_devices",
      fdt,
      pageSize: 4096,
      reservation,
      elfcore,
    });
    assert.deepEqual(
      plan.segments.map((s) => [s.name, s.mem, s.memsz]),
      [
        ["kernel", 0xa8000000, 0x2009000],
        ["initrd", 0xaa009000, 0x3000],
        ["dtb", 0xaa00c000, 0x1000],
        ["purgatory", 0xaa00d000, 0x1000],
        ["elfcorehdr", 0xb7fff000, 0x1000],
      ],
    );
    assert.deepEqual(plan.elfcorehdr, { mem: 0xb7fff000, size: elfcore.length });
    assert.equal(plan.entry, 0xaa00d000);
    assert.deepEqual(plan.registers, { x0: 0xaa00c000, x1: 0, x2: 0, x3: 0, pc: 0xa8000000 });
    const dtb = plan.segments.find((s) => s.name === "dtb")?.buf;
    assert.ok(dtb);
    const chosen = findNode(parseFdt(dtb), "/chosen");
    assert.ok(chosen);
    assert.deepEqual([...(getProperty(chosen, "linux,elfcorehdr") ?? [])], [0, 0, 0, 0, 0xb7, 0xff, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x58]);
    // dtc's view of the same tree: what the crash kernel's early_init_dt_scan_elfcorehdr reads.
    const dts = execFileSync("dtc", ["-q", "-I", "dtb", "-O", "dts"], { input: dtb, encoding: "utf8" });
    assert.match(dts, /linux,elfcorehdr = <0x00 0xb7fff000 0x00 0x158>;/);
    assert.match(dts, /linux,usable-memory-range = <0x00 0xa8000000 0x00 0x10000000>;/);
    assert.match(dts, /bootargs = "console=ttyAMA0 nr_cpus=1 reset_devices";/);
    assert.match(dts, /linux,initrd-start = <0x00 0xaa009000>;/);
  });

  it("refuses a reservation too small for the kernel", () => {
    assert.throws(
      () => planArm64CrashSegments({ kernel, cmdline: null, fdt, pageSize: 4096, reservation: { start: 0xa8000000, end: 0xa8400000 }, elfcore }),
      (e: unknown) => e instanceof KimgError && /no free RAM for the kernel/.test(e.message),
    );
  });
});

/** A machine that is not the target: x86_64, a normal user, nothing readable, every system call refused and recorded. */
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

describe("kexec load --crash --dry-run for an arm64 machine, on x86_64 as a normal user", { skip: needs("dtc", "gzip") }, () => {
  it("plans every segment inside the saved memory map's reservation and says what the target adds", async () => {
    await withTempAsync(async (dir) => {
      const image = join(dir, "Image.gz");
      writeFileSync(image, execFileSync("gzip", ["-9", "-n"], { input: buildArm64Image({ textOffset: 0, bssSize: 0x2000000 }) }));
      const iomem = join(dir, "iomem");
      writeFileSync(iomem, CRASH_IOMEM);
      const dtb = join(dir, "virt.dtb");
      writeFileSync(dtb, execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: DTS }));
      const { env, calls } = x86User();
      let out = "";
      const program = new Command().exitOverride();
      registerKexecCommands(program, { env: () => env, unpack: createCoreUnpacker({ codecs: NODE_CODECS }), write: (t) => void (out += t) });
      await program.parseAsync(
        ["kexec", "load", image, "--crash", "--cmdline", "console=ttyAMA0 nr_cpus=1", "--iomem", iomem, "--dtb", dtb, "--dry-run", "--json"],
        {
          from: "user",
        },
      );
      assert.deepEqual(calls, [], "a dry run makes no system call");
      const result = JSON.parse(out) as {
        targetArch: string;
        warnings: string[];
        plan: { segments: Array<{ name: string; mem: string; memsz: string }>; chosen: Array<{ property: string }> };
        crash: {
          reservation: { start: string; end: string };
          elfcorehdr: { mem: string; programHeaders: Array<{ type: string; what: string; paddr: string }> };
        };
      };
      assert.equal(result.targetArch, "arm64");
      assert.deepEqual(
        result.plan.segments.map((s) => [s.name, s.mem]),
        [
          ["kernel", "0xa8000000"],
          ["dtb", "0xaa009000"],
          ["purgatory", "0xaa00a000"],
          ["elfcorehdr", "0xb7fff000"],
        ],
      );
      assert.deepEqual(result.crash.reservation, { start: "0xa8000000", end: "0xb8000000" });
      assert.deepEqual(
        result.crash.elfcorehdr.programHeaders.map((h) => [h.type, h.what, h.paddr]),
        [
          ["PT_LOAD", "System RAM", "0x40000000"],
          ["PT_LOAD", "System RAM", "0xb8000000"],
        ],
      );
      assert.ok(result.plan.chosen.some((c) => c.property === "linux,usable-memory-range"));
      assert.ok(result.warnings.some((w) => /another machine: the ELF core header has no CPU or vmcoreinfo notes/.test(w)));
    });
  });
});
