/** The PE images of a layer tree: what Authenticode digests and signatures are computed over. */
import { findLayer, type Tree } from "../analysis/tree.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { Layer, LayerFormat, PeInfo } from "../model/report.js";

export interface PeLayer {
  layer: Layer & { pe: PeInfo };
  /** Format of the image the PE view belongs to ("pe" for a plain PE file). */
  format: LayerFormat;
  bytes: Uint8Array;
}

/** Every PE image of the tree, outermost first. */
export function peLayers(tree: Tree): PeLayer[] {
  const out: PeLayer[] = [];
  const visit = (layer: Layer, parent: Layer | null): void => {
    const bytes = tree.bytes.get(layer.path);
    if (layer.format === "pe" && layer.pe && bytes) out.push({ layer: layer as Layer & { pe: PeInfo }, format: parent?.format ?? "pe", bytes });
    for (const child of layer.children) visit(child, layer);
  };
  visit(tree.root, null);
  return out;
}

/** The PE layer a user means by `path`: a PE layer itself, or an image whose "pe" child it is. */
export function selectPeLayer(tree: Tree, path: string): PeLayer {
  const all = peLayers(tree);
  const target = findLayer(tree.root, path);
  const found = target && (all.find((p) => p.layer.path === target.path) ?? all.find((p) => target.children.some((c) => c.path === p.layer.path)));
  if (!found) {
    const known = all.map((p) => p.layer.path).join(", ") || "none";
    throw new KimgError(ErrorCode.NO_SUCH_LAYER, `no PE image at layer "${path}" (PE layers: ${known})`, { structure: "layer tree" });
  }
  return found;
}
