/**
 * Legacy U-Boot images (uImage) built field by field as `mkimage` writes them (U-Boot
 * include/image.h, tools/default_image.c), for seeds and tests that must not need u-boot-tools.
 * The tests of the format itself use the real mkimage (test/uimage.test.ts).
 */
import { crc32 } from "../../src/codecs/checksums.js";
import { IH_MAGIC, uimageHeaderCrc } from "../../src/formats/uimage.js";

export interface UImageSpec {
  /** IH_OS_* (default 5, Linux). */
  os?: number;
  /** IH_ARCH_* (default 22, arm64). */
  arch?: number;
  /** IH_TYPE_* (default 2, kernel; 4 = multi). */
  type?: number;
  /** IH_COMP_* (default 0, none). */
  comp?: number;
  load?: number;
  entry?: number;
  time?: number;
  name?: string;
  /** The data; for a multi-file image (type 4), each part. */
  parts: Uint8Array[];
}

export function buildUImage(spec: UImageSpec): Uint8Array {
  const multi = (spec.type ?? 2) === 4;
  const first = spec.parts[0] ?? new Uint8Array(0);
  let data = first;
  if (multi) {
    // The size table (u32 BE, ending in 0), then each part padded to 4 bytes except the last.
    const table = (spec.parts.length + 1) * 4;
    const size = spec.parts.reduce((n, p, i) => n + (i === spec.parts.length - 1 ? p.length : (p.length + 3) & ~3), table);
    data = new Uint8Array(size);
    const v = new DataView(data.buffer);
    let at = table;
    spec.parts.forEach((p, i) => {
      v.setUint32(i * 4, p.length);
      data.set(p, at);
      at += (p.length + 3) & ~3;
    });
  }
  const out = new Uint8Array(64 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0x00, IH_MAGIC);
  v.setUint32(0x08, spec.time ?? 1700000000);
  v.setUint32(0x0c, data.length);
  v.setUint32(0x10, spec.load ?? 0x80080000);
  v.setUint32(0x14, spec.entry ?? spec.load ?? 0x80080000);
  v.setUint32(0x18, crc32(data));
  out.set([spec.os ?? 5, spec.arch ?? 22, spec.type ?? 2, spec.comp ?? 0], 0x1c);
  const name = new TextEncoder().encode((spec.name ?? "kimg").slice(0, 31));
  out.set(name, 0x20);
  out.set(data, 64);
  v.setUint32(0x04, uimageHeaderCrc(out));
  return out;
}
