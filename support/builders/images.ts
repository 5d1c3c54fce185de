/**
 * Kernel image fixtures written field by field from the header definitions in docs/formats.md
 * (every generation listed there): arm64 and RISC-V Image, LoongArch vmlinux.efi, EFI zboot,
 * bzImage, ELF, UKI.
 */
import { ByteWriter, alignUp, codeLike, concat, text } from "./bytes.js";
import { DATA_FLAGS, MACHINE, RODATA_FLAGS, TEXT_FLAGS, buildPe, type SectionSpec } from "./pe.js";

export const LINUX_PE_MAGIC = 0x818223cd;

export interface KernelImageSpec {
  codeSize?: number;
  dataSize?: number;
  bssSize?: number;
  banner?: string;
  nxCompat?: boolean;
  /** Offset in the image of the real entry (where code1's branch lands). */
  entryOffset?: number;
  sizeOfHeaders?: number;
}

function kernelSections(spec: KernelImageSpec): SectionSpec[] {
  const code = codeLike(spec.codeSize ?? 0x6000);
  const banner = text(`${spec.banner ?? "Linux version 6.12.9-kimg-test (builder@kimg) (gcc 12.2.0) #1 SMP PREEMPT"}\n\0`);
  const data = concat(banner, codeLike(spec.dataSize ?? 0x1000, 99));
  return [
    { name: ".text", data: code, characteristics: TEXT_FLAGS },
    { name: ".data", data, characteristics: DATA_FLAGS, virtualSize: alignUp(data.length, 0x1000) + (spec.bssSize ?? 0x3000) },
  ];
}

function byteSwap64(v: bigint): bigint {
  let out = 0n;
  for (let i = 0n; i < 8n; i++) out = (out << 8n) | ((v >> (8n * i)) & 0xffn);
  return out;
}

/** arm64 `b` to `target` from `from`: 0x14000000 | imm26. */
export function arm64Branch(from: number, target: number): number {
  return (0x14000000 | (((target - from) >> 2) & 0x03ffffff)) >>> 0;
}

export interface Arm64ImageSpec extends KernelImageSpec {
  pageSize?: 4 | 16 | 64 | 0;
  bigEndian?: boolean;
  placeAnywhere?: boolean;
  /** "ccmp" (current), "add" (older), or "nop" with no EFI header. */
  code0?: "ccmp" | "add" | "nop";
  textOffset?: number;
  /** A pre-v3.17 header: image_size and flags are reserved zeros, text_offset 0x80000 in the kernel's endianness. */
  imageSizeZero?: boolean;
}

export function buildArm64Image(spec: Arm64ImageSpec = {}): Uint8Array {
  const efi = spec.code0 !== "nop";
  const sizeOfHeaders = spec.sizeOfHeaders ?? 0x1000;
  const entry = spec.entryOffset ?? sizeOfHeaders + 0x40;
  const pe = buildPe({
    machine: MACHINE.ARM64,
    sizeOfHeaders,
    fileAlignment: 0x200,
    sectionAlignment: 0x1000,
    entry: sizeOfHeaders + 0x100,
    dllCharacteristics: spec.nxCompat === false ? 0 : 0x100,
    numberOfRvaAndSizes: 6,
    sections: kernelSections(spec),
  });
  const last = pe.sections[pe.sections.length - 1];
  const imageSize = last ? last.rva + alignUp(last.virtualSize, 0x1000) : pe.bytes.length;
  const w = new ByteWriter(pe.bytes.length);
  w.set(0, pe.bytes);
  const page = { 0: 0, 4: 1, 16: 2, 64: 3 }[spec.pageSize ?? 4];
  const legacy = spec.imageSizeZero === true;
  const flags = legacy ? 0 : (spec.bigEndian ? 1 : 0) | (page << 1) | ((spec.placeAnywhere ?? true) ? 8 : 0);
  const code0 = spec.code0 === "add" ? 0x91005a4d : spec.code0 === "nop" ? 0xd503201f : 0xfa405a4d;
  w.u32(0, code0).u32(4, arm64Branch(4, entry));
  const textOffset = BigInt(spec.textOffset ?? (legacy ? 0x80000 : 0));
  // Before v3.17 text_offset had the kernel's endianness (booting.rst).
  w.u64(8, legacy && spec.bigEndian ? byteSwap64(textOffset) : textOffset)
    .u64(16, legacy ? 0 : imageSize)
    .u64(24, flags);
  w.u64(32, 0)
    .u64(40, 0)
    .u64(48, 0)
    .u32(0x38, 0x644d5241)
    .u32(0x3c, efi ? 0x40 : 0);
  w.u32(0x40 + 24 + 56, imageSize);
  if (!efi) w.bytes.fill(0, 0x40, 0x200);
  return w.bytes;
}

