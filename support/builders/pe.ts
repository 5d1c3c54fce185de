/**
 * Builds PE/COFF images field by field (Microsoft PE format spec), as the kernel's EFI headers
 * and systemd's UKIs lay them out. Used by the tests, the fuzzer seeds and the bundled sample.
 */
import { ByteWriter, alignUp } from "./bytes.js";

export const SCN_CODE = 0x00000020;
export const SCN_IDATA = 0x00000040;
export const SCN_EXEC = 0x20000000;
export const SCN_READ = 0x40000000;
export const SCN_WRITE = 0x80000000;
export const SCN_DISCARDABLE = 0x02000000;
export const TEXT_FLAGS = (SCN_CODE | SCN_READ | SCN_EXEC) >>> 0;
export const DATA_FLAGS = (SCN_IDATA | SCN_READ | SCN_WRITE) >>> 0;
export const RODATA_FLAGS = (SCN_IDATA | SCN_READ) >>> 0;

export const MACHINE = { AMD64: 0x8664, I386: 0x14c, ARM64: 0xaa64, RISCV64: 0x5064, RISCV32: 0x5032, LOONGARCH64: 0x6264 } as const;

export interface SectionSpec {
  name: string;
  data: Uint8Array;
  characteristics: number;
  /** Memory size; defaults to the data length. Larger than the data means BSS-like zero fill. */
  virtualSize?: number;
}

export interface PeSpec {
  machine: number;
  pe32plus?: boolean;
  /** Bytes written at offset 0 before anything else (a kernel image header); "MZ" is forced at 0. */
  prefix?: Uint8Array;
  peOffset?: number;
  sizeOfHeaders?: number;
  fileAlignment?: number;
  sectionAlignment?: number;
  /** "identity": file offset == RVA (kernel images); "packed": raw data packed by FileAlignment (UKIs). */
  layout?: "identity" | "packed";
  /** RVA of the entry point; default: start of the first section. */
  entry?: number;
  dllCharacteristics?: number;
  subsystem?: number;
  numberOfRvaAndSizes?: number;
  majorImageVersion?: number;
  minorImageVersion?: number;
  sections: SectionSpec[];
  /** Bytes appended after the last section (e.g. zero padding). */
  trailing?: Uint8Array;
  /** Override SizeOfImage (kernel images include BSS). */
  sizeOfImage?: number;
}

export interface BuiltPe {
  bytes: Uint8Array;
  sections: Array<{ name: string; rawOffset: number; rva: number; rawSize: number; virtualSize: number }>;
  peOffset: number;
  checkSumOffset: number;
  certificateEntryOffset: number;
  sizeOfHeaders: number;
  sizeOfImage: number;
  sizeOfCode: number;
}

export function buildPe(spec: PeSpec): BuiltPe {
  const plus = spec.pe32plus ?? true;
  const peOffset = spec.peOffset ?? 0x40;
  const fileAlignment = spec.fileAlignment ?? 0x200;
  const sectionAlignment = spec.sectionAlignment ?? 0x1000;
  const dirs = spec.numberOfRvaAndSizes ?? 16;
  const optSize = (plus ? 112 : 96) + dirs * 8;
  const tableOffset = peOffset + 24 + optSize;
  const headersEnd = tableOffset + spec.sections.length * 40;
  const sizeOfHeaders = spec.sizeOfHeaders ?? alignUp(headersEnd, spec.layout === "packed" ? fileAlignment : sectionAlignment);
  const layout = spec.layout ?? "identity";

  const placed: BuiltPe["sections"] = [];
  let fileAt = sizeOfHeaders;
  let rvaAt = alignUp(sizeOfHeaders, sectionAlignment);
  for (const s of spec.sections) {
    const rawSize = alignUp(s.data.length, fileAlignment);
    const virtualSize = s.virtualSize ?? s.data.length;
    if (layout === "identity") {
      const at = alignUp(Math.max(fileAt, rvaAt), sectionAlignment);
      placed.push({ name: s.name, rawOffset: at, rva: at, rawSize, virtualSize });
      fileAt = at + rawSize;
      rvaAt = alignUp(at + Math.max(rawSize, virtualSize), sectionAlignment);
    } else {
      placed.push({ name: s.name, rawOffset: fileAt, rva: rvaAt, rawSize, virtualSize });
      fileAt += rawSize;
      rvaAt = alignUp(rvaAt + Math.max(virtualSize, 1), sectionAlignment);
    }
  }
  const last = placed[placed.length - 1];
  const rawEnd = last ? last.rawOffset + last.rawSize : sizeOfHeaders;
  const sizeOfImage = spec.sizeOfImage ?? rvaAt;
  const trailing = spec.trailing ?? new Uint8Array(0);
  const w = new ByteWriter(rawEnd + trailing.length);
  if (spec.prefix) w.set(0, spec.prefix);
  w.ascii(0, "MZ").u32(0x3c, peOffset);
  w.ascii(peOffset, "PE\0\0");
  const coff = peOffset + 4;
  w.u16(coff, spec.machine)
    .u16(coff + 2, spec.sections.length)
    .u32(coff + 4, 0)
    .u16(coff + 16, optSize);
  w.u16(coff + 18, 0x0206 | (plus ? 0 : 0x0100));
  const opt = peOffset + 24;
  const sizeOfCode = placed.filter((_, i) => (spec.sections[i]?.characteristics ?? 0) & SCN_CODE).reduce((n, s) => n + s.rawSize, 0);
  w.u16(opt, plus ? 0x20b : 0x10b)
    .u8(opt + 2, 2)
    .u8(opt + 3, 40);
  w.u32(opt + 4, sizeOfCode);
  w.u32(opt + 16, spec.entry ?? placed[0]?.rva ?? 0);
  w.u32(opt + 20, placed[0]?.rva ?? 0);
  if (!plus) w.u32(opt + 28, 0);
  w.u32(opt + 32, sectionAlignment).u32(opt + 36, fileAlignment);
  w.u16(opt + 44, spec.majorImageVersion ?? 1).u16(opt + 46, spec.minorImageVersion ?? 0);
  w.u32(opt + 56, sizeOfImage).u32(opt + 60, sizeOfHeaders);
  w.u16(opt + 68, spec.subsystem ?? 10).u16(opt + 70, spec.dllCharacteristics ?? 0);
  w.u32(opt + (plus ? 108 : 92), dirs);
  const dirBase = opt + (plus ? 112 : 96);
  for (const [i, s] of spec.sections.entries()) {
    const p = placed[i];
    if (!p) continue;
    const at = tableOffset + i * 40;
    w.ascii(at, s.name.slice(0, 8));
    w.u32(at + 8, p.virtualSize)
      .u32(at + 12, p.rva)
      .u32(at + 16, p.rawSize)
      .u32(at + 20, p.rawOffset)
      .u32(at + 36, s.characteristics);
    w.set(p.rawOffset, s.data);
  }
  w.set(rawEnd, trailing);
  return {
    bytes: w.bytes,
    sections: placed,
    peOffset,
    checkSumOffset: opt + 64,
    certificateEntryOffset: dirs > 4 ? dirBase + 4 * 8 : -1,
    sizeOfHeaders,
    sizeOfImage,
    sizeOfCode,
  };
}
