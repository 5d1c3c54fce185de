#!/usr/bin/env node
// The CLI runs from the bundle in dist/ (built by `npm ci` through `prepare`).
import "../dist/bundle/run.js";