/** RISC-V `jal x0, imm` (the `j`): opcode 0x6f, imm[20|10:1|11|19:12]. */
export function riscvJal(offset: number): number {
  const imm = offset & 0x1fffff;
  const bit = (n: number): number => (imm >> n) & 1;
  const imm10_1 = (imm >> 1) & 0x3ff;
  const imm19_12 = (imm >> 12) & 0xff;
  return ((bit(20) << 31) | (imm10_1 << 21) | (bit(11) << 20) | (imm19_12 << 12) | 0x6f) >>> 0;
}

export interface RiscvImageSpec extends KernelImageSpec {
  rv32?: boolean;
  /** Header version: 2 (0.2, magic2 "RSC\x05") or 1 (0.1: "RISCV" at 0x30 only, res3 at 0x38). */
  version?: number;
  /** What a 0.1 header holds at 0x38 (res3, which v0.1's head.S did not zero). */
  res3?: number;
}

export function buildRiscvImage(spec: RiscvImageSpec = {}): Uint8Array {
  const sizeOfHeaders = spec.sizeOfHeaders ?? 0x1000;
  const entry = spec.entryOffset ?? sizeOfHeaders + 0x40;
  const pe = buildPe({
    machine: spec.rv32 ? MACHINE.RISCV32 : MACHINE.RISCV64,
    pe32plus: !spec.rv32,
    sizeOfHeaders,
    entry: sizeOfHeaders + 0x100,
    dllCharacteristics: spec.nxCompat === false ? 0 : 0x100,
    numberOfRvaAndSizes: 6,
    sections: kernelSections(spec),
  });
  const last = pe.sections[pe.sections.length - 1];
  const imageSize = last ? last.rva + alignUp(last.virtualSize, 0x1000) : pe.bytes.length;
  const w = new ByteWriter(pe.bytes.length);
  w.set(0, pe.bytes);
  w.u16(0, 0x5a4d); // c.li s4,-13 = "MZ"
  w.u32(2, riscvJal(entry - 2)).u16(6, 0);
  w.u64(8, spec.rv32 ? 0x400000 : 0x200000)
    .u64(16, imageSize)
    .u64(24, 0);
  const version = spec.version ?? 2;
  w.u32(0x20, version)
    .u32(0x24, 0)
    .u64(0x28, 0)
    .ascii(0x30, "RISCV\0\0\0")
    .u32(0x38, version >= 2 ? 0x05435352 : (spec.res3 ?? 0))
    .u32(0x3c, 0x40);
  w.u32(0x40 + 24 + 56, imageSize);
  return w.bytes;
}

export interface LoongArchImageSpec extends KernelImageSpec {
  /** "physical" (v6.10+) or "dmw" (older kernels: 0x9000... virtual, load_offset 0). */
  entryForm?: "physical" | "dmw";
  /** LINUX_PE_MAGIC at 0x38 (v6.2+); false writes 0 as v6.1 did (then the entry is DMW virtual and load_offset 0). */
  linuxPeMagic?: boolean;
  /** With a DMW entry: load_offset filled in (about v6.3-v6.9) instead of 0 (v6.1, v6.2). */
  loadOffsetSet?: boolean;
}

