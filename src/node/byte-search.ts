/**
 * The C library's memmem(3) through koffi, as the marker search of large kernel layers
 * (io/marker-scan.ts `useByteSearch`): glibc's runs at memory speed, 4-5 ms per marker over a
 * 38 MB Image here, where the JavaScript scan of the three markers took 30-50 ms.
 *
 * The haystack is passed by address, never as a buffer argument, which koffi may copy; a layer
 * of the size this is used for (a megabyte or more) lives outside V8's heap and does not move.
 * Each pattern is copied once into an ArrayBuffer of its own, for the same reason.
 */
import type { ByteSearch } from "../io/marker-scan.js";
import type { Koffi } from "./koffi.js";

let search: ByteSearch | null | undefined;

/** memmem as a ByteSearch, or null where it cannot be bound (then the scan stays). */
export function memmemSearch(koffi: Koffi): ByteSearch | null {
  if (search !== undefined) return search;
  try {
    if (process.platform !== "linux") throw new Error("glibc only");
    const memmem = koffi.load("libc.so.6").func("uintptr_t memmem(uintptr_t haystack, size_t haystacklen, uintptr_t needle, size_t needlelen)");
    const patterns = new Map<Uint8Array, { copy: Uint8Array; address: bigint }>();
    search = (bytes, pattern, from, to) => {
      if (from < 0 || to > bytes.length || to - from < pattern.length) return -1;
      let needle = patterns.get(pattern);
      if (!needle) {
        const copy = new Uint8Array(new ArrayBuffer(pattern.length));
        copy.set(pattern);
        needle = { copy, address: BigInt(koffi.address(copy)) };
        patterns.set(pattern, needle);
      }
      const base = BigInt(koffi.address(bytes));
      const found = BigInt(memmem(base + BigInt(from), to - from, needle.address, pattern.length) as number | bigint);
      return found === 0n ? -1 : Number(found - base);
    };
  } catch {
    search = null;
  }
  return search;
}
