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
import { closeSync, existsSync, fstatSync, openSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
 * (`@koromix/koffi-<platform>-<arch>`, one of its optional dependencies) and checked to be of
 * koffi's version; else koffi's entry point, which loads the same.
 *
 * The entry point costs 7-9 ms here: it turns node:util into an ES module namespace (esbuild's
 * __toESM), which reads every lazy export of node:util and so loads a dozen more of Node's
 * modules and creates process.stderr, all to wrap a few deprecated functions kimg does not call.
 * Every function kimg uses (load, func, errno, address, view) is the native module's own.
 * Finding the platform package with `require.resolve` and loading it with `require` still cost
 * 7-8 ms (Node's CommonJS resolver and loader set up on first use, 4 ms; the platform package's
 * index.js reading Node's own ELF headers to tell glibc from musl): `nativeModuleFile` finds the
 * file as Node's resolution would and `process.dlopen` loads it, 2 ms.
 */
function requireKoffi(require: NodeJS.Require): Koffi {
  try {
    const found = nativeModuleFile();
    if (found) {
      const module = { exports: {} as Partial<Koffi> & { version?: unknown } };
      process.dlopen(module, found.file);
      if (isKoffi(module.exports, found.version)) return module.exports;
    }
  } catch {
    // Not laid out as expected, or not loadable: the slower ways below.
  }
  try {
    const entry = require.resolve("koffi");
    const version = packageVersionOf(dirname(entry));
    const native = createRequire(entry)(`@koromix/koffi-${process.platform}-${process.arch}`) as Partial<Koffi> & { version?: unknown };
    if (isKoffi(native, version)) return native;
  } catch {
    // koffi's entry point finds its native part itself.
  }
  return require("koffi") as Koffi;
}

function isKoffi(native: Partial<Koffi> & { version?: unknown }, version: unknown): native is Koffi {
  return (
    native.version === version &&
    typeof native.load === "function" &&
    typeof native.address === "function" &&
    typeof native.errno === "function" &&
    typeof native.view === "function"
  );
}

function packageVersionOf(folder: string): unknown {
  return (JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as { version?: unknown }).version;
}

/**
 * The glibc build of koffi's native module in its platform package, found as Node resolves
 * `koffi` from this module and the platform package from koffi's real folder (a pnpm layout
 * links koffi from elsewhere): `node_modules/<name>` in each folder upwards. Null on anything
 * but a glibc process on Linux (the platform package's own loader picks musl's build), or when
 * the package is not where Node would find it or not of koffi's version.
 */
function nativeModuleFile(): { file: string; version: unknown } | null {
  // A glibc process has mapped libc.so.6; a musl one (Alpine's Node) has not, whatever else is installed.
  if (process.platform !== "linux" || !readFileSync("/proc/self/maps", "latin1").includes("/libc.so.6")) return null;
  const koffiFolder = findPackage(dirname(fileURLToPath(import.meta.url)), "koffi");
  if (koffiFolder === null) return null;
  const real = realpathSync(koffiFolder);
  const platformFolder = findPackage(real, `@koromix/koffi-${process.platform}-${process.arch}`);
  if (platformFolder === null) return null;
  const version = packageVersionOf(real);
  if (packageVersionOf(platformFolder) !== version) return null;
  const file = join(platformFolder, `${process.platform}_${process.arch}`, "koffi.node");
  return existsSync(file) ? { file, version } : null;
}

/** The folder of package `name` as Node's resolution finds it from `from`, or null. */
function findPackage(from: string, name: string): string | null {
  for (let folder = from; ; ) {
    if (basename(folder) !== "node_modules") {
      const candidate = join(folder, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return candidate;
    }
    const parent = dirname(folder);
    if (parent === folder) return null;
    folder = parent;
  }
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
 * koffi for a speed-up worth its loading (2-3 ms; 7-9 through koffi's entry point): loaded now
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
