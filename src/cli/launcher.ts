/**
 * How bin/kimg.js runs the CLI bundle (dist/bundle/, made by scripts/bundle-cli.mjs): each chunk
 * is a script compiled with node:vm, whose V8 code cache is kept between runs, taken after the
 * command has run.
 *
 * Most of a short command's time here was compiling kimg's own code. Node's compile cache
 * (`module.enableCompileCache`, which the bundle used as ES modules) stores the code V8 made when
 * it first compiled a module, before running it: only its top level, every function it calls
 * later compiled again at every start (`kimg inspect` of a small file: 13 ms of 50 under
 * --log-function-events). A cache made after the run (vm.Script's createCachedData) holds every
 * function the command ran as well: `kimg inspect` 9-11 ms faster (Node 24, issue 14).
 *
 * The chunks are CommonJS-shaped function expressions (the bundler turns each of esbuild's ES
 * module chunks into one, its `import()` calls included); `require("./chunk-X.js")` of a chunk
 * loads it here, anything else is Node's own require from this folder (built-in modules, koffi).
 *
 * Cache files (the V8 version's format, checked by V8 against its version, its flags and the
 * source's length before use) live in `<temp>/kimg-code-cache-<uid>/<node>-<arch>/<entry>/<command>/`:
 * one folder per user, made private (0700) and used only if it is a directory this user owns
 * that no one else can write to, in a temp folder no one else can swap it in, since whoever
 * writes a cache decides what code runs. A cache is named by its chunk's name, size and
 * modification time, so it always belongs to the code it was made from (V8's own check would
 * take a same-length change); a folder per command, because each command's first run decides
 * which functions its caches hold. A cache is written (temp file, then rename) when there was
 * none or V8 refused it (another Node, other flags), and then replaces the chunk's older ones;
 * the folders of other builds and Node versions with no cache written for two weeks go then too
 * (`removeStale`). NODE_DISABLE_COMPILE_CACHE=1 turns caching off, as it does Node's, and
 * KIMG_DEBUG_CACHE=1 prints what happens to each chunk on stderr.
 */
import type * as Fs from "node:fs";
import { createRequire } from "node:module";
import type * as Os from "node:os";
import type * as Path from "node:path";
import type * as Url from "node:url";
import type * as Vm from "node:vm";

// Built-ins through require: importing node:fs as an ES module makes Node build its facade,
// which reads every getter (fs.promises loads the streams code).
const require = createRequire(import.meta.url);
const { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeSync } =
  require("node:fs") as typeof Fs;
const { tmpdir } = require("node:os") as typeof Os;
const { dirname, join } = require("node:path") as typeof Path;
const { fileURLToPath, pathToFileURL } = require("node:url") as typeof Url;
const { Script } = require("node:vm") as typeof Vm;

/** A chunk file name as the bundler writes them. */
const CHUNK_NAME = /^[\w-]{1,64}\.js$/;

interface Loaded {
  exports: unknown;
}

/** Runs the bundle beside the module at `url` (the launcher's own) from its chunk `entry`, with the process's arguments. */
export function launch(url: string, entry: string): void {
  const folder = dirname(fileURLToPath(url));
  const debug = process.env.KIMG_DEBUG_CACHE ? (line: string) => process.stderr.write(`kimg code cache: ${line}\n`) : undefined;
  const caches = cacheFolder(folder, entry, debug);
  const modules = new Map<string, Loaded>();
  const fresh: Array<{ name: string; cacheName: string; script: Vm.Script }> = [];

  const load = (name: string): unknown => {
    const known = modules.get(name);
    if (known) return known.exports;
    if (!CHUNK_NAME.test(name)) throw new Error(`kimg: the bundle has no chunk ${JSON.stringify(name)}`);
    const file = join(folder, name);
    // The bundler wrote the chunk as one function expression, in ASCII (checked at build time).
    const read = readWhole(file);
    const source = scratch.toString("latin1", 0, read.length);
    // V8 checks a cache against the source's length only: the chunk file's size and modification
    // time name its cache, so a chunk changed in any way (a new build, an edit) gets a new one.
    const cacheName = `${name}.${read.size}-${read.mtime}.cache`;
    const cachedData = caches === null ? undefined : readCache(join(caches, cacheName));
    // V8 reads cachedData while it compiles: the scratch buffer may take the next file after.
    const script = new Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
    if (caches !== null) {
      const refused = cachedData !== undefined && script.cachedDataRejected === true;
      debug?.(`${name}: ${cachedData === undefined ? "no cache" : refused ? "cache refused" : "cache used"}`);
      if (cachedData === undefined || refused) fresh.push({ name, cacheName, script });
    }
    const module: Loaded = { exports: {} };
    modules.set(name, module);
    try {
      const body = script.runInThisContext() as (exports: unknown, require: (id: string) => unknown, module: Loaded, url: string) => void;
      body(module.exports, requireFromChunk, module, pathToFileURL(file).href);
    } catch (error) {
      // As an ES module that failed: the next import tries again, never half a module.
      modules.delete(name);
      throw error;
    }
    return module.exports;
  };
  const requireFromChunk = (id: string): unknown => (id.startsWith("./") ? load(id.slice(2)) : require(id));

  if (caches !== null) {
    // First listener of 'exit': the command has run, and its functions are compiled.
    process.on("exit", () => {
      for (const { name, cacheName, script } of fresh) writeCache(caches, name, cacheName, script, debug);
      if (fresh.length > 0) removeStale(caches, debug);
    });
  }
  load(entry);
}

