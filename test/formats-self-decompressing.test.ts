/**
 * Kernels that carry their own decompressor: the s390 image (named, reported unsupported, payload
 * found and unpacked for inspection) and the MIPS vmlinuz ELF
 * (an ELF with the right arch, whose payload is found). Images from support/builders, payloads
 * compressed by the real tools; test/debian-kernels.test.ts checks Debian's real ones. The 32-bit
 * Arm zImage is in test/arm-zimage.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { plan, unpack } from "../src/api/index.js";
import { KimgError } from "../src/io/errors.js";
import { compressWith } from "../support/builders/compress.js";
import { buildElf } from "../support/builders/images.js";
import { buildMipsVmlinuz, buildS390Image, rawKernel } from "../support/builders/self-decompressing.js";
import { analyse, codes, field, inspect, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";
import { concat } from "../support/builders/bytes.js";

async function rejects(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof KimgError && e.code === code && pattern.test(e.message));
}

test("s390 image: IPL header, entry points, parmarea with the version string, the xz payload up to its footer", { skip: needs("xz") }, async () => {
  const kernel = rawKernel("6.1.0-kimg-s390x");
  const s = buildS390Image({ tool: "xz", kernel });
  const { report: r, tree } = await analyse(s.bytes);
  assert.deepEqual(
    { format: r.summary.format, arch: r.summary.arch, compression: r.summary.compression, kernelFormat: r.summary.kernelFormat },
    { format: "s390-image", arch: "s390x", compression: "xz", kernelFormat: "raw-kernel" },
  );
  const root = layerAt(r, "/");
  assert.equal(root.title, "s390 kernel image (not supported yet): IPL header, xz payload, 6.1.0-kimg-s390x");
  assert.equal(field(root, "s390 IPL header", "ipl_psw_addr").hex, "0x80000200");
  assert.equal(root.info.iplEntry, 0x200);
  assert.equal(field(root, "s390 entry points", "ep_count").offset, 0x1000f);
  assert.equal(field(root, "s390 parmarea", "kernel_version").value, 0x11000);
  assert.equal(root.info.kernelVersion, "6.1.0-kimg-s390x (builder@kimg) #1 SMP Debian 6.1.0-1 (2026-01-01)");
  assert.equal(root.info.commandLine, "root=/dev/ram0 ro");
  assert.equal(root.info.secureBootTrailer, true);
  assert.equal(field(root, "secure boot trailer", "sb_trailer").offset, s.bytes.length - 8);
  // The stream ends at its footer, before the size word and the stray "YZ"s after it.
  assert.equal(layerAt(r, "/payload").offset, s.payloadOffset);
  assert.equal(layerAt(r, "/payload").size, s.payloadLength);
  assert.deepEqual(tree.bytes.get("/payload/decompressed"), kernel);
  assert.match(r.summary.linuxVersion ?? "", /^Linux version 6\.1\.0-kimg-s390x /);
  assert.deepEqual(codes(r), ["UNSUPPORTED_FORMAT"]);
  await rejects(plan(s.bytes), "E_UNSUPPORTED", /^s390 kernel image \(not supported yet\)/);
  await rejects(unpack(s.bytes), "E_UNSUPPORTED", /^s390 kernel image \(not supported yet\)/);
});

test("s390 image: an older parmarea without the version pointer; cut short of the parmarea", { skip: needs("xz") }, async () => {
  const kernel = rawKernel("6.1.0-kimg-s390x");
  const r = await inspect(buildS390Image({ tool: "xz", kernel, version: null }).bytes);
  assert.equal(field(layerAt(r, "/"), "s390 parmarea", "kernel_version").meaning, "not set (older kernel)");
  assert.equal(layerAt(r, "/").info.kernelVersion, undefined);
  assert.match(r.summary.linuxVersion ?? "", /^Linux version 6\.1\.0-kimg-s390x /, "from the payload's banner");
  const short = await inspect(buildS390Image({ tool: "xz", kernel }).bytes.slice(0, 0x10100));
  assert.equal(short.summary.format, "s390-image");
  assert.deepEqual(codes(short).sort(), ["S390_PAYLOAD_NOT_FOUND", "UNSUPPORTED_FORMAT"]);
});

test("MIPS vmlinuz: an ELF with the right arch whose loaded data carries the compressed kernel", { skip: needs("xz", "gzip") }, async () => {
  const kernel = rawKernel("6.1.0-kimg-5kc-malta");
  for (const [spec, arch, isa] of [
    [{ is64: true }, "mips64el", "ISA MIPS64r2"],
    [{ is64: false }, "mipsel", "ISA MIPS32r2"],
    [{ is64: false, bigEndian: true }, "mips", "ISA MIPS32r2"],
    [{ is64: true, bigEndian: true }, "mips64", "ISA MIPS64r2"],
  ] as const) {
    const m = buildMipsVmlinuz({ tool: "xz", kernel, ...spec });
    const { report: r, tree } = await analyse(m.bytes);
    assert.deepEqual(
      { format: r.summary.format, arch: r.summary.arch, compression: r.summary.compression, kernelFormat: r.summary.kernelFormat },
      { format: "elf", arch, compression: "xz", kernelFormat: "raw-kernel" },
    );
    const root = layerAt(r, "/");
    assert.equal(field(root, spec.is64 ? "ELF64 header" : "ELF32 header", "e_flags").meaning, isa);
    assert.equal(root.info.selfDecompressing, true);
    assert.match(root.title, /self-decompressing \(xz payload\)$/);
    assert.equal(layerAt(r, "/payload").offset, m.payloadOffset);
    assert.equal(layerAt(r, "/payload").size, m.payloadLength);
    assert.deepEqual(tree.bytes.get("/payload/decompressed"), kernel);
    assert.match(r.summary.linuxVersion ?? "", /^Linux version 6\.1\.0-kimg-5kc-malta /);
    assert.deepEqual(codes(r), []);
    // Booted as the ELF it is: the plan is the decompressor's.
    assert.equal(r.plan?.kernel.path, "/");
    assert.equal(r.plan?.arch, arch);
  }
  const gz = await inspect(buildMipsVmlinuz({ tool: "gzip", kernel }).bytes);
  assert.equal(gz.summary.compression, "gzip");
  assert.deepEqual(codes(gz), []);
});

test("ELF arch names from class and byte order; an ELF with a banner is not searched for a payload", { skip: needs("xz") }, async () => {
  for (const [spec, arch] of [
    [{ machine: 20, is64: false, bigEndian: true }, "ppc"],
    [{ machine: 21, bigEndian: false }, "ppc64le"],
    [{ machine: 22, is64: false, bigEndian: true }, "s390"],
    [{ machine: 8, is64: false, bigEndian: true }, "mips"],
  ] as const) {
    assert.equal((await inspect(buildElf(spec))).summary.arch, arch);
  }
  // A vmlinux with a built-in compressed initramfs: its own banner says it is the kernel.
  const vmlinux = concat(buildElf({ machine: 8 }), compressWith("xz", rawKernel("not-a-kernel", 0x1000)));
  const r = await inspect(vmlinux);
  assert.equal(r.summary.kernelFormat, "elf");
  assert.equal(layerAt(r, "/").children.length, 0);
});

test("hostile: an ELF with 4096 PT_LOADs over the same bytes and no banner is scanned once", async () => {
  const count = 4096;
  const size = 1 << 20;
  const elf = new Uint8Array(size);
  const v = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 8, true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, count, true);
  for (let i = 0; i < count; i++) {
    v.setUint32(64 + i * 56, 1, true);
    v.setBigUint64(64 + i * 56 + 32, BigInt(size), true);
  }
  const started = performance.now();
  const r = await inspect(elf);
  // Scanned once per segment this took minutes; once in all, well under a second.
  assert.ok(performance.now() - started < 20_000, `${Math.round(performance.now() - started)} ms`);
  assert.equal(r.summary.format, "elf");
  assert.equal(layerAt(r, "/").children.length, 0);
});
