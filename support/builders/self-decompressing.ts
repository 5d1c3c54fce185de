/**
 * Self-decompressing kernels, laid out as their linker scripts lay them out: the 32-bit Arm
 * zImage (arch/arm/boot/compressed/head.S, vmlinux.lds.S), the s390 image (arch/s390/boot/head.S)
 * and the MIPS vmlinuz ELF (arch/mips/boot/compressed/ld.script). The "kernel" inside is fixture
 * bytes with a banner, compressed by the real tool with the kernel's flags; the decompressor's
 * code and rodata hold the decoder's own magic constant, as real ones do (lib/xz's HEADER_MAGIC).
 */
import { ByteWriter, alignUp, concat, text } from "./bytes.js";
import { compressWith, type Tool } from "./compress.js";
import { buildPe, TEXT_FLAGS } from "./pe.js";

/** The raw kernel every builder wraps: code-like bytes and a banner. */
export function rawKernel(release: string, size = 0x30000): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + (i >> 7)) & 0xff;
  out.set(text(`Linux version ${release} (builder@kimg) (gcc 12.2.0) #1 SMP Debian 6.1.0-1 (2026-01-01)\n\0`), size / 2);
  return out;
}

/** The xz decoder's HEADER_MAGIC as it sits in a decompressor's rodata: the magic, no valid header. */
const XZ_DECOY = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x00, 0x58, 0x5a, 0x20, 0x64, 0x65, 0x63]);

/** scripts/Makefile.lib: gzip carries its own ISIZE; the other codecs get size_append. */
function piggy(tool: Tool, kernel: Uint8Array): { data: Uint8Array; sizeWordAt: number } {
  const z = compressWith(tool, kernel);
  if (tool === "gzip") return { data: z, sizeWordAt: z.length - 4 };
  return { data: concat(z, new ByteWriter(4).u32(0, kernel.length).bytes), sizeWordAt: z.length };
}

export interface ZImageSpec {
  tool: Tool;
  kernel: Uint8Array;
  /** The EFI stub: "MZ" at 0 and a PE header (machine THUMB). */
  efi?: boolean;
  /** A BE8 kernel: the endianness word reads 0x01020304. */
  be8?: boolean;
  /** magic2 and the extension table (newer kernels); default true. */
  table?: boolean;
  /** Replaces extension_tag_offset (hostile inputs). */
  tagOffset?: number;
  /** Replaces the KLSZ tag's size in words (hostile inputs). */
  tagWords?: number;
  /** Replaces the endianness word at 0x30, written little-endian (hostile inputs). */
  endianWord?: number;
  /** Replaces `end` at 0x2c (hostile inputs: an end beyond the file). */
  end?: number;
}

export interface BuiltZImage {
  bytes: Uint8Array;
  payloadOffset: number;
  payloadLength: number;
  tableOffset: number;
}

