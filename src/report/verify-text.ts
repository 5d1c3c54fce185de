/** The text view of a signature report: every PE image's digests, each signature's verdict, the verdict line. */
import { hex } from "../io/layout.js";
import type { CertificateFacts, VerifyReport, VerifySignature } from "../signatures/types.js";
import { diagnosticLine } from "./diagnostic.js";
import { renderFitVerifyLines } from "./fit-verify-text.js";
import { renderSecureBootText } from "./policy-text.js";

function yesNo(value: boolean | null, yes: string, no: string, unknown: string): string {
  return value === null ? unknown : value ? yes : no;
}

function certLine(c: CertificateFacts): string {
  return `${c.subject} (issuer ${c.issuer}; serial ${c.serial}; ${c.notBefore.slice(0, 10)} to ${c.notAfter.slice(0, 10)}; ${c.key})`;
}

function renderSignature(s: VerifySignature): string[] {
  const lines: string[] = [];
  const what = s.nested ? `nested signature (in #${s.parent ?? "?"})` : "signature";
  const status = s.status === "verified" ? "VERIFIED" : s.status === "intact" ? "INTACT (trust not checked)" : "FAILED";
  lines.push(`  #${s.index} ${what} in WIN_CERTIFICATE ${s.entryIndex} at ${hex(s.entryOffset)}: ${status}`);
  if (s.signer) lines.push(`     signer:      ${certLine(s.signer)}`);
  for (const c of s.certificates) if (!s.signer || c.serial !== s.signer.serial || c.issuer !== s.signer.issuer) lines.push(`     certificate: ${certLine(c)}`);
  if (s.digest) lines.push(`     digest:      ${s.digestAlgorithm} ${s.digest} (${s.digestMatches ? "matches the image" : "does NOT match the image"})`);
  lines.push(
    `     signature:   ${s.signatureValid ? "valid" : "INVALID"}${s.signingTime ? `, signed ${s.signingTime}` : ""}${s.timestamped ? ", timestamped (not checked)" : ""}`,
  );
  lines.push(
    `     chain:       ${yesNo(s.chainValid, `reaches a given certificate: ${s.chainPath.join(", issued by ")}`, "does NOT reach a given certificate", "not checked (no --cert)")}`,
  );
  for (const r of s.reasons) lines.push(`     why:         ${r}`);
  return lines;
}

/** The text view of a signature report, as `kimg verify` prints it. */
export function renderVerifyText(report: VerifyReport): string {
  const lines: string[] = [];
  for (const layer of report.layers) {
    const sigs = report.signatures.filter((s) => s.layer === layer.path);
    lines.push(`${layer.path} (${layer.format}): ${layer.signed ? `signed, ${sigs.length} signature${sigs.length === 1 ? "" : "s"}` : "not signed"}`);
    for (const [alg, value] of Object.entries(layer.digest))
      lines.push(`  Authenticode ${alg}: ${value}${layer.trimmed ? " (image cut at the end of its certificate table)" : ""}`);
    if (layer.paddingNote) lines.push(`  note: ${layer.paddingNote}`);
    for (const s of sigs) lines.push(...renderSignature(s));
  }
  if (report.fit) lines.push(...renderFitVerifyLines(report.fit));
  // The verdict line says "not signed" / "no PE image" itself; the diagnostics stay in --json for scripts.
  for (const d of report.diagnostics.filter((d) => d.code !== "NOT_SIGNED" && d.code !== "NO_PE_IMAGE")) lines.push(diagnosticLine(d));
  if (report.trusted.length) lines.push(`trusted: ${report.trusted.join("; ")}`);
  lines.push(report.verdictLine);
  if (report.secureBoot) lines.push(...renderSecureBootText(report.secureBoot)); // issue 17: the Secure Boot verdict is the last line
  return lines.join("\n") + "\n";
}
