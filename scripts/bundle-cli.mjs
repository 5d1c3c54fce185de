// Bundles the CLI into dist/bundle/ (one file plus lazily loaded chunks): Node resolves and
// parses far fewer modules at start-up, which is most of a short command's time.
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli/run.ts"],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: "dist/bundle",
  // Native packages stay outside: they are loaded from node_modules at run time, if present.
  external: ["koffi", "zstd-napi"],
  banner: { js: "import { createRequire as __kimgCreateRequire } from 'node:module'; const require = __kimgCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
