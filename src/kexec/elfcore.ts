/**
 * The ELF core header ("elfcorehdr") a crash kernel reads to build /proc/vmcore
 * (fs/proc/vmcore.c): an ELF64 ET_CORE header followed by program headers, and nothing else.
 * The header only points into the crashed kernel's memory:
 *
 * - one PT_NOTE per possible CPU: the crash notes the kernel fills at panic time
 *   (crash_save_cpu: NT_PRSTATUS with the registers), at the physical address and size in
 *   /sys/devices/system/cpu/cpuN/crash_notes and crash_notes_size;
 * - one PT_NOTE for the vmcoreinfo note (/sys/kernel/vmcoreinfo: "ADDR SIZE" in hex), which
 *   dump tools read symbol offsets and page-table facts from;
 * - optionally one PT_LOAD for the kernel image at its virtual address (arm64 and x86 tools look
 *   for it, as kexec-tools' crashdump-elf.c writes it);
 * - one PT_LOAD per System RAM range of the crashed kernel, the crash reservation taken out,
 *   with p_offset = p_paddr = the physical start (vmcore.c reads old memory at p_offset).
 *
 * The layout follows what kexec-tools' kexec/crashdump-elf.c produces (program headers right
 * after the ELF header, notes first, p_align 0, the whole buffer padded to a page), so readelf
 * and dump tools see the same shape from either loader. Platform-neutral: bytes and numbers only.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { MemoryRange } from "./iomem.js";

export const ELF64_EHDR_SIZE = 64;
export const ELF64_PHDR_SIZE = 56;
/** e_phnum is 16 bits; PN_XNUM (0xffff) would need a section header, which no crash kernel reads. */
export const ELFCORE_MAX_PROGRAM_HEADERS = 0xfffe;
/** kexec-tools pads the header to ELF_CORE_HEADER_ALIGN (a 4 KiB page), and so does kimg. */
export const ELFCORE_ALIGN = 4096;

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** e_machine values (include/uapi/linux/elf-em.h). */
export const ELF_MACHINE: Readonly<Record<string, number>> = {
  x86_64: 62,
  arm64: 183,
  riscv64: 243,
  loongarch64: 258,
};

export interface CrashNote {
  /** Physical address of the note buffer. */
  address: bigint;
  /** Its size in bytes (crash_notes_size, or the kernel's note size when the file is absent). */
  size: number;
  /** What it is, for the plan: "cpu0", "vmcoreinfo". */
  name: string;
}

export interface KernelTextLoad {
  /** Physical start of the running kernel's image ("Kernel code" in /proc/iomem). */
  paddr: bigint;
  /** Its virtual address (the `_text` symbol). */
  vaddr: bigint;
  size: bigint;
}

export interface ElfCoreInput {
  /** Architecture name as kimg reports it (arm64, x86_64, riscv64, loongarch64). */
  arch: string;
  cpuNotes: readonly CrashNote[];
  vmcoreinfo: CrashNote | null;
  kernelText?: KernelTextLoad | null | undefined;
  /** The crashed kernel's RAM, crash reservation already removed (half-open ranges). */
  ram: readonly MemoryRange[];
  /**
   * Virtual address of RAM in the kernel's linear map: vaddr = paddr - physOffset + pageOffset.
   * Unknown (null): p_vaddr is 0, which /proc/vmcore does not use; dump tools translate with vmcoreinfo.
   */
  linearMap?: { pageOffset: bigint; physOffset: bigint } | null | undefined;
}

