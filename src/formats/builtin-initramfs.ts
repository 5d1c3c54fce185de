/**
 * The initramfs linked into a kernel (CONFIG_INITRAMFS_SOURCE, issue 16). usr/initramfs_data.S
 * puts the archive (compressed or plain cpio) in the input section `.init.ramfs` and its size in
 * `.init.ramfs.info` as `__initramfs_size` (a .quad on 64-bit kernels, a .long on 32-bit); the
 * linker script (include/asm-generic/vmlinux.lds.h, INIT_RAM_FS) defines `__initramfs_start`
 * before it. In a vmlinux `.init.ramfs` is usually merged into `.init.data`, so the symbols find
 * it; an object or a tool that keeps the section by name is read by the section.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { Limits } from "../io/limits.js";
import { findMarker } from "../io/marker-scan.js";
import type { ElfSegmentFacts } from "../model/facts.js";
import { quickEnd } from "./cpio.js";
import { elfSymbols } from "./elf-symbols.js";
import type { ChildSpec } from "./types.js";

export interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
}

export const SHT_PROGBITS = 1;
const SHT_NOBITS = 8;

/** The section headers with their names (bounded by maxElfHeaderCount); empty when there are none or they do not read. */
export function elfSections(bytes: Uint8Array, limits: Pick<Limits, "maxElfHeaderCount">): ElfSection[] {
  const is64 = bytes[4] === 2;
  const le = bytes[5] === 1;
  if (bytes.length < (is64 ? 64 : 52)) return [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = is64 ? Number(v.getBigUint64(40, le)) : v.getUint32(32, le);
  const shentsize = v.getUint16(is64 ? 58 : 46, le);
  const shnum = v.getUint16(is64 ? 60 : 48, le);
  const shstrndx = v.getUint16(is64 ? 62 : 50, le);
  if (shnum === 0 || shnum > limits.maxElfHeaderCount || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > bytes.length) return [];
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      nameOffset: v.getUint32(at, le),
      type: v.getUint32(at + 4, le),
      offset: is64 ? Number(v.getBigUint64(at + 24, le)) : v.getUint32(at + 16, le),
      size: is64 ? Number(v.getBigUint64(at + 32, le)) : v.getUint32(at + 20, le),
    };
  });
  const strtab = raw[shstrndx];
  const names = strtab && strtab.offset + strtab.size <= bytes.length ? bytes.subarray(strtab.offset, strtab.offset + strtab.size) : new Uint8Array(0);
  const decoder = new TextDecoder();
  return raw.map((s) => {
    let end = s.nameOffset;
    while (end < names.length && end - s.nameOffset < 256 && names[end] !== 0) end++;
    return { name: s.nameOffset < names.length ? decoder.decode(names.subarray(s.nameOffset, end)) : "", type: s.type, offset: s.offset, size: s.size };
  });
}

/** The file offset of a virtual address, through the PT_LOAD segments; null when no segment's file bytes hold `length` bytes there. */
function fileOffsetOf(address: bigint, length: number, segments: readonly ElfSegmentFacts[]): number | null {
  for (const s of segments) {
    if (s.type !== "LOAD" || address < s.vaddr) continue;
    const delta = Number(address - s.vaddr);
    if (delta + length <= s.filesz) return s.offset + delta;
  }
  return null;
}

/**
 * The built-in initramfs of an ELF kernel as a child to read ("initramfs"), or null when it has
 * none (or an empty one). Throws a KimgError when the symbols point outside the file.
 */
export function builtinInitramfsChild(
  bytes: Uint8Array,
  segments: readonly ElfSegmentFacts[],
  sections: readonly ElfSection[],
  limits: Pick<Limits, "maxElfHeaderCount">,
): { child: ChildSpec; source: string } | null {
  const is64 = bytes[4] === 2;
  const le = bytes[5] === 1;
  const section = sections.find((s) => s.name === ".init.ramfs" && s.type !== SHT_NOBITS);
  if (section) {
    if (section.size === 0) return null;
    if (section.offset + section.size > bytes.length) {
      throw new KimgError(ErrorCode.BAD_OFFSET, `.init.ramfs [${section.offset}, +${section.size}) runs past the end of the file`, {
        structure: "ELF section .init.ramfs",
        offset: section.offset,
      });
    }
    return { child: { name: "initramfs", offset: section.offset, length: section.size }, source: "section .init.ramfs" };
  }
  let symbols: Map<string, bigint>;
  try {
    symbols = elfSymbols(bytes, ["__initramfs_start", "__initramfs_size"], limits as Limits);
  } catch {
    return null;
  }
  const start = symbols.get("__initramfs_start");
  const sizeAt = symbols.get("__initramfs_size");
  if (start === undefined || sizeAt === undefined) return null;
  const sizeBytes = is64 ? 8 : 4;
  const sizeOffset = fileOffsetOf(sizeAt, sizeBytes, segments);
  if (sizeOffset === null) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = is64 ? Number(v.getBigUint64(sizeOffset, le)) : v.getUint32(sizeOffset, le);
  if (size === 0) return null;
  const offset = fileOffsetOf(start, size, segments);
  if (offset === null) {
    throw new KimgError(
      ErrorCode.BAD_OFFSET,
      `__initramfs_start 0x${start.toString(16)} with __initramfs_size ${size} is not inside a PT_LOAD segment's file bytes`,
      {
        structure: "ELF symbol __initramfs_start",
        offset: sizeOffset,
      },
    );
  }
  return { child: { name: "initramfs", offset, length: size }, source: "symbols __initramfs_start, __initramfs_size" };
}

/** Most "070701" candidates a raw image search tries (the kernel's own code holds the string too). */
const MAX_CPIO_CANDIDATES = 4096;

/**
 * An uncompressed built-in initramfs in a raw kernel image (arm64/RISC-V/LoongArch Image, the raw
 * kernel of a zImage): without symbols, a bounded search of the image for a 4-byte aligned newc
 * archive that reads whole to its TRAILER!!!. A kernel built without CONFIG_INITRAMFS_SOURCE
 * carries the default one, uncompressed (/dev, /dev/console, /root, from usr/default_cpio_list).
 * A compressed built-in archive is not searched for here: without decoding, its magic proves nothing.
 */
export function rawBuiltinCpio(bytes: Uint8Array): { child: ChildSpec; source: string } | null {
  let tried = 0;
  // The 4-byte aligned "070701"s, from the layer's one marker scan (io/marker-scan.ts, which says why aligned suffices).
  for (let at = findMarker(bytes, "newc"); at >= 0 && at + 110 <= bytes.length && tried < MAX_CPIO_CANDIDATES; at = findMarker(bytes, "newc", at + 1)) {
    tried++;
    const walked = { to: 0 };
    const end = quickEnd(bytes.subarray(at), walked);
    if (end > 0) return { child: { name: "initramfs", offset: at, length: end, format: "cpio" }, source: "search for a newc archive" };
    // The headers this walk stepped over would only repeat it: the search goes on after them, so it reads each byte about once.
    at += Math.max(0, walked.to - 1);
  }
  return null;
}
