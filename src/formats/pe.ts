/**
 * MS-DOS stub and PE/COFF image, as the EFI stub and the UKI use them.
 * Source: Microsoft PE format specification; include/linux/pe.h. See docs/formats.md §6.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { DEFAULT_LIMITS } from "../io/limits.js";
import { annotate, defineLayout, defineVariants, hex, printable, readStruct, readVariant, requireRange, structureOf, u16, u32 } from "../io/layout.js";
import type { Field, Layer, PeInfo, PeSection } from "../model/report.js";
import type { ChildSpec, FormatInput, FormatParser } from "./types.js";
import { readPeSecureBoot } from "./pe-secure-boot.js";

/** struct mz_hdr: only e_magic and e_lfanew matter to a PE loader. */
export const MZ_HEADER = defineLayout("MS-DOS header", 0x40, [
  { name: "e_magic", offset: 0x00, type: "u16" },
  { name: "e_cblp", offset: 0x02, type: "u16" },
  { name: "e_cp", offset: 0x04, type: "u16" },
  { name: "e_lfanew", offset: 0x3c, type: "u32" },
] as const);

/** "PE\0\0" followed by the COFF file header (IMAGE_FILE_HEADER). */
export const COFF_HEADER = defineLayout("COFF header", 24, [
  { name: "Signature", offset: 0, type: "ascii", size: 4 },
  { name: "Machine", offset: 4, type: "u16" },
  { name: "NumberOfSections", offset: 6, type: "u16" },
  { name: "TimeDateStamp", offset: 8, type: "u32" },
  { name: "PointerToSymbolTable", offset: 12, type: "u32" },
  { name: "NumberOfSymbols", offset: 16, type: "u32" },
  { name: "SizeOfOptionalHeader", offset: 20, type: "u16" },
  { name: "Characteristics", offset: 22, type: "u16" },
] as const);

/** IMAGE_OPTIONAL_HEADER64 (PE32+) up to NumberOfRvaAndSizes. */
export const OPTIONAL_HEADER_PE32PLUS = defineLayout("optional header (PE32+)", 112, [
  { name: "Magic", offset: 0, type: "u16" },
  { name: "MajorLinkerVersion", offset: 2, type: "u8" },
  { name: "MinorLinkerVersion", offset: 3, type: "u8" },
  { name: "SizeOfCode", offset: 4, type: "u32" },
  { name: "SizeOfInitializedData", offset: 8, type: "u32" },
  { name: "SizeOfUninitializedData", offset: 12, type: "u32" },
  { name: "AddressOfEntryPoint", offset: 16, type: "u32" },
  { name: "BaseOfCode", offset: 20, type: "u32" },
  { name: "ImageBase", offset: 24, type: "u64" },
  { name: "SectionAlignment", offset: 32, type: "u32" },
  { name: "FileAlignment", offset: 36, type: "u32" },
  { name: "MajorOperatingSystemVersion", offset: 40, type: "u16" },
  { name: "MinorOperatingSystemVersion", offset: 42, type: "u16" },
  { name: "MajorImageVersion", offset: 44, type: "u16" },
  { name: "MinorImageVersion", offset: 46, type: "u16" },
  { name: "MajorSubsystemVersion", offset: 48, type: "u16" },
  { name: "MinorSubsystemVersion", offset: 50, type: "u16" },
  { name: "Win32VersionValue", offset: 52, type: "u32" },
  { name: "SizeOfImage", offset: 56, type: "u32" },
  { name: "SizeOfHeaders", offset: 60, type: "u32" },
  { name: "CheckSum", offset: 64, type: "u32" },
  { name: "Subsystem", offset: 68, type: "u16" },
  { name: "DllCharacteristics", offset: 70, type: "u16" },
  { name: "SizeOfStackReserve", offset: 72, type: "u64" },
  { name: "SizeOfStackCommit", offset: 80, type: "u64" },
  { name: "SizeOfHeapReserve", offset: 88, type: "u64" },
  { name: "SizeOfHeapCommit", offset: 96, type: "u64" },
  { name: "LoaderFlags", offset: 104, type: "u32" },
  { name: "NumberOfRvaAndSizes", offset: 108, type: "u32" },
] as const);