export function buildArmZImage(spec: ZImageSpec): BuiltZImage {
  const { data, sizeWordAt } = piggy(spec.tool, spec.kernel);
  const table = spec.table ?? true;
  // .text (decompressor) with the decoy in it, .table, .rodata, .piggydata, .got, .pad
  const build = (base: number): { body: Uint8Array; tableOffset: number; payloadOffset: number } => {
    const textPart = new Uint8Array(0x400).fill(0xe1);
    const tableRel = textPart.length;
    const tableWords = table ? 7 : 0;
    // .rodata, between the table and the payload, holds the xz decoder's magic, as in Debian's.
    const rodata = concat(text("invalid distance too far back\0"), XZ_DECOY);
    const payloadRel = alignUp(tableRel + tableWords * 4 + rodata.length, 1);
    const end = alignUp(payloadRel + data.length + 8, 8);
    const w = new ByteWriter(end);
    w.set(0, textPart);
    if (table) {
      const words = spec.tagWords ?? 6;
      w.u32(tableRel, words)
        .u32(tableRel + 4, 0x5a534c4b)
        .u32(tableRel + 8, base + payloadRel + sizeWordAt)
        .u32(tableRel + 12, 0x39000);
      w.u32(tableRel + 16, 0x8000)
        .u32(tableRel + 20, 0x10000)
        .u32(tableRel + 24, 0);
    }
    w.set(tableRel + tableWords * 4, rodata)
      .set(payloadRel, data)
      .u32(payloadRel + data.length, 0xdeadbeef);
    return { body: w.bytes, tableOffset: base + tableRel, payloadOffset: base + payloadRel };
  };
  const header = (tableOffset: number, end: number): Uint8Array => {
    const h = new ByteWriter(0x3c);
    for (let i = 0; i < 8; i++) h.u32(i * 4, 0xe1a00000); // mov r0, r0
    h.u32(0x20, 0xea000005); // b 1f
    h.u32(0x24, 0x016f2818)
      .u32(0x28, 0)
      .u32(0x2c, spec.end ?? end);
    if (spec.endianWord !== undefined) h.u32(0x30, spec.endianWord);
    else if (spec.be8) h.u32be(0x30, 0x04030201);
    else h.u32(0x30, 0x04030201);
    if (table) h.u32(0x34, 0x45454545).u32(0x38, spec.tagOffset ?? tableOffset);
    return h.bytes;
  };
  if (!spec.efi) {
    const { body, tableOffset, payloadOffset } = build(0x40);
    const end = 0x40 + body.length;
    const bytes = concat(header(tableOffset, end), new Uint8Array(4), body);
    return { bytes, payloadOffset, payloadLength: spec.tool === "gzip" ? data.length : data.length - 4, tableOffset };
  }
  // With the EFI stub the decompressor is the PE's one section; place it, then fill in offsets.
  const probe = buildPe({ machine: 0x1c2, pe32plus: false, sections: [{ name: ".text", data: new Uint8Array(16), characteristics: TEXT_FLAGS }] });
  const base = probe.sections[0]?.rawOffset ?? 0;
  const { body, tableOffset, payloadOffset } = build(base);
  const pe = buildPe({
    machine: 0x1c2,
    pe32plus: false,
    prefix: header(tableOffset, 0),
    sections: [{ name: ".text", data: body, characteristics: TEXT_FLAGS }],
  });
  new DataView(pe.bytes.buffer).setUint32(0x2c, spec.end ?? pe.bytes.length, true);
  return { bytes: pe.bytes, payloadOffset, payloadLength: spec.tool === "gzip" ? data.length : data.length - 4, tableOffset };
}

export interface S390Spec {
  tool: Tool;
  kernel: Uint8Array;
  /** The decompressor's version string; null leaves the parmarea pointer 0 (older kernels). */
  version?: string | null;
}

export interface BuiltS390 {
  bytes: Uint8Array;
  payloadOffset: number;
  /** The stream alone, without the appended size word. */
  payloadLength: number;
}

