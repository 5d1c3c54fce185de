/**
 * The WebAssembly modules are committed as src/codecs/*-wasm.generated.ts (so the sources run as
 * they are); a fresh compile of wasm/ with the pinned AssemblyScript must give the same bytes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("the committed WebAssembly modules are what wasm/ compiles to", () => {
  const r = spawnSync(process.execPath, ["scripts/build-wasm.mjs", "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});
