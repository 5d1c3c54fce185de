/** The top of the report: what the file is, what went wrong, and the main downloads. */
import { diagnosticParts, findLayer, type Diagnostic, type Layer, type Report } from "../../src/index.js";
import type { AnalysisResult } from "../protocol.js";
import { h, formatBytes, groupDigits } from "./dom.js";

export interface SummaryActions {
  downloadKernel(trim: boolean): void;
  downloadJson(): void;
}

function canTrim(layer: Layer | undefined): boolean {
  const pe = layer?.pe ?? layer?.children.find((c) => c.format === "pe")?.pe;
  return !!pe?.certificateTable && pe.trailingZeroBytes > 0;
}

/** A diagnostic as the CLI prints it, severity and code in bold. */
export function diagnosticItem(d: Diagnostic): HTMLElement {
  const { what, rest } = diagnosticParts(d);
  return h("li", { class: `diag ${d.severity}`, "data-code": d.code }, h("strong", {}, what), rest);
}

export function summarySection(result: AnalysisResult, actions: SummaryActions): HTMLElement {
  const { report, kernelPath } = result;
  const s = report.summary;
  const kernel = kernelPath === null ? undefined : findLayer(report.root, kernelPath);
  const rows: Array<[string, string, string]> = [
    ["name", "file", report.input.name ?? "input"],
    ["size", "size", formatBytes(report.input.size)],
    ["format", "format", s.format],
    ["arch", "arch", s.arch ?? "unknown"],
    ["compression", "compression", s.compression ?? "none"],
    ["kernel", "kernel", s.kernelFormat ? `${s.kernelFormat} at ${s.kernelPath}` : "not reached"],
    ["version", "version", s.linuxVersion ?? "—"],
    ["time", "read in", `${Math.round(result.elapsedMs)} ms, in this tab`],
  ];
  const section = h("section", { class: "card", id: "summary", "aria-labelledby": "summary-title" });
  section.append(h("h2", { id: "summary-title", tabindex: "-1" }, report.input.name ?? "Report"));
  section.append(h("dl", { class: "facts summary" }, ...rows.flatMap(([key, label, value]) => [h("dt", {}, label), h("dd", { "data-key": key }, value)])));

  const trimBox = canTrim(kernel) ? h("input", { type: "checkbox", id: "kernel-trim" }) : null;
  const buttons = h("p", { class: "actions" });
  // A recognised but unsupported format: no "unpacked kernel", as `kimg extract` refuses it too.
  const unsupported = report.diagnostics.find((d) => d.code === "UNSUPPORTED_FORMAT");
  if (kernel && !unsupported) {
    buttons.append(
      h(
        "button",
        { type: "button", class: "primary", id: "download-kernel", onclick: () => actions.downloadKernel(trimBox?.checked ?? false) },
        `Download the unpacked kernel (${kernel.format}, ${groupDigits(kernel.size)} bytes)`,
      ),
    );
  }
  buttons.append(h("button", { type: "button", id: "download-json", onclick: () => actions.downloadJson() }, "Download the JSON report"));
  if (trimBox) buttons.append(h("label", {}, trimBox, " cut after the certificate table (", h("code", {}, "--trim"), ")"));
  section.append(buttons);
  if (unsupported)
    section.append(h("p", { class: "warn" }, `${unsupported.message}. Single layers can still be downloaded below, as kimg extract --layer writes them.`));
  const errors = report.diagnostics.filter((d) => d.severity === "error");
  if (kernel && errors.length)
    section.append(
      h("p", { class: "warn" }, "The kernel was not reached cleanly (see the diagnostics); kimg extract would refuse to write it without --layer."),
    );

  if (report.diagnostics.length) {
    section.append(h("h3", {}, "Diagnostics"));
    section.append(h("ul", { class: "diagnostics" }, ...report.diagnostics.map(diagnosticItem)));
  }
  return section;
}

export function reportJson(report: Report): string {
  return JSON.stringify(report, null, 2) + "\n";
}
