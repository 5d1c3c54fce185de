/**
 * The kernel's embedded .config (CONFIG_IKCONFIG). kernel/configs.c (v5.1+; the same markers
 * since v2.6) places the gzipped .config in .rodata between two ASCII markers:
 *
 * ```c
 * asm (
 * "	.pushsection .rodata, \"a\"		\n"
 * "	.ascii \"IKCFG_ST\"			\n"
 * "	.global kernel_config_data		\n"
 * "kernel_config_data:				\n"
 * "	.incbin \"kernel/config_data.gz\"	\n"
 * "	.global kernel_config_data_end		\n"
 * "kernel_config_data_end:			\n"
 * "	.ascii \"IKCFG_ED\"			\n"
 * "	.popsection				\n"
 * );
 * ```
 *
 * kernel/Makefile makes config_data.gz with `gzip -n -f -9` of the .config, byte for byte;
 * scripts/extract-ikconfig finds "IKCFG_ST\037\213\010" and gunzips what follows. kimg does the
 * same in the innermost kernel layer the walk reached (raw Image, zboot payload, bzImage vmlinux,
 * ELF, UKI .linux, FIT kernel, zImage's inner Image), bounded by the limits in io/limits.ts.
 */
import { crc32 } from "../codecs/checksums.js";
import { asKimgError, ErrorCode, KimgError } from "../io/errors.js";
import { ascii, indexOf, u32 } from "../io/layout.js";
import { IKCONFIG_MAX_CANDIDATES, IKCONFIG_MAX_COMPRESSED_BYTES, IKCONFIG_MAX_CONFIG_BYTES, IKCONFIG_MAX_SCAN_BYTES } from "../io/limits.js";
import { findMarker } from "../io/marker-scan.js";
import type { ReportCode } from "../model/codes.js";
import { factsOf, type FactsTable } from "../model/facts.js";
import type { Diagnostic, KernelConfigReport, Layer, Severity } from "../model/report.js";
import { countOptions } from "./kconfig.js";
import { kernelChain } from "./summary.js";

/** The marker before the gzip stream (kernel/configs.c). */
export const IKCFG_ST = ascii("IKCFG_ST");
/** The marker after it. */
export const IKCFG_ED = ascii("IKCFG_ED");
/** gzip's ID1 ID2 CM (deflate): what extract-ikconfig requires right after IKCFG_ST. */
const GZIP_DEFLATE_HEADER = [0x1f, 0x8b, 0x08] as const;
/** A gzip member is at least a 10-byte header and an 8-byte trailer. */
const GZIP_MIN_BYTES = 18;

/** A diagnostic about the embedded .config, in the searched layer's space. */
export interface ConfigProblem {
  code: ReportCode;
  severity: Severity;
  message: string;
  /** Offset in the searched bytes (add the layer's offset for its space). */
  offset: number;
}

/** What a search of one kernel's bytes found. Offsets are in those bytes. */
export interface EmbeddedConfigFound {
  /** The .config text as built, exact bytes; null when the markers were found but the stream did not inflate. */
  config: Uint8Array | null;
  startMarkerOffset: number;
  dataOffset: number;
  /** Offset of IKCFG_ED, null when it was not found. */
  endMarkerOffset: number | null;
  /** Bytes from dataOffset to IKCFG_ED (0 when IKCFG_ED was not found). */
  compressedSize: number;
}

/** The result of `findEmbeddedConfig`: what was found (null when no marker with a gzip header), the bytes searched and the problems. */
export interface EmbeddedConfigSearch {
  found: EmbeddedConfigFound | null;
  searchedBytes: number;
  problems: ConfigProblem[];
}

/** The byte ranges of a kernel worth searching: an ELF's PT_LOAD segments (not its symbols or debug info), else the whole layer. */
export function searchRanges(bytes: Uint8Array, facts: FactsTable, path: string): Array<[number, number]> {
  const elf = factsOf(facts, path, "elf");
  if (elf) {
    const ranges: Array<[number, number]> = [];
    for (const s of elf.segments) {
      if (s.type !== "LOAD" || s.filesz === 0) continue;
      const start = Math.min(s.offset, bytes.length);
      const end = Math.min(s.offset + s.filesz, bytes.length);
      if (end > start) ranges.push([start, end]);
    }
    if (ranges.length > 0) return ranges.sort((a, b) => a[0] - b[0]);
  }
  return [[0, bytes.length]];
}

/**
 * Finds and inflates the embedded .config in `bytes`, searching `ranges` (default: all of it) up
 * to IKCONFIG_MAX_SCAN_BYTES in total. The gzip stream is inflated with the platform-neutral
 * decoder under IKCONFIG_MAX_CONFIG_BYTES, so every front end reaches the same verdict.
 */
