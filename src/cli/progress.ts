/** A one-line progress indicator on stderr, only on a terminal, only for work that takes a while. */
import type { ProgressEvent } from "../analysis/tree.js";

export function progressReporter(enabled: boolean): ((event: ProgressEvent) => void) | undefined {
  if (!enabled || !process.stderr.isTTY) return undefined;
  const started = Date.now();
  let last = 0;
  let shown = false;
  process.on("exit", () => {
    if (shown) process.stderr.write("\r\x1b[K");
  });
  return (event) => {
    const now = Date.now();
    if (now - started < 400 || now - last < 100) return;
    last = now;
    shown = true;
    const mb = (n: number): string => (n / 1e6).toFixed(1);
    const total = event.expectedBytes ? ` / ${mb(event.expectedBytes)} MB` : " MB";
    const pct = event.expectedBytes ? ` ${Math.min(100, Math.floor((100 * event.outputBytes) / event.expectedBytes))}%` : "";
    process.stderr.write(`\r\x1b[Kdecompressing ${event.layer} (${event.codec}): ${mb(event.outputBytes)}${total}${pct}`);
  };
}
