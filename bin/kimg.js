#!/usr/bin/env node
// The CLI runs from the bundle in dist/bundle/ (built by `npm ci` through `prepare`), through
// its launcher (src/cli/launcher.ts), which keeps V8's compiled code for it between runs.
import "../dist/bundle/launch.js";
