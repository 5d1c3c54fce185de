/** The text views of the embedded .config (issue 16): diffconfig's output, and the line `inspect` prints. */
import type { ConfigDiff } from "../analysis/kconfig.js";
import type { KernelConfigReport } from "../model/report.js";

/**
 * scripts/diffconfig's output: `-NAME value`, ` NAME old -> new`, `+NAME value`, one per line;
 * with `merge`, its `-m` output (changed and added options as .config lines, in that order;
 * removed ones print nothing, nor do empty values, which diffconfig's `if new_value:` skips).
 */
export function renderConfigDiff(diff: ConfigDiff, options: { merge?: boolean } = {}): string {
  const lines: string[] = [];
  const mergeLine = (name: string, value: string): string => (value === "n" ? `# CONFIG_${name} is not set` : `CONFIG_${name}=${value}`);
  if (options.merge) {
    for (const c of diff.changed) if (c.new) lines.push(mergeLine(c.name, c.new));
    for (const c of diff.added) if (c.value) lines.push(mergeLine(c.name, c.value));
  } else {
    for (const c of diff.removed) lines.push(`-${c.name} ${c.value}`);
    for (const c of diff.changed) lines.push(` ${c.name} ${c.old} -> ${c.new}`);
    for (const c of diff.added) lines.push(`+${c.name} ${c.value}`);
  }
  return lines.map((l) => l + "\n").join("");
}

function hx(n: number): string {
  return "0x" + n.toString(16);
}

/** One line on the embedded .config, for the summary of `kimg inspect`. */
export function kernelConfigLine(c: KernelConfigReport): string {
  if (c.layer === null) return "not searched (no kernel layer reached)";
  if (c.startMarkerOffset === null && c.searchedBytes === 0) return `not searched in ${c.layer}`;
  if (c.startMarkerOffset === null) return `none in ${c.layer} (built without CONFIG_IKCONFIG; ${c.searchedBytes} bytes searched)`;
  const where = `"IKCFG_ST" at ${hx(c.startMarkerOffset)}${c.endMarkerOffset !== null ? `, "IKCFG_ED" at ${hx(c.endMarkerOffset)}` : ", no IKCFG_ED"} in ${c.layer}`;
  if (!c.present) return `unreadable: ${where} (see diagnostics)`;
  return `${c.optionCount} options (${c.unsetCount} not set), ${c.size} bytes, gzip ${c.compressedSize} bytes; ${where} (kimg config prints it)`;
}
