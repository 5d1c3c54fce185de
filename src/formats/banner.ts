/** The kernel's `linux_banner` ("Linux version 6.1.0-13-arm64 (debian-kernel@...) ... #1 SMP ..."). */
import { ascii, indexOf, printable } from "../io/layout.js";
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
 *
 * `likelyIn` is where the headers say the banner should be: linux_banner is const data
 * (init/version.c), so an ELF kernel has it in .rodata. A real banner found there is taken
 * without reading what comes before it (16 MB of code in an x86 vmlinux); else the whole layer is
 * searched as without the hint, unless `searchRest` is false (then only a banner in `likelyIn`
 * counts, and without `likelyIn` there is none).
 */
export function findLinuxBanner(bytes: Uint8Array, maxLength: number, likelyIn?: { offset: number; size: number }, searchRest = true): Banner | null {
  if (likelyIn) {
    const start = Math.max(0, Math.min(bytes.length, likelyIn.offset));
    const end = Math.max(start, Math.min(bytes.length, likelyIn.offset + likelyIn.size));
    const found = firstBanner(bytes, maxLength, start, (from) => indexOf(bytes, LINUX_VERSION, from, end));
    if (found && (isReal(found) || !searchRest)) return found;
  }
  if (!searchRest) return null;
  // The offsets come from the layer's one marker scan (io/marker-scan.ts), shared with the .config and initramfs searches.
  return firstBanner(bytes, maxLength, 0, (from) => findMarker(bytes, "banner", from));
}

const isReal = (banner: Banner): boolean => / #\d/.test(banner.text);

/** The first real banner among the first MAX_BANNER_CANDIDATES from `from` on (`next` finds each), else the first one. */
function firstBanner(bytes: Uint8Array, maxLength: number, from: number, next: (from: number) => number): Banner | null {
  let first: Banner | null = null;
  let seen = 0;
  for (let at = next(from); at !== -1 && seen < MAX_BANNER_CANDIDATES; at = next(at + 1)) {
    const digit = bytes[at + LINUX_VERSION.length];
    if (digit === undefined || digit < 0x30 || digit > 0x39) continue;
    let end = at;
    const limit = Math.min(bytes.length, at + maxLength);
    while (end < limit && bytes[end] !== 0 && bytes[end] !== 0x0a) end++;
    const text = printable(bytes.subarray(at, end));
    const release = text.slice(LINUX_VERSION.length).split(" ")[0] ?? "";
    const banner = { text, release, offset: at, size: end - at };
    if (isReal(banner)) return banner;
    first ??= banner;
    seen++;
  }
  return first;
}

export function bannerField(banner: Banner, base: number): Field {
  return { name: "linux_banner", offset: base + banner.offset, size: banner.size, value: banner.text };
}
