/**
 * Kernel formats kimg recognises and names but cannot plan or extract yet. Recognising them
 * keeps them from being reported as something else (an Arm zImage with an EFI stub is also a
 * valid PE; an s390 image is otherwise unknown data). Each parser reports UNSUPPORTED_FORMAT;
 * `plan` and a default `extract` refuse them with E_UNSUPPORTED naming the format.
 */
import type { FormatInput } from "./types.js";
import type { LayerFormat } from "../model/report.js";

/** Stable diagnostic code of a recognised but unsupported kernel format. */
export const UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT";

export const UNSUPPORTED_KERNEL_FORMATS: ReadonlyMap<LayerFormat, string> = new Map<LayerFormat, string>([
  ["arm-zimage", "32-bit Arm zImage"],
  ["s390-image", "s390 kernel image"],
]);

/** "32-bit Arm zImage (not supported yet)". */
export function unsupportedName(format: LayerFormat): string | null {
  const name = UNSUPPORTED_KERNEL_FORMATS.get(format);
  return name === undefined ? null : `${name} (not supported yet)`;
}

export function reportUnsupported(input: FormatInput, format: LayerFormat, what: string): void {
  input.diagnose(UNSUPPORTED_FORMAT, "warning", `${unsupportedName(format) ?? format}: kimg reads ${what}, but does not plan or extract this format`, 0);
}
