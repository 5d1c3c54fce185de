/**
 * SBAT (shim's "Secure Boot Advanced Targeting", rhboot/shim SBAT.md): the `.sbat` section of a
 * PE image, a CSV of six fields per line,
 *
 *   sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md
 *   shim,4,UEFI shim,shim,1,https://github.com/rhboot/shim
 *   component_name,component_generation,vendor_name,vendor_package_name,vendor_version,vendor_url
 *
 * and a revocation policy (the SbatLevel variable, shim's `.sbatlevel` section), a CSV whose first
 * line is "sbat,VERSION,DATESTAMP" and whose others are "component,generation".
 *
 * Read as shim reads them (csv.c parse_csv_data, sbat.c parse_sbat_section / parse_sbat_var_data):
 * the text ends at the first NUL; a UTF-8 BOM is skipped; lines end at "\r" or "\n" and empty
 * lines are skipped; a line's fields split at ",", and fields past the expected count are ignored.
 * A section line with fewer than six fields, or any empty field, makes shim reject the whole
 * section (EFI_INVALID_PARAMETER); a policy line needs two. Generations compare as shim's atoi
 * (leading decimal digits, 0 when none) stored in a UINT16.
 */
import { hex, u32 } from "../io/layout.js";
import type { SbatEntry, SbatLevelSection, SbatPolicy, SbatPolicyEntry } from "../model/secure-boot.js";
import { MAX_SBAT_BYTES, MAX_SBAT_ENTRIES } from "../io/limits.js";

export { MAX_SBAT_BYTES, MAX_SBAT_ENTRIES };

/** One problem found, with its offset in the text's space. */
export interface SbatProblem {
  code: "SBAT_MALFORMED_LINE" | "SBAT_TOO_MANY_ENTRIES" | "SBAT_TOO_LARGE";
  message: string;
  offset: number;
}

