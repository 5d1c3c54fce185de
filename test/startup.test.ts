/**
 * Start-up: what the bundled CLI loads before it knows what the image needs. The signature stack
 * (pkijs, asn1js: most of the CLI's code) and every codec must stay out of the modules loaded
 * at start, behind dynamic imports, so `kimg inspect` of an unsigned, uncompressed image is not
 * slowed by code it never runs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildArm64Image } from "../support/builders/images.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-bundle-"));
const built = spawnSync(process.execPath, ["scripts/bundle-cli.mjs", dir], { encoding: "utf8" });

/** The entry and every chunk it imports statically, transitively: what Node loads at start. */
function startupFiles(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (name: string): void => {
    if (files.has(name)) return;
    const text = readFileSync(join(dir, name), "utf8");
    files.set(name, text);
    // Static imports only: `import ... from "./x.js"` and `import "./x.js"`, never `import("./x.js")`.
    for (const m of text.matchAll(/^(?:import|export)\s(?:[^;]*?\sfrom\s)?"\.\/([^"]+)";?$/gms)) visit(m[1] as string);
  };
  visit(entry);
  return files;
}

test("the CLI bundle's start-up modules hold no signature stack and no codec", () => {
  assert.equal(built.status, 0, built.stderr);
  const files = startupFiles("run.js");
  assert.ok(files.size >= 1);
  // esbuild names each bundled source file in a comment: `// src/codecs/lzo.ts`.
  const sources = new Set([...files.values()].flatMap((t) => [...t.matchAll(/^\/\/ (\S+\.(?:ts|js|mjs))$/gm)].map((m) => m[1] as string)));
  assert.ok(
    [...sources].some((s) => s.endsWith("src/api/analyse.ts")),
    "the analysis is bundled into the start-up modules",
  );
  const unwanted = [...sources].filter((s) =>
    /node_modules\/(pkijs|asn1js|bytestreamjs|pvtsutils|zstddec|fflate)\/|src\/signatures\/(pkcs7|certificates|verify|signature-summary)\.ts$|src\/codecs\/(gzip|zstd|xz|lzma|lzma-decoder|lz4|lzo|bzip2|bcj)\.ts$/.test(
      s,
    ),
  );
  assert.deepEqual(unwanted, [], "loaded only when a signature or a stream of that codec is met");
});

test("inspect of an unsigned, uncompressed Image loads no crypto, zlib or child_process", () => {
  assert.equal(built.status, 0, built.stderr);
  const image = join(dir, "Image");
  writeFileSync(image, buildArm64Image({ codeSize: 0x10000 }));
  // Prints the built-in modules Node loaded, at exit (after the command's output).
  const hook = join(dir, "loaded.mjs");
  writeFileSync(hook, 'process.on("exit", () => process.stderr.write("\\nLOADED " + JSON.stringify(process.moduleLoadList) + "\\n"));\n');
  const r = spawnSync(process.execPath, ["--import", hook, join(dir, "run.js"), "inspect", "--json", image], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).summary.format, "arm64-image");
  const loaded = JSON.parse(r.stderr.split("\nLOADED ")[1] ?? "[]") as string[];
  assert.ok(loaded.includes("NativeModule fs"), "the hook saw the module list");
  assert.deepEqual(
    loaded.filter((m) => /^NativeModule (crypto|zlib|child_process)$/.test(m)),
    [],
  );
});

test("the bundle knows its version away from package.json (built in, as bin/kimg.js runs it)", () => {
  assert.equal(built.status, 0, built.stderr);
  const r = spawnSync(process.execPath, [join(dir, "run.js"), "--version"], { encoding: "utf8", cwd: tmpdir() });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${JSON.parse(readFileSync("package.json", "utf8")).version}\n`);
});
