/**
 * The seed set: one small valid image of every format kimg reads, and each container compressed
 * with every codec whose tool is installed (the kernel's own flags, through support/builders).
 * Each seed carries its header fields and boundaries, read from its own report, so the
 * mutators can aim at them. Built once per run and handed to every worker.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "../src/api/index.js";
import type { Layer, LayerFormat } from "../src/model/report.js";
import { ByteWriter, concat, text } from "../support/builders/bytes.js";
import { compressWith, ZBOOT_TOOLS, type Tool } from "../support/builders/compress.js";
import {
  buildArm64Image,
  buildBzImage,
  buildElf,
  buildLoongArchImage,
  buildRiscvImage,
  buildUki,
  buildZboot,
  zbootInputs,
  type ZbootGeneration,
} from "../support/builders/images.js";
import { buildBootV2, buildBootV4, buildDtbo, buildVendorBootV4 } from "../support/builders/android.js";
import { buildFitTree } from "../support/builders/fit.js";
import { buildPe, DATA_FLAGS, MACHINE, RODATA_FLAGS, TEXT_FLAGS } from "../support/builders/pe.js";
import { buildArmZImage, buildMipsVmlinuz, buildS390Image, rawKernel } from "../support/builders/self-decompressing.js";
import { buildUImage } from "../support/builders/uimage.js";
import { ikconfigBlob, kernelWithConfig, SAMPLE_CONFIG } from "../support/builders/ikconfig.js";
// Initramfs archives (issue 16)
import { cpioArchive } from "../support/builders/cpio.js";
import type { Seed, SeedField } from "./mutators.js";

/** A seed before analysis, with the format its report must show. */
export interface RawSeed {
  name: string;
  bytes: Uint8Array;
  format: LayerFormat;
}

export const ALL_TOOLS: readonly Tool[] = ["gzip", "zstd", "xz", "xz-arm64", "xz-x86", "lzma", "lz4", "lzo", "bzip2"];

/** Kept small: the fuzzer's speed is mostly the size of what it decompresses. */
const SMALL = { codeSize: 0x1000, dataSize: 0x400, bssSize: 0x2000 } as const;

const compressed = new Map<string, Uint8Array>();

/** compressWith, once per (tool, content) per run. */
function compress(tool: Tool, key: string, data: Uint8Array): Uint8Array {
  const id = `${tool}:${key}`;
  let out = compressed.get(id);
  if (!out) {
    out = compressWith(tool, data);
    compressed.set(id, out);
  }
  return out;
}

/** The tools that run here; the seed set covers the codecs of exactly these. */
export function availableTools(): Tool[] {
  return ALL_TOOLS.filter((tool) => {
    try {
      return compress(tool, "probe", text("kimg")).length > 0;
    } catch {
      return false;
    }
  });
}

function le32(n: number): Uint8Array {
  return new ByteWriter(4).u32(0, n).bytes;
}

/** The mkpiggy payload: the stream, then the le32 size for every codec but gzip (which has ISIZE). */
function piggy(tool: Tool, key: string, data: Uint8Array): Uint8Array {
  const stream = compress(tool, key, data);
  return tool === "gzip" ? stream : concat(stream, le32(data.length));
}

/** A minimal flattened device tree (Devicetree Specification §5): one root node, one property. */
export function buildDtb(): Uint8Array {
  const strings = text("compatible\0");
  const value = text("kimg,fuzz\0\0\0");
  const struct = new ByteWriter(4 + 8 + 12 + value.length + 4 + 4);
  struct.u32be(0, 1).u32be(4, 0).u32be(8, 3).u32be(12, 10).u32be(16, 0).set(20, value);
  struct.u32be(20 + value.length, 2).u32be(24 + value.length, 9);
  const header = 40;
  const rsvmap = 16;
  const offStruct = header + rsvmap;
  const offStrings = offStruct + struct.bytes.length;
  const total = offStrings + strings.length;
  const w = new ByteWriter(total);
  w.u32be(0, 0xd00dfeed).u32be(4, total).u32be(8, offStruct).u32be(12, offStrings).u32be(16, header);
  w.u32be(20, 17).u32be(24, 16).u32be(28, 0).u32be(32, strings.length).u32be(36, struct.bytes.length);
  w.set(offStruct, struct.bytes).set(offStrings, strings);
  return w.bytes;
}

