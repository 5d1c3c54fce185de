/** One line per diagnostic, the same in every view: `kimg inspect`, `kimg verify` and the web page. */
import { hex } from "../io/layout.js";
import type { Diagnostic } from "../model/report.js";

/**
 * The line in two parts: what (severity and code, which the page sets in bold) and the rest
 * (where, then the message). `severityWidth` pads the severity to align a list of them.
 * "error E_TRUNCATED at 0x000040 (/payload): ..."
 */
export function diagnosticParts(d: Diagnostic, severityWidth = 0): { what: string; rest: string } {
  return { what: `${d.severity.padEnd(severityWidth)} ${d.code}`, rest: `${d.offset === null ? "" : ` at ${hex(d.offset, 6)}`} (${d.layer}): ${d.message}` };
}

/** A diagnostic as one line of text (see `diagnosticParts`). */
export function diagnosticLine(d: Diagnostic, severityWidth = 0): string {
  const { what, rest } = diagnosticParts(d, severityWidth);
  return what + rest;
}
