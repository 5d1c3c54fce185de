/**
 * Header generations: which kernel releases wrote a header, told from the header's own layout.
 * Each clue is one fact of the bytes, with the release range it implies and the kernel commit
 * behind it; the generation is the range all clues agree on. The tables and their sources are
 * in docs/formats.md (one section per format).
 */
import type { Layer } from "../model/report.js";

/** One fact read from the header and what it says about the kernel that wrote it. */
export interface Clue {
  /** The fact and its source, for people: "image_size is 0: header from before v3.17 (a2c1d73b94ed)". */
  text: string;
  /** First release that writes it ("3.17"), when the fact implies one. */
  since?: string;
  /** First release that no longer writes it ("3.17"), when the fact implies one. */
  before?: string;
}

export interface Generation {
  /** The release range all clues agree on: "v3.17-v5.7", "v6.4+", "before v3.17". */
  id: string;
  clues: Clue[];
  /** True when two clues contradict each other (a rebuilt or hand-edited header). */
  inconsistent: boolean;
}

function versionKey(v: string): number {
  const [major = 0, minor = 0] = v.split(".").map(Number);
  return major * 1000 + minor;
}

/** The release range the clues agree on. */
export function generationOf(clues: Clue[], fallback: string): Generation {
  const since = clues.map((c) => c.since).filter((v): v is string => v !== undefined);
  const before = clues.map((c) => c.before).filter((v): v is string => v !== undefined);
  const low = since.sort((a, b) => versionKey(b) - versionKey(a))[0];
  const high = before.sort((a, b) => versionKey(a) - versionKey(b))[0];
  const inconsistent = low !== undefined && high !== undefined && versionKey(low) >= versionKey(high);
  let id: string;
  if (inconsistent) id = `inconsistent (v${low}+ and before v${high})`;
  else if (low !== undefined && high !== undefined) id = `v${low} to before v${high}`;
  else if (low !== undefined) id = `v${low}+`;
  else if (high !== undefined) id = `before v${high}`;
  else id = fallback;
  return { id, clues, inconsistent };
}

/** Writes the generation into the layer's info: `generation` (the range) and `generationEvidence`. */
export function reportGeneration(layer: Layer, g: Generation): void {
  layer.info.generation = g.id;
  layer.info.generationEvidence = g.clues.map((c) => c.text);
}

// ---------------------------------------------------------------- arm64 Image (docs/formats.md §2)

export interface Arm64HeaderFacts {
  code0: number;
  code1: number;
  textOffset: bigint;
  imageSize: bigint;
  flags: bigint;
  peOffset: number;
}

/** The text_offset loaders assume when image_size is 0 (booting.rst: pre-v3.17 headers). */
export const ARM64_LEGACY_TEXT_OFFSET = 0x80000;

export function arm64Generation(h: Arm64HeaderFacts): Generation {
  const clues: Clue[] = [];
  if (h.imageSize === 0n) {
    clues.push({
      text: "image_size is 0: header from before v3.17 (a2c1d73b94ed added image_size and flags); text_offset has the kernel's endianness and is assumed to be 0x80000",
      before: "3.17",
    });
    if (h.flags !== 0n) clues.push({ text: "flags is not defined before v3.17 and is ignored" });
  } else {
    clues.push({ text: "image_size is set: v3.17+ header, every field little-endian (a2c1d73b94ed)", since: "3.17" });
    if ((h.flags >> 3n) & 1n) clues.push({ text: "flags bit 3 (physical placement anywhere) is set: v4.6+ (a7f8de168ace)", since: "4.6" });
    if (h.textOffset === 0n)
      clues.push({ text: "text_offset is 0: v5.8+ (cfa7ede20f13 set TEXT_OFFSET to 0; 120dc60d0bdb removed it in v5.10)", since: "5.8" });
    else clues.push({ text: `text_offset is 0x${h.textOffset.toString(16)}: before v5.8 (0x80000 was the default TEXT_OFFSET)`, before: "5.8" });
  }
  // v5.10 still writes the add, v6.1 the ccmp (both read); the commit between is not pinned.
  if (h.code0 === 0xfa405a4d)
    clues.push({ text: 'code0 is the "MZ" ccmp pseudo-NOP (efi_signature_nop): after v5.10, which still has the add form', since: "5.11" });
  else if (h.code0 === 0x91005a4d)
    clues.push({
      text: 'code0 is the "MZ" add x13 pseudo-NOP: EFI stub kernel from v3.16 (3c7f255039a2) until the ccmp form (v6.1 has ccmp)',
      since: "3.16",
      before: "6.1",
    });
  else if (h.code0 === 0xd503201f) clues.push({ text: "code0 is a nop: EFI stub not built (efi_signature_nop without CONFIG_EFI)" });
  else if (h.code0 >>> 26 === 0x05) clues.push({ text: "code0 is a branch: no EFI header (older kernels without the EFI stub)" });
  return generationOf(clues, "unknown");
}

