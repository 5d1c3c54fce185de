/** Every format, field by field, from images our builders write; offsets asserted where they matter. */
import { cpioArchive } from "../support/builders/cpio.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { compressWith } from "../support/builders/compress.js";
import { ByteWriter, concat } from "../support/builders/bytes.js";
import {
  buildArm64Image,
  buildBzImage,
  buildElf,
  buildLoongArchImage,
  buildRiscvImage,
  buildUki,
  buildZboot,
  zbootInputs,
} from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { codes, field, inspect, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

test("arm64 Image: header fields, flags, code words, PE view and banner", async () => {
  const image = buildArm64Image({ pageSize: 64, placeAnywhere: false });
  const r = await inspect(image);
  assert.equal(r.summary.format, "arm64-image");
  assert.equal(r.summary.arch, "arm64");
  assert.equal(r.summary.compression, null);
  assert.equal(r.summary.kernelFormat, "arm64-image");
  assert.match(r.summary.linuxVersion ?? "", /^Linux version 6\.12\.9-kimg-test /);
  const img = layerAt(r, "/");
  assert.equal(field(img, "arm64 Image header", "image_size").offset, 0x10);
  assert.equal(field(img, "arm64 Image header", "code0").hex, "0xfa405a4d");
  assert.match(field(img, "arm64 Image header", "code0").meaning ?? "", /ccmp x18/);
  assert.equal(field(img, "arm64 Image header", "flags").value, 6);
  assert.match(field(img, "arm64 Image header", "flags").meaning ?? "", /64K pages.*close to the start of DRAM/);
  assert.equal(img.info.pageSize, 65536);
  assert.equal(img.info.placeAnywhere, false);
  assert.equal(field(img, "arm64 Image header", "magic").value, 0x644d5241);
  const pe = layerAt(r, "/pe");
  assert.equal(pe.pe?.machineName, "ARM64");
  assert.equal(pe.pe?.nxCompat, true);
  assert.deepEqual(
    pe.pe?.sections.map((s) => [s.name, s.perms]),
    [
      [".text", "r-x"],
      [".data", "rw-"],
    ],
  );
  assert.equal(r.diagnostics.length, 0);
});

test("arm64 Image: every page size, big-endian flag, older add pseudo-NOP, no-EFI nop", async () => {
  for (const [pageSize, expected] of [
    [4, 4096],
    [16, 16384],
    [0, null],
  ] as const) {
    const r = await inspect(buildArm64Image({ pageSize }));
    assert.equal(layerAt(r, "/").info.pageSize, expected);
  }
  const be = await inspect(buildArm64Image({ bigEndian: true }));
  assert.equal(layerAt(be, "/").info.bigEndian, true);
  const old = await inspect(buildArm64Image({ code0: "add" }));
  assert.match(field(layerAt(old, "/"), "arm64 Image header", "code0").meaning ?? "", /add x13, x18, #0x16/);
  const noEfi = await inspect(buildArm64Image({ code0: "nop" }));
  assert.equal(layerAt(noEfi, "/").children.length, 0, "no PE view without an EFI header");
  const zero = await inspect(buildArm64Image({ imageSizeZero: true }));
  assert.ok(codes(zero).includes("ARM64_IMAGE_SIZE_ZERO"));
});

test("RISC-V Image: version, both magics, PE machine, rv32", async () => {
  const r = await inspect(buildRiscvImage());
  assert.equal(r.summary.format, "riscv-image");
  assert.equal(r.summary.arch, "riscv64");
  const l = layerAt(r, "/");
  assert.equal(l.info.version, "0.2");
  assert.equal(field(l, "RISC-V Image header", "magic2").offset, 0x38);
  assert.equal(field(l, "RISC-V Image header", "magic").value, "RISCV\\x00\\x00\\x00");
  assert.equal(field(l, "RISC-V Image header", "text_offset").value, 0x200000);
  assert.equal(layerAt(r, "/pe").pe?.machineName, "RISCV64");
  const rv32 = await inspect(buildRiscvImage({ rv32: true }));
  assert.equal(rv32.summary.arch, "riscv32");
  assert.equal(layerAt(rv32, "/pe").pe?.kind, "PE32");
});

test("LoongArch vmlinux.efi: physical and DMW-virtual kernel_entry map to the same image offset", async () => {
  for (const form of ["physical", "dmw"] as const) {
    const r = await inspect(buildLoongArchImage({ entryForm: form, entryOffset: 0x1480 }));
    assert.equal(r.summary.format, "loongarch-image");
    assert.equal(r.summary.arch, "loongarch64");
    const l = layerAt(r, "/");
    assert.equal(l.info.entryOffset, 0x1480);
    assert.equal(l.info.entryForm, form === "dmw" ? "dmw-virtual" : "physical");
    assert.equal(field(l, "LoongArch image header", "kernel_entry").offset, 0x08);
    assert.equal(field(l, "LoongArch image header", "linux_pe_magic").value, 0x818223cd);
  }
});

test("EFI zboot around each architecture's image, v6.4+ gzip: header, trailer rule, inner image", { skip: needs("gzip") }, async () => {
  const cases = [
    { machine: MACHINE.ARM64, image: buildArm64Image(), arch: "arm64", inner: "arm64-image" },
    { machine: MACHINE.RISCV64, image: buildRiscvImage(), arch: "riscv64", inner: "riscv-image" },
    { machine: MACHINE.LOONGARCH64, image: buildLoongArchImage(), arch: "loongarch64", inner: "loongarch-image" },
  ] as const;
  for (const c of cases) {
    const { toCompress, trailer } = zbootInputs(c.image, "v6.4", "gzip");
    const payload = compressWith("gzip", toCompress);
    const z = buildZboot({ machine: c.machine, compType: "gzip", payload, trailer: trailer(payload) });
    const r = await inspect(z.bytes);
    assert.equal(r.summary.format, "zboot", c.arch);
    assert.equal(r.summary.arch, c.arch);
    assert.equal(r.summary.compression, "gzip");
    assert.equal(r.summary.kernelFormat, c.inner);
    assert.equal(r.summary.kernelPath, "/payload/decompressed");
    const root = layerAt(r, "/");
    assert.equal(field(root, "zboot header", "payload_offset").value, z.payloadOffset);
    assert.equal(field(root, "zboot header", "payload_size").value, payload.length);
    assert.equal(field(root, "zboot header", "comp_type").value, "gzip");
    assert.equal(field(root, "zboot header", "comp_type").offset, 0x18);
    assert.equal(root.info.sizeRule, "v6.4+");
    assert.equal(layerAt(r, "/payload").info.decompressedSize, toCompress.length);
    assert.deepEqual(codes(r), []);
  }
});

test("EFI zboot trailer generations v6.1, v6.2-v6.3 and v6.4+ are told apart after decompression", { skip: needs("gzip", "zstd") }, async () => {
  const image = buildArm64Image();
  for (const [generation, compType, tool, rule] of [
    ["v6.1", "zstd22", "zstd", "v6.1"],
    ["v6.1", "gzip", "gzip", "v6.1"],
    ["v6.2", "gzip", "gzip", "v6.2-v6.3"],
    ["v6.2", "zstd22", "zstd", "v6.2-v6.3"],
    ["v6.4", "zstd", "zstd", "v6.4+"],
  ] as const) {
    const { toCompress, trailer } = zbootInputs(image, generation, compType);
    const payload = compressWith(tool, toCompress);
    const z = buildZboot({ machine: MACHINE.ARM64, compType, payload, trailer: trailer(payload), linuxPeMagic: generation !== "v6.1" });
    const r = await inspect(z.bytes);
    const root = layerAt(r, "/");
    assert.equal(root.info.sizeRule, rule, `${generation} ${compType}`);
    assert.equal(r.summary.compression, compType === "gzip" ? "gzip" : "zstd");
    assert.equal(layerAt(r, "/payload").info.decompressedSize, toCompress.length);
    assert.deepEqual(codes(r), [], `${generation} ${compType}: ${JSON.stringify(r.diagnostics)}`);
  }
});

test("zboot: a codec id that disagrees with the payload magic is reported, and the magic wins", { skip: needs("zstd") }, async () => {
  const { toCompress, trailer } = zbootInputs(buildArm64Image(), "v6.4", "zstd22");
  const payload = compressWith("zstd", toCompress);
  const z = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) });
  const r = await inspect(z.bytes);
  assert.ok(codes(r).includes("CODEC_MISMATCH"));
  assert.equal(r.summary.compression, "zstd");
  assert.equal(r.summary.kernelFormat, "arm64-image");
});