export function buildLoongArchImage(spec: LoongArchImageSpec = {}): Uint8Array {
  const sizeOfHeaders = spec.sizeOfHeaders ?? 0x1000;
  const entry = spec.entryOffset ?? sizeOfHeaders + 0x80;
  const pe = buildPe({
    machine: MACHINE.LOONGARCH64,
    sizeOfHeaders,
    entry: sizeOfHeaders + 0x100,
    dllCharacteristics: spec.nxCompat ? 0x100 : 0,
    numberOfRvaAndSizes: 6,
    sections: kernelSections(spec),
  });
  const last = pe.sections[pe.sections.length - 1];
  const asize = last ? last.rva + alignUp(last.virtualSize, 0x1000) : pe.bytes.length;
  const w = new ByteWriter(pe.bytes.length);
  w.set(0, pe.bytes);
  const loadOffset = 0x200000n;
  const physical = loadOffset + BigInt(entry);
  const dmw = spec.entryForm === "dmw";
  w.u32(0, 0x5a4d).u32(4, 0);
  w.u64(8, dmw ? (0x9000n << 48n) | physical : physical)
    .u64(16, asize)
    .u64(24, dmw && !spec.loadOffsetSet ? 0n : loadOffset);
  w.u32(0x38, spec.linuxPeMagic === false ? 0 : LINUX_PE_MAGIC).u32(0x3c, 0x40);
  w.u32(0x40 + 24 + 56, asize);
  return w.bytes;
}

export type ZbootGeneration = "v6.1" | "v6.2" | "v6.4";

/** What Makefile.zboot compresses and what it appends after the stream (kernel-formats.md §1.4). */
export function zbootInputs(
  image: Uint8Array,
  generation: ZbootGeneration,
  compType: string,
): { toCompress: Uint8Array; trailer: (compressed: Uint8Array) => Uint8Array } {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const isGzip = compType === "gzip";
  if (generation === "v6.2") {
    const t = new ByteWriter(12).u32(0, view.getUint32(148, true)).u32(4, view.getUint32(92, true)).u32(8, view.getUint32(144, true));
    return { toCompress: image, trailer: () => t.bytes };
  }
  let toCompress = image;
  if (generation === "v6.4") {
    const imageSize = view.getUint32(0x10, true);
    toCompress = new Uint8Array(Math.max(imageSize, image.length));
    toCompress.set(image);
  }
  const size = toCompress.length;
  return { toCompress, trailer: () => (isGzip ? new Uint8Array(0) : new ByteWriter(4).u32(0, size).bytes) };
}

export interface ZbootSpec {
  machine: number;
  compType: string;
  /** The compressed stream. */
  payload: Uint8Array;
  /** Bytes Makefile.zboot appends after the stream (see zbootInputs). */
  trailer?: Uint8Array;
  /** LINUX_PE_MAGIC at 0x38 (v6.2+); false writes 0 as v6.1 did. */
  linuxPeMagic?: boolean;
  /** DllCharacteristics NX_COMPAT (v6.3+); by default set unless the image is v6.1 (no LINUX_PE_MAGIC). */
  nxCompat?: boolean;
  /** A `.sbat` section with this CSV (v6.16+ CONFIG_EFI_SBAT_FILE). */
  sbat?: string;
}

export interface BuiltZboot {
  bytes: Uint8Array;
  payloadOffset: number;
}

export function buildZboot(spec: ZbootSpec): BuiltZboot {
  const stub = codeLike(0x400, 3);
  const trailer = spec.trailer ?? new Uint8Array(0);
  const payloadAt = alignUp(stub.length, 8);
  const textData = new Uint8Array(payloadAt + spec.payload.length + trailer.length + 0x40);
  textData.set(stub);
  textData.set(spec.payload, payloadAt);
  textData.set(trailer, payloadAt + spec.payload.length);
  const pe = buildPe({
    machine: spec.machine,
    sizeOfHeaders: 0x1000,
    entry: 0x1000,
    dllCharacteristics: (spec.nxCompat ?? spec.linuxPeMagic !== false) ? 0x100 : 0,
    numberOfRvaAndSizes: 6,
    sections: [
      { name: ".text", data: textData, characteristics: TEXT_FLAGS },
      { name: ".data", data: codeLike(0x200, 5), characteristics: DATA_FLAGS, virtualSize: 0x1000 },
      ...(spec.sbat === undefined ? [] : [{ name: ".sbat", data: text(spec.sbat), characteristics: RODATA_FLAGS }]),
    ],
  });
  const text0 = pe.sections[0];
  const payloadOffset = (text0?.rawOffset ?? 0x1000) + payloadAt;
  const w = new ByteWriter(pe.bytes.length);
  w.set(0, pe.bytes);
  w.u32(0, 0x5a4d).ascii(4, "zimg").u32(8, payloadOffset).u32(12, spec.payload.length).u32(0x10, 0).u32(0x14, 0);
  w.bytes.fill(0, 0x18, 0x38);
  w.ascii(0x18, spec.compType);
  w.u32(0x38, spec.linuxPeMagic === false ? 0 : LINUX_PE_MAGIC).u32(0x3c, 0x40);
  return { bytes: w.bytes, payloadOffset };
}

