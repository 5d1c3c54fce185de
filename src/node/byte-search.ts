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
import type { AsyncByteSearch, ByteSearch } from "../io/layout.js";
import { type Koffi, type KoffiFunction, libc } from "./koffi.js";

let search: ByteSearch | null | undefined;
let asyncSearch: AsyncByteSearch | null | undefined;
let memmemFunction: KoffiFunction | null | undefined;

function bindMemmem(koffi: Koffi): KoffiFunction | null {
  if (memmemFunction === undefined) {
    try {
      if (process.platform !== "linux") throw new Error("glibc only");
      memmemFunction = libc(koffi).func("uintptr_t memmem(uintptr_t haystack, size_t haystacklen, uintptr_t needle, size_t needlelen)");
    } catch {
      memmemFunction = null;
    }
  }
  return memmemFunction;
}

/** Whether a search of [from, to) for `pattern` can find anything in `bytes` (the answer is -1 if not). */
const searchable = (bytes: Uint8Array, pattern: Uint8Array, from: number, to: number): boolean =>
  from >= 0 && to <= bytes.length && to - from >= pattern.length;

/** memmem's answer (an address, 0 for none) as an offset from `base`, or -1. */
const offsetOf = (found: unknown, base: bigint): number => {
  const address = BigInt(found as number | bigint);
  return address === 0n ? -1 : Number(address - base);
};

/** memmem as a ByteSearch, or null where it cannot be bound (then the searches stay in JavaScript). */
export function memmemSearch(koffi: Koffi): ByteSearch | null {
  if (search !== undefined) return search;
  const memmem = bindMemmem(koffi);
  if (memmem === null) {
    search = null;
    return search;
  }
  try {
    let needle = new Uint8Array(new ArrayBuffer(64));
    let needleAddress = BigInt(koffi.address(needle));
    search = (bytes, pattern, from, to) => {
      if (!searchable(bytes, pattern, from, to)) return -1;
      if (pattern.length > needle.length) {
        needle = new Uint8Array(new ArrayBuffer(pattern.length));
        needleAddress = BigInt(koffi.address(needle));
      }
      needle.set(pattern);
      const base = BigInt(koffi.address(bytes));
      return offsetOf(memmem(base + BigInt(from), to - from, needleAddress, pattern.length), base);
    };
  } catch {
    search = null;
  }
  return search;
}

/**
 * memmem on a thread of Node's pool (koffi's `.async`): searches started ahead of the analysis
 * run beside the main thread, which meanwhile loads the code that will ask for them. Each call
 * has a pattern buffer of its own (several run at once), kept alive until its answer; the
 * haystack must not be freed or move meanwhile (a mapped file never is).
 */
export function memmemSearchAsync(koffi: Koffi): AsyncByteSearch | null {
  if (asyncSearch !== undefined) return asyncSearch;
  const memmem = bindMemmem(koffi);
  asyncSearch =
    memmem === null
      ? null
      : (bytes, pattern, from, to) => {
          if (!searchable(bytes, pattern, from, to)) return Promise.resolve(-1);
          const needle = new Uint8Array(new ArrayBuffer(pattern.length));
          needle.set(pattern);
          const base = BigInt(koffi.address(bytes));
          // Held by the callback, so that neither array is collected while memmem reads it.
          const operands = [bytes, needle];
          return new Promise((resolve, reject) => {
            memmem.async(base + BigInt(from), to - from, BigInt(koffi.address(needle)), needle.length, (error: unknown, found: number | bigint) => {
              operands.length = 0;
              if (error) reject(error);
              else resolve(offsetOf(found, base));
            });
          });
        };
  return asyncSearch;
}