export async function findEmbeddedConfig(bytes: Uint8Array, ranges: Array<[number, number]> = [[0, bytes.length]]): Promise<EmbeddedConfigSearch> {
  const problems: ConfigProblem[] = [];
  let budget = IKCONFIG_MAX_SCAN_BYTES;
  let searched = 0;
  for (const [start, end] of ranges) searched += Math.max(0, end - start);
  searched = Math.min(searched, IKCONFIG_MAX_SCAN_BYTES);
  let candidates = 0;
  for (const [start, rangeEnd] of ranges) {
    if (budget <= 0) break;
    const end = Math.min(rangeEnd, start + budget);
    if (end < rangeEnd) {
      problems.push({
        code: "IKCONFIG_SCAN_LIMIT",
        severity: "info",
        message: `searched only the first ${IKCONFIG_MAX_SCAN_BYTES} bytes (IKCONFIG_MAX_SCAN_BYTES) for the embedded .config`,
        offset: end,
      });
    }
    budget -= end - start;
    // The offsets come from the layer's one marker scan (io/marker-scan.ts), shared with the banner and initramfs searches.
    for (
      let at = findMarker(bytes, "ikconfig", start, end);
      at !== -1 && candidates < IKCONFIG_MAX_CANDIDATES;
      at = findMarker(bytes, "ikconfig", at + 1, end)
    ) {
      candidates++;
      const data = at + IKCFG_ST.length;
      if (!GZIP_DEFLATE_HEADER.every((b, i) => bytes[data + i] === b)) continue;
      return { found: await readStream(bytes, at, problems), searchedBytes: searched, problems };
    }
  }
  return { found: null, searchedBytes: searched, problems };
}

async function readStream(bytes: Uint8Array, startMarker: number, problems: ConfigProblem[]): Promise<EmbeddedConfigFound> {
  const dataOffset = startMarker + IKCFG_ST.length;
  const endMarker = indexOf(bytes, IKCFG_ED, dataOffset, Math.min(bytes.length, dataOffset + IKCONFIG_MAX_COMPRESSED_BYTES + IKCFG_ED.length));
  const found: EmbeddedConfigFound = { config: null, startMarkerOffset: startMarker, dataOffset, endMarkerOffset: null, compressedSize: 0 };
  if (endMarker === -1) {
    problems.push({
      code: "IKCONFIG_NO_END_MARKER",
      severity: "error",
      message: `"IKCFG_ST" and a gzip header at 0x${dataOffset.toString(16)}, but no "IKCFG_ED" within ${IKCONFIG_MAX_COMPRESSED_BYTES} bytes (IKCONFIG_MAX_COMPRESSED_BYTES)`,
      offset: startMarker,
    });
    return found;
  }
  found.endMarkerOffset = endMarker;
  found.compressedSize = endMarker - dataOffset;
  const stream = bytes.subarray(dataOffset, endMarker);
  // Loaded on first use, as every codec is (test/startup.test.ts).
  const { decodeGzip } = await import("../codecs/gzip.js");
  const inflate = (data: Uint8Array): Promise<Uint8Array> => {
    if (data.length < GZIP_MIN_BYTES) {
      throw new KimgError(ErrorCode.CORRUPT_STREAM, `gzip stream of ${data.length} bytes, shorter than a gzip header and trailer (${GZIP_MIN_BYTES})`, {
        structure: "embedded .config gzip stream",
      });
    }
    return Promise.resolve(decodeGzip(data, { maxOutputBytes: IKCONFIG_MAX_CONFIG_BYTES }));
  };
  let config: Uint8Array;
  let streamEnd = stream.length;
  try {
    config = await inflate(stream);
  } catch (error) {
    const e = asKimgError(error, ErrorCode.CORRUPT_STREAM, { structure: "embedded .config gzip stream" });
    const earlier = e.code === ErrorCode.CORRUPT_STREAM ? await earlierMemberEnd(stream, inflate) : null;
    if (!earlier) {
      problems.push({
        code: e.code,
        severity: "error",
        message: `embedded .config between "IKCFG_ST" at 0x${startMarker.toString(16)} and "IKCFG_ED" at 0x${endMarker.toString(16)}: ${e.message}`,
        offset: dataOffset + Math.min(e.offset ?? 0, stream.length),
      });
      return found;
    }
    config = earlier.config;
    streamEnd = earlier.end;
  }
  found.config = config;
  // The gzip trailer (CRC-32, ISIZE) must be the last 8 bytes before IKCFG_ED; otherwise
  // something follows the stream (some decoders stop at the member's end and ignore the rest).
  if (streamEnd === stream.length && !trailerMatches(stream, stream.length, config)) {
    for (let at = GZIP_MIN_BYTES; at <= stream.length; at++) {
      if (trailerMatches(stream, at, config)) {
        streamEnd = at;
        break;
      }
    }
  }
  if (streamEnd !== stream.length) {
    const garbageAt = dataOffset + streamEnd;
    problems.push({
      code: "IKCONFIG_TRAILING_DATA",
      severity: "warning",
      message: `${endMarker - garbageAt} bytes between the end of the embedded .config's gzip stream (0x${garbageAt.toString(16)}) and "IKCFG_ED" at 0x${endMarker.toString(16)}`,
      offset: garbageAt,
    });
  }
  const nul = config.indexOf(0);
  if (nul !== -1) {
    problems.push({
      code: "IKCONFIG_NOT_TEXT",
      severity: "warning",
      message: `the embedded .config has a NUL byte at offset ${nul} of its ${config.length} bytes: not a .config`,
      offset: dataOffset,
    });
  }
  return found;
}

