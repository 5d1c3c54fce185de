/** The process entry of the CLI: run, then leave the exit code to Node (stdout drains first). */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
