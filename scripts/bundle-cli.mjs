// Bundles the CLI into dist/bundle/ (one file plus lazily loaded chunks): Node resolves and
// parses far fewer modules at start-up, which is most of a short command's time.
// `node scripts/bundle-cli.mjs DIR` bundles into DIR instead (the start-up test does);
// `node scripts/bundle-cli.mjs DIR META.json` also writes esbuild's metafile (what each chunk
// holds and imports) there.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { builtinModules, createRequire } from "node:module";
import { build, transformSync } from "esbuild";

const outdir = process.argv[2] ?? "dist/bundle";
const metafile = process.argv[3];
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/**
 * Built-in modules that only some commands use (crypto for temp-file names and kexec, zlib for
 * gzip, child_process for commander's external subcommands, which kimg has none of, fs/promises
 * for the writes: 8 ms on Node 24, its FileHandle bringing readline and the watchers). Loading
 * them costs about 9 ms of a 30 ms Node start, so the bundle gets stand-ins whose functions load
 * the real module on first call. Only function exports are stood in for: importing anything
 * else from these modules fails the build ("No matching export").
 */
const LAZY_BUILTINS = ["node:crypto", "node:zlib", "node:child_process", "node:fs/promises"];
const nodeRequire = createRequire(import.meta.url);

const lazyBuiltins = {
  name: "lazy-builtins",
  setup(b) {
    const filter = new RegExp(`^(${LAZY_BUILTINS.map((m) => `${m}|${m.slice(5)}`).join("|")})$`);
    b.onResolve({ filter }, (args) =>
      // The stand-in's own require is the real module.
      args.namespace === "lazy-builtin"
        ? { path: args.path, external: true }
        : { path: args.path.startsWith("node:") ? args.path : `node:${args.path}`, namespace: "lazy-builtin" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => {
      const real = nodeRequire(args.path);
      const names = Object.keys(real).filter((k) => typeof real[k] === "function" && /^[A-Za-z_$][\w$]*$/.test(k) && k !== "default");
      const lines = [
        `let real;`,
        `const load = () => (real ??= require(${JSON.stringify(args.path)}));`,
        ...names.map((k) => `export function ${k}(...args) { return load().${k}(...args); }`),
        `export default new Proxy({}, { get: (_, key) => load()[key] });`,
      ];
      return { contents: lines.join("\n"), loader: "js" };
    });
  },
};

/**
 * Every other built-in module the sources import (node:fs, node:path, node:module...) is taken
 * with `require` (the banner's), not `import`: Node builds an ES module facade for a built-in on
 * its first import, which reads every export, getters included (node:fs's ReadStream and
 * promises getters load the streams code: 7 ms of `kimg --version` on Node 24). The stand-in
 * exports exactly the module's plain values, each wrapped in a pure call so esbuild drops the
 * unused ones; a getter (fs.promises, fs.ReadStream...) is not exported at all, so importing one
 * fails the build ("No matching export") instead of loading it at start.
 */
const requiredBuiltins = {
  name: "required-builtins",
  setup(b) {
    const names = builtinModules.filter((m) => !m.startsWith("_") && !LAZY_BUILTINS.includes(`node:${m}`));
    const filter = new RegExp(`^(node:)?(${names.map((m) => m.replace(/[/]/g, "\\/")).join("|")})$`);
    b.onResolve({ filter }, (args) => {
      // commander's own require() calls stay as they are; the stand-in's require is the real module.
      if (args.kind !== "import-statement" || args.namespace === "required-builtin") return { path: args.path, external: true };
      return { path: args.path.startsWith("node:") ? args.path : `node:${args.path}`, namespace: "required-builtin" };
    });
    b.onLoad({ filter: /.*/, namespace: "required-builtin" }, (args) => {
      const real = nodeRequire(args.path);
      const values = Object.entries(Object.getOwnPropertyDescriptors(real))
        .filter(([k, d]) => "value" in d && /^[A-Za-z_$][\w$]*$/.test(k) && k !== "default")
        .map(([k]) => k);
      const lines = [
        `const real = /* @__PURE__ */ require(${JSON.stringify(args.path)});`,
        `export default real;`,
        ...values.map((k) => `export const ${k} = /* @__PURE__ */ (() => real.${k})();`),
      ];
      return { contents: lines.join("\n"), loader: "js" };
    });
  },
};

/**
 * Small core modules that nearly every lazily loaded chunk uses. esbuild makes one chunk per set
 * of entry points (the CLI, each command's action, each codec and signature module loaded on
 * demand) that reach a module; the codecs and signature modules each reach a different subset of
 * these, so each came out as a chunk of its own, and `kimg inspect` loaded 8 of them, 1-9 KB
 * each: every module costs Node's ESM loader about 0.4 ms (Node 24) and more on Node 20, which
 * reads each file asynchronously. The plugin below has every dynamically imported module import
 * them all, so they share one set and one chunk. A file missing here fails the build.
 */
const SHARED = [
  "src/io/limits.ts",
  "src/io/bytes.ts",
  "src/io/layout.ts",
  "src/io/fdt.ts",
  "src/codecs/limit.ts",
  "src/codecs/output.ts",
  "src/codecs/checksums.ts",
  "src/codecs/md5.ts",
  "src/codecs/zstd-frame.ts",
  "src/report/diagnostic.ts",
];

/**
 * The same for the start-up modules the actions use too (errors, exit codes, the koffi loader and
 * the built-in stand-ins it takes): reached by the CLI's entry and by some of the lazily loaded
 * modules each, they came out as four chunks of 0.3-6 KB, all loaded at start. The entry and
 * every dynamically imported module import them all, so they are one chunk.
 */
const STARTUP_SHARED = ["src/io/errors.ts", "src/cli/exit-codes.ts", "src/node/koffi.ts"];

/**
 * Every module loaded by `import()` (an action, a codec, a signature module, the planners) is an
 * entry point. They are found by reading the sources before the build, not as esbuild resolves
 * each `import()`: a module also imported statically (the planners, by the plan command) may be
 * loaded before its `import()` is seen, and would miss the shared imports. An `import()` of our
 * own code must name a relative path in a string literal; one that does not fails the build.
 */
function dynamicImportTargets() {
  const targets = new Set();
  for (const name of readdirSync("src", { recursive: true })) {
    if (!name.endsWith(".ts")) continue;
    const file = join("src", name);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\bimport\(([^)]*)\)/g)) {
      const arg = m[1].trim();
      if (arg === "" || /^"(node:|[a-z@])[^"]*"$/.test(arg)) continue; // import() in a comment; a built-in or a package
      const spec = /^"(\.{1,2}\/[^"]+)\.js"$/.exec(arg);
      if (!spec) throw new Error(`${file}: import(${arg}) does not name a relative .js path in a string`);
      targets.add(resolve(dirname(file), `${spec[1]}.ts`));
    }
  }
  return targets;
}