/** A newc cpio archive holding one file and the trailer (what an initrd starts with). */
export function buildCpio(): Uint8Array {
  const entry = (name: string, data: Uint8Array, mode: number): Uint8Array => {
    const h = (n: number): string => n.toString(16).padStart(8, "0");
    const head = `070701${h(1)}${h(mode)}${h(0)}${h(0)}${h(1)}${h(0)}${h(data.length)}${h(0)}${h(0)}${h(0)}${h(0)}${h(name.length + 1)}${h(0)}`;
    const nameBytes = text(`${head}${name}\0`);
    const pad1 = new Uint8Array((4 - (nameBytes.length % 4)) % 4);
    const pad2 = new Uint8Array((4 - (data.length % 4)) % 4);
    return concat(nameBytes, pad1, data, pad2);
  };
  return concat(entry("init", text("#!/bin/sh\necho kimg\n"), 0o100755), entry("TRAILER!!!", new Uint8Array(0), 0));
}

/** A PE with a certificate table (data directory 4) and zero padding after it, as signed zboot images are. */
export function buildSignedPe(): Uint8Array {
  const certificate = new ByteWriter(0x48).u32(0, 0x48).u16(4, 0x0200).u16(6, 0x0002).set(8, text("0\x82\x00\x3c\x06\x09*\x86H\x86\xf7\x0d\x01\x07\x02")).bytes;
  const built = buildPe({
    machine: MACHINE.AMD64,
    layout: "packed",
    sections: [
      { name: ".text", data: text("kimg text section".repeat(32)), characteristics: TEXT_FLAGS },
      { name: ".data", data: text("kimg data section".repeat(16)), characteristics: DATA_FLAGS },
      { name: ".rodata", data: text("kimg rodata".repeat(8)), characteristics: RODATA_FLAGS },
    ],
    trailing: concat(certificate, new Uint8Array(0x200)),
  });
  const w = new ByteWriter(built.bytes.length).set(0, built.bytes);
  const certAt = built.bytes.length - certificate.length - 0x200;
  w.u32(built.certificateEntryOffset, certAt).u32(built.certificateEntryOffset + 4, certificate.length);
  return w.bytes;
}

let signer: { dir: string; key: string; cert: string } | null | undefined;

/** A throw-away self-signed key, made once per run; null when openssl or sbsign is missing. */
function sbsignKey(): { dir: string; key: string; cert: string } | null {
  if (signer !== undefined) return signer;
  try {
    const dir = mkdtempSync(join(tmpdir(), "kimg-fuzz-sign-"));
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kimg fuzz seed/", "-days", "3650", "-keyout", key, "-out", cert], {
      stdio: "ignore",
    });
    execFileSync("sbsign", ["--help"], { stdio: "ignore" });
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    signer = { dir, key, cert };
  } catch {
    signer = null;
  }
  return signer;
}

/** An Authenticode signature by sbsign (what distributions sign zboot images and UKIs with), or null without the tools. */
export function signWithSbsign(name: string, bytes: Uint8Array): Uint8Array | null {
  const s = sbsignKey();
  if (!s) return null;
  const input = join(s.dir, `${name}.efi`);
  const output = join(s.dir, `${name}.signed.efi`);
  writeFileSync(input, bytes);
  execFileSync("sbsign", ["--key", s.key, "--cert", s.cert, "--output", output, input], { stdio: "ignore" });
  return new Uint8Array(readFileSync(output));
}

function zbootSeed(name: string, machine: number, image: Uint8Array, generation: ZbootGeneration, compType: string, tool: Tool): RawSeed {
  const { toCompress, trailer } = zbootInputs(image, generation, compType);
  const payload = compress(tool, `${name}-image`, toCompress);
  const bytes = buildZboot({ machine, compType, payload, trailer: trailer(payload), linuxPeMagic: generation !== "v6.1" }).bytes;
  return { name, bytes, format: "zboot" };
}

