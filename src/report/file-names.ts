/**
 * File names for layers, shared by `kimg extract --all` and the web page's downloads, so a
 * downloaded layer is named like an extracted one.
 */
import { isCodecName, type CodecName } from "../codecs/types.js";
import type { Layer, LayerFormat } from "../model/report.js";

const CODEC_EXTENSIONS: Readonly<Record<CodecName, string>> = { gzip: ".gz", zstd: ".zst", xz: ".xz", lzma: ".lzma", lz4: ".lz4", lzo: ".lzo", bzip2: ".bz2" };
const FORMAT_EXTENSIONS: Readonly<Record<Exclude<LayerFormat, "compressed">, string>> = {
  zboot: ".efi",
  uki: ".efi",
  pe: ".efi",
  "arm64-image": ".Image",
  "riscv-image": ".Image",
  "loongarch-image": ".efi",
  bzimage: ".bzImage",
  "arm-zimage": ".zImage",
  "s390-image": ".image",
  "raw-kernel": ".bin",
  elf: ".elf",
  cpio: ".cpio",
  dtb: ".dtb",
  fit: ".itb",
  text: ".txt",
  data: ".bin",
  // Android boot images (issue 15)
  "android-boot": ".img",
  "android-vendor-boot": ".img",
  "android-dtbo": ".dtbo",
  uimage: ".uImage",
  // UKI add-ons (issue 17, measured boot)
  "uki-addon": ".efi",
  // Initramfs archives (issue 16)
  initramfs: ".initramfs.img",
};

/** The file extension for a layer's bytes: by format, or by codec for a compressed layer (".efi", ".gz", ".bin", ...). */
export function extensionFor(layer: Pick<Layer, "format" | "info">): string {
  if (layer.format === "compressed") return isCodecName(layer.info.codec) ? CODEC_EXTENSIONS[layer.info.codec] : ".bin";
  return FORMAT_EXTENSIONS[layer.format] ?? ".bin";
}

/**
 * A file name for a layer path: "/payload/decompressed" becomes "payload.decompressed", "/.linux"
 * becomes "linux". Only [A-Za-z0-9._#-] survive and the name never starts with ".", so whatever
 * names an image holds, the file stays inside the folder it is written to.
 */
export function safeLayerFileName(layerPath: string, extension: string): string {
  const segments = layerPath
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => s.replace(/^\.+/, ""));
  let body = segments
    .join(".")
    .replace(/[^A-Za-z0-9._#-]/g, "_")
    .replace(/^\.+/, "")
    .slice(0, 200);
  if (body === "") body = "root";
  return `${body}${extension}`;
}

/** The file name `kimg extract --all` gives a layer: its path flattened, plus its extension ("payload.decompressed.Image"). */
export function layerFileName(layer: Pick<Layer, "path" | "format" | "info">): string {
  return safeLayerFileName(layer.path, extensionFor(layer));
}
