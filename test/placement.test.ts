/**
 * One placement model for `kimg plan` and `kimg kexec load` (src/boot/placement/): the same
 * Image lands at the same address with the same alignment in both, whatever its text_offset,
 * image_size and page size; plus the model's own rules.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { plan } from "../src/api/index.js";
import { ARM64_KERNEL_ALIGN, ARM64_LEGACY_IMAGE_SIZE, arm64InitrdInWindow, arm64KernelNeeds, placeArm64Kernel } from "../src/boot/placement/arm64.js";
import { placeLoongArchKernel, loongArchKernelNeeds } from "../src/boot/placement/loongarch.js";
import { findHolePhys, ramFrom, takePhys } from "../src/boot/placement/memory.js";
import { placeRiscvKernel, riscvKernelNeeds, riscvStaticRam } from "../src/boot/placement/riscv.js";
import { serializeFdt } from "../src/kexec/fdt.js";
import { planArm64Segments } from "../src/kexec/segments.js";
import { buildArm64Image } from "../support/builders/images.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A device tree with an empty /chosen, built without dtc. */
function emptyFdt(): Uint8Array {
  return serializeFdt({ bootCpuidPhys: 0, reservations: [], root: { name: "", properties: [], children: [{ name: "chosen", properties: [], children: [] }] } });
}

interface Case {
  name: string;
  textOffset?: number;
  /** Written into the header; undefined keeps the builder's, 0 makes a pre-v3.17 header. */
  imageSize?: number;
  pageSize: 4 | 16 | 64;
  placeAnywhere?: boolean;
  ramBase: number;
}

const CASES: Case[] = [
  { name: "v5.8+ Image, text_offset 0, 4K pages", imageSize: 0x2010000, pageSize: 4, ramBase: 0x40000000 },
  { name: "pre-v5.8 Image, text_offset 0x80000, 4K pages", textOffset: 0x80000, imageSize: 0x1000000, pageSize: 4, ramBase: 0x40000000 },
  { name: "16K pages, RAM base not 2 MiB aligned", imageSize: 0x1834000, pageSize: 16, ramBase: 0x80100000 },
  {
    name: "64K pages, text_offset 0x80000, base close to DRAM",
    textOffset: 0x80000,
    imageSize: 0x2a30000,
    pageSize: 64,
    placeAnywhere: false,
    ramBase: 0x40000000,
  },
  { name: "image_size smaller than the file", imageSize: 0x1000, pageSize: 4, ramBase: 0x40000000 },
  { name: "pre-v3.17 header (image_size 0)", imageSize: 0, pageSize: 4, ramBase: 0x40000000 },
];

function image(c: Case): Uint8Array {
  const bytes = buildArm64Image({
    pageSize: c.pageSize,
    ...(c.textOffset === undefined ? {} : { textOffset: c.textOffset }),
    ...(c.placeAnywhere === undefined ? {} : { placeAnywhere: c.placeAnywhere }),
  });
  if (c.imageSize !== undefined) new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0x10, BigInt(c.imageSize), true);
  return bytes;
}

const hex = (n: number | bigint): string => "0x" + n.toString(16);

describe("plan and kexec place an arm64 Image alike", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = image(c);
      const pageSize = c.pageSize * 1024;
      const initrd = new Uint8Array(0x3456).fill(1);
      const { plan: p } = await plan(bytes, { ramBase: BigInt(c.ramBase), initrdSize: initrd.length });
      const k = planArm64Segments({
        kernel: bytes,
        initrd,
        cmdline: null,
        fdt: emptyFdt(),
        freeRam: [{ start: c.ramBase, end: c.ramBase + 4 * GiB }],
        pageSize,
      });
      const kernel = k.segments[0]!;
      // The same address: the plan's entry, load address and kernel segment; kexec's segment and pc.
      assert.equal(p.entry.address, hex(kernel.mem));
      assert.equal(p.load.kernelAddress, hex(kernel.mem));
      assert.equal(p.segments[0]?.address, hex(kernel.mem));
      assert.equal(k.registers.pc, kernel.mem);
      // The same alignment: a 2 MiB aligned base, text_offset below the Image.
      assert.equal(p.load.alignment, ARM64_KERNEL_ALIGN);
      assert.equal(p.segments[0]?.alignment, ARM64_KERNEL_ALIGN);
      assert.equal(p.load.textOffset, k.image.textOffset);
      assert.equal(BigInt(p.load.base), BigInt(kernel.mem - k.image.textOffset));
      assert.equal(BigInt(p.load.base) % BigInt(ARM64_KERNEL_ALIGN), 0n);
      // The same memory: kexec's memsz is the plan's image_size (or the file) in whole pages.
      assert.equal(p.load.memorySize, k.image.imageSize);
      assert.equal(kernel.memsz, Math.ceil(Math.max(p.load.memorySize, bytes.length) / pageSize) * pageSize);
      // The initrd follows the kernel in both; with 4K pages at the very same address.
      const planInitrd = p.segments.find((s) => s.name === "initrd");
      const kexecInitrd = k.segments.find((s) => s.name === "initrd");
      assert.ok(planInitrd && kexecInitrd);
      assert.ok(BigInt(planInitrd.address) >= BigInt(kernel.mem) + BigInt(p.load.memorySize));
      if (pageSize === 4096) assert.equal(planInitrd.address, hex(kexecInitrd.mem));
      assert.equal(p.checks.find((x) => x.id === "initrd-window")?.ok, true);
    });
  }

  it("still plans an Image whose header runs past the 64-bit space (the addresses show it)", async () => {
    const bytes = buildArm64Image();
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setBigUint64(0x08, 0xfffffffffff00000n, true);
    view.setBigUint64(0x10, 0xffffffffffffffffn, true);
    const { plan: p } = await plan(bytes);
    assert.equal(p.load.kernelAddress, "0x1000000003ff00000");
    assert.equal(p.segments[0]?.address, p.load.kernelAddress);
  });

  it("reserves 16 MiB for a pre-v3.17 Image in kexec too (its BSS is not in the file)", () => {
    const bytes = image({ name: "legacy", imageSize: 0, pageSize: 4, ramBase: 0x40000000 });
    const k = planArm64Segments({ kernel: bytes, cmdline: null, fdt: emptyFdt(), freeRam: [{ start: 0x40000000, end: 0x80000000 }], pageSize: 4096 });
    assert.equal(k.image.textOffset, 0x80000);
    assert.equal(k.segments[0]?.mem, 0x40080000);
    assert.equal(k.segments[0]?.memsz, ARM64_LEGACY_IMAGE_SIZE);
    assert.equal(k.segments[1]?.mem, 0x40080000 + ARM64_LEGACY_IMAGE_SIZE);
  });
});