/** head.S: IPL PSW and CCWs at 0, "S390EP" at 0x10008, parmarea at 0x10400, compressed kernel later. */
export function buildS390Image(spec: S390Spec): BuiltS390 {
  const z = compressWith(spec.tool, spec.kernel);
  const versionAt = 0x11000;
  const payloadOffset = 0x12000;
  // After the stream: the size word, then more decompressor data with a stray "YZ" in it.
  const tail = concat(new ByteWriter(4).u32(0, spec.kernel.length).bytes, text("..YZ..YZ"), new Uint8Array(0x200).fill(0x07));
  // vmlinux.lds.S: the file ends page-aligned with the 32-byte .sb.trailer (0x20 "zIPL").
  const w = new ByteWriter(alignUp(payloadOffset + z.length + tail.length + 32, 4096));
  w.u32be(w.bytes.length - 4, 0x7a49504c).u32be(w.bytes.length - 8, 0x20);
  w.u32be(0, 0x00080000).u32be(4, 0x80000200).u32be(8, 0x02000018).u32be(12, 0x60000050).u32be(16, 0x02000068).u32be(20, 0x60000050);
  w.bytes.fill(0x40, 24, 80);
  w.set(0x11800, XZ_DECOY);
  w.u32be(0x10000, 0xa7f40010).ascii(0x10008, "S390EP").u8(0x1000e, 0).u8(0x1000f, 1);
  const version = spec.version === undefined ? "6.1.0-kimg-s390x (builder@kimg) #1 SMP Debian 6.1.0-1 (2026-01-01)" : spec.version;
  if (version !== null) {
    w.u32be(0x10428 + 4, versionAt).ascii(versionAt, version + "\0");
  }
  w.u32be(0x10430 + 4, 4096).ascii(0x10480, "root=/dev/ram0 ro\0");
  w.set(payloadOffset, z).set(payloadOffset + z.length, tail);
  return { bytes: w.bytes, payloadOffset, payloadLength: z.length };
}

export interface VmlinuzElfSpec {
  tool: Tool;
  kernel: Uint8Array;
  is64?: boolean;
  bigEndian?: boolean;
  /** EF_MIPS_ARCH in the top four bits of e_flags. */
  flags?: number;
}

/** arch/mips/boot/compressed: one PT_LOAD with the decompressor's text and data, the kernel at __image_begin in .data. */
export function buildMipsVmlinuz(spec: VmlinuzElfSpec): { bytes: Uint8Array; payloadOffset: number; payloadLength: number } {
  const is64 = spec.is64 ?? true;
  const le = !spec.bigEndian;
  const z = compressWith(spec.tool, spec.kernel);
  const loadAt = 0x1000;
  const payloadOffset = loadAt + 0x800;
  // The image ends .data (ld.script: __image_end), so the segment's file bytes end with it.
  const loadSize = payloadOffset - loadAt + z.length;
  const out = new Uint8Array(loadAt + loadSize + 0x40);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0]);
  v.setUint16(16, 2, le);
  v.setUint16(18, 8, le);
  v.setUint32(20, 1, le);
  const vaddr = is64 ? 0xffffffff81260000n : 0x810f0000n;
  const flags = spec.flags ?? (is64 ? 0x80000007 : 0x70001007);
  if (is64) {
    v.setBigUint64(24, vaddr, le);
    v.setBigUint64(32, 64n, le);
    v.setUint32(48, flags, le);
    v.setUint16(52, 64, le);
    v.setUint16(54, 56, le);
    v.setUint16(56, 1, le);
    v.setUint32(64, 1, le);
    v.setUint32(68, 7, le);
    v.setBigUint64(72, BigInt(loadAt), le);
    v.setBigUint64(80, vaddr, le);
    v.setBigUint64(88, vaddr, le);
    v.setBigUint64(96, BigInt(loadSize), le);
    v.setBigUint64(104, BigInt(loadSize + 0x100000), le);
    v.setBigUint64(112, 0x10000n, le);
  } else {
    v.setUint32(24, Number(vaddr), le);
    v.setUint32(28, 52, le);
    v.setUint32(36, flags, le);
    v.setUint16(40, 52, le);
    v.setUint16(42, 32, le);
    v.setUint16(44, 1, le);
    v.setUint32(52, 1, le);
    v.setUint32(56, loadAt, le);
    v.setUint32(60, Number(vaddr), le);
    v.setUint32(64, Number(vaddr), le);
    v.setUint32(68, loadSize, le);
    v.setUint32(72, loadSize + 0x100000, le);
    v.setUint32(76, 7, le);
    v.setUint32(80, 0x10000, le);
  }
  out.fill(0x27, loadAt, loadAt + 0x400);
  out.set(XZ_DECOY, loadAt + 0x400);
  out.set(z, payloadOffset);
  return { bytes: out, payloadOffset, payloadLength: z.length };
}
