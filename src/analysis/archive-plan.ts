/**
 * What extracting a cpio archive writes, decided before anything is written (issue 16). The plan
 * is the safety: the Node writer (node/archive-writer.ts) only carries it out.
 *
 * - Names are relative paths: a name that is absolute, empty, holds a NUL or a ".." component,
 *   or has more than maxArchivePathDepth components is skipped (ARCHIVE_UNSAFE_NAME).
 * - Devices, FIFOs and sockets are listed, never created (ARCHIVE_SPECIAL_SKIPPED).
 * - A name that appears twice: the later entry wins, as in the kernel's unpacker.
 * - Nothing is written below a path that ends up a symlink or a file (ARCHIVE_THROUGH_LINK): with
 *   symlinks created last, no write ever goes through a link.
 * - Permissions are masked like a 022 umask, without setuid, setgid and sticky: at most 0o755.
 * - Hard links (a regular file with c_nlink > 1 and the same c_ino, c_maj, c_min): one file with
 *   the data of the entry that carries it (newc puts it on the last), the other names linked to it.
 * - The entry count and the bytes written stop at maxArchiveEntries and maxArchiveBytes (E_LIMIT).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { Limits } from "../io/limits.js";
import type { ArchiveEntry, ArchiveListing } from "../model/archive.js";
import type { DiagnosticCode } from "../model/codes.js";

/** The bits extraction keeps: rwx for the owner, r-x for group and others. */
export const ARCHIVE_MODE_MASK = 0o755;

/** One thing to create, in the order to create it: directories, files, hard links, symlinks. */
export type ArchiveOp =
  | { kind: "dir"; path: string; mode: number; mtime: number; entryOffset: number | null }
  | { kind: "file"; path: string; mode: number; mtime: number; entryOffset: number; dataOffset: number; size: number }
  | { kind: "hardlink"; path: string; to: string; entryOffset: number }
  | { kind: "symlink"; path: string; target: string; mtime: number; entryOffset: number };

/** An entry not extracted (or extracted differently), with its code. */
export interface ArchiveSkip {
  code: DiagnosticCode;
  /** The entry's header offset in the layer's space. */
  offset: number;
  name: string;
  message: string;
}

/** The plan for one archive: what to create (paths relative to the archive's folder, "/"-separated), what was skipped, the bytes to write. */
export interface ArchivePlan {
  ops: ArchiveOp[];
  skipped: ArchiveSkip[];
  /** Bytes of file data the plan writes. */
  totalBytes: number;
}

/** The components of a safe relative name, or the reason it is not one. */
export function safeComponents(name: string, maxDepth: number): string[] | string {
  if (name.includes("\uFFFD") || name.includes("\0")) return "holds a NUL or bytes that are not UTF-8";
  if (name.length === 0) return "is empty";
  if (name.startsWith("/")) return "is absolute";
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) return 'has a ".." component';
  if (parts.length > maxDepth) return `has ${parts.length} components, over maxArchivePathDepth (${maxDepth})`;
  return parts;
}

/** The permission bits kept for an entry (see ARCHIVE_MODE_MASK); directories keep owner rwx so they can be filled. */
export function maskedMode(entry: Pick<ArchiveEntry, "mode" | "type">): number {
  const perms = entry.mode & ARCHIVE_MODE_MASK;
  return entry.type === "dir" ? perms | 0o700 : perms;
}

/**
 * The extraction plan of one archive. `offsetOf(entry)` maps an entry's data offset (layer space)
 * to an index into the bytes the writer gets.
 */
