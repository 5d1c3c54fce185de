/** A one-line progress indicator on stderr, only on a terminal, only for work that takes a while. */
import type { ProgressEvent } from "../analysis/tree.js";
import { stderrStream } from "../node/stderr.js";

export function progressReporter(enabled: boolean): ((event: ProgressEvent) => void) | undefined {
  if (!enabled) return undefined;
  const started = Date.now();
  let last = 0;
  // Whether stderr is a terminal is asked only once the work has taken a while: process.stderr,
  // which knows, costs 2.5-3 ms to create, and a short run shows no progress anyway.
  let terminal: boolean | undefined;
  return (event) => {
    const now = Date.now();
    if (now - started < 400 || now - last < 100) return;
    if (terminal === undefined) {
      terminal = stderrStream().isTTY === true;
      if (terminal) process.on("exit", () => stderrStream().write("\r\x1b[K"));
    }
    if (!terminal) return;
    last = now;
    const mb = (n: number): string => (n / 1e6).toFixed(1);
    const total = event.expectedBytes ? ` / ${mb(event.expectedBytes)} MB` : " MB";
    const pct = event.expectedBytes ? ` ${Math.min(100, Math.floor((100 * event.outputBytes) / event.expectedBytes))}%` : "";
    stderrStream().write(`\r\x1b[Kdecompressing ${event.layer} (${event.codec}): ${mb(event.outputBytes)}${total}${pct}`);
  };
}