export interface ElfCoreProgramHeader {
  type: "PT_NOTE" | "PT_LOAD";
  /** What the header describes ("cpu0", "vmcoreinfo", "kernel text", "System RAM"). */
  what: string;
  /** Offset of this program header in the elfcorehdr buffer. */
  headerOffset: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

export interface ElfCoreHeader {
  /** The header bytes, padded to ELFCORE_ALIGN. */
  bytes: Uint8Array;
  /** Unpadded length: ELF header + program headers. */
  length: number;
  machine: number;
  headers: ElfCoreProgramHeader[];
}

const U64_MAX = (1n << 64n) - 1n;

export function buildElfCoreHeader(input: ElfCoreInput): ElfCoreHeader {
  const machine = ELF_MACHINE[input.arch];
  if (machine === undefined) {
    throw new KimgError(ErrorCode.UNSUPPORTED, `no ELF machine number for ${input.arch}`, { structure: "elfcorehdr" });
  }
  const headers: ElfCoreProgramHeader[] = [];
  const add = (h: Omit<ElfCoreProgramHeader, "headerOffset">): void => {
    if (headers.length >= ELFCORE_MAX_PROGRAM_HEADERS) {
      throw new KimgError(ErrorCode.LIMIT, `more than ${ELFCORE_MAX_PROGRAM_HEADERS} program headers for the elfcorehdr`, {
        structure: "elfcorehdr",
      });
    }
    for (const [field, value] of [
      ["offset", h.offset],
      ["vaddr", h.vaddr],
      ["paddr", h.paddr],
      ["filesz", h.filesz],
    ] as const) {
      if (value < 0n || value > U64_MAX) {
        throw new KimgError(ErrorCode.BAD_FIELD, `${h.what}: ${field} 0x${value.toString(16)} does not fit 64 bits`, { structure: "elfcorehdr" });
      }
    }
    headers.push({ ...h, headerOffset: ELF64_EHDR_SIZE + headers.length * ELF64_PHDR_SIZE });
  };
  const note = (n: CrashNote): void => {
    if (!Number.isSafeInteger(n.size) || n.size <= 0) {
      throw new KimgError(ErrorCode.BAD_FIELD, `${n.name}: note size ${n.size} is not a positive size`, { structure: "elfcorehdr" });
    }
    const size = BigInt(n.size);
    add({ type: "PT_NOTE", what: n.name, flags: 0, offset: n.address, vaddr: 0n, paddr: n.address, filesz: size, memsz: size });
  };
  for (const n of input.cpuNotes) note(n);
  if (input.vmcoreinfo) note(input.vmcoreinfo);
  const rwx = PF_R | PF_W | PF_X;
  const text = input.kernelText;
  if (text && text.size > 0n) {
    add({ type: "PT_LOAD", what: "kernel text", flags: rwx, offset: text.paddr, vaddr: text.vaddr, paddr: text.paddr, filesz: text.size, memsz: text.size });
  }
  const map = input.linearMap;
  for (const r of input.ram) {
    if (r.end <= r.start) continue;
    const start = BigInt(r.start);
    const size = BigInt(r.end - r.start);
    const vaddr = map ? (start - map.physOffset + map.pageOffset) & U64_MAX : 0n;
    add({ type: "PT_LOAD", what: "System RAM", flags: rwx, offset: start, vaddr, paddr: start, filesz: size, memsz: size });
  }

  const length = ELF64_EHDR_SIZE + headers.length * ELF64_PHDR_SIZE;
  const bytes = new Uint8Array(Math.ceil(length / ELFCORE_ALIGN) * ELFCORE_ALIGN);
  const view = new DataView(bytes.buffer);
  // e_ident: \x7fELF, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE.
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  view.setUint16(16, 4, true); // e_type = ET_CORE
  view.setUint16(18, machine, true);
  view.setUint32(20, 1, true); // e_version = EV_CURRENT
  view.setBigUint64(24, 0n, true); // e_entry
  view.setBigUint64(32, BigInt(ELF64_EHDR_SIZE), true); // e_phoff
  view.setBigUint64(40, 0n, true); // e_shoff
  view.setUint32(48, 0, true); // e_flags
  view.setUint16(52, ELF64_EHDR_SIZE, true);
  view.setUint16(54, ELF64_PHDR_SIZE, true);
  view.setUint16(56, headers.length, true);
  view.setUint16(58, 0, true); // e_shentsize
  view.setUint16(60, 0, true); // e_shnum
  view.setUint16(62, 0, true); // e_shstrndx
  for (const h of headers) {
    const at = h.headerOffset;
    view.setUint32(at, h.type === "PT_NOTE" ? PT_NOTE : PT_LOAD, true);
    view.setUint32(at + 4, h.flags, true);
    view.setBigUint64(at + 8, h.offset, true);
    view.setBigUint64(at + 16, h.vaddr, true);
    view.setBigUint64(at + 24, h.paddr, true);
    view.setBigUint64(at + 32, h.filesz, true);
    view.setBigUint64(at + 40, h.memsz, true);
    view.setBigUint64(at + 48, 0n, true); // p_align
  }
  return { bytes, length, machine, headers };
}
