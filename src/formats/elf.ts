/**
 * ELF vmlinux (32/64-bit, little/big endian). Source: the System V gABI, include/uapi/linux/elf.h.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { annotate, defineLayout, defineVariants, hex, readStruct, readVariant, requireRange, type DecodedVariant } from "../io/layout.js";
import { addBanner } from "./arm64.js";
import { findEmbeddedStream, type EmbeddedStream } from "./embedded-stream.js";
import type { FormatInput, FormatParser, ChildSpec } from "./types.js";
// Built-in initramfs (issue 16)
import { builtinInitramfsChild, elfSections, SHT_PROGBITS } from "./builtin-initramfs.js";
import { isElf } from "./elf-ident.js";
import type { ElfFacts, ElfSegmentFacts } from "../model/facts.js";

/** e_ident[0..15]: magic, class, data, version, OS ABI. */
export const ELF_IDENT = defineLayout("ELF identification", 16, [
  { name: "EI_MAG", offset: 0, type: "ascii", size: 4 },
  { name: "EI_CLASS", offset: 4, type: "u8" },
  { name: "EI_DATA", offset: 5, type: "u8" },
  { name: "EI_VERSION", offset: 6, type: "u8" },
  { name: "EI_OSABI", offset: 7, type: "u8" },
  { name: "EI_ABIVERSION", offset: 8, type: "u8" },
] as const);

export const ELF64_HEADER = defineLayout("ELF64 header", 64, [
  { name: "e_type", offset: 16, type: "u16" },
  { name: "e_machine", offset: 18, type: "u16" },
  { name: "e_version", offset: 20, type: "u32" },
  { name: "e_entry", offset: 24, type: "u64" },
  { name: "e_phoff", offset: 32, type: "u64" },
  { name: "e_shoff", offset: 40, type: "u64" },
  { name: "e_flags", offset: 48, type: "u32" },
  { name: "e_ehsize", offset: 52, type: "u16" },
  { name: "e_phentsize", offset: 54, type: "u16" },
  { name: "e_phnum", offset: 56, type: "u16" },
  { name: "e_shentsize", offset: 58, type: "u16" },
  { name: "e_shnum", offset: 60, type: "u16" },
  { name: "e_shstrndx", offset: 62, type: "u16" },
] as const);

export const ELF32_HEADER = defineLayout("ELF32 header", 52, [
  { name: "e_type", offset: 16, type: "u16" },
  { name: "e_machine", offset: 18, type: "u16" },
  { name: "e_version", offset: 20, type: "u32" },
  { name: "e_entry", offset: 24, type: "u32" },
  { name: "e_phoff", offset: 28, type: "u32" },
  { name: "e_shoff", offset: 32, type: "u32" },
  { name: "e_flags", offset: 36, type: "u32" },
  { name: "e_ehsize", offset: 40, type: "u16" },
  { name: "e_phentsize", offset: 42, type: "u16" },
  { name: "e_phnum", offset: 44, type: "u16" },
  { name: "e_shentsize", offset: 46, type: "u16" },
  { name: "e_shnum", offset: 48, type: "u16" },
  { name: "e_shstrndx", offset: 50, type: "u16" },
] as const);

export const ELF64_PHDR = defineLayout("program header", 56, [
  { name: "p_type", offset: 0, type: "u32" },
  { name: "p_flags", offset: 4, type: "u32" },
  { name: "p_offset", offset: 8, type: "u64" },
  { name: "p_vaddr", offset: 16, type: "u64" },
  { name: "p_paddr", offset: 24, type: "u64" },
  { name: "p_filesz", offset: 32, type: "u64" },
  { name: "p_memsz", offset: 40, type: "u64" },
  { name: "p_align", offset: 48, type: "u64" },
] as const);

