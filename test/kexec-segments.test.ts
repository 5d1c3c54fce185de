/**
 * /proc/iomem parsing, the arm64 purgatory encodings and the kexec_load segment placement.
 * The iomem text is what Debian's arm64 6.1 kernel printed in qemu-system-aarch64 -M virt -m 2048.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { ErrorCode, KimgError } from "../src/io/errors.js";
import { decodeArm64 } from "../src/isa/arm64.js";
import { findNode, getProperty, parseFdt, readCellValue } from "../src/kexec/fdt.js";
import { freeSystemRam, mergeRanges, parseIomem, subtractRange } from "../src/kexec/iomem.js";
import { kexecPlanToJson } from "../src/kexec/plan.js";
import { formatKexecPlan } from "../src/report/kexec-text.js";
import { ARM64_PURGATORY_SIZE, buildArm64Purgatory } from "../src/kexec/purgatory-arm64.js";
import { checkSegments, findHole, planArm64Segments } from "../src/kexec/segments.js";
import { buildArm64Image } from "../support/builders/images.js";
import { needs } from "./helpers/tools.js";

const QEMU_IOMEM = `09000000-09000fff : pl011@9000000
  09000000-09000fff : 9000000.pl011 pl011@9000000
09010000-09010fff : pl031@9010000
  09010000-09010fff : rtc-pl031
10000000-3efeffff : pcie@10000000
40000000-bfffffff : System RAM
  40210000-4185ffff : Kernel code
  41860000-41eaffff : reserved
  41eb0000-4220ffff : Kernel data
  48000000-4e100fff : reserved
  4e200000-4e2fffff : reserved
  b9800000-bf9fffff : reserved
  bfaaa000-bfbaafff : reserved
  bfbab000-bfbc9fff : reserved
  bfbcc000-bfbf2fff : reserved
  bfbf3000-bfbfbfff : reserved
  bfbfc000-bfffffff : reserved
4010000000-401fffffff : PCI ECAM
8000000000-ffffffffff : pcie@10000000
`;

const DTS = `/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	chosen {
		bootargs = "console=ttyAMA0 old";
		linux,initrd-start = <0x0 0x48000000>;
		linux,initrd-end = <0x0 0x4e100000>;
	};
	memory@40000000 {
		device_type = "memory";
		reg = <0x0 0x40000000 0x0 0x80000000>;
	};
};
`;

function dtb(): Uint8Array {
  return new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: DTS }));
}

function expectKimgError(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof KimgError && error.code === code);
}

const MiB = 1024 * 1024;

describe("iomem", () => {
  it("parses resources with their nesting", () => {
    const resources = parseIomem(QEMU_IOMEM);
    assert.equal(resources.length, 19);
    assert.deepEqual(resources[5], { start: 0x40000000, end: 0xbfffffff, name: "System RAM", depth: 0 });
    assert.deepEqual(resources[6], { start: 0x40210000, end: 0x4185ffff, name: "Kernel code", depth: 1 });
    assert.deepEqual(resources[18], { start: 0x8000000000, end: 0xffffffffff, name: "pcie@10000000", depth: 0 });
  });

  it("gives System RAM minus reserved regions and the running kernel", () => {
    assert.deepEqual(freeSystemRam(parseIomem(QEMU_IOMEM)), [
      { start: 0x40000000, end: 0x40210000 },
      { start: 0x42210000, end: 0x48000000 },
      { start: 0x4e101000, end: 0x4e200000 },
      { start: 0x4e300000, end: 0xb9800000 },
      { start: 0xbfa00000, end: 0xbfaaa000 },
      { start: 0xbfbca000, end: 0xbfbcc000 },
    ]);
    const withKernel = freeSystemRam(parseIomem(QEMU_IOMEM), { avoidRunningKernel: false });
    assert.deepEqual(withKernel.slice(0, 3), [
      { start: 0x40000000, end: 0x41860000 },
      { start: 0x41eb0000, end: 0x48000000 },
      { start: 0x4e101000, end: 0x4e200000 },
    ]);
  });

  it("refuses the zeroed addresses a non-root reader sees, and malformed text", () => {
    expectKimgError(() => freeSystemRam(parseIomem("00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n")), ErrorCode.SYSTEM);
    expectKimgError(() => parseIomem("40000000-bfffffff System RAM\n"), ErrorCode.BAD_FIELD);
    expectKimgError(() => parseIomem("bfffffff-40000000 : System RAM\n"), ErrorCode.BAD_FIELD);
    expectKimgError(() => parseIomem("x".repeat(5 * MiB)), ErrorCode.LIMIT);
    // Beyond 2^53 a range cannot be held exactly; such lines are I/O windows and are skipped.
    assert.deepEqual(parseIomem("fff0000000000000-ffffffffffffffff : PCI Bus\n"), []);
  });

  it("subtracts and merges ranges", () => {
    assert.deepEqual(subtractRange([{ start: 0, end: 100 }], { start: 10, end: 20 }), [
      { start: 0, end: 10 },
      { start: 20, end: 100 },
    ]);
    assert.deepEqual(subtractRange([{ start: 0, end: 100 }], { start: 0, end: 100 }), []);
    assert.deepEqual(
      mergeRanges([
        { start: 50, end: 60 },
        { start: 0, end: 10 },
        { start: 10, end: 20 },
        { start: 55, end: 70 },
      ]),
      [
        { start: 0, end: 20 },
        { start: 50, end: 70 },
      ],
    );
  });
});

describe("arm64 purgatory", () => {
  const purgatory = buildArm64Purgatory(0x42400000, 0x44501000);

  it("encodes ldr/mov/br as the ARM ARM defines them", () => {
    const words = purgatory.listing.slice(0, 6).map((i) => i.word);
    // LDR (literal) 64-bit 0x58000000 | imm19 << 5 | Rt; ORR (shifted register) Xd, XZR, XZR; BR Xn.
    assert.deepEqual(words, [0x580000d1, 0x580000e0, 0xaa1f03e1, 0xaa1f03e2, 0xaa1f03e3, 0xd61f0220]);
    assert.equal(purgatory.code.length, ARM64_PURGATORY_SIZE);
    const view = new DataView(purgatory.code.buffer);
    assert.equal(view.getUint32(0, true), 0x580000d1);
    assert.equal(view.getBigUint64(0x18, true), 0x42400000n);
    assert.equal(view.getBigUint64(0x20, true), 0x44501000n);
  });

  it("decodes, with kimg's arm64 decoder, to loads of the two literals and a branch through x17", () => {
    const decoded = [0, 4, 0x14].map((offset) => decodeArm64(new DataView(purgatory.code.buffer).getUint32(offset, true), offset));
    assert.deepEqual(
      decoded.map((d) => d.text),
      ["ldr x17, 0x18", "ldr x0, 0x20", "br x17"],
    );
    assert.deepEqual(decoded[0]?.writes, ["x17"]);
    assert.equal(decoded[2]?.fallsThrough, false);
  });

  it("refuses addresses the stub cannot hold", () => {
    expectKimgError(() => buildArm64Purgatory(0x42400002, 0x44501000), ErrorCode.BAD_FIELD);
    expectKimgError(() => buildArm64Purgatory(0x42400000, 0x44501004), ErrorCode.BAD_FIELD);
    expectKimgError(() => buildArm64Purgatory(-4, 0x44501000), ErrorCode.BAD_FIELD);
    expectKimgError(() => buildArm64Purgatory(2 ** 53, 0x44501000), ErrorCode.BAD_FIELD);
  });
});

/** The fixture builder's Image with the image_size a real kernel declares (BSS beyond the file). */
function imageWithSize(imageSize: number, textOffset = 0): Uint8Array {
  const image = buildArm64Image({ textOffset });
  new DataView(image.buffer, image.byteOffset).setBigUint64(0x10, BigInt(imageSize), true);
  return image;
}

