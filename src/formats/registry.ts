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
import { loongarchFormat } from "./loongarch.js";
import { peFormat } from "./pe.js";
import { rawKernelFormat } from "./raw-kernel.js";
import { riscvFormat } from "./riscv.js";
import { s390ImageFormat } from "./s390-image.js";
import { cpioFormat, dataFormat, dtbFormat, textFormat } from "./simple.js";
import type { FormatParser } from "./types.js";
import { ukiFormat } from "./uki.js";
import { zbootFormat } from "./zboot.js";
import type { LayerFormat } from "../model/report.js";

export const FORMATS: readonly FormatParser[] = [
  zbootFormat,
  arm64Format,
  riscvFormat,
  loongarchFormat,
  bzImageFormat,
  ukiFormat,
  armZImageFormat,
  s390ImageFormat,
  peFormat,
  elfFormat,
  compressedFormat,
  dtbFormat,
  cpioFormat,
];

/** Formats only chosen when a container says so, or as the last resort. */
export const LEAF_FORMATS: readonly FormatParser[] = [textFormat, dataFormat, rawKernelFormat];

export function formatById(id: LayerFormat): FormatParser | undefined {
  return [...FORMATS, ...LEAF_FORMATS].find((f) => f.format === id);
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

/** The formats that are Linux kernels (what `summary.kernelFormat` may name). */
export const KERNEL_FORMATS: ReadonlySet<LayerFormat> = new Set<LayerFormat>(["arm64-image", "riscv-image", "loongarch-image", "bzimage", "elf", "arm-zimage", "s390-image", "raw-kernel"]);
