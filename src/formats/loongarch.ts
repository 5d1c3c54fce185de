/**
 * LoongArch EFI kernel image (vmlinux.efi). Source: Documentation/arch/loongarch/booting.rst,
 * arch/loongarch/include/asm/image.h, arch/loongarch/kernel/head.S.
 *
 *   u32 mz_magic = 0x5a4d;   // "MZ"
 *   u32 res0 = 0;
 *   u64 kernel_entry;        // physical (v6.10+) or DMW virtual (older) entry address
 *   u64 kernel_asize;        // _end - _text
 *   u64 load_offset;         // PHYS_LINK_KADDR (0 on old kernels)
 *   u64 res1, res2, res3;
 *   u32 linux_pe_magic = 0x818223cd;
 *   u32 pe_header;           // PE header offset
 */
import { annotate, defineLayout, hex, readStruct, startsWith, u32, u64 } from "../io/layout.js";
import { addBanner, checkImageWhole, peChild } from "./arm64.js";
import { loongArchGeneration, reportGeneration } from "./generations.js";
import { peMachine } from "./pe.js";
import { LINUX_PE_MAGIC } from "./zboot.js";
import type { ChildSpec, FormatParser } from "./types.js";
import type { LoongArchImageFacts } from "../model/facts.js";

export const LOONGARCH_HEADER = defineLayout("LoongArch image header", 0x40, [
  { name: "mz_magic", offset: 0x00, type: "u32" },
  { name: "res0", offset: 0x04, type: "u32" },
  { name: "kernel_entry", offset: 0x08, type: "u64" },
  { name: "kernel_asize", offset: 0x10, type: "u64" },
  { name: "load_offset", offset: 0x18, type: "u64" },
  { name: "res1", offset: 0x20, type: "u64" },
  { name: "res2", offset: 0x28, type: "u64" },
  { name: "res3", offset: 0x30, type: "u64" },
  { name: "linux_pe_magic", offset: 0x38, type: "u32" },
  { name: "pe_header", offset: 0x3c, type: "u32" },
] as const);

export const IMAGE_MACHINE_LOONGARCH64 = 0x6264;
/** Physical address bits of the direct-mapped windows (DMW_PABITS). */
export const LOONGARCH_DMW_PABITS = 48n;
/** PHYS_LINK_KADDR of kernels that left load_offset at 0. */
export const LOONGARCH_LEGACY_LOAD_OFFSET = 0x200000;

const ZIMG = [0x7a, 0x69, 0x6d, 0x67];

/** A DMW virtual address: a direct-mapped-window segment (0x8000, 0x9000 ...) in bits 63..48, nothing in 47..0 above PA bits. */
function plausibleEntry(entry: bigint): boolean {
  if (entry === 0n) return false;
  const segment = entry >> LOONGARCH_DMW_PABITS;
  return segment === 0n || (segment >= 0x8000n && segment <= 0xffffn && (segment & 0x0fffn) === 0n);
}

/**
 * A LoongArch kernel header, recognised by its structure rather than by LINUX_PE_MAGIC, which
 * v6.1 kernels do not have (the field was reserved then): "MZ\0\0", res0 = 0 (a zboot image has
 * "zimg" there), a LOONGARCH64 PE header where 0x3c points, 0x38 either LINUX_PE_MAGIC or 0, the
 * reserved words 0x20..0x37 zero (head.S fills them with .org) and kernel_entry a physical or DMW
 * virtual address. An ordinary LoongArch EFI program (GRUB, systemd-boot) has a linker-made DOS
 * header (e_cblp, e_cp ... non-zero) and fails the first test.
 */
export function isLoongArchImage(bytes: Uint8Array): boolean {
  if (bytes.length < 0x40 || u32(bytes, 0) !== 0x5a4d || startsWith(bytes, ZIMG, 4) || u32(bytes, 4) !== 0) return false;
  const magic = u32(bytes, 0x38);
  if (magic !== LINUX_PE_MAGIC && magic !== 0) return false;
  for (let off = 0x20; off < 0x38; off += 4) if (u32(bytes, off) !== 0) return false;
  if (peMachine(bytes) !== IMAGE_MACHINE_LOONGARCH64) return false;
  return plausibleEntry(u64(bytes, 8) ?? 0n);
}