/** Every seed image, for the tools present. */
export function buildRawSeeds(tools: readonly Tool[] = availableTools()): RawSeed[] {
  const has = (t: Tool): boolean => tools.includes(t);
  const arm64 = buildArm64Image(SMALL);
  const riscv = buildRiscvImage(SMALL);
  const loongarch = buildLoongArchImage(SMALL);
  const vmlinux = buildElf();
  const seeds: RawSeed[] = [
    { name: "arm64-image", bytes: arm64, format: "arm64-image" },
    { name: "arm64-image-no-efi-64k", bytes: buildArm64Image({ ...SMALL, code0: "nop", pageSize: 64 }), format: "arm64-image" },
    { name: "arm64-image-legacy", bytes: buildArm64Image({ ...SMALL, imageSizeZero: true, code0: "add" }), format: "arm64-image" },
    { name: "riscv64-image", bytes: riscv, format: "riscv-image" },
    { name: "riscv32-image", bytes: buildRiscvImage({ ...SMALL, rv32: true }), format: "riscv-image" },
    { name: "loongarch-image", bytes: loongarch, format: "loongarch-image" },
    { name: "loongarch-image-dmw", bytes: buildLoongArchImage({ ...SMALL, entryForm: "dmw" }), format: "loongarch-image" },
    { name: "elf64-x86_64", bytes: vmlinux, format: "elf" },
    { name: "elf32-be-mips", bytes: buildElf({ is64: false, bigEndian: true, machine: 8 }), format: "elf" },
    { name: "elf64-aarch64", bytes: buildElf({ machine: 183, entry: 0xffff800080000000n }), format: "elf" },
    { name: "pe-signed", bytes: buildSignedPe(), format: "pe" },
    { name: "dtb", bytes: buildDtb(), format: "dtb" },
    { name: "cpio", bytes: buildCpio(), format: "cpio" },
  ];

  for (const [compType, tool] of ZBOOT_TOOLS) {
    if (has(tool)) seeds.push(zbootSeed(`zboot-arm64-${compType}-v6.4`, MACHINE.ARM64, arm64, "v6.4", compType, tool));
  }
  if (has("gzip")) {
    seeds.push(zbootSeed("zboot-arm64-gzip-v6.1", MACHINE.ARM64, arm64, "v6.1", "gzip", "gzip"));
    seeds.push(zbootSeed("zboot-riscv64-gzip-v6.4", MACHINE.RISCV64, riscv, "v6.4", "gzip", "gzip"));
  }
  if (has("zstd")) {
    seeds.push(zbootSeed("zboot-arm64-zstd22-v6.2", MACHINE.ARM64, arm64, "v6.2", "zstd22", "zstd"));
    seeds.push(zbootSeed("zboot-loongarch-zstd22-v6.4", MACHINE.LOONGARCH64, loongarch, "v6.4", "zstd22", "zstd"));
  }
  if (has("lzma")) seeds.push(zbootSeed("zboot-arm64-lzma-v6.1", MACHINE.ARM64, arm64, "v6.1", "lzma", "lzma"));
  // Self-decompressing kernels: payloads found by scanning, two of them unsupported formats.
  if (has("xz")) {
    const raw = rawKernel("6.1.0-kimg-fuzz", 0x4000);
    seeds.push({ name: "arm-zimage-xz-efi", bytes: buildArmZImage({ tool: "xz", kernel: raw, efi: true }).bytes, format: "arm-zimage" });
    seeds.push({ name: "s390-image-xz", bytes: buildS390Image({ tool: "xz", kernel: raw }).bytes, format: "s390-image" });
    seeds.push({ name: "elf-mips-vmlinuz-xz", bytes: buildMipsVmlinuz({ tool: "xz", kernel: raw }).bytes, format: "elf" });
  }
  if (has("gzip"))
    seeds.push({ name: "arm-zimage-gzip", bytes: buildArmZImage({ tool: "gzip", kernel: rawKernel("6.1.0-kimg-fuzz", 0x4000) }).bytes, format: "arm-zimage" });

  // U-Boot legacy images: an Image as it is, gzip-compressed, and a multi-file image.
  seeds.push({ name: "uimage-arm64-none", bytes: buildUImage({ parts: [arm64] }), format: "uimage" });
  if (has("gzip"))
    seeds.push({ name: "uimage-arm64-gzip", bytes: buildUImage({ comp: 1, parts: [compress("gzip", "arm64-image", arm64)] }), format: "uimage" });
  seeds.push({ name: "uimage-multi", bytes: buildUImage({ type: 4, parts: [arm64, buildCpio(), buildDtb()] }), format: "uimage" });
  for (const tool of ["gzip", "zstd", "xz-x86", "lzma", "lz4", "lzo", "bzip2"] as const) {
    if (has(tool)) seeds.push({ name: `bzimage-${tool}`, bytes: buildBzImage({ payload: piggy(tool, "vmlinux", vmlinux) }), format: "bzimage" });
  }
  for (const tool of tools) seeds.push({ name: `stream-${tool}`, bytes: compress(tool, "arm64-image", arm64), format: "compressed" });

  if (has("gzip")) {
    const bz = buildBzImage({ payload: piggy("gzip", "vmlinux", vmlinux) });
    const initrd = compress("gzip", "cpio", buildCpio());
    const profile = (id: string): { name: string; data: Uint8Array; characteristics: number } => ({
      name: ".profile",
      data: text(`ID=${id}\nTITLE=${id}\n`),
      characteristics: RODATA_FLAGS,
    });
    const uki = buildUki({
      linux: bz,
      initrd,
      uname: "6.12.9-kimg-amd64",
      extra: [
        { name: ".dtb", data: buildDtb(), characteristics: RODATA_FLAGS },
        { name: ".sbat", data: text("sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"), characteristics: RODATA_FLAGS },
        profile("base"),
        { name: ".cmdline", data: text("console=ttyS0 quiet"), characteristics: RODATA_FLAGS },
        profile("debug"),
        { name: ".cmdline", data: text("console=ttyS0 debug"), characteristics: RODATA_FLAGS },
      ],
    });
    seeds.push({ name: "uki-x86_64", bytes: uki, format: "uki" });
    const zboot = zbootSeed("zboot-for-uki", MACHINE.ARM64, arm64, "v6.4", "gzip", "gzip").bytes;
    seeds.push({ name: "uki-arm64-zboot", bytes: buildUki({ machine: MACHINE.ARM64, linux: zboot, initrd: buildCpio() }), format: "uki" });
    seeds.push({ name: "stream-gzip-zboot", bytes: compress("gzip", "zboot-for-uki", zboot), format: "compressed" });
    const signed = signWithSbsign("zboot", zboot);
    if (signed) seeds.push({ name: "zboot-arm64-gzip-sbsigned", bytes: signed, format: "zboot" });
  }
  // Initramfs archives (issue 16): a crc archive, a hostile one, an early cpio with a compressed archive after it
  const S = { reg: 0o100000, dir: 0o040000, lnk: 0o120000, chr: 0o020000 };
  seeds.push({
    name: "cpio-crc",
    bytes: cpioArchive(
      [
        { name: "bin", mode: S.dir | 0o755 },
        { name: "bin/a", mode: S.reg | 0o755, ino: 7, nlink: 2, data: "" },
        { name: "bin/b", mode: S.reg | 0o755, ino: 7, nlink: 2, data: "#!/bin/sh\n" },
        { name: "sbin", mode: S.lnk | 0o777, data: "bin" },
      ],
      "070702",
    ),
    format: "cpio",
  });
  seeds.push({
    name: "cpio-hostile",
    bytes: cpioArchive([
      { name: "../up", mode: S.reg | 0o644, data: "x" },
      { name: "/abs", mode: S.reg | 0o4755, data: "x" },
      { name: "l", mode: S.lnk | 0o777, data: "/etc" },
      { name: "l/passwd", mode: S.reg | 0o644, data: "x" },
      { name: "dev/console", mode: S.chr | 0o600, rdevMajor: 5, rdevMinor: 1 },
    ]),
    format: "cpio",
  });
  if (has("gzip")) {
    const early = cpioArchive([{ name: "kernel/x86/microcode/GenuineIntel.bin", mode: S.reg | 0o644, data: "microcode" }]);
    seeds.push({ name: "initramfs-early-gzip", bytes: concat(early, new Uint8Array(8), compress("gzip", "cpio", buildCpio())), format: "initramfs" });
  }
  // Android boot images (issue 15)
  if (has("gzip")) {
    const ramdisk = compress("gzip", "cpio", buildCpio());
    const kernel = compress("gzip", "arm64-image", arm64);
    seeds.push({ name: "android-boot-v4", bytes: buildBootV4({ kernel, ramdisk, cmdline: "console=ttyS0" }), format: "android-boot" });
    const ramdisks = [
      { name: "platform", type: 1, data: ramdisk, boardId: [1, 2] },
      { name: "dlkm", type: 3, data: ramdisk },
    ];
    const vendor = buildVendorBootV4({ pageSize: 2048, ramdisks, dtb: buildDtb(), bootconfig: text("androidboot.x = 1\n") });
    seeds.push({ name: "android-vendor-boot-v4", bytes: vendor, format: "android-vendor-boot" });
  }
  // The embedded .config (issue 16): in a raw Image, an ELF and a zboot payload; and /proc/config.gz.
  if (has("gzip")) {
    const blob = ikconfigBlob(SAMPLE_CONFIG, compress("gzip", "ikconfig", text(SAMPLE_CONFIG)));
    seeds.push({ name: "ikconfig-arm64-image", bytes: kernelWithConfig("arm64-image", blob), format: "arm64-image" });
    seeds.push({ name: "ikconfig-elf", bytes: kernelWithConfig("elf", blob), format: "elf" });
    seeds.push({ name: "ikconfig-zboot", bytes: kernelWithConfig("zboot", blob), format: "zboot" });
    seeds.push({ name: "config-gz", bytes: compress("gzip", "ikconfig", text(SAMPLE_CONFIG)), format: "compressed" });
  }
  // Boot containers (issue 15): FIT (embedded and external data), Android boot v0-v2, a zImage in a uImage.
  const cpio = buildCpio();
  seeds.push({ name: "fit-embedded", bytes: buildFitTree({ kernel: arm64, kernelCompression: "none", dtb: buildDtb(), ramdisk: cpio }), format: "fit" });
  if (has("gzip")) {
    const kernel = compress("gzip", "arm64-image", arm64);
    seeds.push({
      name: "fit-external-gzip",
      bytes: buildFitTree({ kernel, kernelCompression: "gzip", dtb: buildDtb(), ramdisk: cpio, external: true }),
      format: "fit",
    });
    seeds.push({
      name: "android-boot-v0",
      bytes: buildBootV2({ version: 0, kernel, ramdisk: compress("gzip", "cpio", cpio), cmdline: "console=ttyS0" }),
      format: "android-boot",
    });
  }
  seeds.push({
    name: "android-boot-v1",
    bytes: buildBootV2({
      version: 1,
      kernel: arm64,
      ramdisk: cpio,
      recoveryDtbo: buildDtbo([
        { dtb: buildDtb(), id: 1 },
        { dtb: buildDtb(), id: 2, rev: 1 },
      ]),
    }),
    format: "android-boot",
  });
  seeds.push({
    name: "android-boot-v2",
    bytes: buildBootV2({ version: 2, kernel: arm64, ramdisk: cpio, second: text("second"), dtb: buildDtb() }),
    format: "android-boot",
  });
  if (has("xz")) {
    const zimage = buildArmZImage({ tool: "xz", kernel: rawKernel("6.1.0-kimg-fuzz", 0x4000) }).bytes;
    seeds.push({ name: "uimage-arm-zimage", bytes: buildUImage({ arch: 2, load: 0x80008000, parts: [zimage] }), format: "uimage" });
  }
  return seeds;
}

