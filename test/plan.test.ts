/** The boot plan: entry decode, load plan and protection map for each architecture, and failing checks. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { plan } from "../src/api/index.js";
import type { Check } from "../src/model/plan.js";
import { compressWith } from "../support/builders/compress.js";
import { ByteWriter } from "../support/builders/bytes.js";
import {
  buildArm64Image,
  buildBzImage,
  buildElf,
  buildLoongArchImage,
  buildRiscvImage,
  buildZboot,
  buildUki,
  zbootInputs,
} from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

function check(p: { checks: Check[] }, id: string, layer?: string): Check {
  const c = p.checks.find((x) => x.id === id && (layer === undefined || x.layer === layer));
  assert.ok(c, `no check ${id}${layer ? " on " + layer : ""}: ${p.checks.map((x) => x.id + "@" + x.layer).join(", ")}`);
  return c;
}

test("arm64 zboot: entry at the image start, branch decoded, 2 MiB placement, x0 = DTB, all checks pass", { skip: needs("zstd") }, async () => {
  const image = buildArm64Image({ entryOffset: 0x1200 });
  const { toCompress, trailer } = zbootInputs(image, "v6.4", "zstd");
  const payload = compressWith("zstd", toCompress);
  const z = buildZboot({ machine: MACHINE.ARM64, compType: "zstd", payload, trailer: trailer(payload) });
  const { plan: p } = await plan(z.bytes, { ramBase: 0x40100000n, initrdSize: 0x300000 });
  assert.equal(p.arch, "arm64");
  assert.equal(p.kernel.path, "/payload/decompressed");
  assert.equal(p.entry.offset, 0);
  assert.equal(p.entry.branchTarget, 0x1200);
  assert.deepEqual(
    p.entry.instructions.map((i) => i.text),
    ["ccmp x18, #0x0, #0xd, pl", "b 0x1200"],
  );
  assert.equal(p.load.base, "0x40200000", "rounded up to 2 MiB");
  assert.equal(p.load.kernelAddress, "0x40200000");
  assert.deepEqual(
    p.segments.map((s) => s.name),
    ["kernel", "initrd", "dtb"],
  );
  const dtb = p.segments.find((s) => s.name === "dtb");
  assert.equal(p.registers.find((r) => r.name === "x0")?.value, dtb?.address);
  assert.deepEqual(
    p.registers.slice(1).map((r) => r.value),
    ["0x0", "0x0", "0x0"],
  );
  assert.ok(p.entry.efiEntry && p.entry.efiEntry.rva > 0);
  for (const c of p.checks) assert.ok(c.ok, `${c.id}: ${c.message}`);
  assert.deepEqual(
    p.regions.filter((r) => r.layer === "/payload/decompressed/pe").map((r) => [r.name, r.perms]),
    [
      ["headers", "r--"],
      [".text", "r-x"],
      [".data", "rw-"],
    ],
  );
  assert.ok(
    p.regions.some((r) => r.layer === "/pe"),
    "outer EFI program mapped too",
  );
});

test("arm64: the branch target leaving the image and a non-harmless first word fail their checks", async () => {
  const image = buildArm64Image();
  const v = new DataView(image.buffer);
  v.setUint32(4, 0x14000000 | 0x0100000, true);
  v.setUint32(0, 0xaa0103e0, true); // mov x0, x1: clobbers x0
  const { plan: p } = await plan(image);
  assert.equal(check(p, "entry-branch").ok, false);
  assert.equal(check(p, "entry-first-instruction").ok, false);
});

/** An arm64 Image whose .text (section header 0) gains MEM_WRITE, with 64K pages and 4K SectionAlignment. */
function brokenArm64(nxCompat: boolean): Uint8Array {
  const image = buildArm64Image({ pageSize: 64, nxCompat });
  const v = new DataView(image.buffer);
  const flagsAt = 0x40 + 24 + 112 + 6 * 8 + 36;
  v.setUint32(flagsAt, (v.getUint32(flagsAt, true) | 0x80000000) >>> 0, true);
  return image;
}