export interface BzImageSpec {
  /** The compressed vmlinux, with the 4-byte size appended for non-gzip codecs (mkpiggy). */
  payload: Uint8Array;
  protocol?: number;
  setupSects?: number;
  release?: string;
  efi?: boolean;
  nxCompat?: boolean;
  xloadflags?: number;
  initSize?: number;
  /**
   * The last 4 bytes: the boot-protocol CRC-32 as build.c wrote it until v6.15 (default from
   * protocol 2.08), or "zero" as v6.15+ leaves them (no CRC-32), or false for the code as is.
   */
  crc?: boolean | "zero";
}

export function buildBzImage(spec: BzImageSpec): Uint8Array {
  const setupSects = spec.setupSects ?? 0x1f;
  const pmOffset = (setupSects + 1) * 512;
  const pmCode = codeLike(0x800, 11);
  const payloadOffset = pmCode.length;
  const kernelInfo = new ByteWriter(16).ascii(0, "LToP").u32(4, 16).u32(8, 16).u32(12, 8).bytes;
  const pmData = concat(pmCode, spec.payload, new Uint8Array(alignUp(spec.payload.length, 16) - spec.payload.length), kernelInfo, codeLike(0x400, 12));
  const kernelInfoOffset = pmCode.length + alignUp(spec.payload.length, 16);
  const setupData = new Uint8Array(setupSects * 512);
  const pe = buildPe({
    machine: MACHINE.AMD64,
    sizeOfHeaders: 0x200,
    fileAlignment: 0x200,
    sectionAlignment: 0x1000,
    layout: "packed",
    entry: 0x1000,
    dllCharacteristics: spec.nxCompat === false ? 0 : 0x100,
    numberOfRvaAndSizes: 6,
    sections: [
      { name: ".setup", data: setupData, characteristics: RODATA_FLAGS },
      { name: ".text", data: pmData, characteristics: TEXT_FLAGS },
    ],
  });
  const w = new ByteWriter(pe.bytes.length);
  w.set(0, pe.bytes);
  if (spec.efi === false) w.bytes.fill(0, 2, 0x1f1);
  const version = text(`${spec.release ?? "6.12.9-kimg-amd64"} (builder@kimg) #1 SMP PREEMPT_DYNAMIC Debian\0`);
  const versionAt = 0x400;
  w.set(versionAt, version);
  const protocol = spec.protocol ?? 0x020f;
  w.u8(0x1f1, setupSects)
    .u32(0x1f4, Math.ceil((w.bytes.length - pmOffset) / 16))
    .u16(0x1fe, 0xaa55);
  w.u8(0x200, 0xeb)
    .u8(0x201, 0x6a)
    .ascii(0x202, "HdrS")
    .u16(0x206, protocol)
    .u16(0x20e, versionAt - 0x200);
  w.u8(0x211, 0x81).u32(0x214, 0x100000).u32(0x230, 0x200000).u8(0x234, 1).u8(0x235, 21);
  w.u16(0x236, spec.xloadflags ?? 0x7f & ~0x20)
    .u32(0x238, 2047)
    .u32(0x248, payloadOffset)
    .u32(0x24c, spec.payload.length);
  w.u64(0x258, 0x1000000)
    .u32(0x260, spec.initSize ?? 0x2000000)
    .u32(0x264, 0x190)
    .u32(0x268, kernelInfoOffset);
  clearNewerSetupFields(w, protocol);
  if (spec.efi !== false) w.u32(0x38, protocol >= 0x20f ? LINUX_PE_MAGIC : 0);
  const crc = spec.crc ?? protocol >= 0x208;
  if (crc !== false) {
    const at = w.bytes.length - 4;
    w.u32(at, crc === "zero" ? 0 : bootCrc32(w.bytes.subarray(0, at)));
  }
  return w.bytes;
}