// --------------------------------------------------------------- RISC-V Image (docs/formats.md §3)

export interface RiscvHeaderFacts {
  version: number;
  hasMagic: boolean;
  hasMagic2: boolean;
  res3At0x38: number;
}

export function riscvGeneration(h: RiscvHeaderFacts): Generation {
  const clues: Clue[] = [];
  const major = h.version >>> 16;
  const minor = h.version & 0xffff;
  if (h.version === 1) {
    clues.push({ text: 'header version 0.1 (0f327f2aaad6, v5.3): "RISCV\\0\\0\\0" at 0x30 is the only magic', since: "5.3", before: "5.4" });
    if (!h.hasMagic2)
      clues.push({
        text: `no magic2 at 0x38 (res3 ${h.res3At0x38 === 0 ? "is 0" : "holds 0x" + h.res3At0x38.toString(16) + ": v0.1 head.S did not zero it"}); magic2 came with 0.2 (474efecb65dc)`,
      });
  } else if (h.version === 2) {
    clues.push({ text: 'header version 0.2 (474efecb65dc, v5.4): magic2 "RSC\\x05" at 0x38, "RISCV" at 0x30 deprecated', since: "5.4" });
  } else {
    clues.push({ text: `header version ${major}.${minor}: not one the kernel has written (0.1, 0.2)` });
  }
  if (h.hasMagic2 && h.version < 2) clues.push({ text: "magic2 is present although the version is below 0.2" });
  const g = generationOf(clues, "release unknown");
  return { ...g, id: `header ${major}.${minor} (${g.id})` };
}

// ------------------------------------------------------------------- EFI zboot (docs/formats.md §1)

export interface ZbootClues {
  linuxPeMagic: boolean;
  /** The trailer rule the decompressed size matched, or null when none did (or not decompressed). */
  sizeRule: "v6.1" | "v6.2-v6.3" | "v6.4+" | null;
  /** Decompressed size equals the inner image_size (Image zero-padded, v6.4+); null when unknown. */
  padded: boolean | null;
  compType: string;
  /** DllCharacteristics NX_COMPAT of the stub; null without a PE view. */
  nxCompat: boolean | null;
  /** A `.sbat` section in the stub's PE. */
  sbat: boolean;
}

const PRE_6_13_CODECS = new Set(["zstd22", "xzkern", "lz4", "lzo", "lzma"]);

