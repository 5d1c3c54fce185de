/**
 * The parts of a PE image Secure Boot policy and control-flow protection look at (issue 17):
 * the `.sbat` section and shim's `.sbatlevel` (src/formats/sbat.ts), and the debug directory's
 * IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS entry.
 *
 * Debug directory (PE format spec, "The .debug Section"; include/linux/pe.h):
 *
 *   typedef struct _IMAGE_DEBUG_DIRECTORY {   // 28 bytes each, data directory 6
 *       DWORD Characteristics;  DWORD TimeDateStamp;
 *       WORD  MajorVersion;     WORD  MinorVersion;
 *       DWORD Type;             // 20 = IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS
 *       DWORD SizeOfData;       DWORD AddressOfRawData;  DWORD PointerToRawData;
 *   } IMAGE_DEBUG_DIRECTORY;
 *
 * The type-20 entry's data is one DWORD of IMAGE_DLLCHARACTERISTICS_EX_* flags. Linux emits it
 * since v6.4 on arm64 (arch/arm64/kernel/efi-header.S, with CONFIG_ARM64_BTI_KERNEL) and in zboot
 * images (drivers/firmware/efi/libstub/zboot-header.S, PE_DLL_CHAR_EX), with FORWARD_CFI_COMPAT.
 */
import { defineLayout, hex, readStruct, structureOf, u32 } from "../io/layout.js";
import type { Field, Layer, PeInfo } from "../model/report.js";
import type { ExDllCharacteristics, SbatSection } from "../model/secure-boot.js";
import { MAX_SBAT_BYTES, parseSbatLevel, parseSbatSection, SbatLevelError } from "./sbat.js";
import type { FormatInput } from "./types.js";
import { MAX_DEBUG_ENTRIES } from "../io/limits.js";

/** Flag names of `value` (hex for unknown bits); pe.ts has the same for the other flag words, kept apart to avoid an import cycle. */
function flagNames(value: number, table: ReadonlyArray<[number, string]>): string[] {
  const names = table.filter(([bit]) => (value & bit) >>> 0 === bit).map(([, name]) => name);
  const unknown = (value & ~table.reduce((n, [bit]) => n | bit, 0)) >>> 0;
  if (unknown) names.push(hex(unknown));
  return names;
}

export const DEBUG_DIRECTORY_ENTRY = defineLayout("debug directory entry", 28, [
  { name: "Characteristics", offset: 0, type: "u32" },
  { name: "TimeDateStamp", offset: 4, type: "u32" },
  { name: "MajorVersion", offset: 8, type: "u16" },
  { name: "MinorVersion", offset: 10, type: "u16" },
  { name: "Type", offset: 12, type: "u32" },
  { name: "SizeOfData", offset: 16, type: "u32" },
  { name: "AddressOfRawData", offset: 20, type: "u32" },
  { name: "PointerToRawData", offset: 24, type: "u32" },
] as const);

export const DEBUG_DIRECTORY_INDEX = 6;
export const IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS = 20;

/** IMAGE_DLLCHARACTERISTICS_EX_* (PE format spec, "Extended DLL Characteristics"). */
export const EX_DLL_CHARACTERISTICS: ReadonlyArray<[number, string]> = [
  [0x01, "CET_COMPAT"],
  [0x02, "CET_COMPAT_STRICT_MODE"],
  [0x04, "CET_SET_CONTEXT_IP_VALIDATION_RELAXED_MODE"],
  [0x08, "CET_DYNAMIC_APIS_ALLOW_IN_PROC"],
  [0x10, "CET_RESERVED_1"],
  [0x20, "CET_RESERVED_2"],
  [0x40, "FORWARD_CFI_COMPAT"],
  [0x80, "HOTPATCH_COMPATIBLE"],
];
export const IMAGE_DLLCHARACTERISTICS_EX_CET_COMPAT = 0x01;
export const IMAGE_DLLCHARACTERISTICS_EX_FORWARD_CFI_COMPAT = 0x40;

/** The file offset (in the PE's bytes) of an RVA: inside the headers, or inside a section's raw data. */
function rvaToOffset(pe: PeInfo, rva: number, length: number): number | null {
  if (rva + length <= pe.sizeOfHeaders) return rva;
  for (const s of pe.sections) {
    if (rva >= s.virtualAddress && rva + length <= s.virtualAddress + Math.min(s.sizeOfRawData, Math.max(s.virtualSize, s.sizeOfRawData)))
      return s.pointerToRawData + (rva - s.virtualAddress);
  }
  return null;
}

