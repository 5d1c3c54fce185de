/** The layer tree and the selected layer's fields, as `kimg inspect` prints them. */
import { layoutRegions, type Field, type JsonValue, type Layer, type Report, type Structure } from "../../src/index.js";
import { h, hex, formatBytes, groupDigits } from "./dom.js";
import { layoutFigure } from "./pictures.js";

export interface LayerActions {
  download(layer: Layer, trim: boolean): void;
}

/** A value as the text view shows it: hex and decimal for numbers, quoted strings. */
export function shownValue(f: Field): string {
  if (typeof f.value === "number") return f.hex && f.value > 9 ? `${f.hex} (${f.value})` : String(f.value);
  if (typeof f.value === "string") return f.hex ? f.hex : JSON.stringify(f.value);
  return String(f.value);
}

function infoValue(v: JsonValue): string | HTMLElement {
  // A list of sentences (generationEvidence) reads best one per line, whole, as in the CLI.
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"))
    return h("ul", { class: "info-list" }, ...v.map((x) => h("li", {}, String(x))));
  const s = typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  return s.length > 300 ? s.slice(0, 300) + "…" : s;
}

function structureTable(s: Structure): HTMLElement {
  const rows = s.fields.map((f) =>
    h(
      "tr",
      { "data-field": f.name },
      h("td", { class: "num" }, hex(f.offset)),
      h("th", { scope: "row" }, f.name),
      h("td", { class: "value" }, shownValue(f)),
      h("td", { class: "meaning" }, f.meaning ?? ""),
    ),
  );
  return h(
    "table",
    { class: "fields", "data-structure": s.name },
    h("caption", {}, `${s.name} `, h("span", { class: "muted" }, `@ ${hex(s.offset)}, ${s.size} bytes`)),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "offset"),
        h("th", { scope: "col" }, "field"),
        h("th", { scope: "col" }, "value"),
        h("th", { scope: "col" }, "meaning"),
      ),
    ),
    h("tbody", {}, ...rows),
  );
}

function canTrim(layer: Layer): boolean {
  const pe = layer.pe ?? layer.children.find((c) => c.format === "pe")?.pe;
  return !!pe?.certificateTable && pe.trailingZeroBytes > 0;
}

function layerPanel(layer: Layer, actions: LayerActions): HTMLElement {
  const where = layer.space === "file" ? `file offset ${hex(layer.offset)}` : `offset ${hex(layer.offset)} in the output of ${layer.space}`;
  const panel = h("div", { class: "layer-panel", id: "layer-panel", "data-layer-path": layer.path });
  panel.append(h("h3", { tabindex: "-1" }, h("code", {}, layer.path), " ", layer.title));
  panel.append(
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "format"),
      h("dd", {}, layer.format),
      h("dt", {}, "arch"),
      h("dd", {}, layer.arch ?? "—"),
      h("dt", {}, "where"),
      h("dd", {}, where),
      h("dt", {}, "size"),
      h("dd", {}, formatBytes(layer.size)),
    ),
  );
  const trimBox = canTrim(layer) ? h("input", { type: "checkbox", id: "layer-trim" }) : null;
  panel.append(
    h(
      "p",
      { class: "actions" },
      h(
        "button",
        { type: "button", "data-download-layer": layer.path, onclick: () => actions.download(layer, trimBox?.checked ?? false) },
        `Download ${layer.path === "/" ? "the whole file" : "this layer"} (${groupDigits(layer.size)} bytes)`,
      ),
      trimBox ? h("label", {}, trimBox, " cut after the certificate table (", h("code", {}, "--trim"), ")") : null,
    ),
  );
  const info = Object.entries(layer.info).filter(([, v]) => v !== null && v !== undefined);
  if (info.length) {
    panel.append(h("h4", {}, "Facts"));
    panel.append(
      h(
        "table",
        { class: "info" },
        h("tbody", {}, ...info.map(([k, v]) => h("tr", { "data-info": k }, h("th", { scope: "row" }, k), h("td", {}, infoValue(v))))),
      ),
    );
  }
  if (layoutRegions(layer).length) {
    panel.append(h("h4", {}, "Layout"));
    panel.append(layoutFigure(layer));
  }
  if (layer.structures.length) {
    panel.append(h("h4", {}, "Structures"));
    for (const s of layer.structures) panel.append(structureTable(s));
  }
  return panel;
}

function treeList(layer: Layer, select: (l: Layer) => void, kernelPath: string | null): HTMLElement {
  const name = layer.path === "/" ? "/" : layer.path.slice(layer.path.lastIndexOf("/") + 1);
  const button = h(
    "button",
    { type: "button", class: "tree-item", "data-layer-path": layer.path, onclick: () => select(layer), title: layer.path },
    h("span", { class: "name" }, name),
    h("span", { class: `fmt fmt-${layer.format}` }, layer.format),
    layer.path === kernelPath ? h("span", { class: "kernel-flag" }, "kernel") : null,
  );
  const li = h("li", {}, button);
  if (layer.children.length) li.append(h("ul", {}, ...layer.children.map((c) => treeList(c, select, kernelPath))));
  return li;
}

export function layersSection(report: Report, kernelPath: string | null, actions: LayerActions): HTMLElement {
  const section = h("section", { class: "card", id: "layers", "aria-labelledby": "layers-title" });
  section.append(h("h2", { id: "layers-title" }, "Layers"));
  section.append(
    h(
      "p",
      { class: "muted" },
      "Every layer with its fields and offsets. Offsets count in the layer's space: the file, or the decompressed output that holds it.",
    ),
  );
  const body = h("div", { class: "layers-body" });
  let panel: HTMLElement = h("div");
  const select = (layer: Layer): void => {
    const next = layerPanel(layer, actions);
    panel.replaceWith(next);
    panel = next;
    for (const b of section.querySelectorAll<HTMLButtonElement>(".tree-item")) {
      if (b.dataset.layerPath === layer.path) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
  };
  const nav = h("nav", { class: "tree", "aria-label": "Layer tree" }, h("ul", {}, treeList(report.root, select, kernelPath)));
  body.append(nav, panel);
  section.append(body);
  select(report.root);
  return section;
}