/** True when the 8 bytes before `end` are the gzip trailer of `config`: its CRC-32 and its size mod 2^32 (RFC 1952). */
function trailerMatches(stream: Uint8Array, end: number, config: Uint8Array): boolean {
  return end >= GZIP_MIN_BYTES && u32(stream, end - 8) === crc32(config) && u32(stream, end - 4) === config.length >>> 0;
}

/**
 * When the stream does not inflate up to IKCFG_ED, bytes may follow a whole gzip member. The
 * member ends where an 8-byte trailer is; candidates are tried from the end backwards, those
 * whose ISIZE fits IKCONFIG_MAX_CONFIG_BYTES only, at most IKCONFIG_MAX_CANDIDATES of them.
 */
async function earlierMemberEnd(stream: Uint8Array, inflate: (data: Uint8Array) => Promise<Uint8Array>): Promise<{ end: number; config: Uint8Array } | null> {
  let tries = 0;
  for (let end = stream.length - 1; end >= GZIP_MIN_BYTES && tries < IKCONFIG_MAX_CANDIDATES; end--) {
    const isize = u32(stream, end - 4) ?? 0;
    if (isize === 0 || isize > IKCONFIG_MAX_CONFIG_BYTES || isize * 1032 < end - GZIP_MIN_BYTES) continue;
    tries++;
    try {
      const config = await inflate(stream.subarray(0, end));
      if (trailerMatches(stream, end, config)) return { end, config };
    } catch {
      // Not the member's end: try an earlier one.
    }
  }
  return null;
}

/** The report's `kernelConfig` when nothing was searched or found. */
function absent(layer: string | null, searchedBytes: number): KernelConfigReport {
  return {
    layer,
    present: false,
    startMarkerOffset: null,
    dataOffset: null,
    compressedSize: null,
    endMarkerOffset: null,
    size: null,
    optionCount: null,
    unsetCount: null,
    searchedBytes,
  };
}

/** The report part when the search was turned off (`kernelContents: false`): the kernel layer, 0 bytes searched. */
export function configNotSearched(root: Layer): KernelConfigResult {
  return { report: absent(kernelChain(root).at(-1)?.path ?? null, 0), config: null };
}

/** What `attachKernelConfig` adds to an analysis: the report part and the .config bytes. */
export interface KernelConfigResult {
  report: KernelConfigReport;
  /** The .config as built (exact bytes), null when absent or unreadable. */
  config: Uint8Array | null;
}

/**
 * Searches the innermost kernel layer of a walked tree for its embedded .config, adds the
 * markers and stream as a structure of that layer and its problems to `diagnostics`, and returns
 * the report part with the .config bytes.
 */
export async function attachKernelConfig(
  root: Layer,
  bytesOf: Map<string, Uint8Array>,
  facts: FactsTable,
  diagnostics: Diagnostic[],
): Promise<KernelConfigResult> {
  const kernel = kernelChain(root).at(-1);
  const bytes = kernel ? bytesOf.get(kernel.path) : undefined;
  if (!kernel || !bytes) return { report: absent(null, 0), config: null };
  const search = await findEmbeddedConfig(bytes, searchRanges(bytes, facts, kernel.path));
  const base = kernel.offset;
  for (const p of search.problems) diagnostics.push({ code: p.code, severity: p.severity, message: p.message, offset: base + p.offset, layer: kernel.path });
  const found = search.found;
  if (!found) return { report: absent(kernel.path, search.searchedBytes), config: null };
  const end = found.endMarkerOffset;
  kernel.structures.push({
    name: "embedded .config (IKCONFIG)",
    offset: base + found.startMarkerOffset,
    size: (end === null ? found.dataOffset : end + IKCFG_ED.length) - found.startMarkerOffset,
    fields: [
      { name: "IKCFG_ST", offset: base + found.startMarkerOffset, size: IKCFG_ST.length, value: "IKCFG_ST" },
      {
        name: "kernel_config_data",
        offset: base + found.dataOffset,
        size: found.compressedSize,
        value: found.compressedSize,
        hex: `0x${found.compressedSize.toString(16)}`,
        meaning: found.config ? `gzip, ${found.config.length} bytes of .config` : "gzip, unreadable",
      },
      ...(end === null ? [] : [{ name: "IKCFG_ED", offset: base + end, size: IKCFG_ED.length, value: "IKCFG_ED" }]),
    ],
  });
  const counts = found.config ? countOptions(found.config) : null;
  return {
    report: {
      layer: kernel.path,
      present: found.config !== null,
      startMarkerOffset: base + found.startMarkerOffset,
      dataOffset: base + found.dataOffset,
      compressedSize: end === null ? null : found.compressedSize,
      endMarkerOffset: end === null ? null : base + end,
      size: found.config ? found.config.length : null,
      optionCount: counts ? counts.options : null,
      unsetCount: counts ? counts.unset : null,
      searchedBytes: search.searchedBytes,
    },
    config: found.config,
  };
}