function readExDllCharacteristics(input: FormatInput, layer: Layer, pe: PeInfo): ExDllCharacteristics | null {
  const { bytes, base } = input;
  if (pe.numberOfRvaAndSizes <= DEBUG_DIRECTORY_INDEX) return null;
  const entryAt = pe.dataDirectoryOffset - base + DEBUG_DIRECTORY_INDEX * 8;
  const rva = u32(bytes, entryAt) ?? 0;
  const size = u32(bytes, entryAt + 4) ?? 0;
  if (rva === 0 || size === 0) return null;
  const count = Math.floor(size / 28);
  const at = rvaToOffset(pe, rva, Math.min(count, MAX_DEBUG_ENTRIES) * 28);
  if (at === null || at + Math.min(count, MAX_DEBUG_ENTRIES) * 28 > bytes.length) {
    input.diagnose("PE_DEBUG_DIRECTORY_BAD", "warning", `the debug directory [RVA ${hex(rva)}, +${hex(size)}) is not inside the image's data`, entryAt);
    return null;
  }
  if (count > MAX_DEBUG_ENTRIES)
    input.diagnose(
      "PE_DEBUG_DIRECTORY_BAD",
      "warning",
      `the debug directory holds ${count} entries; only MAX_DEBUG_ENTRIES (${MAX_DEBUG_ENTRIES}) were read`,
      entryAt,
    );
  for (let i = 0; i < Math.min(count, MAX_DEBUG_ENTRIES); i++) {
    const entry = readStruct(DEBUG_DIRECTORY_ENTRY, bytes, at + i * 28, { base, title: `debug directory entry ${i}` });
    if (entry.record.Type !== IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS) continue;
    const dataAt = entry.record.PointerToRawData;
    const value = entry.record.SizeOfData >= 4 ? u32(bytes, dataAt) : undefined;
    if (value === undefined) {
      input.diagnose(
        "PE_DEBUG_DIRECTORY_BAD",
        "warning",
        `the EX_DLLCHARACTERISTICS debug entry's data [${hex(dataAt)}, +${hex(entry.record.SizeOfData)}) is not 4 bytes inside the image`,
        at + i * 28 + 24,
      );
      return null;
    }
    const flags = flagNames(value, EX_DLL_CHARACTERISTICS);
    entry.structure.name = `debug directory entry ${i} (EX_DLLCHARACTERISTICS)`;
    layer.structures.push(entry.structure);
    layer.structures.push(
      structureOf("extended DLL characteristics", base + dataAt, 4, [
        { name: "DllCharacteristicsEx", offset: base + dataAt, size: 4, value, hex: hex(value), meaning: flags.join(" | ") || "none" },
      ]),
    );
    return {
      entryOffset: base + at + i * 28,
      offset: base + dataAt,
      value,
      flags,
      cetCompat: (value & IMAGE_DLLCHARACTERISTICS_EX_CET_COMPAT) !== 0,
      forwardCfiCompat: (value & IMAGE_DLLCHARACTERISTICS_EX_FORWARD_CFI_COMPAT) !== 0,
    };
  }
  return null;
}

/** The `.sbat` section as shim's verify.c picks it, parsed. */
function readSbat(input: FormatInput, layer: Layer, pe: PeInfo): SbatSection | null {
  const { bytes, base } = input;
  const found = pe.sections.filter((s) => s.name === ".sbat");
  const first = found[0];
  if (!first) return null;
  const problems: string[] = [];
  const note = (message: string, offset: number): void => {
    problems.push(message);
    input.diagnose("SBAT_SECTION_REJECTED", "warning", message, offset);
  };
  if (found.length > 1) note(`the image has ${found.length} .sbat sections: shim refuses it`, found[1] ? found[1].headerOffset - base : 0);
  const header = first.headerOffset - base;
  if ((u32(bytes, header + 24) ?? 0) !== 0 || (bytes[header + 32] ?? 0) + ((bytes[header + 33] ?? 0) << 8) !== 0)
    note("the .sbat section has relocations: shim refuses the image", header + 24);
  // verify.c: the section counts only when SizeOfRawData covers VirtualSize; shim then reads SizeOfRawData bytes.
  if (first.sizeOfRawData === 0 || first.sizeOfRawData < first.virtualSize) {
    note(
      `.sbat SizeOfRawData ${hex(first.sizeOfRawData)} is below its VirtualSize ${hex(first.virtualSize)}: shim ignores the section, as if the image had none`,
      header + 16,
    );
    return { offset: base + first.pointerToRawData, size: 0, entries: [], valid: false, problems };
  }
  const end = first.pointerToRawData + first.sizeOfRawData;
  if (end > bytes.length) note(`.sbat [${hex(first.pointerToRawData)}, +${hex(first.sizeOfRawData)}) runs past the image: shim refuses it`, header + 20);
  const data = bytes.subarray(Math.min(first.pointerToRawData, bytes.length), Math.min(end, bytes.length, first.pointerToRawData + MAX_SBAT_BYTES));
  const parsed = parseSbatSection(data, base + first.pointerToRawData);
  for (const p of parsed.problems) {
    problems.push(p.message);
    input.diagnose(p.code, "warning", p.message, p.offset - base);
  }
  const fields: Field[] = parsed.entries.map((e) => ({
    name: e.component,
    offset: e.offset,
    size: e.component.length,
    value: e.generation,
    meaning: `generation ${e.generationNumber}; ${e.vendorName}, ${e.vendorPackage} ${e.vendorVersion}, ${e.vendorUrl}`,
  }));
  layer.structures.push(structureOf(".sbat (SBAT entries)", base + first.pointerToRawData, first.sizeOfRawData, fields));
  return { offset: base + first.pointerToRawData, size: first.sizeOfRawData, entries: parsed.entries, valid: problems.length === 0, problems };
}

