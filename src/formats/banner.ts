/** The kernel's `linux_banner` ("Linux version 6.1.0-13-arm64 (debian-kernel@...) ... #1 SMP ..."). */
import { ascii, indexOf, printable } from "../io/layout.js";
import type { Field } from "../types.js";

const LINUX_VERSION = ascii("Linux version ");

export interface Banner {
  text: string;
  /** The release, e.g. "6.1.0-13-arm64". */
  release: string;
  offset: number;
  size: number;
}

/** Finds the first "Linux version <digit>..." string; bounded by `maxLength` bytes. */
export function findLinuxBanner(bytes: Uint8Array, maxLength: number): Banner | null {
  for (let at = indexOf(bytes, LINUX_VERSION); at !== -1; at = indexOf(bytes, LINUX_VERSION, at + 1)) {
    const first = bytes[at + LINUX_VERSION.length];
    if (first === undefined || first < 0x30 || first > 0x39) continue;
    let end = at;
    const limit = Math.min(bytes.length, at + maxLength);
    while (end < limit && bytes[end] !== 0 && bytes[end] !== 0x0a) end++;
    const text = printable(bytes.subarray(at, end));
    const release = text.slice(LINUX_VERSION.length).split(" ")[0] ?? "";
    return { text, release, offset: at, size: end - at };
  }
  return null;
}

export function bannerField(banner: Banner, base: number): Field {
  return { name: "linux_banner", offset: base + banner.offset, size: banner.size, value: banner.text };
}