describe("placement model", () => {
  it("arm64: lowest 2 MiB aligned base that holds text_offset + footprint, in whole granules", () => {
    const needs = arm64KernelNeeds({ textOffset: 0x80000, imageSize: 0x1800001, fileSize: 0x1000 });
    const free = [
      { start: 0x40000000n, end: 0x41000000n },
      { start: 0x42100000n, end: 0x50000000n },
    ];
    const p = placeArm64Kernel(needs, free, 0x10000);
    assert.ok(p);
    assert.equal(p.base, 0x42200000n);
    assert.equal(p.address, 0x42280000n);
    assert.equal(p.footprint, 0x1810000);
    assert.equal(placeArm64Kernel(needs, [{ start: 0x40000000n, end: 0x41000000n }]), null);
    // The initrd window starts at the 1 GiB boundary below the Image and spans 32 GiB.
    assert.equal(arm64InitrdInWindow(p, { start: 0x40000000n, end: 0x40001000n }), true);
    assert.equal(arm64InitrdInWindow(p, { start: 0x3ffff000n, end: 0x40000000n }), false);
    assert.equal(arm64InitrdInWindow(p, { start: 0x840000000n - 0x1000n, end: 0x840000000n }), true);
    assert.equal(arm64InitrdInWindow(p, { start: 0x840000000n, end: 0x840001000n }), false);
  });

  it("RISC-V: PMD alignment from text_offset, the firmware's PMD kept free when RAM starts aligned", () => {
    const rv64 = riscvKernelNeeds({ textOffset: 0x200000, imageSize: 0, fileSize: 0x5000, rv32: false });
    assert.equal(rv64.memorySize, 0x5000);
    assert.equal(placeRiscvKernel(rv64, riscvStaticRam(0x80000000n, rv64))?.address, 0x80200000n);
    assert.equal(placeRiscvKernel(rv64, riscvStaticRam(0x80100000n, rv64))?.address, 0x80200000n);
    const rv32 = riscvKernelNeeds({ textOffset: 0, imageSize: 0x9000, fileSize: 0x5000, rv32: true });
    assert.equal(rv32.alignment, 4 * MiB);
    assert.equal(placeRiscvKernel(rv32, riscvStaticRam(0x80000000n, rv32))?.address, 0x80400000n);
  });

  it("LoongArch: the link address, or 2 MiB aligned when relocated", () => {
    const needs = loongArchKernelNeeds({ loadOffset: 0, imageSize: 0xc000, fileSize: 0x8200 });
    assert.equal(needs.linkAddressAssumed, true);
    assert.equal(placeLoongArchKernel(needs, null)?.address, 0x200000n);
    assert.equal(placeLoongArchKernel(needs, ramFrom(0x90000001n))?.address, 0x90200000n);
  });

  it("finds holes lowest first and takes ranges out", () => {
    const free = takePhys([{ start: 0n, end: 0x1000000n }], { start: 0x200000n, end: 0x300000n });
    assert.deepEqual(free, [
      { start: 0n, end: 0x200000n },
      { start: 0x300000n, end: 0x1000000n },
    ]);
    assert.equal(findHolePhys(free, 0x200000, 0x200000), 0n);
    assert.equal(findHolePhys(free, 0x200001, 0x200000), 0x400000n);
    assert.equal(findHolePhys(free, 0x1000, 0x1000, 0x250000n), 0x300000n);
    assert.equal(findHolePhys(free, 0x1000, 0x1000, 0n, 0x1000n), 0n);
    assert.equal(findHolePhys(free, 0x2000, 0x1000, 0n, 0x1000n), null);
  });
});