export function zbootGeneration(z: ZbootClues): Generation {
  const clues: Clue[] = [];
  clues.push(
    z.linuxPeMagic
      ? { text: "LINUX_PE_MAGIC at 0x38: v6.2+ (29636a5ce87b)", since: "6.2" }
      : { text: "0x38 is 0, no LINUX_PE_MAGIC: v6.1 (29636a5ce87b added it in v6.2)", before: "6.2" },
  );
  if (z.sizeRule === "v6.1") clues.push({ text: "the size trailer is the v6.1 rule (le32 size appended for non-gzip, none for gzip)", before: "6.2" });
  else if (z.sizeRule === "v6.2-v6.3")
    clues.push({ text: "a 12-byte SizeOfHeaders/SizeOfCode/SizeOfImage trailer follows the stream: v6.2-v6.3", since: "6.2", before: "6.4" });
  if (z.padded === true) clues.push({ text: "the payload is the Image zero-padded to its image_size: v6.4+ (Makefile.zboot copy_and_pad)", since: "6.4" });
  else if (z.padded === false) clues.push({ text: "the payload is the Image without BSS padding: before v6.4", before: "6.4" });
  // No release bound: 0b2c29fb68f8 (v6.13) went back to stable branches (6.12.y has it).
  if (z.compType === "zstd") clues.push({ text: 'comp_type "zstd": v6.13+ (0b2c29fb68f8) or a stable kernel with its backport (6.12.y has it)' });
  else if (PRE_6_13_CODECS.has(z.compType))
    clues.push({ text: `comp_type "${z.compType}": before v6.13 (0b2c29fb68f8 kept only gzip and "zstd")`, before: "6.13" });
  // c7d9e628b8ff (v6.3) was marked for stable, so a 6.2.y stub may carry it too: no lower bound.
  if (z.nxCompat === true) clues.push({ text: "stub marked NX_COMPAT: v6.3+ (c7d9e628b8ff) or a stable backport" });
  else if (z.nxCompat === false) clues.push({ text: "stub not marked NX_COMPAT: before v6.3 (6.1.y still writes 0)", before: "6.3" });
  if (z.sbat) clues.push({ text: "a .sbat section in the stub: v6.16+ (0f9a1739dd0e, CONFIG_EFI_SBAT_FILE)", since: "6.16" });
  return generationOf(clues, "unknown");
}

// ---------------------------------------------------------------- x86 bzImage (docs/formats.md §5)

/** Boot protocol version -> the kernel that introduced it (Documentation/arch/x86/boot.rst). */
export const BOOT_PROTOCOL_KERNELS: Readonly<Record<number, string>> = {
  0x200: "1.3.73",
  0x201: "1.3.76",
  0x202: "2.4.0-test3-pre3",
  0x203: "2.4.18-pre1",
  0x204: "2.6.14",
  0x205: "2.6.20",
  0x206: "2.6.22",
  0x207: "2.6.24",
  0x208: "2.6.26",
  0x209: "2.6.26",
  0x20a: "2.6.31",
  0x20b: "3.6",
  0x20c: "3.8",
  0x20d: "3.14",
  0x20e: "3.14", // burnt by ae7e1238e68f: "assume same as 2.13"
  0x20f: "5.5",
};

/**
 * The first boot protocol a setup-header field exists in (boot.rst "Proto" column); absent = all.
 * syssize is not here: it exists in every version, only its upper two bytes came with 2.04.
 */
export const SETUP_FIELD_PROTOCOL: Readonly<Record<string, number>> = {
  jump: 0x200,
  header: 0x200,
  version: 0x200,
  realmode_swtch: 0x200,
  start_sys_seg: 0x200,
  kernel_version: 0x200,
  type_of_loader: 0x200,
  loadflags: 0x200,
  setup_move_size: 0x200,
  code32_start: 0x200,
  ramdisk_image: 0x200,
  ramdisk_size: 0x200,
  bootsect_kludge: 0x200,
  heap_end_ptr: 0x201,
  ext_loader_ver: 0x202,
  ext_loader_type: 0x202,
  cmd_line_ptr: 0x202,
  initrd_addr_max: 0x203,
  kernel_alignment: 0x205,
  relocatable_kernel: 0x205,
  cmdline_size: 0x206,
  hardware_subarch: 0x207,
  hardware_subarch_data: 0x207,
  payload_offset: 0x208,
  payload_length: 0x208,
  setup_data: 0x209,
  min_alignment: 0x20a,
  pref_address: 0x20a,
  init_size: 0x20a,
  handover_offset: 0x20b,
  xloadflags: 0x20c,
  kernel_info_offset: 0x20f,
};