export interface LoongArchEntry {
  /** "physical" (v6.10+) or "dmw-virtual" (older kernels: a 0x9000... DMW address). */
  form: "physical" | "dmw-virtual";
  /** The entry as a physical address (the DMW segment bits masked off). */
  physical: bigint;
  /** The load address the entry is relative to. */
  loadAddress: bigint;
  /** Byte offset of the entry in the image, or null when it falls outside. */
  offset: number | null;
}

/** kernel_entry mapped into the image: (entry & (2^48-1)) - load address (docs/formats.md §4). */
export function loongArchEntry(kernelEntry: bigint, loadOffset: bigint, imageLength: number): LoongArchEntry {
  const mask = (1n << LOONGARCH_DMW_PABITS) - 1n;
  const physical = kernelEntry & mask;
  const form = kernelEntry >> LOONGARCH_DMW_PABITS !== 0n ? "dmw-virtual" : "physical";
  const loadAddress = loadOffset !== 0n ? loadOffset : BigInt(LOONGARCH_LEGACY_LOAD_OFFSET);
  const delta = physical - loadAddress;
  const offset = delta >= 0n && delta < BigInt(imageLength) ? Number(delta) : null;
  return { form, physical, loadAddress, offset };
}

export const loongarchFormat: FormatParser = {
  format: "loongarch-image",
  kernel: { bootable: true, planRank: 2, unsupported: null },
  probe: isLoongArchImage,
  parse(input, layer): ChildSpec[] {
    const h = readStruct(LOONGARCH_HEADER, input.bytes, 0, { base: input.base });
    const r = h.record;
    layer.structures.push(h.structure);
    const entry = loongArchEntry(r.kernel_entry, r.load_offset, input.bytes.length);
    annotate(h.structure, "mz_magic", '"MZ"');
    annotate(
      h.structure,
      "kernel_entry",
      `${entry.form === "physical" ? "physical address (v6.10+)" : "DMW virtual address (pre-v6.10)"}; image offset ${entry.offset === null ? "outside the image" : hex(entry.offset)}`,
    );
    annotate(
      h.structure,
      "load_offset",
      r.load_offset === 0n ? `0: older kernel, link address ${hex(LOONGARCH_LEGACY_LOAD_OFFSET)} assumed` : "PHYS_LINK_KADDR",
    );
    const linuxPeMagic = r.linux_pe_magic === LINUX_PE_MAGIC;
    annotate(h.structure, "linux_pe_magic", linuxPeMagic ? "LINUX_PE_MAGIC (v6.2+)" : "0: reserved on v6.1, which had no LINUX_PE_MAGIC");
    if (entry.offset === null) input.diagnose("LOONGARCH_ENTRY_OUTSIDE", "error", `kernel_entry ${hex(r.kernel_entry)} does not map into the image`, 0x08);
    if (r.kernel_asize === 0n) input.diagnose("LOONGARCH_ASIZE_ZERO", "warning", "kernel_asize is 0; kexec_file rejects such images", 0x10);
    layer.arch = "loongarch64";
    const facts: LoongArchImageFacts = {
      kind: "loongarch-image",
      kernelEntry: r.kernel_entry,
      entryForm: entry.form,
      entryPhysical: entry.physical,
      entryOffset: entry.offset,
      imageSize: r.kernel_asize,
      loadOffset: r.load_offset,
      loadAddress: entry.loadAddress,
      linuxPeMagic,
      peOffset: r.pe_header,
      banner: null,
    };
    input.setFacts(facts);
    layer.info.kernelEntry = hex(facts.kernelEntry);
    layer.info.entryForm = facts.entryForm;
    layer.info.entryOffset = facts.entryOffset;
    layer.info.imageSize = Number(facts.imageSize);
    layer.info.loadOffset = Number(facts.loadOffset);
    layer.info.peOffset = facts.peOffset;
    reportGeneration(layer, loongArchGeneration({ linuxPeMagic, entryForm: entry.form, loadOffset: r.load_offset }));
    facts.banner = addBanner(input, layer);
    layer.title = `LoongArch vmlinux.efi (entry ${entry.offset === null ? "outside" : "+" + hex(entry.offset)}, ${entry.form} kernel_entry)`;
    return peChild(input.bytes, r.pe_header, input, 0x3c);
  },
  finish(input, layer, children) {
    // As for arm64/RISC-V: the file must hold its PE headers and every section's raw data.
    checkImageWhole(input, layer, children, u32(input.bytes, 0x3c) ?? 0, null);
  },
};