test("zboot --shallow stops at the compressed payload", { skip: needs("gzip") }, async () => {
  const { toCompress, trailer } = zbootInputs(buildArm64Image(), "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  const z = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) });
  const r = await inspect(z.bytes, { shallow: true });
  assert.equal(layerAt(r, "/payload").children.length, 0);
  assert.equal(layerAt(r, "/payload").info.decompressed, false);
  assert.equal(r.summary.kernelFormat, null);
  // The codec is known without decompressing: the summary says so.
  assert.equal(r.summary.compression, "gzip");
});

test("x86 bzImage: setup header, xloadflags, version string, payload to ELF vmlinux", { skip: needs("gzip") }, async () => {
  const vmlinux = buildElf({ machine: 62 });
  const payload = compressWith("gzip", vmlinux);
  const bz = buildBzImage({ payload });
  const r = await inspect(bz);
  assert.equal(r.summary.format, "bzimage");
  assert.equal(r.summary.arch, "x86_64");
  assert.equal(r.summary.compression, "gzip");
  assert.equal(r.summary.kernelFormat, "elf");
  const l = layerAt(r, "/");
  assert.equal(l.info.protocol, "2.15");
  assert.equal(field(l, "setup header", "header").offset, 0x202);
  assert.equal(field(l, "setup header", "setup_sects").value, 0x1f);
  assert.match(field(l, "setup header", "xloadflags").meaning ?? "", /XLF_KERNEL_64 \| XLF_CAN_BE_LOADED_ABOVE_4G/);
  assert.equal(l.info.release, "6.12.9-kimg-amd64");
  assert.equal(l.info.kernelAlignment, 0x200000);
  assert.equal(l.info.handoverOffset, 0x190);
  assert.ok(l.structures.some((s) => s.name === "kernel_info"));
  assert.equal(layerAt(r, "/pe").pe?.machineName, "AMD64");
  assert.equal(layerAt(r, "/payload/decompressed").info.machine, "X86_64");
  assert.deepEqual(codes(r), []);
});

test("bzImage with a non-gzip payload: the mkpiggy size trailer is cut before decoding", { skip: needs("zstd") }, async () => {
  const vmlinux = buildElf({ machine: 62 });
  const z = compressWith("zstd", vmlinux);
  const payload = concat(z, new ByteWriter(4).u32(0, vmlinux.length).bytes);
  const r = await inspect(buildBzImage({ payload }));
  assert.equal(r.summary.compression, "zstd");
  assert.equal(r.summary.kernelFormat, "elf");
  assert.equal(layerAt(r, "/payload").info.decompressedSize, vmlinux.length);
  assert.deepEqual(codes(r), []);
});

test("ELF vmlinux: 32/64-bit, little/big endian, machines, banner", async () => {
  for (const [spec, arch, cls] of [
    [{ machine: 183 }, "arm64", 64],
    [{ machine: 62 }, "x86_64", 64],
    [{ machine: 3, is64: false }, "x86", 32],
    [{ machine: 21, bigEndian: true }, "ppc64", 64],
    [{ machine: 243 }, "riscv64", 64],
    [{ machine: 22, bigEndian: true }, "s390x", 64],
  ] as const) {
    const r = await inspect(buildElf(spec));
    assert.equal(r.summary.format, "elf");
    assert.equal(r.summary.arch, arch);
    const l = layerAt(r, "/");
    assert.equal(l.info.class, cls);
    assert.equal(l.info.endian, "bigEndian" in spec && spec.bigEndian ? "big" : "little");
    assert.equal(l.structures.filter((s) => s.name.startsWith("program header")).length, 2);
    assert.match(String(l.info.linuxVersion), /^Linux version 6\.12\.9/);
  }
});

test("UKI: sections listed, text shown, .linux inspected as a nested image, repeated sections numbered", { skip: needs("gzip", "zstd") }, async () => {
  const vmlinux = buildElf({ machine: 62 });
  const bz = buildBzImage({ payload: compressWith("gzip", vmlinux) });
  // A whole newc archive (issue 16 reads every header: "070701" and zeros is no longer one)
  const initrd = compressWith("zstd", cpioArchive([{ name: "init", mode: 0o100755, data: "#!/bin/sh\n" }]));
  const uki = buildUki({
    linux: bz,
    initrd,
    cmdline: "console=ttyS0 root=/dev/vda1",
    uname: "6.12.9-kimg-amd64",
    extra: [
      { name: ".profile", data: new TextEncoder().encode("ID=main"), characteristics: 0x40000040 },
      { name: ".cmdline", data: new TextEncoder().encode("console=ttyS0 single"), characteristics: 0x40000040 },
    ],
  });
  const r = await inspect(uki);
  assert.equal(r.summary.format, "uki");
  assert.equal(r.summary.arch, "x86_64");
  assert.equal(r.summary.kernelFormat, "elf");
  assert.equal(r.summary.kernelPath, "/.linux/payload/decompressed");
  assert.equal(layerAt(r, "/.cmdline").info.text, "console=ttyS0 root=/dev/vda1");
  assert.equal(layerAt(r, "/.cmdline#2").info.text, "console=ttyS0 single");
  assert.equal(layerAt(r, "/.uname").info.text, "6.12.9-kimg-amd64");
  assert.equal(layerAt(r, "/.linux").format, "bzimage");
  assert.equal(layerAt(r, "/.initrd").format, "compressed");
  assert.equal(layerAt(r, "/.initrd/decompressed").format, "cpio");
  assert.equal(layerAt(r, "/").info.profiles, 1);
  assert.deepEqual(codes(r), []);
});

test("a whole-file compressed Image (Image.gz) is a compressed layer around the Image", { skip: needs("gzip") }, async () => {
  const r = await inspect(compressWith("gzip", buildArm64Image()));
  assert.equal(r.summary.format, "compressed");
  assert.equal(r.summary.compression, "gzip");
  assert.equal(r.summary.kernelFormat, "arm64-image");
});

test("input paths: Uint8Array views with a non-zero byteOffset and ArrayBuffers give the same report", async () => {
  const image = buildRiscvImage();
  const padded = new Uint8Array(image.length + 7);
  padded.set(image, 7);
  const view = padded.subarray(7);
  const a = await inspect(image);
  const b = await inspect(view);
  const c = await inspect(image.slice().buffer);
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
});

test("the report is plain JSON: stringify and parse give it back unchanged", { skip: needs("zstd") }, async () => {
  const { toCompress, trailer } = zbootInputs(buildLoongArchImage({ entryForm: "dmw" }), "v6.4", "zstd");
  const payload = compressWith("zstd", toCompress);
  const r = await inspect(buildZboot({ machine: MACHINE.LOONGARCH64, compType: "zstd", payload, trailer: trailer(payload) }).bytes);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});
