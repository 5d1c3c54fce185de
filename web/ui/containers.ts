/**
 * The boot containers (issue 15): each FIT with its configurations -> images relation (which
 * kernel, fdt, ramdisk each configuration uses, the default marked) and its images; the header
 * facts of each uImage, Android boot / vendor_boot image and Arm zImage; and what the boot plan
 * took from the container (addresses with their offsets). All from the report `kimg inspect
 * --json` prints and the plan `kimg plan --json` prints.
 */
import { allLayers, type BootPlan, type JsonValue, type Layer, type Report } from "../../src/index.js";
import { h, hex } from "./dom.js";

const CONTAINER_FORMATS = new Set(["fit", "uimage", "android-boot", "android-vendor-boot", "arm-zimage"]);

type Row = Readonly<Record<string, JsonValue>>;

function rows(v: JsonValue | undefined): Row[] {
  return Array.isArray(v) ? v.filter((x): x is Row => typeof x === "object" && x !== null && !Array.isArray(x)) : [];
}

function text(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v)) return v.length ? v.map((x) => text(x)).join(", ") : "—";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function names(v: JsonValue | undefined): string[] {
  if (typeof v === "string") return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function imageRefs(v: JsonValue | undefined): HTMLElement {
  const list = names(v);
  return h("td", {}, ...(list.length ? list.flatMap((n, i) => [i ? ", " : null, h("code", { "data-image": n }, n)]) : ["—"]));
}

/** A FIT: the configurations -> images table, then the images with their addresses, data and hashes. */
function fitBlock(layer: Layer): HTMLElement[] {
  const configurations = rows(layer.info.configurations);
  const images = rows(layer.info.images);
  const roles = ["kernel", "fdt", "ramdisk", "loadables", "firmware"] as const;
  const usedBy = new Map<string, string[]>();
  for (const c of configurations) for (const r of roles) for (const n of names(c[r])) usedBy.set(n, [...(usedBy.get(n) ?? []), `${text(c.name)} (${r})`]);
  const configTable = h(
    "table",
    { class: "fit-configurations", "data-layer": layer.path },
    h("caption", {}, "Configurations → images"),
    h("thead", {}, h("tr", {}, ...["configuration", "description", ...roles].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      ...configurations.map((c) =>
        h(
          "tr",
          { "data-configuration": text(c.name), "data-default": String(c.default === true) },
          h("th", { scope: "row" }, h("code", {}, text(c.name)), c.default === true ? h("span", { class: "badge default-badge" }, " default") : null),
          h("td", {}, text(c.description)),
          ...roles.map((r) => imageRefs(c[r])),
        ),
      ),
    ),
  );
  const hashText = (v: JsonValue | undefined): string =>
    rows(v)
      .map((x) => `${text(x.algo)} ${x.ok === true ? "ok" : x.ok === false ? "MISMATCH" : "not checked"}`)
      .join(", ") || "—";
  const imageTable = h(
    "table",
    { class: "fit-images", "data-layer": layer.path },
    h("caption", {}, "Images"),
    h(
      "thead",
      {},
      h("tr", {}, ...["image", "type", "arch / os", "compression", "load", "entry", "data", "hashes", "used by"].map((c) => h("th", { scope: "col" }, c))),
    ),
    h(
      "tbody",
      {},
      ...images.map((i) =>
        h(
          "tr",
          { "data-image": text(i.name) },
          h("th", { scope: "row" }, h("code", {}, text(i.name))),
          h("td", {}, text(i.type)),
          h("td", {}, `${text(i.arch)} / ${text(i.os)}`),
          h("td", {}, text(i.compression)),
          h("td", {}, text(i.load)),
          h("td", {}, text(i.entry)),
          h("td", {}, typeof i.dataOffset === "number" ? `${text(i.data)} at ${hex(i.dataOffset)}, ${text(i.dataSize)} bytes` : text(i.data)),
          h("td", {}, hashText(i.hashes)),
          h("td", { "data-used-by": "" }, (usedBy.get(text(i.name)) ?? []).join(", ") || "no configuration"),
        ),
      ),
    ),
  );
  return [configTable, imageTable];
}

/** Any other container: its facts (`layer.info`) as the text view prints them. */
function factsBlock(layer: Layer): HTMLElement {
  const entries = Object.entries(layer.info).filter(([, v]) => v !== null && v !== undefined);
  return h(
    "table",
    { class: "container-facts", "data-layer": layer.path },
    h("tbody", {}, ...entries.map(([k, v]) => h("tr", { "data-info": k }, h("th", { scope: "row" }, k), h("td", {}, text(v))))),
  );
}

/** What the plan took from the container: the configuration, the parts, the addresses at their offsets. */
function planBlock(plan: BootPlan): HTMLElement | null {
  const c = plan.container;
  if (!c) return null;
  return h(
    "div",
    { class: "container-plan", "data-layer": c.layer },
    h("h3", {}, "What the boot plan takes from it"),
    c.configuration !== null
      ? h(
          "p",
          {},
          "Planned: configuration ",
          h("code", { "data-planned-configuration": c.configuration }, c.configuration),
          c.otherConfigurations.length ? `; not planned: ${c.otherConfigurations.join(", ")}` : "",
          ".",
        )
      : null,
    h(
      "table",
      { class: "container-addresses" },
      h("caption", {}, "Addresses"),
      h("thead", {}, h("tr", {}, ...["field", "value", "role", "offset"].map((x) => h("th", { scope: "col" }, x)))),
      h(
        "tbody",
        {},
        ...c.addresses.map((a) =>
          h(
            "tr",
            { "data-address": a.name },
            h("th", { scope: "row" }, h("code", {}, a.name)),
            h("td", {}, a.value),
            h("td", {}, a.role),
            h("td", { class: "num" }, a.offset === null ? "—" : hex(a.offset)),
          ),
        ),
      ),
    ),
    h("ul", { class: "plain" }, ...c.parts.map((p) => h("li", { "data-part": p.role }, `${p.role}: ${p.name}${p.layer ? ` (${p.layer})` : ""}`))),
    h("ul", { class: "plain" }, ...c.notes.map((n) => h("li", {}, n))),
  );
}

/** The "Boot containers" card, or null when the image has none. */
export function containersSection(report: Report, plan: BootPlan | null): HTMLElement | null {
  const layers = [...allLayers(report.root)].filter((l) => CONTAINER_FORMATS.has(l.format));
  if (layers.length === 0) return null;
  const section = h("section", { class: "card", id: "containers", "aria-labelledby": "containers-title" });
  section.append(h("h2", { id: "containers-title" }, "Boot containers"));
  for (const layer of layers) {
    const block = h("div", { class: "container", "data-layer": layer.path, "data-format": layer.format });
    block.append(h("h3", {}, h("code", {}, layer.path), " ", layer.title));
    if (layer.format === "fit") block.append(...fitBlock(layer));
    else block.append(factsBlock(layer));
    section.append(block);
  }
  const planned = plan ? planBlock(plan) : null;
  if (planned) section.append(planned);
  return section;
}