/** IMAGE_OPTIONAL_HEADER32 (PE32): BaseOfData and 32-bit ImageBase and stack/heap sizes. */
export const OPTIONAL_HEADER_PE32 = defineLayout("optional header (PE32)", 96, [
  { name: "Magic", offset: 0, type: "u16" },
  { name: "MajorLinkerVersion", offset: 2, type: "u8" },
  { name: "MinorLinkerVersion", offset: 3, type: "u8" },
  { name: "SizeOfCode", offset: 4, type: "u32" },
  { name: "SizeOfInitializedData", offset: 8, type: "u32" },
  { name: "SizeOfUninitializedData", offset: 12, type: "u32" },
  { name: "AddressOfEntryPoint", offset: 16, type: "u32" },
  { name: "BaseOfCode", offset: 20, type: "u32" },
  { name: "BaseOfData", offset: 24, type: "u32" },
  { name: "ImageBase", offset: 28, type: "u32" },
  { name: "SectionAlignment", offset: 32, type: "u32" },
  { name: "FileAlignment", offset: 36, type: "u32" },
  { name: "MajorOperatingSystemVersion", offset: 40, type: "u16" },
  { name: "MinorOperatingSystemVersion", offset: 42, type: "u16" },
  { name: "MajorImageVersion", offset: 44, type: "u16" },
  { name: "MinorImageVersion", offset: 46, type: "u16" },
  { name: "MajorSubsystemVersion", offset: 48, type: "u16" },
  { name: "MinorSubsystemVersion", offset: 50, type: "u16" },
  { name: "Win32VersionValue", offset: 52, type: "u32" },
  { name: "SizeOfImage", offset: 56, type: "u32" },
  { name: "SizeOfHeaders", offset: 60, type: "u32" },
  { name: "CheckSum", offset: 64, type: "u32" },
  { name: "Subsystem", offset: 68, type: "u16" },
  { name: "DllCharacteristics", offset: 70, type: "u16" },
  { name: "SizeOfStackReserve", offset: 72, type: "u32" },
  { name: "SizeOfStackCommit", offset: 76, type: "u32" },
  { name: "SizeOfHeapReserve", offset: 80, type: "u32" },
  { name: "SizeOfHeapCommit", offset: 84, type: "u32" },
  { name: "LoaderFlags", offset: 88, type: "u32" },
  { name: "NumberOfRvaAndSizes", offset: 92, type: "u32" },
] as const);

/** IMAGE_SECTION_HEADER, 40 bytes. */
export const SECTION_HEADER = defineLayout("section header", 40, [
  { name: "Name", offset: 0, type: "ascii", size: 8 },
  { name: "VirtualSize", offset: 8, type: "u32" },
  { name: "VirtualAddress", offset: 12, type: "u32" },
  { name: "SizeOfRawData", offset: 16, type: "u32" },
  { name: "PointerToRawData", offset: 20, type: "u32" },
  { name: "PointerToRelocations", offset: 24, type: "u32" },
  { name: "PointerToLinenumbers", offset: 28, type: "u32" },
  { name: "NumberOfRelocations", offset: 32, type: "u16" },
  { name: "NumberOfLinenumbers", offset: 34, type: "u16" },
  { name: "Characteristics", offset: 36, type: "u32" },
] as const);

/** The optional header by its Magic: PE32 (0x10b) or PE32+ (0x20b). */
export const OPTIONAL_HEADER = defineVariants("optional header", { pe32: OPTIONAL_HEADER_PE32, pe32plus: OPTIONAL_HEADER_PE32PLUS });

export const PE_MAGIC_PE32 = 0x10b;
export const PE_MAGIC_PE32PLUS = 0x20b;

export const MACHINE_NAMES: Readonly<Record<number, string>> = {
  0x014c: "I386",
  0x8664: "AMD64",
  0xaa64: "ARM64",
  0x01c0: "ARM",
  0x01c2: "THUMB",
  0x01c4: "ARMNT",
  0x5032: "RISCV32",
  0x5064: "RISCV64",
  0x5128: "RISCV128",
  0x6232: "LOONGARCH32",
  0x6264: "LOONGARCH64",
  0x0200: "IA64",
  0x01f0: "POWERPC",
  0x0ebc: "EBC",
};

/** The kimg arch name for a PE machine. */
export const MACHINE_ARCH: Readonly<Record<number, string>> = {
  0x014c: "x86",
  0x8664: "x86_64",
  0xaa64: "arm64",
  0x01c0: "arm",
  0x01c2: "arm",
  0x01c4: "arm",
  0x5032: "riscv32",
  0x5064: "riscv64",
  0x6232: "loongarch32",
  0x6264: "loongarch64",
  0x0200: "ia64",
};