function zbootAround(image: Uint8Array, generation: "v6.1" | "v6.4", outerNx: boolean): Uint8Array {
  const { toCompress, trailer } = zbootInputs(image, generation, "gzip");
  const payload = compressWith("gzip", toCompress);
  return buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload), nxCompat: outerNx, linuxPeMagic: generation !== "v6.1" })
    .bytes;
}

test("a plain Image is loaded by the firmware: W^X and a NX_COMPAT image's page alignment are real failures", async () => {
  const { plan: p } = await plan(brokenArm64(true));
  assert.equal(check(p, "w^x", "/pe").ok, false);
  assert.match(check(p, "w^x", "/pe").message, /firmware that maps sections by their flags \(NX_COMPAT\) or a loader applying W\^X/);
  assert.equal(check(p, "section-alignment", "/pe").ok, false, "4K SectionAlignment in a 64K-page kernel that claims NX_COMPAT");
  assert.equal(p.regions.find((r) => r.layer === "/pe" && r.name === ".text")?.perms, "rwx");
  // Without NX_COMPAT the firmware maps the image RWX: misalignment is reported, not failed.
  const { plan: q } = await plan(brokenArm64(false));
  assert.equal(check(q, "section-alignment", "/pe").ok, true);
  assert.equal(check(q, "section-alignment", "/pe").info, true);
  assert.equal(check(q, "nx-compat", "/pe").info, true);
});

test("inside a v6.2+ zboot the inner header is not consulted (the stub maps the kernel itself): its problems are reported, not failed", {
  skip: needs("gzip"),
}, async () => {
  const { plan: p } = await plan(zbootAround(brokenArm64(false), "v6.4", true));
  const inner = "/payload/decompressed/pe";
  for (const id of ["w^x", "section-alignment", "nx-compat"]) {
    const c = check(p, id, inner);
    assert.deepEqual([c.ok, c.info], [true, true], id);
    assert.match(
      c.message,
      /the v6\.2\+ zboot stub decompresses the kernel into memory it allocated and calls it directly, never handing this header to the firmware/,
    );
  }
  const nx = check(p, "nx-consistency");
  assert.deepEqual([nx.ok, nx.info], [true, true], "outer claims NX, inner does not, but the firmware never loads the inner image");
  assert.equal(check(p, "w^x", "/pe").ok, true);
  assert.ok(
    p.checks.every((c) => c.ok),
    "nothing fails --strict",
  );
});

test("inside a v6.1 zboot the firmware StartImages the inner image: its flags and the NX claim of the outer program matter", {
  skip: needs("gzip"),
}, async () => {
  const { plan: p } = await plan(zbootAround(brokenArm64(false), "v6.1", true));
  const inner = "/payload/decompressed/pe";
  assert.equal(check(p, "w^x", inner).ok, false);
  const nx = check(p, "nx-consistency");
  assert.equal(nx.ok, false);
  assert.match(nx.message, /the firmware loads the inner image itself: firmware enforcing NX maps a kernel non-executable that did not ask for it/);
});

test("stock kernels pass --strict: a v6.1 zboot (NX_COMPAT 0 outside and in), a LoongArch zboot (outer NX, inner none), an x86 vmlinux with an RWX init segment", {
  skip: needs("gzip", "zstd"),
}, async () => {
  const v61 = await plan(zbootAround(buildArm64Image({ nxCompat: false }), "v6.1", false));
  assert.ok(
    v61.plan.checks.every((c) => c.ok),
    JSON.stringify(v61.plan.checks.filter((c) => !c.ok)),
  );
  assert.equal(check(v61.plan, "nx-compat", "/pe").info, true);

  const { toCompress, trailer } = zbootInputs(buildLoongArchImage({ entryOffset: 0x1400 }), "v6.4", "zstd");
  const payload = compressWith("zstd", toCompress);
  const la = await plan(buildZboot({ machine: MACHINE.LOONGARCH64, compType: "zstd", payload, trailer: trailer(payload), nxCompat: true }).bytes);
  assert.ok(
    la.plan.checks.every((c) => c.ok),
    JSON.stringify(la.plan.checks.filter((c) => !c.ok)),
  );

  const rwx = buildBzImage({ payload: compressWith("gzip", buildElf({ rwxSegment: true })), setupSects: 0x1f });
  const x86 = await plan(rwx);
  const elfWx = x86.plan.checks.find((c) => c.id === "w^x" && c.layer?.endsWith("/decompressed"));
  assert.ok(elfWx, "the bzImage's ELF vmlinux is part of the plan's protection map");
  assert.deepEqual([elfWx.ok, elfWx.info], [true, true]);
  assert.match(elfWx.message, /expected in a vmlinux \(init code and data share a segment\) and not a risk/);
  assert.ok(x86.plan.regions.some((r) => r.kind === "segment" && r.perms === "rwx"));
});

