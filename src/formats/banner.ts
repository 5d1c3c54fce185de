/** The kernel's `linux_banner` ("Linux version 6.1.0-13-arm64 (debian-kernel@...) ... #1 SMP ..."). */
import { ascii, printable } from "../io/layout.js";
import { findMarker } from "../io/marker-scan.js";
import type { Field } from "../model/report.js";

const LINUX_VERSION = ascii("Linux version ");

export interface Banner {
  text: string;
  /** The release, e.g. "6.1.0-13-arm64". */
  release: string;
  offset: number;
  size: number;
}

/** How many "Linux version" strings are looked at before settling for the first. */
const MAX_BANNER_CANDIDATES = 16;

/**
 * Finds the "Linux version <digit>..." banner, bounded by `maxLength` bytes. Kernels may carry a
 * weak copy without the build number ("# SMP") beside the real one ("#1 SMP"): prefer the latter.
 */
export function findLinuxBanner(bytes: Uint8Array, maxLength: number): Banner | null {
  let first: Banner | null = null;
  let seen = 0;
  // The offsets come from the layer's one marker scan (io/marker-scan.ts), shared with the .config and initramfs searches.
  for (let at = findMarker(bytes, "banner"); at !== -1 && seen < MAX_BANNER_CANDIDATES; at = findMarker(bytes, "banner", at + 1)) {
    const digit = bytes[at + LINUX_VERSION.length];
    if (digit === undefined || digit < 0x30 || digit > 0x39) continue;
    let end = at;
    const limit = Math.min(bytes.length, at + maxLength);
    while (end < limit && bytes[end] !== 0 && bytes[end] !== 0x0a) end++;
    const text = printable(bytes.subarray(at, end));
    const release = text.slice(LINUX_VERSION.length).split(" ")[0] ?? "";
    const banner = { text, release, offset: at, size: end - at };
    if (/ #\d/.test(text)) return banner;
    first ??= banner;
    seen++;
  }
  return first;
}

export function bannerField(banner: Banner, base: number): Field {
  return { name: "linux_banner", offset: base + banner.offset, size: banner.size, value: banner.text };
}