/** Setup-header fields (offset, size) and the boot protocol that added them (boot.rst). */
const NEWER_SETUP_FIELDS: ReadonlyArray<[number, number, number]> = [
  [0x224, 2, 0x201],
  [0x226, 2, 0x202],
  [0x228, 4, 0x202],
  [0x22c, 4, 0x203],
  [0x230, 5, 0x205],
  [0x235, 1, 0x20a],
  [0x236, 2, 0x20c],
  [0x238, 4, 0x206],
  [0x23c, 12, 0x207],
  [0x248, 8, 0x208],
  [0x250, 8, 0x209],
  [0x258, 12, 0x20a],
  [0x264, 4, 0x20b],
  [0x268, 4, 0x20f],
];

/** An older protocol's header ends earlier: its later fields are zero here (in a real image, setup code). */
function clearNewerSetupFields(w: ByteWriter, protocol: number): void {
  for (const [offset, size, since] of NEWER_SETUP_FIELDS) if (since > protocol) w.bytes.fill(0, offset, offset + size);
}

/** arch/x86/boot/tools/build.c: reflected CRC-32 (0xedb88320), register starts at 0xffffffff, not inverted. */
export function bootCrc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return crc >>> 0;
}

export interface ElfSpec {
  is64?: boolean;
  bigEndian?: boolean;
  machine?: number;
  entry?: bigint;
  banner?: string;
  /** Symbols for a .symtab (64-bit little-endian only), e.g. { _text: ..., primary_entry: ... }. */
  symbols?: Record<string, bigint>;
  /** The data segment is RWX, as an x86_64 vmlinux's init segment is. */
  rwxSegment?: boolean;
}

/** Appends section headers (null, .symtab, .strtab) with the given symbols to a 64-bit LE ELF. */
function withSymbols(elf: Uint8Array, symbols: Record<string, bigint>): Uint8Array {
  const names = Object.keys(symbols);
  const strtab = text("\0" + names.map((n) => n + "\0").join(""));
  const symtab = new ByteWriter(24 * (names.length + 1));
  let nameAt = 1;
  names.forEach((n, i) => {
    const at = 24 * (i + 1);
    symtab
      .u32(at, nameAt)
      .u8(at + 4, 0x12)
      .u16(at + 6, 1)
      .u64(at + 8, symbols[n] ?? 0n);
    nameAt += n.length + 1;
  });
  const symAt = alignUp(elf.length, 8);
  const strAt = symAt + symtab.bytes.length;
  const shAt = alignUp(strAt + strtab.length, 8);
  const out = new ByteWriter(shAt + 3 * 64);
  out.set(0, elf).set(symAt, symtab.bytes).set(strAt, strtab);
  out
    .u32(shAt + 64 + 4, 2)
    .u64(shAt + 64 + 24, symAt)
    .u64(shAt + 64 + 32, symtab.bytes.length)
    .u32(shAt + 64 + 40, 2)
    .u64(shAt + 64 + 56, 24);
  out
    .u32(shAt + 128 + 4, 3)
    .u64(shAt + 128 + 24, strAt)
    .u64(shAt + 128 + 32, strtab.length);
  out.u64(40, shAt).u16(58, 64).u16(60, 3).u16(62, 2);
  return out.bytes;
}