/** The folder of this bundle's caches for this command, or null where caching is off or unsafe. */
function cacheFolder(folder: string, entry: string, debug?: (line: string) => void): string | null {
  if (process.env.NODE_DISABLE_COMPILE_CACHE || typeof process.getuid !== "function") return null;
  const uid = process.getuid();
  const temp = tmpdir();
  // Whoever may rename entries of the temp folder could swap the private folder for theirs
  // after it is checked: the temp folder must be this user's or root's, and sticky (as /tmp is)
  // or writable by its owner alone.
  try {
    const st = statSync(temp);
    if ((st.uid !== uid && st.uid !== 0) || ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)) {
      debug?.(`${temp} is neither this user's nor root's, or others may rename its entries: not used`);
      return null;
    }
  } catch (error) {
    debug?.(`cannot use ${temp} (${(error as Error).message}): not used`);
    return null;
  }
  const root = join(temp, `kimg-code-cache-${uid}`);
  try {
    mkdirSync(root, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
      debug?.(`cannot use ${root} (${(error as Error).message}): not used`);
      return null;
    }
  }
  try {
    const st = lstatSync(root);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
      debug?.(`${root} is not a private folder of uid ${uid}: not used`);
      return null;
    }
  } catch {
    return null;
  }
  return join(root, `${process.version}-${process.arch}`, entry.replace(/\.js$/, ""), commandOf(folder));
}

/**
 * The command the arguments name, when the bundle has an action chunk of that name
 * (`inspect-<hash>.js`); else "other" (help, version, a mistyped command, and the commands that
 * share an action, such as digest and pcr, which share measure's).
 */
function commandOf(folder: string): string {
  const first = process.argv[2];
  if (first === undefined || !/^[a-z]{1,16}$/.test(first)) return "other";
  try {
    return readdirSync(folder).some((name) => name.startsWith(`${first}-`) && CHUNK_NAME.test(name)) ? first : "other";
  } catch {
    return "other";
  }
}

/** How long a build's caches stay after their last write, once another build or Node writes its own. */
const STALE_MS = 14 * 24 * 60 * 60 * 1000;

/**
 * Every build (an upgraded kimg, a rebuilt bundle) and every Node version gets a folder of its
 * own, which would stay in the temp folder until the next reboot's clean-up: when caches were
 * written, this build's and this Node's folders are marked as used now, and the folders of
 * other builds and Nodes with no cache written for STALE_MS are removed. A build still in use
 * whose folder was removed writes its caches again at its next run: one slower start, never a
 * wrong one, and no two installs that take turns remove each other's caches.
 */
function removeStale(caches: string, debug?: (line: string) => void): void {
  const build = dirname(caches);
  const node = dirname(build);
  const now = Date.now();
  for (const [keep, parent] of [
    [build, node],
    [node, dirname(node)],
  ] as const) {
    try {
      utimesSync(keep, now / 1000, now / 1000);
      for (const name of readdirSync(parent)) {
        const path = join(parent, name);
        if (path === keep) continue;
        const st = lstatSync(path);
        if (st.isDirectory() && now - st.mtimeMs > STALE_MS) {
          rmSync(path, { recursive: true, force: true });
          debug?.(`${name}: removed, no cache written there for ${STALE_MS / 86_400_000} days`);
        }
      }
    } catch (error) {
      debug?.(`stale caches not removed (${(error as Error).message})`);
    }
  }
}

/**
 * One buffer for every file the launcher reads, grown as needed: a new buffer of a few hundred KB
 * is fresh memory, whose first touch costs 10-20 µs a page on the virtual machine of issue 14.
 */
let scratch = Buffer.allocUnsafeSlow(512 * 1024);

/** Reads the whole file into `scratch`: its length, and the size and modification time (µs) fstat gave. */
function readWhole(file: string): { length: number; size: number; mtime: number } {
  const fd = openSync(file, "r");
  try {
    const info = fstatSync(fd);
    const size = info.size;
    if (size > scratch.length) scratch = Buffer.allocUnsafeSlow(size);
    let length = 0;
    while (length < size) {
      const n = readSync(fd, scratch, length, size - length, length);
      if (n === 0) break;
      length += n;
    }
    return { length, size, mtime: Math.trunc(info.mtimeMs * 1000) };
  } finally {
    closeSync(fd);
  }
}

function readCache(file: string): Buffer | undefined {
  try {
    return scratch.subarray(0, readWhole(file).length);
  } catch {
    return undefined;
  }
}

/** Writes chunk `name`'s code cache as `cacheName` in `folder`, atomically; a cache that cannot be written is only a slower next start. */
function writeCache(folder: string, name: string, cacheName: string, script: Vm.Script, debug?: (line: string) => void): void {
  const file = join(folder, cacheName);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const fd = openSync(temp, "wx", 0o600);
    try {
      for (let at = 0; at < data.length; ) at += writeSync(fd, data, at);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    debug?.(`${name}: wrote ${data.length} bytes`);
    // The caches of this chunk's earlier files (an earlier build's, with another time) are stale.
    for (const other of readdirSync(folder)) {
      if (other !== cacheName && other.startsWith(`${name}.`) && other.endsWith(".cache")) unlinkSync(join(folder, other));
    }
  } catch (error) {
    debug?.(`${name}: not written (${(error as Error).message})`);
    try {
      unlinkSync(temp);
    } catch {
      // There was no temp file.
    }
  }
}
