#!/usr/bin/env node
// The CLI runs from the compiled dist/ (built by `npm ci` through `prepare`).
import "../dist/cli/run.js";
