/** The process entry of the CLI: run, then leave the exit code to Node (stdout drains first). */
import { guardStandardStreamsAtExit } from "../node/koffi.js";
import { main } from "./main.js";

guardStandardStreamsAtExit();

process.exitCode = await main(process.argv.slice(2));
