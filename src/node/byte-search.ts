/**
 * The C library's memmem(3) through koffi, as the native search of large byte ranges
 * (io/layout.ts `useByteSearch`: indexOf over 64 KiB or more, and the kernel-marker searches of
 * io/marker-scan.ts): glibc's runs at memory speed, 4-5 ms per marker over a 38 MB Image here,
 * where the JavaScript scan of the three markers took 30-50 ms.
 *
 * The haystack is passed by address, never as a buffer argument, which koffi may copy; a range
 * of the size this is used for lives in an ArrayBuffer outside V8's heap, which does not move.
 * The pattern (a few bytes) is copied into a buffer of this module's, for the same reason.
 */
import type { ByteSearch } from "../io/layout.js";
import { type Koffi, libc } from "./koffi.js";

let search: ByteSearch | null | undefined;

/** memmem as a ByteSearch, or null where it cannot be bound (then the searches stay in JavaScript). */
export function memmemSearch(koffi: Koffi): ByteSearch | null {
  if (search !== undefined) return search;
  try {
    if (process.platform !== "linux") throw new Error("glibc only");
    const memmem = libc(koffi).func("uintptr_t memmem(uintptr_t haystack, size_t haystacklen, uintptr_t needle, size_t needlelen)");
    let needle = new Uint8Array(new ArrayBuffer(64));
    let needleAddress = BigInt(koffi.address(needle));
    search = (bytes, pattern, from, to) => {
      if (from < 0 || to > bytes.length || to - from < pattern.length) return -1;
      if (pattern.length > needle.length) {
        needle = new Uint8Array(new ArrayBuffer(pattern.length));
        needleAddress = BigInt(koffi.address(needle));
      }
      needle.set(pattern);
      const base = BigInt(koffi.address(bytes));
      const found = BigInt(memmem(base + BigInt(from), to - from, needleAddress, pattern.length) as number | bigint);
      return found === 0n ? -1 : Number(found - base);
    };
  } catch {
    search = null;
  }
  return search;
}
