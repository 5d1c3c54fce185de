/** The core must run unchanged in a browser: no node: imports, no Buffer, bundles for the browser. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { build } from "esbuild";

const NODE_ONLY = new Set(["src/node", "src/cli"]);

function coreFiles(dir = "src"): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (NODE_ONLY.has(p)) continue;
    if (statSync(p).isDirectory()) out.push(...coreFiles(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

test("no core module imports node: builtins or uses Buffer", () => {
  const files = coreFiles();
  assert.ok(files.length > 20);
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    assert.doesNotMatch(text, /from\s+["']node:/, `${f} imports a node: module`);
    assert.doesNotMatch(text, /(?<![A-Za-z_])Buffer\.(from|alloc|concat|isBuffer|byteLength)|:\s*Buffer\b/, `${f} uses Buffer`);
    assert.doesNotMatch(text, /\bprocess\./, `${f} uses process`);
  }
});

test("the public entry bundles for the browser platform", async () => {
  const result = await build({ entryPoints: ["src/index.ts"], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent" });
  assert.equal(result.errors.length, 0);
  const js = result.outputFiles[0]?.text ?? "";
  assert.ok(js.length > 10000);
  assert.doesNotMatch(js, /from\s*"node:/);
});

test("indexOf (Boyer-Moore-Horspool) agrees with a brute-force search", async () => {
  const { indexOf } = await import("../src/io/layout.js");
  const { randomBytes } = await import("../support/builders/bytes.js");
  const hay = randomBytes(200_000, 99).map((b) => b & 7);
  for (let k = 0; k < 300; k++) {
    const len = 1 + (k % 16);
    const at = (k * 7919) % (hay.length - len);
    const needle = hay.slice(at, at + len);
    const from = Math.max(0, at - 3000);
    let expected = -1;
    for (let i = from; i <= hay.length - len && expected < 0; i++) {
      let j = 0;
      while (j < len && hay[i + j] === needle[j]) j++;
      if (j === len) expected = i;
    }
    assert.equal(indexOf(hay, needle, from), expected, `needle ${k}`);
  }
  assert.equal(indexOf(hay, new Uint8Array(0)), -1);
  assert.equal(indexOf(hay.subarray(0, 3), hay.subarray(0, 4)), -1);
});