const COFF_CHARACTERISTICS: ReadonlyArray<[number, string]> = [
  [0x0001, "RELOCS_STRIPPED"],
  [0x0002, "EXECUTABLE_IMAGE"],
  [0x0004, "LINE_NUMS_STRIPPED"],
  [0x0008, "LOCAL_SYMS_STRIPPED"],
  [0x0020, "LARGE_ADDRESS_AWARE"],
  [0x0100, "32BIT_MACHINE"],
  [0x0200, "DEBUG_STRIPPED"],
  [0x1000, "SYSTEM"],
  [0x2000, "DLL"],
];

export const DLL_CHARACTERISTICS: ReadonlyArray<[number, string]> = [
  [0x0020, "HIGH_ENTROPY_VA"],
  [0x0040, "DYNAMIC_BASE"],
  [0x0080, "FORCE_INTEGRITY"],
  [0x0100, "NX_COMPAT"],
  [0x0200, "NO_ISOLATION"],
  [0x0400, "NO_SEH"],
  [0x0800, "NO_BIND"],
  [0x1000, "APPCONTAINER"],
  [0x2000, "WDM_DRIVER"],
  [0x4000, "GUARD_CF"],
  [0x8000, "TERMINAL_SERVER_AWARE"],
];
export const IMAGE_DLLCHARACTERISTICS_NX_COMPAT = 0x0100;

export const SECTION_FLAGS: ReadonlyArray<[number, string]> = [
  [0x00000008, "TYPE_NO_PAD"],
  [0x00000020, "CNT_CODE"],
  [0x00000040, "CNT_INITIALIZED_DATA"],
  [0x00000080, "CNT_UNINITIALIZED_DATA"],
  [0x00000200, "LNK_INFO"],
  [0x00000800, "LNK_REMOVE"],
  [0x00001000, "LNK_COMDAT"],
  [0x00008000, "GPREL"],
  [0x01000000, "LNK_NRELOC_OVFL"],
  [0x02000000, "MEM_DISCARDABLE"],
  [0x04000000, "MEM_NOT_CACHED"],
  [0x08000000, "MEM_NOT_PAGED"],
  [0x10000000, "MEM_SHARED"],
  [0x20000000, "MEM_EXECUTE"],
  [0x40000000, "MEM_READ"],
  [0x80000000, "MEM_WRITE"],
];
export const IMAGE_SCN_MEM_EXECUTE = 0x20000000;
export const IMAGE_SCN_MEM_READ = 0x40000000;
export const IMAGE_SCN_MEM_WRITE = 0x80000000;

const SUBSYSTEMS: Readonly<Record<number, string>> = {
  1: "NATIVE",
  2: "WINDOWS_GUI",
  3: "WINDOWS_CUI",
  10: "EFI_APPLICATION",
  11: "EFI_BOOT_SERVICE_DRIVER",
  12: "EFI_RUNTIME_DRIVER",
  13: "EFI_ROM",
};

export const DATA_DIRECTORY_NAMES = [
  "Export",
  "Import",
  "Resource",
  "Exception",
  "Certificate",
  "BaseReloc",
  "Debug",
  "Architecture",
  "GlobalPtr",
  "TLS",
  "LoadConfig",
  "BoundImport",
  "IAT",
  "DelayImport",
  "CLR",
  "Reserved",
] as const;
export const CERTIFICATE_TABLE_INDEX = 4;

export function flagNames(value: number, table: ReadonlyArray<[number, string]>): string[] {
  const names: string[] = [];
  let known = 0;
  for (const [bit, name] of table) {
    known |= bit;
    if ((value & bit) >>> 0 === bit) names.push(name);
  }
  const unknown = (value & ~known) >>> 0;
  if (unknown) names.push(hex(unknown));
  return names;
}

export function sectionPerms(characteristics: number): string {
  return (
    (characteristics & IMAGE_SCN_MEM_READ ? "r" : "-") +
    (characteristics & IMAGE_SCN_MEM_WRITE ? "w" : "-") +
    (characteristics & IMAGE_SCN_MEM_EXECUTE ? "x" : "-")
  );
}

