/**
 * The archives section (issue 16): every cpio archive of the image (an initramfs segment, a UKI's
 * .initrd, a ramdisk, a built-in initramfs) listed entry by entry, with a filter and a download
 * for each regular file. A file's bytes are sliced from its archive layer's bytes, which the
 * worker already holds: nothing leaves the machine.
 */
import { allLayers, type ArchiveEntry, type Layer, type Report } from "../../src/index.js";
import { formatBytes, h, hex } from "./dom.js";

export interface ArchiveActions {
  /** Saves one regular file of the archive in `layer`. */
  downloadEntry(layer: Layer, entry: ArchiveEntry): void;
}

/** Rows shown per archive before the filter narrows them (a large initramfs has thousands). */
const MAX_ROWS = 5000;

function when(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().slice(0, 19).replace("T", " ");
}

function entryRow(layer: Layer, e: ArchiveEntry, actions: ArchiveActions): HTMLTableRowElement {
  const size = e.type === "char" || e.type === "block" ? `${e.rdevMajor},${e.rdevMinor}` : String(e.size);
  return h(
    "tr",
    { "data-name": e.name.toLowerCase() },
    h("td", { class: "mono" }, hex(e.offset)),
    h("td", { class: "mono" }, e.modeText),
    h("td", { class: "num" }, `${e.uid}/${e.gid}`),
    h("td", { class: "num" }, size),
    h("td", { class: "mono" }, when(e.mtime)),
    h("td", { class: "mono" }, e.name, e.target !== undefined ? ` → ${e.target}` : ""),
    h(
      "td",
      {},
      e.type === "file"
        ? h("button", { type: "button", class: "small", onclick: () => actions.downloadEntry(layer, e), title: `save ${e.name}` }, "Download")
        : null,
    ),
  );
}

function archiveBlock(layer: Layer, actions: ArchiveActions): HTMLElement {
  const a = layer.archive;
  if (!a) return h("div");
  const files = a.entries.filter((e) => e.type === "file");
  const rows = a.entries.slice(0, MAX_ROWS).map((e) => entryRow(layer, e, actions));
  const body = h("tbody", {}, ...rows);
  const filter = h("input", {
    type: "search",
    placeholder: "filter by name",
    "aria-label": `filter the entries of ${layer.path}`,
    oninput: (event: Event) => {
      const q = (event.target as HTMLInputElement).value.toLowerCase();
      for (const r of rows) r.hidden = q !== "" && !(r.dataset.name ?? "").includes(q);
    },
  });
  return h(
    "details",
    { class: "archive", open: true },
    h(
      "summary",
      {},
      `${layer.path}: ${a.format} cpio, ${a.entries.length} entries, ${files.length} files (${formatBytes(files.reduce((n, e) => n + e.size, 0))})${a.incomplete ? ", incomplete" : ""}`,
    ),
    filter,
    a.entries.length > MAX_ROWS ? h("p", { class: "muted" }, `The first ${MAX_ROWS} entries are shown; kimg inspect --json lists all.`) : null,
    h(
      "table",
      { class: "archive-entries" },
      h("thead", {}, h("tr", {}, ...["offset", "mode", "uid/gid", "size", "mtime (UTC)", "name", ""].map((t) => h("th", {}, t)))),
      body,
    ),
  );
}

/** The section, or null when the image holds no archive. */
export function archivesSection(report: Report, actions: ArchiveActions): HTMLElement | null {
  const layers = [...allLayers(report.root)].filter((l) => l.archive);
  if (layers.length === 0) return null;
  return h(
    "section",
    { class: "card", id: "archives", "aria-labelledby": "archives-title" },
    h("h2", { id: "archives-title" }, "Initramfs archives"),
    h("p", { class: "muted" }, "Every cpio archive in the file, entry by entry, as kimg inspect lists them; regular files can be saved one by one."),
    ...layers.map((l) => archiveBlock(l, actions)),
  );
}
