/**
 * What an initrd holds, in a few lines (issue 16): its segments (an uncompressed cpio, or the
 * codec of a compressed one) with their ranges and each archive's entry count. `kimg kexec load`
 * prints it for the initrd it passes, so what will be unpacked is seen before the jump.
 */
import type { Layer, Report } from "../model/report.js";

/** One segment of an initrd: where it is, what it is, and the archive it holds. */
export interface InitrdSegmentSummary {
  /** Its layer in `kimg inspect` of the initrd. */
  path: string;
  /** "cpio", or the codec of a compressed segment. */
  kind: string;
  offset: number;
  size: number;
  /** The archive inside; null when none could be read. */
  archive: { format: "newc" | "crc"; entries: number; files: number; dataBytes: number; complete: boolean } | null;
}

/** The segments of an initrd and the errors found reading it. */
export interface InitrdSummary {
  /** The initrd's outer format: "initramfs" (concatenated), "cpio", "compressed", or another when it is no archive. */
  format: string;
  segments: InitrdSegmentSummary[];
  /** The error diagnostics, one line each ("E_TRUNCATED at 0x...: ..."). */
  errors: string[];
}

function archiveIn(layer: Layer): Layer | undefined {
  if (layer.archive) return layer;
  for (const c of layer.children) {
    const found = archiveIn(c);
    if (found) return found;
  }
  return undefined;
}

function segmentOf(layer: Layer): InitrdSegmentSummary {
  const a = archiveIn(layer);
  const kind = layer.format === "compressed" ? String(layer.info.codec ?? "unknown codec") : layer.format;
  return {
    path: layer.path,
    kind,
    offset: layer.offset,
    size: layer.size,
    archive: a?.archive
      ? {
          format: a.archive.format,
          entries: a.archive.entries.length,
          files: a.archive.entries.filter((e) => e.type === "file").length,
          dataBytes: a.archive.entries.filter((e) => e.type === "file").reduce((n, e) => n + e.size, 0),
          complete: !a.archive.incomplete,
        }
      : null,
  };
}

/** The summary of `kimg inspect` of an initrd. */
export function initrdSummary(report: Report): InitrdSummary {
  const root = report.root;
  const segments = root.format === "initramfs" ? root.children.map(segmentOf) : [segmentOf(root)];
  const errors = report.diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => `${d.code}${d.offset === null ? "" : ` at 0x${d.offset.toString(16)}`}: ${d.message}`);
  return { format: root.format, segments, errors };
}

/** The summary as text lines: "initrd contents: 2 segments" then one line per segment. */
export function initrdSummaryLines(summary: InitrdSummary): string[] {
  const lines = [`initrd contents: ${summary.format}, ${summary.segments.length} segment${summary.segments.length === 1 ? "" : "s"}`];
  for (const s of summary.segments) {
    const a = s.archive;
    const what = a
      ? `${a.format} cpio, ${a.entries} entries (${a.files} files, ${a.dataBytes} bytes)${a.complete ? "" : ", incomplete"}`
      : "no cpio archive read";
    lines.push(`  ${s.kind.padEnd(6)} [0x${s.offset.toString(16)}, +0x${s.size.toString(16)})  ${what}`);
  }
  for (const e of summary.errors) lines.push(`  error: ${e}`);
  return lines;
}
