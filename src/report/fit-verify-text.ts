/** The FIT part of `kimg verify`'s text view: every hash node and signature node with its verdict, and the keys given. */
import { hex } from "../io/layout.js";
import type { FitSignatureVerdict, FitVerifyReport } from "../model/fit-verify.js";

const at = (offset: number | null): string => (offset === null ? "" : ` at ${hex(offset)}`);

function signatureLines(s: FitSignatureVerdict): string[] {
  const status = s.status === "verified" ? `VERIFIED with ${s.key}` : s.status === "no-key" ? "NOT CHECKED (no key)" : "FAILED";
  const lines = [`  signature ${s.path}: ${status}`];
  const padding = s.algo?.includes("rsa") ? `, padding ${s.padding}` : "";
  lines.push(`     algo:      ${s.algo ?? "(none)"}${padding}; key-name-hint ${s.keyNameHint ?? "(none)"}; value ${s.valueLength} bytes${at(s.valueOffset)}`);
  if (s.signedBytes > 0) {
    const what =
      s.kind === "image"
        ? `the image data, ${s.signedBytes} bytes${at(s.regions[0]?.[0] ?? null)}`
        : `${s.regions.length} regions of the tree, ${s.signedBytes} bytes (${s.regions.map(([o, n]) => `${hex(o)}+${hex(n)}`).join(", ")})`;
    lines.push(`     signs:     ${what}`);
  }
  for (const r of s.reasons) lines.push(`     why:       ${r}`);
  return lines;
}

/** The lines `kimg verify` prints for the FITs of the file. */
export function renderFitVerifyLines(fit: FitVerifyReport): string[] {
  const lines: string[] = [];
  for (const f of fit.fits) {
    lines.push(
      `${f.layer} (fit): ${f.hashes.length} hash node${f.hashes.length === 1 ? "" : "s"}, ${f.signatures.length} signature node${f.signatures.length === 1 ? "" : "s"}${f.defaultConfiguration ? `; default configuration ${f.defaultConfiguration}` : ""}`,
    );
    for (const h of f.hashes) {
      const verdict = h.status === "ok" ? "OK" : `FAILED (${h.reason})`;
      lines.push(`  hash ${h.path}: ${h.algo ?? "(no algo)"} ${h.value ?? "(no value)"}${at(h.offset)}: ${verdict}`);
    }
    for (const s of f.signatures) lines.push(...signatureLines(s));
  }
  for (const k of fit.keys) {
    const required = k.required
      ? `required for ${k.required === "image" ? "images" : "configurations"}${k.requirementMet === false ? " (NOT MET)" : ""}`
      : "optional";
    lines.push(`key ${k.name}: ${k.key}, ${required}, from ${k.source}; verified ${k.verified.length ? k.verified.join(", ") : "nothing"}`);
  }
  return lines;
}