interface CsvRow {
  fields: string[];
  offset: number;
  line: number;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** The text shim sees: up to the first NUL, without a UTF-8 BOM; `start` is where it begins in `bytes`. */
function textOf(bytes: Uint8Array): { text: Uint8Array; start: number } {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return { text: bytes.subarray(start, Math.max(start, end)), start };
}

/** The CSV rows of an SBAT text, each with at most `columns` fields, as csv.c cuts them. */
function csvRows(bytes: Uint8Array, base: number, columns: number, problems: SbatProblem[]): CsvRow[] {
  const rows: CsvRow[] = [];
  if (bytes.length > MAX_SBAT_BYTES) {
    problems.push({
      code: "SBAT_TOO_LARGE",
      message: `SBAT text of ${bytes.length} bytes, more than MAX_SBAT_BYTES (${MAX_SBAT_BYTES}); not read`,
      offset: base,
    });
    return rows;
  }
  const { text, start } = textOf(bytes);
  let at = 0;
  let line = 0;
  while (at < text.length) {
    let end = at;
    while (end < text.length && text[end] !== 0x0a && text[end] !== 0x0d) end++;
    line++;
    if (end > at) {
      if (rows.length >= MAX_SBAT_ENTRIES) {
        problems.push({
          code: "SBAT_TOO_MANY_ENTRIES",
          message: `more than MAX_SBAT_ENTRIES (${MAX_SBAT_ENTRIES}) SBAT lines; the rest were not read`,
          offset: base + start + at,
        });
        break;
      }
      const fields = decoder.decode(text.subarray(at, end)).split(",").slice(0, columns);
      rows.push({ fields, offset: base + start + at, line });
    }
    at = end + 1;
  }
  return rows;
}

/** shim's atoi: the leading decimal digits (after blanks), 0 when there are none, kept as a UINT16. */
export function sbatGeneration(text: string): number {
  const digits = /^[ \t]*([0-9]+)/.exec(text)?.[1];
  if (!digits) return 0;
  let value = 0;
  for (const d of digits) value = (value * 10 + (d.charCodeAt(0) - 48)) % 0x10000;
  return value;
}

const SECTION_COLUMNS = 6;
const POLICY_REQUIRED_COLUMNS = 2;
const POLICY_COLUMNS = 3;

/** The entries of a `.sbat` section's data (`base`: the data's offset in the layer); `valid` false when shim would reject it. */
export function parseSbatSection(bytes: Uint8Array, base: number): { entries: SbatEntry[]; problems: SbatProblem[]; valid: boolean } {
  const problems: SbatProblem[] = [];
  const rows = csvRows(bytes, base, SECTION_COLUMNS, problems);
  const entries: SbatEntry[] = [];
  for (const row of rows) {
    const empty = row.fields.findIndex((f) => f.length === 0);
    if (row.fields.length < SECTION_COLUMNS || empty >= 0) {
      problems.push({
        code: "SBAT_MALFORMED_LINE",
        message:
          row.fields.length < SECTION_COLUMNS
            ? `SBAT line ${row.line} at ${hex(row.offset)} has ${row.fields.length} field${row.fields.length === 1 ? "" : "s"}, not 6: shim rejects the whole section`
            : `SBAT line ${row.line} at ${hex(row.offset)} has an empty field ${empty + 1}: shim rejects the whole section`,
        offset: row.offset,
      });
      continue;
    }
    const [component = "", generation = "", vendorName = "", vendorPackage = "", vendorVersion = "", vendorUrl = ""] = row.fields;
    entries.push({
      component,
      generation,
      generationNumber: sbatGeneration(generation),
      vendorName,
      vendorPackage,
      vendorVersion,
      vendorUrl,
      offset: row.offset,
      line: row.line,
    });
  }
  return { entries, problems, valid: problems.length === 0 };
}

/** A revocation policy's text (an SbatLevel value, one `.sbatlevel` payload); `base` is its offset in its source. */
export function parseSbatPolicy(bytes: Uint8Array, base: number): { policy: SbatPolicy; problems: SbatProblem[] } {
  const problems: SbatProblem[] = [];
  const rows = csvRows(bytes, base, POLICY_COLUMNS, problems);
  const entries: SbatPolicyEntry[] = [];
  for (const row of rows) {
    if (row.fields.length < POLICY_REQUIRED_COLUMNS || row.fields.some((f) => f.length === 0)) {
      problems.push({
        code: "SBAT_MALFORMED_LINE",
        message: `SbatLevel line ${row.line} at ${hex(row.offset)} is not "component,generation[,date]": shim rejects the whole policy`,
        offset: row.offset,
      });
      continue;
    }
    const [component = "", generation = "", datestamp] = row.fields;
    entries.push({ component, generation, generationNumber: sbatGeneration(generation), datestamp: datestamp ?? null, offset: row.offset });
  }
  const head = entries[0]?.component === "sbat" ? entries[0] : null;
  const { text } = textOf(bytes.subarray(0, Math.min(bytes.length, MAX_SBAT_BYTES)));
  return {
    policy: { version: head?.generation ?? null, datestamp: head?.datestamp ?? null, entries, offset: base, text: decoder.decode(text) },
    problems,
  };
}

/** Problems of a `.sbatlevel` section's header, which make it unreadable. */
export class SbatLevelError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * shim's `.sbatlevel` section (sbat_var.S):
 *
 *   .4byte 0                         format version for external parsers
 *   sbat_var_payload_header:
 *   .4byte .Lsbat_var_automatic - sbat_var_payload_header
 *   .4byte .Lsbat_var_latest - sbat_var_payload_header
 *   .Lsbat_var_automatic: .ascii SBAT_VAR_AUTOMATIC; .byte 0
 *   .Lsbat_var_latest:    .ascii SBAT_VAR_LATEST; .byte 0
 *
 * `base` is the section data's offset in the layer. Throws SbatLevelError when an offset points
 * outside the data.
 */
export function parseSbatLevel(bytes: Uint8Array, base: number): { level: SbatLevelSection; problems: SbatProblem[] } {
  const formatVersion = u32(bytes, 0);
  const automaticOffset = u32(bytes, 4);
  const latestOffset = u32(bytes, 8);
  if (formatVersion === undefined || automaticOffset === undefined || latestOffset === undefined)
    throw new SbatLevelError(`.sbatlevel is ${bytes.length} bytes, shorter than its 12-byte header`, base);
  const payload = (relative: number, name: string): Uint8Array => {
    const at = 4 + relative;
    if (relative < 8 || at >= bytes.length)
      throw new SbatLevelError(
        `.sbatlevel ${name}_offset ${hex(relative)} points outside the section (${hex(bytes.length)} bytes)`,
        base + (name === "automatic" ? 4 : 8),
      );
    return bytes.subarray(at, Math.min(bytes.length, at + MAX_SBAT_BYTES));
  };
  const automatic = parseSbatPolicy(payload(automaticOffset, "automatic"), base + 4 + automaticOffset);
  const latest = parseSbatPolicy(payload(latestOffset, "latest"), base + 4 + latestOffset);
  return {
    level: { offset: base, formatVersion, automatic: automatic.policy, latest: latest.policy },
    problems: [...automatic.problems, ...latest.problems],
  };
}

/**
 * Whether shim lets an image with these SBAT entries load under `policy` (sbat.c
 * verify_sbat_helper): for each entry, the first policy line with the same component name
 * decides; the image is revoked when its generation is below that line's. An empty policy lets
 * everything pass.
 */
export function sbatRevocation(entries: readonly SbatEntry[], policy: SbatPolicy): { entry: SbatEntry; rule: SbatPolicyEntry } | null {
  for (const entry of entries) {
    const rule = policy.entries.find((r) => r.component === entry.component);
    if (rule && entry.generationNumber < rule.generationNumber) return { entry, rule };
  }
  return null;
}

/**
 * Whether shim keeps the policy already in the SbatLevel variable rather than apply `candidate`
 * (sbat.c preserve_sbat_uefi_variable): the current version is longer or sorts after the new, or
 * its datestamp is not older (the first 10 characters compared as strings).
 */
export function sbatPolicyIsNotOlder(current: SbatPolicy, candidate: SbatPolicy): boolean {
  const cv = current.version ?? "";
  const nv = candidate.version ?? "";
  if (cv.length > nv.length || (cv.length === nv.length && cv > nv)) return true;
  return (current.datestamp ?? "").slice(0, 10) >= (candidate.datestamp ?? "").slice(0, 10);
}
