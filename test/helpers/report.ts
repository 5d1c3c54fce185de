/** Shared test helpers: build-and-inspect, and finding layers and diagnostics in reports. */
import { analyse, inspect, type InspectOptions } from "../../src/api/index.js";
import { findLayer } from "../../src/analysis/tree.js";
import type { Layer, Report, Structure } from "../../src/model/report.js";

export { analyse, inspect, findLayer };

export function layerAt(report: Report, path: string): Layer {
  const l = findLayer(report.root, path);
  if (!l) throw new Error(`no layer ${path}; have: ${paths(report.root).join(", ")}`);
  return l;
}

export function paths(root: Layer): string[] {
  return [root.path, ...root.children.flatMap(paths)];
}

export function structure(layer: Layer, name: string): Structure {
  const s = layer.structures.find((x) => x.name === name || x.name.startsWith(name));
  if (!s) throw new Error(`no structure ${name} in ${layer.path}; have: ${layer.structures.map((x) => x.name).join(", ")}`);
  return s;
}

export function field(layer: Layer, structureName: string, fieldName: string) {
  const f = structure(layer, structureName).fields.find((x) => x.name === fieldName);
  if (!f) throw new Error(`no field ${fieldName} in ${structureName}`);
  return f;
}

export function codes(report: Report): string[] {
  return report.diagnostics.map((d) => d.code);
}

export async function inspectBytes(bytes: Uint8Array, options: InspectOptions = {}): Promise<Report> {
  return inspect(bytes, options);
}