export const ELF32_PHDR = defineLayout("program header", 32, [
  { name: "p_type", offset: 0, type: "u32" },
  { name: "p_offset", offset: 4, type: "u32" },
  { name: "p_vaddr", offset: 8, type: "u32" },
  { name: "p_paddr", offset: 12, type: "u32" },
  { name: "p_filesz", offset: 16, type: "u32" },
  { name: "p_memsz", offset: 20, type: "u32" },
  { name: "p_flags", offset: 24, type: "u32" },
  { name: "p_align", offset: 28, type: "u32" },
] as const);

/** The file header and the program header by e_ident[EI_CLASS]: ELFCLASS32 (1) or ELFCLASS64 (2). */
export const ELF_HEADER = defineVariants("ELF header", { elf32: ELF32_HEADER, elf64: ELF64_HEADER });
export const ELF_PHDR = defineVariants("program header", { elf32: ELF32_PHDR, elf64: ELF64_PHDR });
type ProgramHeader = DecodedVariant<typeof ELF_PHDR.variants>["record"];

export const ELF_MACHINES: Readonly<Record<number, [string, string]>> = {
  2: ["SPARC", "sparc"],
  3: ["386", "x86"],
  8: ["MIPS", "mips"],
  20: ["PPC", "ppc"],
  21: ["PPC64", "ppc64"],
  22: ["S390", "s390x"],
  40: ["ARM", "arm"],
  42: ["SH", "sh"],
  43: ["SPARCV9", "sparc64"],
  50: ["IA_64", "ia64"],
  62: ["X86_64", "x86_64"],
  183: ["AARCH64", "arm64"],
  243: ["RISCV", "riscv"],
  258: ["LOONGARCH", "loongarch"],
};

const EM_MIPS = 8;
/** EF_MIPS_ARCH, the top four bits of a MIPS e_flags (include/uapi/linux/elf-em.h, the MIPS ABI supplements). */
const MIPS_ARCH_NAMES: readonly string[] = [
  "MIPS I",
  "MIPS II",
  "MIPS III",
  "MIPS IV",
  "MIPS V",
  "MIPS32",
  "MIPS64",
  "MIPS32r2",
  "MIPS64r2",
  "MIPS32r6",
  "MIPS64r6",
];

/**
 * The architecture name from the machine, the class and the byte order, in the kernel's and
 * Debian's usual spelling: mips64el, mipsel, ppc64le, s390x. The class decides the word size (a
 * 32-bit MIPS kernel may still be built for a MIPS64 ISA).
 */
export function elfArch(machine: number, is64: boolean, little: boolean): string | null {
  const name = ELF_MACHINES[machine]?.[1];
  switch (name) {
    case undefined:
      return null;
    case "riscv":
    case "loongarch":
      return name + (is64 ? "64" : "32");
    case "mips":
      return (is64 ? "mips64" : "mips") + (little ? "el" : "");
    case "ppc":
    case "ppc64":
      return (is64 ? "ppc64" : "ppc") + (little ? "le" : "");
    case "s390x":
      return is64 ? "s390x" : "s390";
    default:
      return name;
  }
}

const ELF_TYPES: Readonly<Record<number, string>> = { 0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE" };
const PT_TYPES: Readonly<Record<number, string>> = {
  0: "NULL",
  1: "LOAD",
  2: "DYNAMIC",
  3: "INTERP",
  4: "NOTE",
  6: "PHDR",
  7: "TLS",
  0x6474e550: "GNU_EH_FRAME",
  0x6474e551: "GNU_STACK",
  0x6474e552: "GNU_RELRO",
  0x6474e553: "GNU_PROPERTY",
};

export { isElf };

export function elfPerms(flags: number): string {
  return (flags & 4 ? "r" : "-") + (flags & 2 ? "w" : "-") + (flags & 1 ? "x" : "-");
}

/**
 * A segment's file range in exact (bigint) arithmetic: a loadable segment must lie inside the file
 * (else KERNEL_TRUNCATED, an error that unpack, plan and kexec refuse), and offsets and sizes past
 * 2^53 cannot be reported or placed exactly (ELF_VALUE_TOO_LARGE, an error too).
 */
function checkSegment(input: FormatInput, index: number, type: string, p: ProgramHeader, headerOffset: number, is64: boolean): void {
  const fieldOffsets = is64 ? { p_offset: 8, p_filesz: 32, p_memsz: 40 } : { p_offset: 4, p_filesz: 16, p_memsz: 20 };
  if (type === "LOAD") {
    const end = BigInt(p.p_offset) + BigInt(p.p_filesz);
    if (end > BigInt(input.bytes.length)) {
      input.diagnose(
        "KERNEL_TRUNCATED",
        "error",
        `PT_LOAD ${index} [${hex(p.p_offset)}, +${hex(p.p_filesz)}) ends at ${hex(end)} but the file ends at ${hex(input.bytes.length)}: a kernel that cannot be whole`,
        input.bytes.length,
      );
    }
  }
  for (const name of ["p_offset", "p_filesz", "p_memsz"] as const) {
    const value = BigInt(p[name]);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      input.diagnose(
        "ELF_VALUE_TOO_LARGE",
        "error",
        `program header ${index} (${type}): ${name} ${hex(value)} is past 2^53 and cannot be placed exactly`,
        headerOffset + fieldOffsets[name],
      );
    }
  }
}

