/** test/helpers/tools.ts: how a test that needs a system tool is skipped, or failed under KIMG_REQUIRE_TOOLS=1. */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, test } from "node:test";
import { needs, requireTool } from "./helpers/tools.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-tools-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with PATH = dir and KIMG_REQUIRE_TOOLS as given, restoring both after. */
function withEnv<T>(require: string | undefined, fn: () => T): T {
  const saved = { path: process.env.PATH, require: process.env.KIMG_REQUIRE_TOOLS };
  process.env.PATH = [join(dir, "missing-dir"), dir].join(delimiter);
  if (require === undefined) delete process.env.KIMG_REQUIRE_TOOLS;
  else process.env.KIMG_REQUIRE_TOOLS = require;
  try {
    return fn();
  } finally {
    process.env.PATH = saved.path;
    if (saved.require === undefined) delete process.env.KIMG_REQUIRE_TOOLS;
    else process.env.KIMG_REQUIRE_TOOLS = saved.require;
  }
}

test("an executable on PATH is there: no skip, also under KIMG_REQUIRE_TOOLS=1", () => {
  writeFileSync(join(dir, "kimg-present"), "#!/bin/sh\n");
  chmodSync(join(dir, "kimg-present"), 0o755);
  assert.equal(
    withEnv(undefined, () => requireTool({ command: "kimg-present", package: "kimg-pkg" })),
    false,
  );
  assert.equal(
    withEnv("1", () => requireTool({ command: "kimg-present", package: "kimg-pkg" })),
    false,
  );
});

test("a missing command, or a file on PATH that is not executable, skips with the Debian package named", () => {
  writeFileSync(join(dir, "kimg-not-executable"), "data");
  chmodSync(join(dir, "kimg-not-executable"), 0o644);
  const reason = withEnv(undefined, () =>
    requireTool(
      { command: "kimg-absent", package: "kimg-absent-pkg" },
      { command: "kimg-not-executable", package: "kimg-data" },
      { command: "kimg-absent", package: "kimg-absent-pkg" },
    ),
  );
  // Root may execute any file with an x bit, never one without: 0644 is missing for everyone.
  assert.equal(reason, "needs kimg-absent (Debian package kimg-absent-pkg), kimg-not-executable (Debian package kimg-data)");
});

test("an absolute path only has to exist (a keyring, or a browser at a fixed place)", () => {
  assert.equal(
    withEnv(undefined, () => requireTool({ command: process.execPath, package: "nodejs" })),
    false,
  );
  assert.equal(
    withEnv(undefined, () => requireTool({ command: join(dir, "no-such-file"), package: "x" })),
    `needs ${join(dir, "no-such-file")} (Debian package x)`,
  );
});

test("KIMG_REQUIRE_TOOLS=1 turns the skip into an error naming the packages to install", () => {
  assert.throws(
    () => withEnv("1", () => requireTool({ command: "kimg-gone", package: "kimg-gone-pkg" }, { command: "kimg-gone-too", package: "kimg-gone-pkg" })),
    {
      message:
        "KIMG_REQUIRE_TOOLS=1, but a test needs kimg-gone (Debian package kimg-gone-pkg), kimg-gone-too (Debian package kimg-gone-pkg): apt-get install kimg-gone-pkg",
    },
  );
  assert.equal(
    withEnv("0", () => requireTool({ command: "kimg-gone-again", package: "p" })),
    "needs kimg-gone-again (Debian package p)",
  );
});

test("needs() names the package of each known tool and of support/builders' compressors", () => {
  const reason = withEnv(undefined, () => needs("lzo", "xz-arm64", "lzma", "dtc", "sbverify"));
  assert.equal(
    reason,
    "needs lzop (Debian package lzop), xz (Debian package xz-utils), lzma (Debian package xz-utils), dtc (Debian package device-tree-compiler), sbverify (Debian package sbsigntool)",
  );
});