/** True when the bytes start with "MZ" and e_lfanew points at "PE\0\0" inside them. */
export function hasPeHeader(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x4d || bytes[1] !== 0x5a) return false;
  const lfanew = u32(bytes, 0x3c);
  if (lfanew === undefined || lfanew < 0x40 || lfanew > bytes.length - 24) return false;
  return u32(bytes, lfanew) === 0x00004550;
}

/** The PE machine field, or undefined when there is no PE header. */
export function peMachine(bytes: Uint8Array): number | undefined {
  if (!hasPeHeader(bytes)) return undefined;
  const lfanew = u32(bytes, 0x3c) ?? 0;
  return u16(bytes, lfanew + 4);
}

/**
 * The PE headers of `bytes` read on their own, outside an analysis (nothing is diagnosed or
 * kept): for callers that only need the PeInfo (a UKI's sections, whether a kernel is signed).
 * Throws as readPe does.
 */
export function readPeAlone(bytes: Uint8Array): PeInfo {
  const layer: Layer = { path: "/", format: "pe", title: "", space: "file", offset: 0, size: bytes.length, arch: null, structures: [], info: {}, children: [] };
  const input: FormatInput = {
    bytes,
    base: 0,
    path: "/",
    limits: DEFAULT_LIMITS,
    diagnose: () => undefined,
    setFacts: () => undefined,
    facts: new Map(),
    searchKernel: false,
    reportDetails: false,
  };
  return readPe(input, layer);
}

/**
 * Reads the DOS header, the COFF header, the optional header, the data directories and the
 * section table into `layer` and returns the facts other parts of kimg use.
 */