test("RISC-V: c.li s4,-13 then j, PMD alignment after the SBI firmware, a0 = hart, a1 = DTB", async () => {
  const { plan: p } = await plan(buildRiscvImage({ entryOffset: 0x1100 }), { hartId: 3 });
  assert.equal(p.arch, "riscv64");
  assert.equal(p.entry.offset, 0);
  assert.equal(p.entry.branchTarget, 0x1100);
  assert.deepEqual(
    p.entry.instructions.map((i) => i.mnemonic),
    ["c.li", "j"],
  );
  assert.equal(p.entry.instructions[0]?.text, "c.li s4, -13");
  assert.equal(p.load.alignment, 0x200000);
  assert.equal(p.load.kernelAddress, "0x80200000");
  assert.equal(p.registers[0]?.value, "0x3");
  assert.equal(p.registers[1]?.value, p.segments.find((s) => s.name === "dtb")?.address);
  for (const c of p.checks) assert.ok(c.ok, `${c.id}: ${c.message}`);
});

test("LoongArch: the entry is kernel_entry mapped into the image, for both header forms; MZ is never executed", async () => {
  for (const form of ["physical", "dmw"] as const) {
    const { plan: p } = await plan(buildLoongArchImage({ entryForm: form, entryOffset: 0x1480 }), { cmdline: "console=ttyS0" });
    assert.equal(p.entry.offset, 0x1480);
    assert.equal(p.entry.form, form === "dmw" ? "dmw-virtual" : "physical");
    assert.equal(p.entry.address, "0x201480");
    assert.equal(p.entry.instructions[0]?.text, "ext.w.h $t1, $t6");
    assert.equal(p.entry.instructions[0]?.harmless, true);
    assert.deepEqual(
      p.registers.map((r) => r.name),
      ["a0", "a1", "a2"],
    );
    assert.equal(p.segments.find((s) => s.name === "cmdline")?.size, "console=ttyS0".length + 1);
    assert.equal(check(p, "entry-in-image").ok, true);
  }
});

test("LoongArch zboot: the plan reaches the inner vmlinux.efi", { skip: needs("zstd") }, async () => {
  const { toCompress, trailer } = zbootInputs(buildLoongArchImage({ entryOffset: 0x1400 }), "v6.4", "zstd");
  const payload = compressWith("zstd", toCompress);
  const z = buildZboot({ machine: MACHINE.LOONGARCH64, compType: "zstd", payload, trailer: trailer(payload), nxCompat: false });
  const { plan: p } = await plan(z.bytes);
  assert.equal(p.kernel.format, "loongarch-image");
  assert.equal(p.entry.offset, 0x1400);
});

test("x86 bzImage: 64-bit entry at the protected-mode start + 0x200, rsi = boot_params, kexec_file probe", { skip: needs("gzip") }, async () => {
  const bz = buildBzImage({ payload: compressWith("gzip", buildElf()), setupSects: 0x1f });
  const { plan: p } = await plan(bz, { cmdline: "console=ttyS0", initrdSize: 0x100000 });
  assert.equal(p.arch, "x86_64");
  assert.equal(p.kernel.format, "bzimage");
  assert.equal(p.entry.offset, 0x20 * 512 + 0x200);
  assert.equal(p.load.alignment, 0x200000);
  assert.equal(p.load.kernelAddress, "0x1000000");
  const params = p.segments.find((s) => s.name === "boot_params");
  assert.equal(p.registers.find((r) => r.name === "rsi")?.value, params?.address);
  assert.equal(check(p, "kexec-file-probe").ok, true);
  assert.match(p.entry.efiEntry?.why ?? "", /handover entry is at protected-mode offset 0x390/);
});