describe("arm64 segments", () => {
  const image = imageWithSize(0x2010000);
  const initrd = new Uint8Array(0xf0d51).fill(7);
  const freeRam = freeSystemRam(parseIomem(QEMU_IOMEM));

  it("places kernel, initrd, dtb and purgatory as the kernel requires", { skip: needs("dtc") }, () => {
    const plan = planArm64Segments({ kernel: image, initrd, cmdline: "console=ttyAMA0 panic=-1", fdt: dtb(), freeRam, pageSize: 4096 });
    const table = plan.segments.map((s) => [s.name, s.buf.length, s.mem, s.memsz]);
    const dtbSize = plan.segments[2]?.buf.length ?? 0;
    assert.deepEqual(table, [
      ["kernel", image.length, 0x42400000, 0x2010000],
      ["initrd", 0xf0d51, 0x44410000, 0xf1000],
      ["dtb", dtbSize, 0x44501000, 0x1000],
      ["purgatory", ARM64_PURGATORY_SIZE, 0x44502000, 0x1000],
    ]);
    assert.equal(plan.entry, 0x44502000);
    assert.deepEqual(plan.registers, { x0: 0x44501000, x1: 0, x2: 0, x3: 0, pc: 0x42400000 });
    const fdt = parseFdt(plan.segments[2]!.buf);
    const chosen = findNode(fdt, "/chosen")!;
    assert.equal(new TextDecoder().decode(getProperty(chosen, "bootargs")), "console=ttyAMA0 panic=-1\0");
    assert.equal(readCellValue(getProperty(chosen, "linux,initrd-start")!), 0x44410000n);
    assert.equal(readCellValue(getProperty(chosen, "linux,initrd-end")!), 0x44410000n + 0xf0d51n);
    const purgatory = plan.segments[3]!.buf;
    assert.equal(new DataView(purgatory.buffer, purgatory.byteOffset).getBigUint64(0x20, true), 0x44501000n);
  });

  it("keeps text_offset from a 2 MiB aligned base and aligns to 64K pages", { skip: needs("dtc") }, () => {
    const old = imageWithSize(0x1000000, 0x80000);
    const plan = planArm64Segments({ kernel: old, cmdline: null, fdt: dtb(), freeRam, pageSize: 65536 });
    const kernel = plan.segments[0]!;
    assert.equal(kernel.mem, 0x42400000 + 0x80000);
    assert.equal(kernel.memsz, 0x1000000);
    for (const s of plan.segments) {
      assert.equal(s.mem % 65536, 0);
      assert.equal(s.memsz % 65536, 0);
    }
    assert.deepEqual(
      plan.segments.map((s) => s.name),
      ["kernel", "dtb", "purgatory"],
    );
    const chosen = findNode(parseFdt(plan.segments[1]!.buf), "/chosen")!;
    assert.equal(getProperty(chosen, "bootargs"), undefined);
    assert.equal(getProperty(chosen, "linux,initrd-start"), undefined);
  });

  it("prints the plan with segments, registers and the purgatory listing", { skip: needs("dtc") }, () => {
    const plan = planArm64Segments({ kernel: image, initrd, cmdline: "quiet", fdt: dtb(), freeRam, pageSize: 4096 });
    const source = { format: "zboot", kernelFormat: "arm64-image", path: "zboot > compressed > arm64-image", arch: "arm64", compression: "gzip" };
    const full = {
      mode: "segments" as const,
      why: "test",
      source,
      cmdline: { text: "quiet", from: "--append" },
      initrdFrom: "--initrd x",
      segmentPlan: plan,
      dtbFrom: "/sys/firmware/fdt",
      memoryFrom: "/proc/iomem",
      pageSize: 4096,
    };
    const text = formatKexecPlan(full, { bufAddresses: new Map([["kernel", 0xffff0000n]]) });
    assert.match(text, /^source: {2}zboot \(arm64, gzip\): zboot > compressed > arm64-image$/m);
    assert.match(text, /^ {2}kernel +0xffff0000 +0x[0-9a-f]+ +0x42400000 +0x2010000$/m);
    assert.match(text, /^ {2}purgatory +- +0x28 +0x44502000 +0x1000$/m);
    assert.match(text, /registers at kernel entry: x0=0x44501000 \(dtb\) x1=0x0 x2=0x0 x3=0x0 pc=0x42400000/);
    assert.match(text, /\+14 {2}d61f0220 +br x17/);
    const json = kexecPlanToJson(full) as { segments: Array<Record<string, unknown>>; entry: string };
    assert.deepEqual(json.segments[1], { name: "initrd", buf: null, bufsz: "0xf0d51", mem: "0x44410000", memsz: "0xf1000" });
    assert.equal(json.entry, "0x44502000");
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });

  it("refuses when memory or the image do not allow a plan", { skip: needs("dtc") }, () => {
    expectKimgError(
      () => planArm64Segments({ kernel: image, cmdline: null, fdt: dtb(), freeRam: [{ start: 0x40000000, end: 0x41000000 }], pageSize: 4096 }),
      ErrorCode.SYSTEM,
    );
    expectKimgError(() => planArm64Segments({ kernel: image, cmdline: null, fdt: dtb(), freeRam, pageSize: 3000 }), ErrorCode.USAGE);
    const be = image.slice();
    be[0x18] = (be[0x18] ?? 0) | 1;
    expectKimgError(() => planArm64Segments({ kernel: be, cmdline: null, fdt: dtb(), freeRam, pageSize: 4096 }), ErrorCode.UNSUPPORTED);
    expectKimgError(() => planArm64Segments({ kernel: new Uint8Array(0x40), cmdline: null, fdt: dtb(), freeRam, pageSize: 4096 }), ErrorCode.BAD_MAGIC);
    expectKimgError(() => planArm64Segments({ kernel: image, cmdline: null, fdt: new Uint8Array(64), freeRam, pageSize: 4096 }), ErrorCode.BAD_MAGIC);
  });

  it("finds the lowest aligned hole and checks segments as the kernel does", () => {
    const free = [
      { start: 0x1000, end: 0x300000 },
      { start: 0x400000, end: 0x900000 },
    ];
    assert.equal(findHole(free, 0x100000, 2 * MiB), 0x200000);
    assert.equal(findHole(free, 0x200000, 2 * MiB), 0x400000);
    assert.equal(findHole(free, 0x100000, 0x1000, 0x450000), 0x450000);
    assert.equal(findHole(free, 0x1000000, 0x1000), null);
    const buf = new Uint8Array(16);
    expectKimgError(() => checkSegments([{ name: "dtb", buf, mem: 0x1001, memsz: 0x1000 }], 4096), ErrorCode.BAD_FIELD);
    expectKimgError(() => checkSegments([{ name: "dtb", buf: new Uint8Array(0x2000), mem: 0x1000, memsz: 0x1000 }], 4096), ErrorCode.BAD_FIELD);
    expectKimgError(
      () =>
        checkSegments(
          [
            { name: "kernel", buf, mem: 0x1000, memsz: 0x2000 },
            { name: "dtb", buf, mem: 0x2000, memsz: 0x1000 },
          ],
          4096,
        ),
      ErrorCode.BAD_FIELD,
    );
  });
});
