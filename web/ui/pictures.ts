/** The two pictures: the byte layout of a layer and the memory map at boot, with hover details. */
import {
  layerProtectionChecks,
  layoutRegions,
  layoutSvg,
  memoryMapFromElf,
  memoryMapFromPe,
  memoryMapSvg,
  memoryMapsFromPlan,
  peViewOf,
  STATUS_MARK,
  type BootPlan,
  type Layer,
  type MemoryMap,
  type Report,
} from "../../src/index.js";
import { h, hex, svgElement } from "./dom.js";

/** Headers smaller than this share of the layer get a close-up of their own. */
const CLOSE_UP_SHARE = 0.05;

/** Shows the hovered or focused region's <title> under the picture, for mouse and keyboard alike. */
export function withHoverDetail(figure: HTMLElement, idle: string): void {
  const detail = h("p", { class: "hover-detail", "aria-live": "polite" }, idle);
  figure.append(detail);
  const show = (event: Event): void => {
    const target = (event.target as Element | null)?.closest("[data-kind], [data-check], [data-mark]");
    const title = target?.querySelector(":scope > title")?.textContent;
    if (title) detail.textContent = title;
  };
  figure.addEventListener("mouseover", show);
  figure.addEventListener("focusin", show);
}

function regionsTable(layer: Layer): HTMLElement {
  const rows = layoutRegions(layer).map((r) =>
    h(
      "tr",
      {},
      h("td", {}, r.lane),
      h("td", {}, r.name),
      h("td", { class: "num" }, hex(layer.offset + r.offset)),
      h("td", { class: "num" }, hex(r.size)),
      h("td", {}, r.perms ?? ""),
      h("td", {}, r.detail),
    ),
  );
  return h(
    "details",
    { class: "as-table" },
    h("summary", {}, "The same regions as a table"),
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, ...["lane", "name", "offset", "size", "perms", "detail"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...rows),
    ),
  );
}

function headersEnd(layer: Layer): number {
  let end = 0;
  for (const r of layoutRegions(layer)) if (r.kind === "header" && r.offset < layer.size / 2) end = Math.max(end, r.offset + r.size);
  return Math.ceil(end / 0x1000) * 0x1000;
}

export function layoutFigure(layer: Layer): HTMLElement {
  const figure = h("figure", { class: "picture layout", "data-layer": layer.path });
  figure.append(h("figcaption", {}, `${layer.path}: ${layer.title} — ${hex(layer.size)} bytes, drawn to scale`));
  figure.append(svgElement(layoutSvg(layer)));
  const end = headersEnd(layer);
  if (end > 0 && end < layer.size * CLOSE_UP_SHARE) {
    figure.append(h("p", { class: "sub" }, `Close-up of the headers, ${hex(layer.offset)} to ${hex(layer.offset + end)}:`));
    figure.append(svgElement(layoutSvg(layer, { end, title: `Close-up of the headers of ${layer.path}: ${hex(layer.offset)} to ${hex(layer.offset + end)}` })));
  }
  withHoverDetail(figure, "Hover over or focus (Tab) a region for its details.");
  figure.append(regionsTable(layer));
  return figure;
}

/**
 * Maps from the boot plan when there is one, plus the program headers of an ELF vmlinux the
 * plan does not load itself (inside a bzImage the decompressor places it). Without a plan:
 * every PE and ELF header in the report.
 */
export function memoryMaps(report: Report, plan: BootPlan | null): MemoryMap[] {
  const maps = plan ? memoryMapsFromPlan(plan, report) : [];
  const seen = new Set(maps.map((m) => m.path));
  const visit = (layer: Layer): void => {
    const found = peViewOf(layer);
    if (!plan && found && !seen.has(found.view.path)) {
      seen.add(found.view.path);
      maps.push(memoryMapFromPe(found.pe, found.view.path, layerProtectionChecks(found.view)));
    }
    // With a plan, its protection map already covers the ELF a bzImage carries, with the plan's checks.
    const elf = plan || seen.has(layer.path) || layer.format !== "elf" ? null : memoryMapFromElf(layer, layerProtectionChecks(layer));
    if (elf) maps.push(elf);
    layer.children.forEach(visit);
  };
  visit(report.root);
  return maps;
}

export function memoryFigure(map: MemoryMap): HTMLElement {
  const figure = h("figure", { class: "picture memory", "data-layer": map.path });
  figure.append(h("figcaption", {}, map.title));
  figure.append(svgElement(memoryMapSvg(map)));
  withHoverDetail(figure, "Hover over or focus a region, a mark or a badge for its details.");
  const items = map.checks.map((c) =>
    h(
      "li",
      { class: `check ${c.status}`, "data-check": c.id },
      h("span", { class: "mark", "aria-hidden": "true" }, STATUS_MARK[c.status]),
      h("strong", {}, `${c.label}: ${c.status}.`),
      ` ${c.detail}`,
    ),
  );
  if (items.length) figure.append(h("ul", { class: "checks" }, ...items));
  return figure;
}