test("a UKI plans its .linux kernel", async () => {
  const uki = buildUki({ machine: MACHINE.RISCV64, linux: buildRiscvImage() });
  const { plan: p } = await plan(uki);
  assert.equal(p.kernel.path, "/.linux");
  assert.equal(p.arch, "riscv64");
});

test("inspect carries the default plan; an image with no kernel has none", async () => {
  const { inspect } = await import("../src/api/index.js");
  const r = await inspect(buildArm64Image());
  assert.equal(r.plan?.entry.offset, 0);
  assert.equal(typeof r.plan?.entry.branchTarget, "number");
  assert.ok(r.plan?.regions.length);
  const pe = new ByteWriter(0);
  void pe;
  const plain = await inspect(buildUki({ linux: new Uint8Array(64) }));
  assert.equal(plain.plan, null);
});

test("--vmlinux symbols: the arm64 branch target is checked against primary_entry - _text", async () => {
  const { elfSymbols } = await import("../src/formats/elf-symbols.js");
  const { DEFAULT_LIMITS } = await import("../src/io/limits.js");
  const text = 0xffff800008000000n;
  for (const [entry, ok] of [
    [0x1400, true],
    [0x1500, false],
  ] as const) {
    const vmlinux = buildElf({ machine: 183, symbols: { _text: text, primary_entry: text + BigInt(entry), other: 5n } });
    const symbols = elfSymbols(vmlinux, ["_text", "primary_entry", "stext"], DEFAULT_LIMITS);
    assert.equal(symbols.get("primary_entry"), text + BigInt(entry));
    assert.equal(symbols.has("stext"), false);
    const { plan: p } = await plan(buildArm64Image({ entryOffset: 0x1400 }), { vmlinuxSymbols: symbols });
    assert.equal(check(p, "entry-symbol").ok, ok);
  }
});

test("plan(bytes, { vmlinux }) reads the vmlinux's entry symbols itself and checks the entry", async () => {
  const text = 0xffff800008000000n;
  for (const [entry, ok] of [
    [0x1400, true],
    [0x1500, false],
  ] as const) {
    const vmlinux = buildElf({ machine: 183, symbols: { _text: text, primary_entry: text + BigInt(entry) } });
    const { plan: p } = await plan(buildArm64Image({ entryOffset: 0x1400 }), { vmlinux });
    assert.equal(check(p, "entry-symbol").ok, ok);
  }
  await assert.rejects(plan(buildArm64Image(), { vmlinux: new Uint8Array(64) }), { code: "E_BAD_MAGIC" });
});

test("one JSON number rule in every plan: addresses are hex strings, offsets and sizes are numbers", { skip: needs("gzip") }, async () => {
  const { toCompress, trailer } = zbootInputs(buildArm64Image(), "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  const images = [
    buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes,
    buildRiscvImage(),
    buildLoongArchImage({ entryForm: "dmw", linuxPeMagic: false }),
    buildBzImage({ payload: compressWith("gzip", buildElf()), setupSects: 0x1f }),
  ];
  const seen = new Set<string>();
  const walk = (value: unknown, key: string): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v, key);
      return;
    }
    if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, k);
      return;
    }
    if (/(^a|A)ddress$|^(base|ramBase)$/.test(key)) {
      seen.add(key);
      assert.match(String(value), /^0x[0-9a-f]+$/, `${key} = ${String(value)}`);
    }
    if (/^(offset|size|start|end|branchTarget|alignment|memorySize|fileSize|textOffset|rva)$/.test(key) && value !== null) {
      seen.add(key);
      assert.equal(typeof value, "number", `${key} = ${String(value)}`);
    }
  };
  for (const bytes of images) walk(JSON.parse(JSON.stringify((await plan(bytes, { cmdline: "x", initrdSize: 4096 })).plan)), "");
  for (const k of ["address", "kernelAddress", "base", "ramBase", "offset", "size", "branchTarget", "alignment"]) assert.ok(seen.has(k), k);
});
