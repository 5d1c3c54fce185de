/**
 * Kernel formats kimg recognises and names but cannot plan or extract yet (their parser's
 * `kernel.unsupported` names them; the registry lists them). Recognising them keeps them from
 * being reported as something else (an s390 image is otherwise unknown data). Each parser reports
 * UNSUPPORTED_FORMAT.
 */
import type { FormatInput, KernelRole } from "./types.js";

/** Stable diagnostic code of a recognised but unsupported kernel format. */
export const UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT";

/** The kernel role of a recognised but unsupported format named `name`. */
export function unsupportedKernel(name: string): KernelRole {
  return { bootable: false, planRank: null, unsupported: name };
}

/** "s390 kernel image (not supported yet)". */
export function unsupportedTitle(role: KernelRole): string {
  return `${role.unsupported ?? "this format"} (not supported yet)`;
}

export function reportUnsupported(input: FormatInput, role: KernelRole, what: string): void {
  input.diagnose(UNSUPPORTED_FORMAT, "warning", `${unsupportedTitle(role)}: kimg reads ${what}, but does not plan or extract this format`, 0);
}