function fileLayers(layer: Layer, out: Layer[] = []): Layer[] {
  if (layer.space === "file") out.push(layer);
  for (const c of layer.children) fileLayers(c, out);
  return out;
}

/** Reads a seed's own report for the offsets of its header fields and structure boundaries. */
export async function describeSeed(raw: RawSeed): Promise<Seed> {
  const report = await inspect(raw.bytes);
  const fields = new Map<number, SeedField>();
  const boundaries = new Set<number>();
  for (const layer of fileLayers(report.root)) {
    boundaries.add(layer.offset).add(layer.offset + layer.size);
    for (const s of layer.structures) {
      boundaries.add(s.offset).add(s.offset + s.size);
      for (const f of s.fields) {
        if (f.size > 0 && f.size <= 8 && f.offset + f.size <= raw.bytes.length)
          fields.set(f.offset, { name: `${s.name}.${f.name}`, offset: f.offset, size: f.size });
      }
    }
  }
  return { name: raw.name, bytes: raw.bytes, fields: [...fields.values()], boundaries: [...boundaries].sort((a, b) => a - b) };
}

export async function buildSeeds(tools?: readonly Tool[]): Promise<Seed[]> {
  const raws = buildRawSeeds(tools);
  const seeds: Seed[] = [];
  for (const raw of raws) seeds.push(await describeSeed(raw));
  return seeds;
}
