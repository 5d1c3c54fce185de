/**
 * Measured boot (issue 17): the PCR values `kimg pcr` predicts for the file, the same text the CLI
 * prints (PCR 11 of a UKI per profile, phase and bank; PCR 12 events of add-ons; PCR 4 of every PE
 * image), and the JSON `kimg pcr --json` prints as a download.
 */
import { renderMeasureText, type MeasureReport } from "../../src/index.js";
import { h } from "./dom.js";

/** The section, or null when the file has nothing to measure (no PE image). */
export function measureSection(measure: MeasureReport, actions: { downloadJson: () => void }): HTMLElement | null {
  if (measure.images.length === 0 && measure.pcr4.length === 0) return null;
  const ukis = measure.images.length;
  const note =
    ukis > 0
      ? `PCR 11 as systemd-stub and systemd-pcrphase produce it for ${ukis === 1 ? "this UKI" : `these ${ukis} UKI layers`}, and PCR 4 of every PE image.`
      : "PCR 4: the Authenticode sha256 firmware extends when it loads each PE image (no UKI, so no PCR 11).";
  return h(
    "section",
    { class: "card", id: "measure", "aria-labelledby": "measure-title", "data-ukis": String(ukis) },
    h("h2", { id: "measure-title" }, "Measured boot"),
    h("p", { class: "muted" }, note, " The same as ", h("code", {}, "kimg pcr"), "."),
    h("p", {}, h("button", { type: "button", id: "measure-download", onclick: () => actions.downloadJson() }, "Download kimg pcr --json")),
    h("pre", { class: "text-report", id: "measure-text" }, renderMeasureText(measure)),
  );
}