export function protocolName(version: number): string {
  return `${version >> 8}.${(version & 0xff).toString().padStart(2, "0")}`;
}

export interface BzImageClues {
  protocol: number;
  /** "MZ" and a PE header: built with CONFIG_EFI_STUB (only then is 0x38 part of the header). */
  efiStub: boolean;
  linuxPeMagic: boolean;
  kernelInfo: boolean;
  /** The boot-protocol CRC-32 (2.08+): written by build.c until v6.15, 4 zero bytes since; null when not known. */
  crc?: "present" | "zero" | null;
}

export function bzImageGeneration(b: BzImageClues): Generation {
  const clues: Clue[] = [];
  const kernel = BOOT_PROTOCOL_KERNELS[b.protocol];
  if (kernel) {
    const since = /^\d+\.\d+$/.test(kernel) ? kernel : undefined;
    clues.push({
      text: `boot protocol ${protocolName(b.protocol)}: Linux ${kernel}+ (Documentation/arch/x86/boot.rst)${b.protocol === 0x20e ? "; 2.14 was burnt by ae7e1238e68f and means 2.13" : ""}`,
      ...(since ? { since } : {}),
    });
  } else {
    clues.push({ text: `boot protocol ${protocolName(b.protocol)}: not in boot.rst's history (2.00-2.15)` });
  }
  if (b.linuxPeMagic) clues.push({ text: "LINUX_PE_MAGIC at 0x38: v6.2+ (29636a5ce87b)", since: "6.2" });
  else if (b.efiStub) clues.push({ text: "no LINUX_PE_MAGIC at 0x38: before v6.2", before: "6.2" });
  if (b.kernelInfo) clues.push({ text: 'kernel_info ("LToP") present: protocol 2.15, v5.5+', since: "5.5" });
  if (b.crc === "present") clues.push({ text: "the file ends in its boot-protocol CRC-32: before v6.15 (9c54baab4401 dropped it)", before: "6.15" });
  else if (b.crc === "zero") clues.push({ text: "the file ends in 4 zero bytes instead of a CRC-32: v6.15+ (9c54baab4401, e471a86a8c52)", since: "6.15" });
  return generationOf(clues, `boot protocol ${protocolName(b.protocol)}`);
}

// -------------------------------------------------------- LoongArch vmlinux.efi (docs/formats.md §4)

export interface LoongArchHeaderFacts {
  linuxPeMagic: boolean;
  entryForm: "physical" | "dmw-virtual";
  loadOffset: bigint;
}

export function loongArchGeneration(h: LoongArchHeaderFacts): Generation {
  const clues: Clue[] = [];
  if (h.linuxPeMagic) clues.push({ text: "LINUX_PE_MAGIC at 0x38: v6.2+ (29636a5ce87b)", since: "6.2" });
  else clues.push({ text: "0 at 0x38, no LINUX_PE_MAGIC: v6.1, where 0x20..0x3b were reserved", since: "6.1", before: "6.2" });
  if (h.loadOffset === 0n)
    clues.push({
      text: "load_offset is 0: before the kdump change that filled it with PHYS_LINK_KADDR (about v6.3); the link address 0x200000 is assumed",
      before: "6.3",
    });
  else
    clues.push({
      text: `load_offset is 0x${h.loadOffset.toString(16)} (PHYS_LINK_KADDR): about v6.3+ ("LoongArch: kdump: Add the same binary implementation")`,
      since: "6.3",
    });
  if (h.entryForm === "physical") clues.push({ text: "kernel_entry is a physical address: v6.10+ and stable backports (beb2800074c1)", since: "6.10" });
  else clues.push({ text: "kernel_entry is a DMW virtual address: before v6.10 (beb2800074c1 made it physical)", before: "6.10" });
  return generationOf(clues, "unknown");
}
