/**
 * The layer boundaries that biome.jsonc enforces, checked on small files written in a scratch
 * copy of the layout: the core (src/ except src/node and src/cli) imports no Node built-in and
 * nothing from src/node or src/cli; the web page imports the core only through src/index.ts.
 * So a change to the config that lets a boundary slip fails here, not silently.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, test } from "node:test";

const BIOME = resolve("node_modules/@biomejs/biome/bin/biome");

/** Files to lint, by path in the repository's layout, and what each should get: the rules that fire. */
const CASES: Array<{ path: string; source: string; expected: string[] }> = [
  { path: "src/analysis/uses-fs.ts", source: 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;\n', expected: ["noNodejsModules"] },
  { path: "src/formats/uses-fs-types.ts", source: 'import type { Stats } from "node:fs";\nexport type S = Stats;\n', expected: [] },
  {
    path: "src/analysis/uses-node-layer.ts",
    source: 'import { NODE_CODECS } from "../node/codecs.js";\nexport const c = NODE_CODECS;\n',
    expected: ["noRestrictedImports"],
  },
  { path: "src/report/uses-cli.ts", source: 'import { run } from "../cli/run.js";\nexport const r = run;\n', expected: ["noRestrictedImports"] },
  {
    path: "src/node/uses-fs.ts",
    source: 'import { readFileSync } from "node:fs";\nimport { inspect } from "../index.js";\nexport const f = [readFileSync, inspect];\n',
    expected: [],
  },
  {
    path: "src/cli/uses-fs.ts",
    source: 'import { readFileSync } from "node:fs";\nimport { NODE_CODECS } from "../node/codecs.js";\nexport const f = [readFileSync, NODE_CODECS];\n',
    expected: [],
  },
  { path: "web/ui/public-entry.ts", source: 'import { inspect } from "../../src/index.js";\nexport const i = inspect;\n', expected: [] },
  { path: "web/main-public-entry.ts", source: 'import { inspect } from "../src/index.js";\nexport const i = inspect;\n', expected: [] },
  {
    path: "web/ui/deep-import.ts",
    source: 'import { layoutSvg } from "../../src/report/svg.js";\nexport const l = layoutSvg;\n',
    expected: ["noRestrictedImports"],
  },
  {
    path: "web/ui/deep-type-import.ts",
    source: 'import type { Report } from "../../src/model/report.js";\nexport type R = Report;\n',
    expected: ["noRestrictedImports"],
  },
  { path: "web/ui/uses-fs.ts", source: 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;\n', expected: ["noNodejsModules"] },
];

const dir = mkdtempSync(join(tmpdir(), "kimg-lint-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("biome.jsonc keeps the layers apart: node: only in src/node and src/cli, web/ only through src/index.ts", () => {
  copyFileSync("biome.jsonc", join(dir, "biome.jsonc"));
  for (const c of CASES) {
    mkdirSync(dirname(join(dir, c.path)), { recursive: true });
    writeFileSync(join(dir, c.path), c.source);
  }
  // The scratch copy is not a git repository: no VCS (the config's ignore file is .gitignore).
  const r = spawnSync(process.execPath, [BIOME, "lint", "--vcs-enabled=false", "--reporter=json", "--max-diagnostics=none", "."], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.ok(r.stdout, `biome printed nothing: ${r.stderr}`);
  const { diagnostics } = JSON.parse(r.stdout) as { diagnostics: Array<{ category: string; location: { path: string } }> };
  for (const c of CASES) {
    const fired = diagnostics
      .filter((d) => d.location.path.replaceAll("\\", "/").endsWith(c.path))
      .map((d) => d.category.replace(/^lint\/\w+\//, ""))
      .sort();
    assert.deepEqual(fired, c.expected, `${c.path}: ${fired.join(", ") || "no rule"} fired`);
  }
});
