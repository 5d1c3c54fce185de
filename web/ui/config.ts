/**
 * The kernel's embedded .config (CONFIG_IKCONFIG, issue 16): where it is, the text searchable
 * line by line, and a download of the exact bytes `kimg config FILE` prints.
 */
import { kernelConfigLine, type KernelConfigReport } from "../../src/index.js";
import { h } from "./dom.js";

/** Most matching lines shown at once; the download always has them all. */
const MAX_SHOWN_LINES = 5000;

/** The section: the report's verdict line, and for a present .config a search box, the lines and a download. */
export function configSection(config: KernelConfigReport, text: string | null, actions: { download: () => void }): HTMLElement {
  const title = h("h2", { id: "config-title" }, "Embedded .config");
  const verdict = h("p", { class: config.present ? "" : "muted", id: "config-verdict" }, kernelConfigLine(config));
  const section = h("section", { class: "card", id: "config", "aria-labelledby": "config-title", "data-present": String(config.present) }, title, verdict);
  if (!config.present || text === null) return section;
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const count = h("span", { class: "muted", id: "config-count" });
  const pre = h("pre", { class: "text-report", id: "config-text" });
  const search = h("input", { type: "search", id: "config-search", placeholder: "Search options, e.g. IKCONFIG or =m", "aria-label": "Search the .config" });
  const show = (): void => {
    const q = search.value.trim().toLowerCase();
    const hits = q ? lines.filter((l) => l.toLowerCase().includes(q)) : lines;
    pre.textContent = hits.slice(0, MAX_SHOWN_LINES).join("\n");
    count.textContent = ` ${hits.length} of ${lines.length} lines${hits.length > MAX_SHOWN_LINES ? ` (first ${MAX_SHOWN_LINES} shown)` : ""}`;
  };
  search.addEventListener("input", show);
  show();
  const download = h("button", { type: "button", id: "config-download", onclick: () => actions.download() }, "Download .config");
  section.append(h("p", {}, search, count, " ", download), pre);
  return section;
}
