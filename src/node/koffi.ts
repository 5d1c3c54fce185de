/**
 * koffi, the FFI package behind linkat (naming O_TMPFILE outputs) and the kexec system calls,
 * loaded once for both.
 *
 * koffi's native part has a static exit hook (`K_EXIT(FlushStd)` in lib/native/base/base.cc) that
 * flushes its own stdout and stderr streams with fsync(2) when the process exits, whether it wrote
 * to them or not. When either is a regular file (`kimg extract ... > log`), that is an ext4 journal
 * commit: 80-120 ms added to every run, measured on a 300 ms extract. No other tool syncs its
 * standard output, so once everything is written (at 'exit') a regular-file stdout or stderr is
 * pointed at /dev/null, where the hook's fsync costs nothing. Terminals and pipes are
 * left alone: fsync(2) fails at once on them. Only the CLI asks for this
 * (`guardStandardStreamsAtExit`): a program using the library owns its standard streams.
 */
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** A bound C function: called directly, or with `.async(...args, callback)` on a thread-pool thread. */
export type KoffiFunction = ((...args: unknown[]) => unknown) & { async(...args: unknown[]): void };

/** The part of koffi's API kimg uses. */
export interface Koffi {
  load(path: string): KoffiLibrary;
  errno(): number;
  address(value: unknown): bigint;
  /** With type "char" and length -1: the NUL-terminated string at a C address. */
  decode(address: bigint, type: "char", length: -1): string;
  /** An ArrayBuffer over `length` bytes of C memory at `pointer` (never freed by the engine). */
  view(pointer: unknown, length: number): ArrayBuffer;
}

let loaded: Koffi | undefined;
let guard = false;

/** Spares the CLI koffi's exit fsync of a regular-file stdout or stderr (see above); call before anything loads koffi. */
export function guardStandardStreamsAtExit(): void {
  guard = true;
}

/** koffi, loaded on first use; throws what require throws when it is missing or cannot load. */
export function loadKoffi(): Koffi {
  if (loaded) return loaded;
  // koffi is CommonJS with a native part; createRequire keeps kimg loadable without it.
  const koffi = requireKoffi(createRequire(import.meta.url));
  if (guard) guardStandardStreams(koffi);
  loaded = koffi;
  return koffi;
}

/**
 * koffi's native module, taken from the platform package koffi itself loads
 * (`@koromix/koffi-<platform>-<arch>`, one of its optional dependencies), resolved from koffi's
 * own folder and checked to be of koffi's version; else koffi's entry point, which loads the same.
 * The entry point costs 7-9 ms here against 3-5 ms: it turns node:util into an ES module
 * namespace (esbuild's __toESM), which reads every lazy export of node:util and so loads a dozen
 * more of Node's modules and creates process.stderr, all to wrap a few deprecated functions kimg
 * does not call. Every function kimg uses (load, func, errno, address) is the native module's own.
 */
function requireKoffi(require: NodeJS.Require): Koffi {
  try {
    const entry = require.resolve("koffi");
    const { version } = JSON.parse(readFileSync(join(dirname(entry), "package.json"), "utf8")) as { version?: unknown };
    const native = createRequire(entry)(`@koromix/koffi-${process.platform}-${process.arch}`) as Partial<Koffi> & { version?: unknown };
    if (
      native.version === version &&
      typeof native.load === "function" &&
      typeof native.address === "function" &&
      typeof native.errno === "function" &&
      typeof native.view === "function"
    )
      return native as Koffi;
  } catch {
    // Not laid out as expected: koffi's entry point finds its native part itself.
  }
  return require("koffi") as Koffi;
}

/** A loaded C library: its functions, bound by C prototype. */
export type KoffiLibrary = { func(signature: string): KoffiFunction };

let libcLibrary: KoffiLibrary | undefined;

/** The C library (glibc's libc.so.6) through `koffi`, loaded once for every binding of its functions; throws where there is none. */
export function libc(koffi: Koffi): KoffiLibrary {
  libcLibrary ??= koffi.load("libc.so.6");
  return libcLibrary;
}

/** koffi if something has loaded it already, else undefined (for uses not worth loading it for). */
export function koffiIfLoaded(): Koffi | undefined {
  return loaded;
}

/**
 * koffi for a speed-up worth its loading (4-6 ms; 7-9 through koffi's entry point): loaded now
 * in the CLI, which has guarded its standard streams, but never loaded for a program using the
 * library (the exit fsync).
 */
export function koffiWhereHarmless(): Koffi | undefined {
  if (loaded || !guard) return loaded;
  try {
    return loadKoffi();
  } catch {
    return undefined;
  }
}

/** Registers the exit listener described above (Linux and glibc only; a no-op where dup2 cannot be bound). */
function guardStandardStreams(koffi: Koffi): void {
  let dup2: KoffiFunction;
  try {
    dup2 = libc(koffi).func("int dup2(int oldfd, int newfd)");
  } catch {
    return;
  }
  // An 'exit' listener added after this one must not write to a regular-file stdout or stderr
  // (kimg's own only write to a terminal).
  process.on("exit", () => {
    const files = [1, 2].filter(isRegularFile);
    if (files.length === 0) return;
    let devNull: number;
    try {
      devNull = openSync("/dev/null", "w");
    } catch {
      return;
    }
    for (const fd of files) dup2(devNull, fd);
    closeSync(devNull);
  });
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}
