/** The package as users install it: entry points, types, the bin, and the public API's shape. */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  type: string;
  sideEffects: boolean;
  bin: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
  engines: { node: string };
  scripts: Record<string, string>;
};

test("ESM, side-effect free, Node 20+, a kimg bin, exports with types first", () => {
  assert.equal(pkg.type, "module");
  assert.equal(pkg.sideEffects, false);
  assert.equal(pkg.engines.node, ">=20");
  assert.equal(pkg.bin.kimg, "bin/kimg.js");
  assert.ok(existsSync(pkg.bin.kimg));
  for (const [key, entry] of Object.entries(pkg.exports)) {
    assert.deepEqual(Object.keys(entry), ["types", "default"], key);
    assert.match(entry.default, /^\.\/dist\/.+\.js$/);
  }
  assert.ok(pkg.scripts.start?.includes("samples/"), "npm start inspects a bundled sample");
  assert.ok(existsSync("samples/arm64-zboot-gzip.efi"));
});

test("the public API has the entry points the README shows", async () => {
  const core = await import("../src/index.js");
  for (const name of ["inspect", "unpack", "analyse", "plan", "verifyImage", "renderText", "renderPlanText", "KimgError", "DEFAULT_LIMITS"]) {
    assert.ok(name in core, name);
  }
  const node = await import("../src/node/index.js");
  for (const name of ["inspect", "NODE_CODECS", "readInput", "writeAtomic", "unpackStream", "unpackFile"]) assert.ok(name in node, name);
});

test("the README's limits table and codec table agree with the code", async () => {
  const readme = readFileSync("README.md", "utf8");
  const { DEFAULT_LIMITS } = await import("../src/io/limits.js");
  const MiB = 1024 * 1024;
  const shown = (n: number): string =>
    n >= 1024 * MiB && n % (1024 * MiB) === 0 ? `${n / 1024 / MiB} GiB` : n >= MiB && n % MiB === 0 ? `${n / MiB} MiB` : String(n);
  for (const [name, value] of Object.entries(DEFAULT_LIMITS)) {
    assert.match(readme, new RegExp(`\\| \`${name}\` \\| ${shown(value)} \\|`), `README limits row for ${name} = ${shown(value)}`);
  }
  const { CODEC_NAMES, BUILTIN_CODECS } = await import("../src/codecs/registry.js");
  for (const codec of CODEC_NAMES) {
    assert.ok(BUILTIN_CODECS[codec], `a built-in ${codec} decoder`);
    assert.match(readme, new RegExp(`^\\| ${codec} \\|`, "m"), `README codec row for ${codec}`);
  }
});

test("the README's command synopsis names every option `--help` lists", () => {
  const readme = readFileSync("README.md", "utf8");
  const synopsis = /## The command line\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  assert.ok(synopsis, "no synopsis block under ## The command line");
  const commands: Array<[string, string[]]> = [
    ["inspect", []],
    ["extract", []],
    ["plan", []],
    ["verify", []],
    ["digest", []],
    ["pcr", []],
    ["config", []],
    ["kexec load", ["kexec", "load"]],
  ];
  for (const [name, argv] of commands) {
    const help = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...(argv.length ? argv : [name]), "--help"], { encoding: "utf8" }).stdout;
    const line = synopsis.split("\n").find((l) => l.startsWith(`kimg ${name} `) || (name === "kexec load" && l.startsWith("kimg kexec load")));
    assert.ok(line, `no synopsis line for kimg ${name}`);
    for (const option of help.match(/--[a-z][a-z-]*/g) ?? []) {
      if (option === "--help") continue;
      assert.ok(line.includes(option), `README synopsis of kimg ${name} lacks ${option}`);
    }
  }
});

test("the README's formats table names every format id the code reports", async () => {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.slice(readme.indexOf("## Formats"), readme.indexOf("## Codecs"));
  const table = section
    .split("\n")
    .filter((l) => l.startsWith("| "))
    .join("\n");
  const { FORMATS, LEAF_FORMATS } = await import("../src/formats/registry.js");
  for (const { format } of [...FORMATS, ...LEAF_FORMATS]) assert.ok(table.includes(`\`${format}\``), `README formats table row for \`${format}\``);
});
