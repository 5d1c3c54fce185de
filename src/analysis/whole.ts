/**
 * When there is no whole kernel to hand out. A kernel layer whose format parser found that it
 * cannot be whole (its data ends before what its headers load, or it has no payload at all) is
 * refused by unpack, plan and kexec with a coded error, never returned as if it were a kernel;
 * and when no kernel was reached, the error names the cause (E_LIMIT for a bomb, E_CORRUPT_STREAM
 * for a damaged stream), whatever the container.
 */
import { ErrorCode, KimgError, isErrorCode, type ErrorCodeValue } from "../io/errors.js";
import { KERNEL_FORMATS } from "../formats/registry.js";
import type { ReportCode } from "../model/codes.js";
import type { Diagnostic, Layer } from "../model/report.js";

/** The diagnostics that make a kernel layer one that cannot be whole, and the error each becomes. */
export const INCOMPLETE_KERNEL_CODES: Readonly<Partial<Record<ReportCode, ErrorCodeValue>>> = {
  KERNEL_TRUNCATED: ErrorCode.TRUNCATED,
  BZIMAGE_PAYLOAD_OUTSIDE: ErrorCode.TRUNCATED,
  [ErrorCode.TRUNCATED]: ErrorCode.TRUNCATED,
  BZIMAGE_NO_PAYLOAD: ErrorCode.BAD_FIELD,
  ELF_VALUE_TOO_LARGE: ErrorCode.BAD_FIELD,
  // 32-bit Arm zImage (issue 15)
  ZIMAGE_TRUNCATED: ErrorCode.TRUNCATED,
  ZIMAGE_PAYLOAD_NOT_FOUND: ErrorCode.BAD_FIELD,
};

/**
 * Throws when `layer` is a kernel that one of its own diagnostics says cannot be whole, or, with
 * `payload`, whose compressed payload (a bzImage's vmlinux) could not be decoded: then the error
 * has the decoder's own code (E_LIMIT for a bomb), as it has for a zboot or a UKI.
 */
export function assertKernelWhole(diagnostics: readonly Diagnostic[], layer: Layer, options: { payload: boolean }): void {
  if (!KERNEL_FORMATS.has(layer.format)) return;
  const d = diagnostics.find((x) => x.severity === "error" && x.layer === layer.path && INCOMPLETE_KERNEL_CODES[x.code] !== undefined);
  const failed = options.payload ? layer.children.find((c) => c.format === "compressed" && c.info.decompressed === false) : undefined;
  const p = failed ? diagnostics.find((x) => x.severity === "error" && x.layer === failed.path) : undefined;
  if (!d && p) {
    throw new KimgError(isErrorCode(p.code) ? p.code : ErrorCode.BAD_FIELD, `the ${layer.format} at ${layer.path} has no usable payload: ${p.message}`, {
      structure: layer.format,
      offset: p.offset ?? undefined,
      diagnostic: p.code,
      layer: p.layer,
    });
  }
  if (!d) return;
  throw new KimgError(INCOMPLETE_KERNEL_CODES[d.code] ?? ErrorCode.BAD_FIELD, `the ${layer.format} at ${layer.path}: ${d.message}`, {
    structure: layer.format,
    offset: d.offset ?? undefined,
    diagnostic: d.code,
    layer: d.layer,
  });
}

/** The error for "no kernel here": the first error diagnostic's own code when one explains it. */
export function noKernelError(diagnostics: readonly Diagnostic[], fallback: ErrorCodeValue, message: string): KimgError {
  const fatal = diagnostics.find((d) => d.severity === "error");
  if (!fatal) return new KimgError(fallback, message, { structure: "layer tree" });
  return new KimgError(isErrorCode(fatal.code) ? fatal.code : ErrorCode.BAD_FIELD, `no kernel reached: ${fatal.message}`, {
    offset: fatal.offset ?? undefined,
    structure: "layer tree",
    diagnostic: fatal.code,
    layer: fatal.layer,
  });
}
