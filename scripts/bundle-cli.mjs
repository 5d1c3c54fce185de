// Bundles the CLI into dist/bundle/ (one file plus lazily loaded chunks): Node resolves and
// parses far fewer modules at start-up, which is most of a short command's time.
// `node scripts/bundle-cli.mjs DIR` bundles into DIR instead (the start-up test does).
import { rmSync } from "node:fs";
import { build } from "esbuild";

const outdir = process.argv[2] ?? "dist/bundle";
// Chunk names carry content hashes: old chunks would pile up beside the new ones.
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: ["src/cli/run.ts"],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir,
  // Native packages stay outside: they are loaded from node_modules at run time, if present.
  external: ["koffi", "zstd-napi"],
  banner: { js: "import { createRequire as __kimgCreateRequire } from 'node:module'; const require = __kimgCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