export function planArchive(
  archive: ArchiveListing,
  limits: Pick<Limits, "maxArchiveEntries" | "maxArchiveBytes" | "maxArchivePathDepth">,
  dataIndex: (entry: ArchiveEntry) => number,
): ArchivePlan {
  const skipped: ArchiveSkip[] = [];
  const skip = (e: ArchiveEntry, code: DiagnosticCode, message: string): void => {
    skipped.push({ code, offset: e.offset, name: e.name, message: `${JSON.stringify(e.name)}: ${message}` });
  };
  if (archive.entries.length > limits.maxArchiveEntries) {
    throw new KimgError(ErrorCode.LIMIT, `${archive.entries.length} entries, over maxArchiveEntries (${limits.maxArchiveEntries})`, {
      structure: "cpio archive",
      limit: "maxArchiveEntries",
    });
  }
  // 1. The final entry of each path (the later one wins).
  const final = new Map<string, { entry: ArchiveEntry; parts: string[] }>();
  for (const e of archive.entries) {
    const parts = safeComponents(e.name, limits.maxArchivePathDepth);
    if (typeof parts === "string") {
      skip(e, "ARCHIVE_UNSAFE_NAME", `not extracted: the name ${parts}`);
      continue;
    }
    if (parts.length === 0) continue; // "." : the archive's own folder
    if (e.type !== "file" && e.type !== "dir" && e.type !== "symlink") {
      skip(
        e,
        "ARCHIVE_SPECIAL_SKIPPED",
        `not extracted: a ${e.type === "unknown" ? `file of unknown type (c_mode ${e.mode.toString(8)})` : e.type === "char" || e.type === "block" ? `${e.type} device ${e.rdevMajor},${e.rdevMinor}` : e.type}`,
      );
      continue;
    }
    const key = parts.join("/");
    const earlier = final.get(key);
    if (earlier) skip(earlier.entry, "ARCHIVE_DUPLICATE_NAME", `replaced by the later entry at 0x${e.offset.toString(16)}`);
    final.set(key, { entry: e, parts });
  }
  // 2. Every parent of a kept path must be a directory: given by the archive or implied.
  const kinds = new Map<string, "dir" | "file" | "symlink">();
  for (const [key, { entry }] of final) kinds.set(key, entry.type as "dir" | "file" | "symlink");
  const implied = new Set<string>();
  const kept: Array<{ key: string; entry: ArchiveEntry }> = [];
  for (const [key, { entry, parts }] of final) {
    let blocked: string | null = null;
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const kind = kinds.get(parent);
      if (kind !== undefined && kind !== "dir") {
        blocked = `not extracted: its parent ${parent} is a ${kind === "symlink" ? "symlink" : "file"} in the archive, and extraction never writes through one`;
        break;
      }
    }
    if (blocked !== null) {
      skip(entry, "ARCHIVE_THROUGH_LINK", blocked);
      continue;
    }
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (!kinds.has(parent)) implied.add(parent);
    }
    kept.push({ key, entry });
  }
  // 3. Hard-link sets: the name written first gets the data of the entry that has it.
  const linkSets = new Map<string, Array<{ key: string; entry: ArchiveEntry }>>();
  for (const k of kept) {
    if (k.entry.type !== "file" || k.entry.nlink < 2) continue;
    const id = `${k.entry.devMajor}:${k.entry.devMinor}:${k.entry.ino}`;
    const set = linkSets.get(id) ?? [];
    set.push(k);
    linkSets.set(id, set);
  }
  const dirs: ArchiveOp[] = [];
  const files: ArchiveOp[] = [];
  const links: ArchiveOp[] = [];
  const symlinks: ArchiveOp[] = [];
  let totalBytes = 0;
  const addBytes = (e: ArchiveEntry): void => {
    totalBytes += e.size;
    if (totalBytes > limits.maxArchiveBytes) {
      throw new KimgError(ErrorCode.LIMIT, `extraction would write more than maxArchiveBytes (${limits.maxArchiveBytes})`, {
        structure: "cpio archive",
        offset: e.offset,
        limit: "maxArchiveBytes",
      });
    }
  };
  const masked = (e: ArchiveEntry): number => {
    const m = maskedMode(e);
    if ((e.mode & 0o7777 & ~m) !== 0 && !(e.type === "dir" && (e.mode & 0o7777 & ~ARCHIVE_MODE_MASK) === 0)) {
      skip(e, "ARCHIVE_MODE_MASKED", `extracted with mode ${m.toString(8).padStart(4, "0")} instead of ${(e.mode & 0o7777).toString(8).padStart(4, "0")}`);
    }
    return m;
  };
  for (const p of [...implied].sort()) dirs.push({ kind: "dir", path: p, mode: 0o755, mtime: 0, entryOffset: null });
  const handledLinks = new Set<string>();
  for (const { key, entry: e } of kept) {
    if (e.type === "dir") dirs.push({ kind: "dir", path: key, mode: masked(e), mtime: e.mtime, entryOffset: e.offset });
    else if (e.type === "symlink") symlinks.push({ kind: "symlink", path: key, target: e.target ?? "", mtime: e.mtime, entryOffset: e.offset });
    else if (e.nlink >= 2) {
      const id = `${e.devMajor}:${e.devMinor}:${e.ino}`;
      if (handledLinks.has(id)) continue;
      handledLinks.add(id);
      const set = linkSets.get(id) ?? [{ key, entry: e }];
      const first = set[0] ?? { key, entry: e };
      // The data is on the entry that has it (the last in newc); if several do, the last one's wins, as the kernel writes each into the same file.
      const withData = [...set].reverse().find((s) => s.entry.size > 0) ?? first;
      addBytes(withData.entry);
      files.push({
        kind: "file",
        path: first.key,
        mode: masked(first.entry),
        mtime: withData.entry.mtime,
        entryOffset: first.entry.offset,
        dataOffset: dataIndex(withData.entry),
        size: withData.entry.size,
      });
      if (set.length === 1 && e.nlink >= 2) {
        skip(e, "ARCHIVE_HARDLINK_UNRESOLVED", `c_nlink ${e.nlink} but no other name of c_ino ${e.ino} is extracted: written as a plain file`);
      }
      for (const other of set.slice(1)) links.push({ kind: "hardlink", path: other.key, to: first.key, entryOffset: other.entry.offset });
    } else {
      addBytes(e);
      files.push({ kind: "file", path: key, mode: masked(e), mtime: e.mtime, entryOffset: e.offset, dataOffset: dataIndex(e), size: e.size });
    }
  }
  // Parents before children: a directory's path sorts before everything below it.
  dirs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  skipped.sort((a, b) => a.offset - b.offset);
  return { ops: [...dirs, ...files, ...links, ...symlinks], skipped, totalBytes };
}
