/**
 * `kernelConfig` and `compareConfigs`: a kernel's embedded .config (CONFIG_IKCONFIG), and two
 * configurations compared as the kernel's scripts/diffconfig does (issue 16). Either input may be
 * a kernel image kimg reads, a plain .config, or a gzipped one (/proc/config.gz).
 */
import { type ConfigDiff, decodeConfigText, diffConfigs, readConfig } from "../analysis/kconfig.js";
import { ErrorCode, type ErrorCodeValue, KimgError } from "../io/errors.js";
import { IKCONFIG_MAX_COMPRESSED_BYTES, IKCONFIG_MAX_CONFIG_BYTES, KCONFIG_MAX_TEXT_BYTES } from "../io/limits.js";
import type { KernelConfigReport, Report } from "../model/report.js";
import { analyse, type InspectOptions, toBytes } from "./analyse.js";

/** Where a configuration came from, and the configuration. */
export interface KernelConfigResult {
  /** "kernel": the embedded .config of a kernel image; "text": the input is a .config; "gzip": a gzipped .config (/proc/config.gz). */
  source: "kernel" | "text" | "gzip";
  /** The .config as built, exact bytes (what scripts/extract-ikconfig prints). */
  config: Uint8Array;
  /** For a kernel image, where the .config was found (`report.kernelConfig`); null otherwise. */
  location: KernelConfigReport | null;
  /** The image's report, for a kernel image; null otherwise. */
  report: Report | null;
}

/** The first bytes looked at to tell a .config from a binary image. */
const TEXT_SNIFF_BYTES = 64 * 1024;

/** True when `bytes` read as a .config: text without NUL, with a "CONFIG_" line or a "# CONFIG_X is not set" line near the start. */
export function looksLikeConfigText(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length > KCONFIG_MAX_TEXT_BYTES) return false;
  const head = bytes.subarray(0, TEXT_SNIFF_BYTES);
  if (head.includes(0)) return false;
  const text = decodeConfigText(head);
  return /^(?:CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)/m.test(text);
}

/** A gzipped .config (/proc/config.gz, or config_data.gz itself), or null when `bytes` is not one. */
async function gzippedConfig(bytes: Uint8Array): Promise<Uint8Array | null> {
  if (bytes.length > IKCONFIG_MAX_COMPRESSED_BYTES || bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 0x08) return null;
  const { decodeGzip } = await import("../codecs/gzip.js");
  try {
    const text = await decodeGzip(bytes, { maxOutputBytes: IKCONFIG_MAX_CONFIG_BYTES });
    return looksLikeConfigText(text) ? text : null;
  } catch {
    return null; // Not a gzipped .config: read it as an image.
  }
}

/**
 * The configuration of `input`: the embedded .config of a kernel image (the innermost kernel
 * kimg reaches: raw Image, zboot payload, bzImage vmlinux, ELF, UKI .linux, FIT kernel, zImage),
 * or the input itself when it is a .config (plain or gzipped).
 *
 * Throws a KimgError when there is none: E_NO_SUCH_LAYER when the kernel has no "IKCFG_ST"
 * marker (built without CONFIG_IKCONFIG) or no kernel was reached; the code of the first
 * embedded-.config diagnostic (E_CORRUPT_STREAM, E_LIMIT, IKCONFIG_NO_END_MARKER ...), with its
 * offset, when the markers are there but the stream cannot be read.
 *
 * @example
 * const { config, location } = await kernelConfig(bytes);
 * console.log(location?.optionCount, new TextDecoder().decode(config));
 */
export async function kernelConfig(input: Uint8Array | ArrayBuffer, options: InspectOptions = {}): Promise<KernelConfigResult> {
  const bytes = toBytes(input);
  if (looksLikeConfigText(bytes)) return { source: "text", config: bytes, location: null, report: null };
  const unzipped = await gzippedConfig(bytes);
  if (unzipped) return { source: "gzip", config: unzipped, location: null, report: null };
  const { report, kernelConfig: config } = await analyse(bytes, options);
  const location = report.kernelConfig;
  if (config) return { source: "kernel", config, location, report };
  const name = options.name ?? "the input";
  if (location.layer === null) {
    throw new KimgError(ErrorCode.NO_SUCH_LAYER, `${name}: no kernel layer reached, so no embedded .config (and not a .config file)`, {
      structure: "embedded .config",
    });
  }
  if (location.startMarkerOffset === null) {
    throw new KimgError(ErrorCode.NO_SUCH_LAYER, `${name}: no embedded .config in ${location.layer} (no "IKCFG_ST" marker: built without CONFIG_IKCONFIG)`, {
      structure: "embedded .config",
    });
  }
  const start = location.startMarkerOffset;
  const problem = report.diagnostics.find((d) => d.layer === location.layer && d.severity === "error" && d.offset !== null && d.offset >= start);
  const errorCodes: readonly string[] = Object.values(ErrorCode);
  const code = problem && errorCodes.includes(problem.code) ? (problem.code as ErrorCodeValue) : ErrorCode.CORRUPT_STREAM;
  throw new KimgError(code, `${name}: ${problem ? `${problem.code}: ${problem.message}` : "the embedded .config cannot be read"}`, {
    structure: "embedded .config",
    offset: problem?.offset ?? start,
  });
}

/**
 * A .config's options by name ("CONFIG_X"), in file order, values as written; "# CONFIG_X is not
 * set" is "n". Read as scripts/diffconfig reads them (see analysis/kconfig.ts).
 *
 * @example
 * configOptions(config)["CONFIG_IKCONFIG"]; // "y"
 */
export function configOptions(config: Uint8Array | string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of readConfig(typeof config === "string" ? config : decodeConfigText(config))) out[`CONFIG_${name}`] = value;
  return out;
}

/** What `compareConfigs` returns: where each side came from, and the differences in diffconfig's order. */
export interface ConfigComparison {
  /** The first configuration's source ("kernel", "text", "gzip") and, for a kernel, where its .config is. */
  a: { source: KernelConfigResult["source"]; location: KernelConfigReport | null };
  /** The second's. */
  b: { source: KernelConfigResult["source"]; location: KernelConfigReport | null };
  /** Removed, changed and added options, each sorted by name; names without "CONFIG_", as diffconfig prints them. */
  diff: ConfigDiff;
}

/**
 * Compares two configurations with the meaning of the kernel's scripts/diffconfig: options only
 * in `a` (removed), in both with other values (changed), only in `b` (added). Either side may be
 * a kernel image or a .config. `report/config-text.ts` `renderConfigDiff` prints diffconfig's text.
 *
 * @example
 * const { diff } = await compareConfigs(oldKernel, newConfigText);
 * for (const c of diff.changed) console.log(c.name, c.old, "->", c.new);
 */
export async function compareConfigs(
  a: Uint8Array | ArrayBuffer,
  b: Uint8Array | ArrayBuffer,
  options: { a?: InspectOptions; b?: InspectOptions } = {},
): Promise<ConfigComparison> {
  const left = await kernelConfig(a, options.a);
  const right = await kernelConfig(b, options.b);
  return {
    a: { source: left.source, location: left.location },
    b: { source: right.source, location: right.location },
    diff: diffConfigs(readConfig(decodeConfigText(left.config)), readConfig(decodeConfigText(right.config))),
  };
}
