/**
 * LoongArch headers of every generation (docs/formats.md, LoongArch): v6.1 has no LINUX_PE_MAGIC
 * and a DMW virtual kernel_entry with load_offset 0; v6.2-v6.9 add the magic; v6.10+ store a
 * physical entry and fill load_offset. Each is recognised by its structure, plain and in zboot.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { plan, unpack } from "../src/api/index.js";
import { compressWith, type Tool } from "../support/builders/compress.js";
import { buildLoongArchImage, buildZboot, zbootInputs } from "../support/builders/images.js";
import { buildPe, MACHINE } from "../support/builders/pe.js";
import { field, inspect, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

const V61 = { linuxPeMagic: false, entryForm: "dmw" as const, entryOffset: 0x1480 };

test("LoongArch v6.1 vmlinux.efi (no LINUX_PE_MAGIC, DMW entry, load_offset 0) is a LoongArch kernel, entry mapped at the legacy link address", async () => {
  const image = buildLoongArchImage(V61);
  const r = await inspect(image);
  assert.equal(r.summary.format, "loongarch-image");
  assert.equal(r.summary.arch, "loongarch64");
  assert.equal(r.summary.kernelFormat, "loongarch-image");
  const l = layerAt(r, "/");
  assert.equal(field(l, "LoongArch image header", "linux_pe_magic").value, 0);
  assert.equal(field(l, "LoongArch image header", "load_offset").value, 0);
  assert.equal(l.info.entryForm, "dmw-virtual");
  assert.equal(l.info.entryOffset, 0x1480);
  assert.equal(l.info.generation, "v6.1 to before v6.2");
  assert.deepEqual(r.diagnostics, []);
  const { plan: p } = await plan(image);
  assert.equal(p.entry.offset, 0x1480);
  assert.equal(p.entry.address, "0x201480");
});

test("LoongArch header generations are named from the fields, not from one magic", async () => {
  const cases = [
    [{ linuxPeMagic: false, entryForm: "dmw" as const }, "v6.1 to before v6.2"],
    [{ entryForm: "dmw" as const }, "v6.2 to before v6.3"],
    [{ entryForm: "dmw" as const, loadOffsetSet: true }, "v6.3 to before v6.10"],
    [{ entryForm: "physical" as const }, "v6.10+"],
  ] as const;
  for (const [spec, name] of cases) {
    const r = await inspect(buildLoongArchImage(spec));
    assert.equal(layerAt(r, "/").info.generation, name);
    assert.ok(Array.isArray(layerAt(r, "/").info.generationEvidence));
  }
});

for (const [compType, tool] of [
  ["gzip", "gzip"],
  ["zstd22", "zstd"],
  ["xzkern", "xz"],
  ["lzma", "lzma"],
  ["lz4", "lz4"],
  ["lzo", "lzo"],
] as const satisfies ReadonlyArray<readonly [string, Tool]>) {
  test(`LoongArch v6.1 zboot (${compType}): the inner v6.1 vmlinux.efi is reached, extracted byte-exact and planned`, { skip: needs(tool) }, async () => {
    const inner = buildLoongArchImage(V61);
    const { toCompress, trailer } = zbootInputs(inner, "v6.1", compType);
    const payload = compressWith(tool, toCompress);
    const z = buildZboot({ machine: MACHINE.LOONGARCH64, compType, payload, trailer: trailer(payload), nxCompat: false, linuxPeMagic: false });
    const r = await inspect(z.bytes);
    assert.equal(r.summary.format, "zboot");
    assert.equal(r.summary.kernelFormat, "loongarch-image");
    assert.equal(r.summary.kernelPath, "/payload/decompressed");
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity !== "info"),
      [],
    );
    const u = await unpack(z.bytes);
    assert.equal(u.format, "loongarch-image");
    assert.deepEqual(u.data, inner);
    const { plan: p } = await plan(z.bytes);
    assert.equal(p.kernel.format, "loongarch-image");
    assert.equal(p.entry.offset, 0x1480);
  });
}

test("a LoongArch EFI program that is not a kernel (linker-made DOS header) stays a plain PE", async () => {
  const pe = buildPe({
    machine: MACHINE.LOONGARCH64,
    sizeOfHeaders: 0x1000,
    entry: 0x1000,
    numberOfRvaAndSizes: 6,
    sections: [{ name: ".text", data: new Uint8Array(0x200), characteristics: 0x60000020 }],
  });
  const bytes = pe.bytes.slice();
  bytes.set([0x90, 0x00, 0x03, 0x00], 2); // e_cblp, e_cp as a linker writes them
  const r = await inspect(bytes);
  assert.equal(r.summary.format, "pe");
  assert.equal(r.summary.kernelFormat, null);
});

test("summary.compression names the payload's codec even when no kernel is reached inside it", { skip: needs("zstd") }, async () => {
  const payload = compressWith("zstd", new TextEncoder().encode("not a kernel ".repeat(4000)));
  const z = buildZboot({ machine: MACHINE.LOONGARCH64, compType: "zstd", payload, trailer: new Uint8Array([0, 0, 0, 0]), nxCompat: false });
  const r = await inspect(z.bytes);
  assert.equal(r.summary.kernelFormat, null);
  assert.equal(r.summary.compression, "zstd");
});

test("a LoongArch image cut before its section data is a kernel that cannot be whole: unpack and plan refuse it", async () => {
  const image = buildLoongArchImage(V61);
  const cut = image.subarray(0, image.length >> 1);
  const r = await inspect(cut);
  assert.ok(r.diagnostics.some((d) => d.code === "KERNEL_TRUNCATED" && d.severity === "error" && d.offset === cut.length));
  await assert.rejects(unpack(cut), { code: "E_TRUNCATED" });
  await assert.rejects(plan(cut), { code: "E_TRUNCATED" });
});