/** Adds the `.sbat`, `.sbatlevel` and EX_DLLCHARACTERISTICS facts to a PE layer (structures, `pe`). */
export function readPeSecureBoot(input: FormatInput, layer: Layer, pe: PeInfo): void {
  const { bytes, base } = input;
  const sbat = readSbat(input, layer, pe);
  if (sbat) pe.sbat = sbat;
  const level = pe.sections.find((s) => s.name === ".sbatlevel");
  if (level && level.sizeOfRawData > 0) {
    const start = Math.min(level.pointerToRawData, bytes.length);
    const data = bytes.subarray(start, Math.min(bytes.length, start + Math.min(level.virtualSize || level.sizeOfRawData, level.sizeOfRawData)));
    try {
      const parsed = parseSbatLevel(data, base + start);
      pe.sbatLevel = parsed.level;
      for (const p of parsed.problems) input.diagnose(p.code, "warning", `.sbatlevel: ${p.message}`, p.offset - base);
      for (const [which, policy] of [
        ["automatic", parsed.level.automatic],
        ["latest", parsed.level.latest],
      ] as const) {
        layer.structures.push(
          structureOf(
            `.sbatlevel ${which} policy`,
            policy.offset,
            policy.text.length,
            policy.entries.map((e) => ({
              name: e.component,
              offset: e.offset,
              size: e.component.length,
              value: e.generation,
              ...(e.datestamp ? { meaning: `datestamp ${e.datestamp}` } : {}),
            })),
          ),
        );
      }
    } catch (error) {
      if (!(error instanceof SbatLevelError)) throw error;
      input.diagnose("SBATLEVEL_BAD", "warning", error.message, error.offset - base);
    }
  }
  const ex = readExDllCharacteristics(input, layer, pe);
  if (ex) pe.exDllCharacteristics = ex;
}

/** A section of a PE file found by name without a full parse (for policy files: shim's `.sbatlevel`, `.vendor_cert`); long names are resolved through the COFF string table. */
export function findPeSection(bytes: Uint8Array, wanted: string): { pointerToRawData: number; sizeOfRawData: number; virtualSize: number } | null {
  const lfanew = u32(bytes, 0x3c);
  if (bytes[0] !== 0x4d || bytes[1] !== 0x5a || lfanew === undefined || u32(bytes, lfanew) !== 0x4550) return null;
  const count = Math.min(u16le(bytes, lfanew + 6), 96);
  const symbols = u32(bytes, lfanew + 12) ?? 0;
  const strings = symbols + (u32(bytes, lfanew + 16) ?? 0) * 18;
  const table = lfanew + 24 + u16le(bytes, lfanew + 20);
  const latin1 = new TextDecoder("latin1");
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    if (at + 40 > bytes.length) return null;
    let name = latin1.decode(bytes.subarray(at, at + 8)).replace(/\0+$/, "");
    const long = /^\/(\d{1,7})$/.exec(name);
    if (long && symbols !== 0) {
      const start = strings + Number(long[1]);
      let end = start;
      while (end < bytes.length && end < start + 256 && bytes[end] !== 0) end++;
      name = latin1.decode(bytes.subarray(start, end));
    }
    if (name !== wanted) continue;
    return { virtualSize: u32(bytes, at + 8) ?? 0, sizeOfRawData: u32(bytes, at + 16) ?? 0, pointerToRawData: u32(bytes, at + 20) ?? 0 };
  }
  return null;
}

function u16le(bytes: Uint8Array, at: number): number {
  return (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8);
}
