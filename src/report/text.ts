/** The text view of a report: a pure function of the report, as the web page is. */
import type { Field, Layer, Report, Structure } from "../model/report.js";
import { kernelConfigLine } from "./config-text.js";
import { diagnosticLine } from "./diagnostic.js";
// Initramfs archives (issue 16)
import { archiveLines } from "./archive-text.js";

export interface TextOptions {
  /** Show every field of every structure (default); false shows the layer tree and key facts only. */
  fields?: boolean;
}

function hexOffset(n: number): string {
  return "0x" + n.toString(16).padStart(6, "0");
}

function fieldLine(f: Field, indent: string): string {
  const value = typeof f.value === "string" ? `"${f.value}"` : String(f.value);
  const shown = f.hex && typeof f.value === "number" && f.value > 9 ? `${f.hex} (${f.value})` : f.hex && typeof f.value !== "number" ? f.hex : value;
  const meaning = f.meaning ? `  ${f.meaning}` : "";
  return `${indent}${hexOffset(f.offset)}  ${f.name.padEnd(28)} ${shown}${meaning}`;
}

function structureLines(s: Structure, indent: string): string[] {
  const lines = [`${indent}${s.name} @ ${hexOffset(s.offset)} (${s.size} bytes)`];
  for (const f of s.fields) lines.push(fieldLine(f, indent + "  "));
  return lines;
}

const INFO_KEYS_HIDDEN = new Set(["segments", "sections"]);

function infoLines(layer: Layer, indent: string): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(layer.info)) {
    if (INFO_KEYS_HIDDEN.has(key) || value === null || value === undefined) continue;
    // A list of sentences (generationEvidence) reads best one per line, whole.
    if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) {
      lines.push(`${indent}${key}:`, ...value.map((v) => `${indent}  - ${String(v)}`));
      continue;
    }
    const shown = typeof value === "object" ? JSON.stringify(value) : String(value);
    lines.push(`${indent}${key}: ${shown.length > 200 ? shown.slice(0, 200) + "…" : shown}`);
  }
  return lines;
}

function layerLines(layer: Layer, depth: number, options: TextOptions): string[] {
  const indent = "  ".repeat(depth);
  const where = layer.space === "file" ? `file ${hexOffset(layer.offset)}` : `in ${layer.space} (decompressed) ${hexOffset(layer.offset)}`;
  const lines = [`${indent}${layer.path}  ${layer.title}`, `${indent}  [${layer.format}${layer.arch ? ", " + layer.arch : ""}; ${where}, ${layer.size} bytes]`];
  lines.push(...infoLines(layer, indent + "  "));
  if (options.fields !== false) for (const s of layer.structures) lines.push(...structureLines(s, indent + "  "));
  if (layer.archive) lines.push(...archiveLines(layer.archive, indent + "  "));
  for (const c of layer.children) lines.push("", ...layerLines(c, depth + 1, options));
  return lines;
}

/** A few lines on how the kernel is entered and whether its protections hold; `kimg plan` has the rest. */
function planSummary(report: Report): string[] {
  const p = report.plan;
  if (!p) return [];
  const hx = (n: number): string => "0x" + n.toString(16);
  const lines = [`boot (kimg plan for addresses and registers):`];
  lines.push(
    `  kernel ${p.kernel.path} (${p.kernel.format}), entry at image offset ${p.entry.offset >= 0 ? hx(p.entry.offset) : "n/a"}${p.entry.branchTarget !== null ? `, header branch to ${hx(p.entry.branchTarget)}` : ""}`,
  );
  for (const i of p.entry.instructions) lines.push(`    ${hx(i.offset).padStart(10)}: ${i.encoding}  ${i.text}`);
  const failed = p.checks.filter((c) => !c.ok);
  const info = p.checks.filter((c) => c.ok && c.info).length;
  lines.push(
    `  checks: ${p.checks.length - failed.length - info} of ${p.checks.length} pass${info ? `, ${info} for information` : ""}${failed.length ? "; failed: " + failed.map((c) => `${c.id}${c.layer ? ` [${c.layer}]` : ""}`).join(", ") : ""}`,
  );
  return lines;
}

/** The text view of a report (what `kimg inspect` prints): the summary, the layer tree with every field and its offset, the plan and the diagnostics. */
export function renderText(report: Report, options: TextOptions = {}): string {
  const s = report.summary;
  const lines = [
    `${report.input.name ?? "input"}: ${report.input.size} bytes`,
    `  format       ${s.format}`,
    `  arch         ${s.arch ?? "unknown"}`,
    `  compression  ${s.compression ?? "none"}`,
    `  kernel       ${s.kernelFormat ?? "not reached"}${s.kernelPath ? ` at ${s.kernelPath}` : ""}`,
  ];
  if (s.linuxVersion) lines.push(`  version      ${s.linuxVersion}`);
  if (report.kernelConfig) lines.push(`  .config      ${kernelConfigLine(report.kernelConfig)}`);
  lines.push("", ...layerLines(report.root, 0, options));
  if (report.plan) lines.push("", ...planSummary(report));
  if (report.diagnostics.length) {
    lines.push("", "diagnostics:");
    for (const d of report.diagnostics) lines.push(`  ${diagnosticLine(d, 7)}`);
  }
  return lines.join("\n") + "\n";
}
