#!/usr/bin/env node
// The CLI runs from the compiled dist/ (built by `npm ci` through `prepare`).
import { main } from "../dist/cli/main.js";
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
