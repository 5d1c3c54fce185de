/**
 * The full signature summary for `kimg inspect`, through the PKCS#7 parser (pkijs). The quick
 * DER walker (quick-summary.ts) reads the plain case; this module is loaded only for the rest.
 */
import { ErrorCode, asKimgError } from "../io/errors.js";
import { resolveLimits, type Limits } from "../io/limits.js";
import type { PeInfo } from "../model/report.js";
import { parseAuthenticode } from "./pkcs7.js";
import type { SignatureSummary } from "./types.js";
import { certificateTypeName, readCertificateTable, WIN_CERT_TYPE_PKCS_SIGNED_DATA } from "./wincert.js";

/** A cheap look at a PE layer's signatures for `kimg inspect`: no hashing, no crypto, never throws. */
export function signatureSummary(peBytes: Uint8Array, pe: PeInfo, limits?: Partial<Limits>): SignatureSummary {
  const summary: SignatureSummary = { signed: pe.certificateTable !== null, signatureCount: 0, digestAlgorithm: null, signerSubject: null, problem: null };
  if (!pe.certificateTable) return summary;
  const resolved = resolveLimits(limits);
  try {
    const table = readCertificateTable(peBytes, pe, resolved);
    for (const entry of table?.entries ?? []) {
      if (entry.wCertificateType !== WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
        summary.problem ??= `WIN_CERTIFICATE ${entry.index} is ${certificateTypeName(entry.wCertificateType)}, not PKCS_SIGNED_DATA`;
        continue;
      }
      try {
        const { signatures } = parseAuthenticode(entry.content, { maxSignatures: resolved.maxSignatureCount - summary.signatureCount });
        summary.signatureCount += signatures.length;
        const first = signatures.find((s) => s.error === null);
        summary.digestAlgorithm ??= first?.digestAlgorithm ?? null;
        summary.signerSubject ??= first?.signer?.subject ?? null;
        summary.problem ??= signatures.find((s) => s.error !== null)?.error ?? null;
      } catch (error) {
        summary.problem ??= asKimgError(error, ErrorCode.BAD_SIGNATURE).message;
      }
      if (summary.signatureCount >= resolved.maxSignatureCount) break;
    }
    summary.problem ??= table?.problems.find((p) => p.severity === "error")?.message ?? null;
  } catch (error) {
    summary.problem = asKimgError(error, ErrorCode.BAD_SIGNATURE).message;
  }
  return summary;
}
