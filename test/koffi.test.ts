/**
 * node/koffi.ts: koffi's native module is taken from its platform package, without koffi's entry
 * point (which costs 7-9 ms of module loading for wrappers kimg does not use), and works as
 * koffi's own does.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { loadKoffi } from "../src/node/koffi.js";

test("loadKoffi: the platform package's native module, of koffi's version; koffi's entry point is not loaded", { skip: process.platform !== "linux" }, () => {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("koffi");
  const koffi = loadKoffi() as ReturnType<typeof loadKoffi> & { version?: string };
  assert.equal(require.cache[entry], undefined, "koffi's index.cjs stayed unloaded");
  // Nor the platform package's index.js (it reads Node's ELF headers to tell glibc from musl): the native file is dlopened.
  const platform = createRequire(entry).resolve(`@koromix/koffi-${process.platform}-${process.arch}`);
  assert.equal(require.cache[platform], undefined, "the platform package's index.js stayed unloaded");
  const { version } = JSON.parse(readFileSync(join(dirname(entry), "package.json"), "utf8")) as { version: string };
  assert.equal(koffi.version, version);
  // It calls into C as koffi does: the process id through libc, an address, errno.
  const getpid = koffi.load("libc.so.6").func("int getpid(void)");
  assert.equal(getpid(), process.pid);
  assert.equal(typeof koffi.address(new Uint8Array(8)), "bigint");
  assert.equal(typeof koffi.errno(), "number");
});
