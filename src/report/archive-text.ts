/** The text view of a cpio archive's listing (issue 16): one line per entry, `ls -l` style, with its header offset. */
import type { ArchiveEntry, ArchiveListing } from "../model/archive.js";

function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().replace(".000Z", "Z");
}

/** One entry: offset, mode, links, uid/gid, size (or major,minor for a device), mtime, name and symlink target. */
export function archiveEntryLine(e: ArchiveEntry): string {
  const size = e.type === "char" || e.type === "block" ? `${e.rdevMajor},${e.rdevMinor}` : String(e.size);
  const target = e.target !== undefined ? ` -> ${e.target}` : "";
  return `0x${e.offset.toString(16).padStart(6, "0")}  ${e.modeText} ${String(e.nlink).padStart(3)} ${`${e.uid}/${e.gid}`.padEnd(9)} ${size.padStart(10)}  ${isoTime(e.mtime)}  ${e.name}${target}`;
}

/** The listing under a heading: "entries (newc, 150, TRAILER!!! at 0x...):" then a line per entry. */
export function archiveLines(archive: ArchiveListing, indent: string): string[] {
  const trailer = archive.trailerOffset === null ? "no TRAILER!!!" : `TRAILER!!! at 0x${archive.trailerOffset.toString(16)}`;
  const lines = [`${indent}entries (${archive.format}, ${archive.entries.length}, ${trailer}${archive.incomplete ? ", incomplete" : ""}):`];
  for (const e of archive.entries) lines.push(`${indent}  ${archiveEntryLine(e)}`);
  return lines;
}