const sharedChunk = {
  name: "shared-chunk",
  setup(b) {
    const targets = dynamicImportTargets();
    const groups = { shared: SHARED, startup: STARTUP_SHARED };
    b.onResolve({ filter: /^kimg:(shared|startup)$/ }, (args) => ({ path: args.path, namespace: "kimg-shared" }));
    b.onLoad({ filter: /.*/, namespace: "kimg-shared" }, (args) => ({
      contents: groups[args.path.slice(5)].map((f) => `export * from ${JSON.stringify(resolve(f))};`).join("\n"),
      loader: "js",
      resolveDir: process.cwd(),
    }));
    const entry = resolve("src/cli/run.ts");
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path === entry) return { contents: `import "kimg:startup";\n${readFileSync(args.path, "utf8")}`, loader: "ts" };
      if (targets.has(args.path)) return { contents: `import "kimg:shared";\nimport "kimg:startup";\n${readFileSync(args.path, "utf8")}`, loader: "ts" };
      return undefined;
    });
  },
};

// Chunk names carry content hashes: old chunks would pile up beside the new ones.
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  metafile: metafile !== undefined,
  entryPoints: ["src/cli/run.ts"],
  // The entry's name too carries its hash: src/cli/launcher.ts keys its code caches by it.
  entryNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir,
  // Native packages stay outside: they are loaded from node_modules at run time, if present.
  external: ["koffi"],
  plugins: [sharedChunk, lazyBuiltins, requiredBuiltins],
  // `kimg --version` (src/cli/version.ts): the bundle may be run away from package.json.
  define: { KIMG_PACKAGE_VERSION: JSON.stringify(version) },
  logLevel: "warning",
});

/** Each chunk is one function expression of the launcher's arguments, on its first line so that line numbers stay the chunk's. */
const CHUNK_PREFIX = '(function (exports, require, module, __kimg_url) {"use strict";';
const CHUNK_SUFFIX = "\n})\n";

/**
 * Each ES module chunk becomes the CommonJS-shaped script src/cli/launcher.ts runs (and keeps the
 * code cache of): its imports `require` calls, its `import()` calls `require` in a promise, and
 * `import.meta.url` the chunk's URL, which the launcher passes in. `require` is the launcher's
 * (other chunks, and Node's require for the rest), so esbuild's `require` calls (commander's,
 * the built-in stand-ins') need nothing more. Anything of ES modules left fails the build.
 */
let entry;
for (const name of readdirSync(outdir)) {
  if (!name.endsWith(".js")) continue;
  if (name.startsWith("run-")) entry = name;
  const { code } = transformSync(readFileSync(join(outdir, name), "utf8"), {
    format: "cjs",
    platform: "node",
    target: "node20",
    supported: { "dynamic-import": false },
    define: { "import.meta.url": "__kimg_url" },
    logLevel: "error",
  });
  if (/\bimport\s*\(|\bimport\.meta\b|^\s*(import|export)\s/m.test(code)) throw new Error(`${name}: ES module syntax left after the transform`);
  // The launcher decodes chunks as Latin-1, which is exact for ASCII (esbuild escapes the rest).
  if (/[\u0080-\uffff]/.test(code)) throw new Error(`${name}: not ASCII`);
  writeFileSync(join(outdir, name), `${CHUNK_PREFIX}${code}${CHUNK_SUFFIX}`);
}
if (entry === undefined) throw new Error("no entry chunk (run-<hash>.js)");

// The launcher bin/kimg.js imports: the chunks are in its folder, and this is their entry.
await build({
  stdin: {
    contents: `import { launch } from "./src/cli/launcher.ts";\nlaunch(import.meta.url, ${JSON.stringify(entry)});\n`,
    resolveDir: process.cwd(),
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outfile: join(outdir, "launch.js"),
  logLevel: "warning",
});
if (metafile !== undefined) writeFileSync(metafile, JSON.stringify(result.metafile, null, 1));
