/** The text view of a measured-boot report, as `kimg pcr` prints it: per UKI and profile, the sections measured and PCR 11 per phase and bank; .pcrsig, .pcrpkey, add-ons, PCR 4. */
import { hex } from "../io/layout.js";
import type { MeasuredImage, MeasureReport } from "../measure/types.js";
import { diagnosticLine } from "./diagnostic.js";

function renderImage(image: MeasuredImage, lines: string[]): void {
  const what = image.kind === "uki-addon" ? "UKI add-on" : "UKI";
  lines.push(`${image.layer} (${what}): ${image.loaderInfo ?? "no .sdmagic"}`);
  if (image.kind === "uki")
    lines.push(
      `  measured sections: those systemd ${image.sectionsOf} measures${image.notMeasured.length ? `; present but not measured: ${image.notMeasured.join(" ")}` : ""}`,
    );
  for (const p of image.profiles) {
    if (p.profile !== null) lines.push(`  profile @${p.profile}${p.profileId ? ` (ID=${p.profileId})` : ""}:`);
    const indent = p.profile === null ? "  " : "    ";
    lines.push(`${indent}PCR 11 measurements, in order (name, then contents):`);
    for (const s of p.sections) {
      const extra = `${s.zeroFill ? `, ${s.zeroFill} zero bytes after the file data` : ""}${s.fromProfile !== null ? `, from profile @${s.fromProfile}` : ""}`;
      lines.push(
        `${indent}  ${s.name.padEnd(9)} ${String(s.size).padStart(10)} bytes at ${hex(s.offset)}${extra}  sha256 ${s.digest.sha256 ?? Object.values(s.digest)[0] ?? ""}`,
      );
    }
    for (const ph of p.phases) {
      lines.push(`${indent}# PCR[11] phase <${ph.phase}>`);
      for (const [bank, value] of Object.entries(ph.values)) lines.push(`${indent}11:${bank}=${value}`);
    }
  }
  for (const a of image.addon) {
    lines.push(`  PCR 12 event: ${a.section} ${a.size} bytes at ${hex(a.offset)}${a.text !== null ? ` "${a.text}" (measured as UTF-16)` : ""}`);
    for (const [bank, value] of Object.entries(a.digest)) lines.push(`    ${bank} ${value}`);
  }
  if (image.pcrpkey) lines.push(`  .pcrpkey: ${image.pcrpkey.algorithm} public key, SHA-256 fingerprint ${image.pcrpkey.fingerprint}`);
  const signatures = [
    ...(image.pcrsig ? [{ what: ".pcrsig", sig: image.pcrsig }] : []),
    ...image.profiles.flatMap((p) => (p.pcrsig ? [{ what: `.pcrsig of profile @${p.profile}`, sig: p.pcrsig }] : [])),
  ];
  for (const { what, sig } of signatures) {
    lines.push(`  ${what}: ${sig.entries.length} entries, ${sig.unmatched} matching no predicted phase`);
    for (const e of sig.entries) {
      const match = e.matches
        ? `matches ${e.matches.profile === null ? "" : `profile @${e.matches.profile} `}phase <${e.matches.phase}>`
        : "matches NO predicted phase";
      const key = e.pkfpMatches === null ? "" : e.pkfpMatches ? ", signed by the .pcrpkey key" : ", signed by ANOTHER key than .pcrpkey";
      lines.push(`    ${e.bank}[${e.index}] pcrs ${e.pcrs.join(",")} pol ${e.pol ?? "?"}: ${match}${key}`);
    }
  }
}

/** The text view of a measured-boot report. */
export function renderMeasureText(report: MeasureReport): string {
  const lines: string[] = [];
  for (const image of report.images) renderImage(image, lines);
  if (report.images.length === 0) lines.push("no UKI or UKI add-on: no PCR 11/12 prediction");
  lines.push("PCR 4 (Authenticode sha256 of each PE image, extended by the firmware when it loads it):");
  for (const p of report.pcr4)
    lines.push(
      `  ${p.sha256 ?? `not computed: ${p.problem ?? "?"}`}  ${p.layer} (${p.format}${p.loadedByFirmware ? ", loaded by the firmware" : ", inner image"})`,
    );
  if (report.pcr4.length === 0) lines.push("  no PE image");
  for (const d of report.diagnostics) lines.push(diagnosticLine(d));
  return lines.join("\n") + "\n";
}
