/** The process entry of the CLI: run, then leave the exit code to Node (stdout drains first). */
import { guardStandardStreamsAtExit } from "../node/koffi.js";
import { main } from "./main.js";

guardStandardStreamsAtExit();

// No top-level await: the bundle runs this as a script (src/cli/launcher.ts). main() handles its own errors.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
