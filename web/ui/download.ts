/** Saving bytes the browser already holds: a Blob URL and a click, nothing leaves the machine. */
import type { Layer } from "../../src/index.js";

/** The extensions `kimg extract --all` uses, so downloaded files look like extracted ones. */
const CODEC_EXTENSIONS: Readonly<Record<string, string>> = { gzip: ".gz", zstd: ".zst", xz: ".xz", lzma: ".lzma", lz4: ".lz4", lzo: ".lzo", bzip2: ".bz2" };
const FORMAT_EXTENSIONS: Readonly<Record<string, string>> = {
  zboot: ".efi",
  uki: ".efi",
  pe: ".efi",
  "arm64-image": ".Image",
  "riscv-image": ".Image",
  "loongarch-image": ".efi",
  bzimage: ".bzImage",
  elf: ".elf",
  cpio: ".cpio",
  dtb: ".dtb",
  text: ".txt",
  data: ".bin",
};

export function extensionFor(layer: Pick<Layer, "format" | "info">): string {
  if (layer.format === "compressed") return CODEC_EXTENSIONS[String(layer.info.codec)] ?? ".bin";
  return FORMAT_EXTENSIONS[layer.format] ?? ".bin";
}

/** "vmlinuz" + "/payload/decompressed" -> "vmlinuz.payload.decompressed.Image". */
export function layerFileName(inputName: string, layer: Pick<Layer, "path" | "format" | "info">): string {
  const base = inputName.replace(/[^\w.+-]+/g, "_") || "image";
  const slug = layer.path === "/" ? "" : "." + layer.path.slice(1).replace(/[^\w.+-]+/g, ".").replace(/^\.+|\.+$/g, "");
  return `${base}${slug}${extensionFor(layer)}`;
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