export function readPe(input: FormatInput, layer: Layer): PeInfo {
  const { bytes, base, limits } = input;
  const dos = readStruct(MZ_HEADER, bytes, 0, { base });
  annotate(dos.structure, "e_magic", dos.record.e_magic === 0x5a4d ? '"MZ"' : "not MZ");
  layer.structures.push(dos.structure);
  if (dos.record.e_magic !== 0x5a4d) {
    throw new KimgError(ErrorCode.BAD_MAGIC, "no MZ signature", { structure: "MS-DOS header", offset: base, expected: "MZ" });
  }
  const peOffset = dos.record.e_lfanew;
  if (peOffset < 0x40 || peOffset >= bytes.length) {
    throw new KimgError(ErrorCode.BAD_OFFSET, `e_lfanew 0x${peOffset.toString(16)} points outside the file`, {
      structure: "MS-DOS header",
      offset: base + 0x3c,
      actual: peOffset,
    });
  }
  const coff = readStruct(COFF_HEADER, bytes, peOffset, { base });
  if (coff.record.Signature !== "PE\\x00\\x00") {
    throw new KimgError(ErrorCode.BAD_MAGIC, `no "PE\\0\\0" signature at e_lfanew`, {
      structure: "COFF header",
      offset: base + peOffset,
      expected: "PE\\0\\0",
      actual: coff.record.Signature,
    });
  }
  const machine = coff.record.Machine;
  annotate(coff.structure, "Signature", '"PE\\0\\0"');
  annotate(coff.structure, "Machine", MACHINE_NAMES[machine] ?? "unknown machine");
  annotate(coff.structure, "Characteristics", flagNames(coff.record.Characteristics, COFF_CHARACTERISTICS).join(" | "));
  layer.structures.push(coff.structure);

  const optOffset = peOffset + 24;
  const magic = u16(bytes, optOffset);
  if (magic !== PE_MAGIC_PE32PLUS && magic !== PE_MAGIC_PE32) {
    throw new KimgError(
      ErrorCode.BAD_MAGIC,
      `optional header magic ${magic === undefined ? "missing" : hex(magic)} is neither PE32 (0x10b) nor PE32+ (0x20b)`,
      {
        structure: "optional header",
        offset: base + optOffset,
      },
    );
  }
  const plus = magic === PE_MAGIC_PE32PLUS;
  const opt = readVariant(OPTIONAL_HEADER, plus ? "pe32plus" : "pe32", bytes, optOffset, { base });
  const optLayout = opt.layout;
  const o = opt.record;
  annotate(opt.structure, "Magic", plus ? "PE32+" : "PE32");
  const dllFlags = flagNames(o.DllCharacteristics, DLL_CHARACTERISTICS);
  annotate(opt.structure, "DllCharacteristics", dllFlags.join(" | ") || "none");
  annotate(opt.structure, "Subsystem", SUBSYSTEMS[o.Subsystem] ?? "unknown");
  annotate(opt.structure, "CheckSum", "excluded from the Authenticode digest");
  layer.structures.push(opt.structure);

  const sizeOfOptionalHeader = coff.record.SizeOfOptionalHeader;
  const declaredDirs = o.NumberOfRvaAndSizes;
  if (declaredDirs > 16) {
    input.diagnose("PE_TOO_MANY_DIRECTORIES", "warning", `NumberOfRvaAndSizes is ${declaredDirs}; only 16 are defined`, optOffset + optLayout.size - 4);
  }
  const dirOffset = optOffset + optLayout.size;
  const dirRoom = Math.max(0, Math.floor((optOffset + sizeOfOptionalHeader - dirOffset) / 8));
  const dirCount = Math.min(declaredDirs, 16, dirRoom);
  if (dirCount < Math.min(declaredDirs, 16)) {
    input.diagnose(
      "PE_DIRECTORIES_TRUNCATED",
      "warning",
      `SizeOfOptionalHeader leaves room for ${dirRoom} data directories, ${declaredDirs} declared`,
      optOffset,
    );
  }
  requireRange(bytes, dirOffset, dirCount * 8, "data directories", base);
  const dirFields: Field[] = [];
  let certificateTable: PeInfo["certificateTable"] = null;
  for (let i = 0; i < dirCount; i++) {
    const at = dirOffset + i * 8;
    const va = u32(bytes, at) ?? 0;
    const size = u32(bytes, at + 4) ?? 0;
    const name = DATA_DIRECTORY_NAMES[i] ?? `Directory${i}`;
    const meaning = i === CERTIFICATE_TABLE_INDEX ? "file offset, not an RVA" : undefined;
    dirFields.push({ name: `${name}.VirtualAddress`, offset: base + at, size: 4, value: va, hex: hex(va), ...(meaning ? { meaning } : {}) });
    dirFields.push({ name: `${name}.Size`, offset: base + at + 4, size: 4, value: size, hex: hex(size) });
    if (i === CERTIFICATE_TABLE_INDEX && size > 0) certificateTable = { offset: va, size, entryOffset: at };
  }
  layer.structures.push(structureOf("data directories", base + dirOffset, dirCount * 8, dirFields));

  const sectionCount = coff.record.NumberOfSections;
  if (sectionCount > limits.maxSectionCount) {
    throw new KimgError(ErrorCode.LIMIT, `${sectionCount} sections exceed the limit of ${limits.maxSectionCount} (maxSectionCount)`, {
      structure: "COFF header",
      offset: base + peOffset + 6,
      actual: sectionCount,
      expected: limits.maxSectionCount,
    });
  }
  const tableOffset = optOffset + sizeOfOptionalHeader;
  requireRange(bytes, tableOffset, sectionCount * 40, "section table", base);
  const symbolTable = coff.record.PointerToSymbolTable;
  const symbolCount = coff.record.NumberOfSymbols;
  const sections: PeSection[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const at = tableOffset + i * 40;
    const s = readStruct(SECTION_HEADER, bytes, at, { base, title: `section header ${i}` });
    const name = resolveSectionName(bytes, s.record.Name, symbolTable, symbolCount, input.limits.maxStringBytes);
    const flags = flagNames(s.record.Characteristics, SECTION_FLAGS);
    const perms = sectionPerms(s.record.Characteristics);
    annotate(s.structure, "Name", name);
    annotate(s.structure, "Characteristics", `${flags.join(" | ")} (${perms})`);
    s.structure.name = `section header ${i} (${name})`;
    layer.structures.push(s.structure);
    sections.push({
      name,
      headerOffset: base + at,
      virtualAddress: s.record.VirtualAddress,
      virtualSize: s.record.VirtualSize,
      pointerToRawData: s.record.PointerToRawData,
      sizeOfRawData: s.record.SizeOfRawData,
      characteristics: s.record.Characteristics,
      perms,
      flags,
    });
    if (s.record.SizeOfRawData > 0 && s.record.PointerToRawData + s.record.SizeOfRawData > bytes.length) {
      input.diagnose(
        "PE_SECTION_BEYOND_FILE",
        "warning",
        `section ${name} raw data [0x${s.record.PointerToRawData.toString(16)}, +0x${s.record.SizeOfRawData.toString(16)}) runs past the end of the data`,
        at + 16,
      );
    }
  }

  let trailingZeroBytes = 0;
  if (certificateTable) {
    const end = certificateTable.offset + certificateTable.size;
    if (end > bytes.length || certificateTable.offset < o.SizeOfHeaders) {
      input.diagnose(
        "PE_CERT_TABLE_OUT_OF_RANGE",
        "warning",
        `certificate table [0x${certificateTable.offset.toString(16)}, +0x${certificateTable.size.toString(16)}) is not inside the file`,
        certificateTable.entryOffset,
      );
    } else if (end < bytes.length) {
      const rest = bytes.subarray(end);
      trailingZeroBytes = rest.every((b) => b === 0) ? rest.length : 0;
      if (trailingZeroBytes > 0) {
        input.diagnose(
          "PE_PADDING_AFTER_CERT_TABLE",
          "info",
          `${trailingZeroBytes} zero bytes follow the certificate table (zboot v6.4+ pads the Image to image_size); a signature check needs the image trimmed to 0x${end.toString(16)}`,
          end,
        );
      } else {
        input.diagnose("PE_DATA_AFTER_CERT_TABLE", "warning", `data follows the certificate table at 0x${end.toString(16)}`, end);
      }
    }
  }

  const info: PeInfo = {
    peOffset: base + peOffset,
    machine,
    machineName: MACHINE_NAMES[machine] ?? hex(machine),
    kind: plus ? "PE32+" : "PE32",
    addressOfEntryPoint: o.AddressOfEntryPoint,
    imageBase: typeof o.ImageBase === "bigint" && o.ImageBase > BigInt(Number.MAX_SAFE_INTEGER) ? o.ImageBase.toString() : Number(o.ImageBase),
    sectionAlignment: o.SectionAlignment,
    fileAlignment: o.FileAlignment,
    sizeOfImage: o.SizeOfImage,
    sizeOfHeaders: o.SizeOfHeaders,
    sizeOfCode: o.SizeOfCode,
    checkSumOffset: base + optOffset + 64,
    dllCharacteristics: o.DllCharacteristics,
    dllCharacteristicsFlags: dllFlags,
    nxCompat: (o.DllCharacteristics & IMAGE_DLLCHARACTERISTICS_NX_COMPAT) !== 0,
    subsystem: o.Subsystem,
    certificateTable: certificateTable
      ? { offset: certificateTable.offset, size: certificateTable.size, entryOffset: base + certificateTable.entryOffset }
      : null,
    dataDirectoryOffset: base + dirOffset,
    numberOfRvaAndSizes: dirCount,
    sections,
    trailingZeroBytes,
  };
  return info;
}

