#!/usr/bin/env node
// The CLI runs from the bundle in dist/ (built by `npm ci` through `prepare`). Where Node offers
// it (>= 22.1), V8's compiled code for the bundle is kept on disk between runs; older Nodes skip it.
import module from "node:module";

try {
  module.enableCompileCache?.();
} catch {
  // A cache that cannot be written (read-only home and temp) only costs the compile.
}
await import("../dist/bundle/run.js");