export const elfFormat: FormatParser = {
  format: "elf",
  // Planned (segment by segment) when nothing else is, but not what a loader boots as it is.
  kernel: { bootable: false, planRank: 4, unsupported: null },
  probe: isElf,
  parse(input, layer): ChildSpec[] {
    const { bytes, base, limits } = input;
    const ident = readStruct(ELF_IDENT, bytes, 0, { base });
    const is64 = ident.record.EI_CLASS === 2;
    const little = ident.record.EI_DATA === 1;
    annotate(ident.structure, "EI_MAG", '"\\x7fELF"');
    annotate(ident.structure, "EI_CLASS", is64 ? "ELFCLASS64" : "ELFCLASS32");
    annotate(ident.structure, "EI_DATA", little ? "little-endian" : "big-endian");
    layer.structures.push(ident.structure);
    const header = readVariant(ELF_HEADER, is64 ? "elf64" : "elf32", bytes, 0, { base, littleEndian: little });
    const h = header.record;
    header.structure.offset = base + 16;
    header.structure.size = (is64 ? 64 : 52) - 16;
    const machine = ELF_MACHINES[h.e_machine];
    annotate(header.structure, "e_type", ELF_TYPES[h.e_type] ?? "unknown");
    annotate(header.structure, "e_machine", machine?.[0] ?? "unknown");
    layer.structures.push(header.structure);

    layer.arch = elfArch(h.e_machine, is64, little);
    if (h.e_machine === EM_MIPS) annotate(header.structure, "e_flags", `ISA ${MIPS_ARCH_NAMES[h.e_flags >>> 28] ?? "unknown"}`);
    const entry = h.e_entry;
    const facts: ElfFacts = {
      kind: "elf",
      elfClass: is64 ? 64 : 32,
      littleEndian: little,
      machine: h.e_machine,
      type: h.e_type,
      entry: BigInt(entry),
      segments: [],
      banner: null,
    };
    input.setFacts(facts);
    layer.info.class = facts.elfClass;
    layer.info.endian = little ? "little" : "big";
    layer.info.machine = machine?.[0] ?? facts.machine;
    layer.info.entry = hex(facts.entry);
    layer.info.type = ELF_TYPES[facts.type] ?? facts.type;

    const phnum = h.e_phnum;
    const phoff = Number(h.e_phoff);
    const phentsize = h.e_phentsize;
    const phLayout = ELF_PHDR.variants[is64 ? "elf64" : "elf32"];
    if (phnum > limits.maxElfHeaderCount) {
      throw new KimgError(ErrorCode.LIMIT, `${phnum} program headers exceed maxElfHeaderCount (${limits.maxElfHeaderCount})`, {
        structure: "ELF header",
        offset: base + (is64 ? 56 : 44),
      });
    }
    if (phnum > 0) {
      if (phentsize < phLayout.size) {
        throw new KimgError(ErrorCode.BAD_FIELD, `e_phentsize ${phentsize} is smaller than a program header (${phLayout.size})`, {
          structure: "ELF header",
          offset: base + (is64 ? 54 : 42),
        });
      }
      requireRange(bytes, phoff, phnum * phentsize, "program headers", base);
    }
    const segments: ElfSegmentFacts[] = [];
    for (let i = 0; i < phnum; i++) {
      const ph = readVariant(ELF_PHDR, is64 ? "elf64" : "elf32", bytes, phoff + i * phentsize, { base, littleEndian: little, title: `program header ${i}` });
      const p = ph.record;
      const type = PT_TYPES[p.p_type] ?? hex(p.p_type);
      const perms = elfPerms(p.p_flags);
      annotate(ph.structure, "p_type", type);
      annotate(ph.structure, "p_flags", perms);
      ph.structure.name = `program header ${i} (${type} ${perms})`;
      layer.structures.push(ph.structure);
      checkSegment(input, i, type, p, phoff + i * phentsize, is64);
      segments.push({
        type,
        perms,
        offset: Number(p.p_offset),
        vaddr: BigInt(p.p_vaddr),
        paddr: BigInt(p.p_paddr),
        filesz: Number(p.p_filesz),
        memsz: Number(p.p_memsz),
      });
    }
    facts.segments = segments;
    layer.info.segments = segments.map((s) => ({
      type: s.type,
      perms: s.perms,
      offset: s.offset,
      vaddr: hex(s.vaddr),
      paddr: hex(s.paddr),
      filesz: s.filesz,
      memsz: s.memsz,
    }));
    const sections = elfSections(bytes, limits);
    // linux_banner is const data: look in .rodata first (see findLinuxBanner).
    const rodata = sections.find((s) => s.name === ".rodata" && s.type === SHT_PROGBITS);
    facts.banner = addBanner(input, layer, rodata);
    layer.title = `ELF${is64 ? 64 : 32} ${little ? "LE" : "BE"} ${machine?.[0] ?? "unknown machine"} ${layer.info.type}, entry ${hex(entry)}, ${phnum} program headers`;
    // Built-in initramfs (issue 16): .init.ramfs, or __initramfs_start/__initramfs_size
    const builtin = builtinInitramfsChild(bytes, segments, sections, limits);
    const initramfs = builtin ? [builtin.child] : [];
    if (builtin) layer.info.builtinInitramfs = { offset: base + builtin.child.offset, size: builtin.child.length, source: builtin.source };
    if (facts.banner !== null) return initramfs;
    // No banner: maybe a self-decompressing kernel (the MIPS vmlinuz, arch/mips/boot/compressed),
    // whose loaded data carries the compressed kernel.
    const payload = selfDecompressingPayload(bytes, segments, phoff + phnum * phentsize);
    if (!payload) return initramfs;
    layer.info.selfDecompressing = true;
    layer.info.payloadOffset = payload.offset;
    layer.info.payloadSize = payload.length;
    layer.title += `, self-decompressing (${payload.codec} payload)`;
    return [...initramfs, { name: "payload", offset: payload.offset, length: payload.length, compressed: { contents: "raw-kernel" } }];
  },
};

/**
 * The first compressed stream with a valid header inside a PT_LOAD segment's file bytes. Each
 * byte is scanned once, however many segments overlap it (a hostile file may have thousands).
 */
function selfDecompressingPayload(bytes: Uint8Array, segments: readonly ElfSegmentFacts[], headersEnd: number): EmbeddedStream | null {
  const loads = segments.filter((s) => s.type === "LOAD" && s.filesz > 0).sort((a, b) => a.offset - b.offset);
  let scannedTo = headersEnd;
  for (const s of loads) {
    const end = Math.min(bytes.length, s.offset + s.filesz);
    const from = Math.max(s.offset, scannedTo);
    if (from >= end) continue;
    const found = findEmbeddedStream(bytes, from, end, false);
    if (found) return found;
    scannedTo = end;
  }
  return null;
}