/** "/4" names point into the COFF string table (long section names). */
function resolveSectionName(bytes: Uint8Array, raw: string, symbolTable: number, symbolCount: number, maxLength: number): string {
  const name = raw.replace(/(\\x00)+$/, "");
  const match = /^\/(\d{1,7})$/.exec(name);
  if (!match || symbolTable === 0) return name;
  const stringTable = symbolTable + symbolCount * 18;
  const at = stringTable + Number(match[1]);
  if (at >= bytes.length || stringTable + 4 > bytes.length) return name;
  let end = at;
  const limit = Math.min(bytes.length, at + maxLength);
  while (end < limit && bytes[end] !== 0) end++;
  return printable(bytes.subarray(at, end));
}

export function peTitle(pe: PeInfo): string {
  const subsystem = SUBSYSTEMS[pe.subsystem] ?? `subsystem ${pe.subsystem}`;
  return `PE/COFF ${pe.kind} ${pe.machineName} ${subsystem}, ${pe.sections.length} sections${pe.certificateTable ? ", signed" : ""}`;
}

export const peFormat: FormatParser = {
  format: "pe",
  probe: hasPeHeader,
  parse(input, layer): ChildSpec[] {
    const pe = readPe(input, layer);
    readPeSecureBoot(input, layer, pe); // issue 17: .sbat, .sbatlevel, EX_DLLCHARACTERISTICS
    layer.pe = pe;
    layer.arch = MACHINE_ARCH[pe.machine] ?? null;
    layer.title = peTitle(pe);
    layer.info.machine = pe.machineName;
    layer.info.nxCompat = pe.nxCompat;
    layer.info.signed = pe.certificateTable !== null;
    return [];
  },
};
