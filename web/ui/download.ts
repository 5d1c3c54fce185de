/** Saving bytes the browser already holds: a Blob URL and a click, nothing leaves the machine. */
import { extensionFor, layerFileName as extractName, type Layer } from "../../src/index.js";

/** "vmlinuz" + "/payload/decompressed" -> "vmlinuz.payload.decompressed.Image". */
export function layerFileName(inputName: string, layer: Pick<Layer, "path" | "format" | "info">): string {
  const base = inputName.replace(/[^\w.+-]+/g, "_") || "image";
  return layer.path === "/" ? `${base}${extensionFor(layer)}` : `${base}.${extractName(layer)}`;
}

export function saveFile(data: BlobPart, fileName: string, type = "application/octet-stream"): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own reference by now; the URL only holds memory.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
