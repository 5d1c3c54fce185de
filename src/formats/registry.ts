/**
 * The ordered format table: most specific first. A zboot and a LoongArch image both carry
 * LINUX_PE_MAGIC, so zboot ("zimg") goes first; kernel images with PE headers go before UKI,
 * UKI before plain PE; compressed streams last, as their magics are short. A 32-bit Arm zImage
 * with an EFI stub is a valid PE too, so it goes before plain PE.
 */
import { armZImageFormat } from "./arm-zimage.js";
import { arm64Format } from "./arm64.js";
import { bzImageFormat } from "./bzimage.js";
import { compressedFormat } from "./compressed.js";
import { elfFormat } from "./elf.js";
import { fitFormat } from "./fit.js";
import { loongarchFormat } from "./loongarch.js";
import { peFormat } from "./pe.js";
import { rawKernelFormat } from "./raw-kernel.js";
import { riscvFormat } from "./riscv.js";
import { s390ImageFormat } from "./s390-image.js";
import { dataFormat, dtbFormat, textFormat } from "./simple.js";
// Initramfs archives (issue 16)
import { cpioFormat, initramfsFormat } from "./cpio.js";
import type { FormatParser } from "./types.js";
import { ukiFormat } from "./uki.js";
import { uimageFormat } from "./uimage.js";
import { zbootFormat } from "./zboot.js";
// Android boot images (issue 15)
import { androidBootFormat, androidVendorBootFormat } from "./android-boot.js";
import { androidDtboFormat } from "./android-dtbo.js";
import type { LayerFormat } from "../model/report.js";
// UKI add-ons (issue 17, measured boot)
import { ukiAddonFormat } from "./uki.js";

export const FORMATS: readonly FormatParser[] = [
  // A uImage: a big-endian magic and a CRC-32 over its header; what it wraps is probed as its child.
  uimageFormat,
  // Android boot images (issue 15): 8-byte magics, and containers of everything below
  androidBootFormat,
  androidVendorBootFormat,
  androidDtboFormat,
  zbootFormat,
  arm64Format,
  riscvFormat,
  loongarchFormat,
  bzImageFormat,
  ukiFormat,
  // UKI add-ons (issue 17): a PE with .cmdline/.dtb/.initrd/.ucode and no .linux, before plain PE
  ukiAddonFormat,
  armZImageFormat,
  s390ImageFormat,
  peFormat,
  elfFormat,
  compressedFormat,
  fitFormat, // a FIT is a device tree with /images: before dtb
  dtbFormat,
  // Initramfs archives (issue 16): a concatenated initramfs (cpio then more) before a single archive
  initramfsFormat,
  cpioFormat,
];

/** Formats only chosen when a container says so, or as the last resort. */
export const LEAF_FORMATS: readonly FormatParser[] = [textFormat, dataFormat, rawKernelFormat];

const ALL_FORMATS: readonly FormatParser[] = [...FORMATS, ...LEAF_FORMATS];

export function formatById(id: LayerFormat): FormatParser | undefined {
  return ALL_FORMATS.find((f) => f.format === id);
}

export function probeFormat(bytes: Uint8Array): FormatParser | null {
  for (const f of FORMATS) {
    try {
      if (f.probe(bytes)) return f;
    } catch {
      // A probe must not throw; if one does on hostile bytes, it simply does not match.
    }
  }
  return null;
}

/** The formats that are Linux kernels (what `summary.kernelFormat` may name): those whose parser declares a `kernel` role. */
export const KERNEL_FORMATS: ReadonlySet<LayerFormat> = new Set(ALL_FORMATS.filter((f) => f.kernel).map((f) => f.format));

/** What a loader boots directly (unpack's `bootable`): the arm64/RISC-V/LoongArch Image, the x86 bzImage, the 32-bit Arm zImage. */
export const BOOTABLE_FORMATS: ReadonlySet<LayerFormat> = new Set(ALL_FORMATS.filter((f) => f.kernel?.bootable).map((f) => f.format));

/** The formats `plan` boots, in the order it prefers them (KernelRole.planRank). */
export const PLANNED_FORMATS: readonly LayerFormat[] = ALL_FORMATS.flatMap((f) =>
  f.kernel?.planRank == null ? [] : [{ format: f.format, rank: f.kernel.planRank }],
)
  .sort((a, b) => a.rank - b.rank)
  .map((f) => f.format);

/**
 * Kernel formats kimg recognises and names but cannot plan or extract yet, with their names.
 * `plan` and a default `extract` refuse them with E_UNSUPPORTED naming the format.
 */
export const UNSUPPORTED_KERNEL_FORMATS: ReadonlyMap<LayerFormat, string> = new Map(
  ALL_FORMATS.flatMap((f) => (f.kernel?.unsupported ? [[f.format, f.kernel.unsupported] as const] : [])),
);

/** "s390 kernel image (not supported yet)"; null for a supported format. */
export function unsupportedName(format: LayerFormat): string | null {
  const name = UNSUPPORTED_KERNEL_FORMATS.get(format);
  return name === undefined ? null : `${name} (not supported yet)`;
}