export function buildElf(spec: ElfSpec = {}): Uint8Array {
  const is64 = spec.is64 ?? true;
  const le = !spec.bigEndian;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const code = codeLike(0x2000, 21);
  const banner = text(`${spec.banner ?? "Linux version 6.12.9-kimg-test (builder@kimg) (gcc 12.2.0) #1 SMP"}\n\0`);
  const phoff = ehsize;
  const codeAt = 0x1000;
  const dataAt = codeAt + code.length;
  const out = new Uint8Array(dataAt + banner.length + 0x100);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0]);
  v.setUint16(16, 2, le);
  v.setUint16(18, spec.machine ?? 62, le);
  v.setUint32(20, 1, le);
  const entry = spec.entry ?? 0xffffffff81000000n;
  const vbase = is64 ? 0xffffffff81000000n : 0xc0000000n;
  if (is64) {
    v.setBigUint64(24, entry, le);
    v.setBigUint64(32, BigInt(phoff), le);
    v.setBigUint64(40, 0n, le);
    v.setUint16(52, ehsize, le);
    v.setUint16(54, phentsize, le);
    v.setUint16(56, 2, le);
    v.setUint16(58, 64, le);
  } else {
    v.setUint32(24, Number(entry & 0xffffffffn), le);
    v.setUint32(28, phoff, le);
    v.setUint16(40, ehsize, le);
    v.setUint16(42, phentsize, le);
    v.setUint16(44, 2, le);
    v.setUint16(46, 40, le);
  }
  const segs = [
    { off: codeAt, size: code.length, flags: 5 },
    { off: dataAt, size: banner.length, flags: spec.rwxSegment ? 7 : 6 },
  ];
  segs.forEach((s, i) => {
    const at = phoff + i * phentsize;
    const vaddr = vbase + BigInt(s.off);
    if (is64) {
      v.setUint32(at, 1, le);
      v.setUint32(at + 4, s.flags, le);
      v.setBigUint64(at + 8, BigInt(s.off), le);
      v.setBigUint64(at + 16, vaddr, le);
      v.setBigUint64(at + 24, BigInt(s.off), le);
      v.setBigUint64(at + 32, BigInt(s.size), le);
      v.setBigUint64(at + 40, BigInt(s.size + 0x100), le);
      v.setBigUint64(at + 48, 0x200000n, le);
    } else {
      v.setUint32(at, 1, le);
      v.setUint32(at + 4, s.off, le);
      v.setUint32(at + 8, Number(vaddr & 0xffffffffn), le);
      v.setUint32(at + 12, s.off, le);
      v.setUint32(at + 16, s.size, le);
      v.setUint32(at + 20, s.size + 0x100, le);
      v.setUint32(at + 24, s.flags, le);
      v.setUint32(at + 28, 0x1000, le);
    }
  });
  out.set(code, codeAt);
  out.set(banner, dataAt);
  return spec.symbols ? withSymbols(out, spec.symbols) : out;
}

export interface UkiSpec {
  machine?: number;
  linux: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  osrel?: string;
  uname?: string;
  extra?: SectionSpec[];
  nxCompat?: boolean;
}

export function buildUki(spec: UkiSpec): Uint8Array {
  const ro = (name: string, data: Uint8Array): SectionSpec => ({ name, data, characteristics: RODATA_FLAGS });
  const sections: SectionSpec[] = [{ name: ".text", data: codeLike(0x1000, 31), characteristics: TEXT_FLAGS }];
  sections.push(ro(".osrel", text(spec.osrel ?? 'NAME="Debian GNU/Linux"\nID=debian\nPRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n')));
  sections.push(ro(".cmdline", text(spec.cmdline ?? "console=ttyS0 root=/dev/vda1 ro quiet")));
  if (spec.uname !== undefined) sections.push(ro(".uname", text(spec.uname)));
  sections.push(...(spec.extra ?? []));
  sections.push(ro(".linux", spec.linux));
  if (spec.initrd) sections.push(ro(".initrd", spec.initrd));
  return buildPe({
    machine: spec.machine ?? MACHINE.AMD64,
    layout: "packed",
    fileAlignment: 0x200,
    sectionAlignment: 0x1000,
    dllCharacteristics: spec.nxCompat === false ? 0x60 : 0x160,
    sections,
  }).bytes;
}
