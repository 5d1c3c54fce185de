/**
 * The C libraries kimg calls in steps through koffi (zlib for gzip, libzstd for zstd:
 * node/libz.ts, node/libzstd.ts): which copy of each library is bound, bound once koffi is
 * loaded, and what the steps share.
 */
import { type Koffi, type KoffiLibrary, koffiIfLoaded } from "./koffi.js";

/**
 * 64-bit Linux, where the structures passed (z_stream, ZSTD_inBuffer and ZSTD_outBuffer) have the
 * LP64 layout written in those modules.
 */
export const LINUX_LP64 = process.platform === "linux" && ["x64", "arm64", "riscv64", "loong64", "ppc64", "s390x"].includes(process.arch);

/** The engine's byte order, which the C structures written through a DataView are in. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Lets the event loop run once (I/O callbacks, signals) before the next step. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A C library that Node may carry inside its own binary (zlib always; zstd since Node 22.15 and
 * 23.8), for calling through koffi. Node exports its copy's functions, and the dynamic linker
 * binds a system library's calls between its own exported functions to the first definition in
 * the process, which is Node's: loading the system's libz.so.1 into Node and calling
 * inflateInit2_ ran Node's inflateReset2 on a state laid out by the other zlib, and corrupted
 * the heap (valgrind: "Invalid write ... inflateReset2 (in /usr/bin/node)"). So: Node's own copy
 * when Node exports every function of `probe`; the system's `soname` when it exports none of them;
 * null when only some (a mixture never to be called).
 */
export function nodeOrSystemLibrary(koffi: Koffi, soname: string, probe: readonly string[]): KoffiLibrary | null {
  let own: KoffiLibrary | null = null;
  let found = 0;
  try {
    own = koffi.load(null as unknown as string);
    for (const name of probe) {
      try {
        // Bound only to see whether Node exports it; never called with this prototype.
        own.func(`void ${name}()`);
        found++;
      } catch {
        // not exported by Node
      }
    }
  } catch {
    own = null;
  }
  if (own !== null && found === probe.length) return own;
  if (found > 0) return null;
  try {
    return koffi.load(soname);
  } catch {
    return null;
  }
}

/**
 * The binding of a library (`bind` takes its functions from the copy nodeOrSystemLibrary picks,
 * or returns null where that copy is unusable), made on the first call after koffi is loaded and
 * kept; null before koffi is loaded (not kept: it may be loaded later), off 64-bit Linux, or when
 * binding fails.
 */
export function libraryBinding<T>(soname: string, probe: readonly string[], bind: (lib: KoffiLibrary) => T | null): () => T | null {
  let binding: T | null | undefined = LINUX_LP64 ? undefined : null;
  return () => {
    if (binding !== undefined) return binding;
    const koffi = koffiIfLoaded();
    if (koffi === undefined) return null;
    try {
      const lib = nodeOrSystemLibrary(koffi, soname, probe);
      binding = lib === null ? null : bind(lib);
    } catch {
      binding = null;
    }
    return binding;
  };
}
