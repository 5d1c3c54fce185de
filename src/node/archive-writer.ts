/**
 * Carries out an archive's extraction plan (analysis/archive-plan.ts) in a new folder (issue 16).
 *
 * The plan already refused what could escape (absolute names, "..", NULs, paths below a symlink
 * or a file of the archive) and what must not be created (devices, FIFOs, sockets). Here, at the
 * system level: the folder must not exist (it is made empty, so nothing in it predates us);
 * before every write each parent component is checked with lstat to be a real directory inside
 * it, never a symlink; files are written to a temp name opened with O_CREAT|O_EXCL|O_NOFOLLOW and
 * then linked to their name, which fails rather than replace anything; symlinks are made last,
 * and directory modes are applied after them to directories checked again with lstat.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { ArchivePlan } from "../analysis/archive-plan.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { temporaryName } from "./files.js";

/** What one archive's extraction created. */
export interface ArchiveWriteResult {
  /** The folder the archive was written into. */
  dir: string;
  dirs: number;
  files: number;
  hardlinks: number;
  symlinks: number;
  /** Bytes of file data written. */
  bytes: number;
}

function ioError(what: string, path: string, error: unknown): KimgError {
  if (error instanceof KimgError) return error;
  return new KimgError(ErrorCode.IO, `cannot ${what} ${path}: ${(error as Error).message}`, { path });
}

/**
 * Writes the files of `plan` into `dir`, which must not exist yet (its parent must). `data` is
 * the archive layer's bytes, which the plan's `dataOffset`s index.
 */
export function writeArchive(dir: string, plan: ArchivePlan, data: Uint8Array, display = dir): ArchiveWriteResult {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new KimgError(ErrorCode.OUTPUT_EXISTS, `${display} exists; archives are extracted into a new folder only`, { path: display });
    }
    throw ioError("create", display, error);
  }
  const root = realpathSync(dir);
  const result: ArchiveWriteResult = { dir: display, dirs: 0, files: 0, hardlinks: 0, symlinks: 0, bytes: 0 };
  /** The full path of a plan path, after checking every parent component is a real directory (lstat: never a symlink). */
  const place = (rel: string): string => {
    const parts = rel.split("/");
    let at = root;
    for (const part of parts.slice(0, -1)) {
      at = join(at, part);
      const info = lstatSync(at, { throwIfNoEntry: false });
      if (!info?.isDirectory() || info.isSymbolicLink()) {
        throw new KimgError(ErrorCode.IO, `refusing to write ${rel}: ${at.slice(root.length + 1)} is not a directory made by this extraction`, { path: rel });
      }
    }
    return join(at, parts[parts.length - 1] ?? "");
  };
  const dirModes: Array<{ full: string; mode: number; mtime: number }> = [];
  for (const op of plan.ops) {
    const full = place(op.path);
    try {
      switch (op.kind) {
        case "dir":
          mkdirSync(full, { mode: 0o700 });
          dirModes.push({ full, mode: op.mode, mtime: op.mtime });
          result.dirs++;
          break;
        case "file": {
          const temp = join(dirname(full), temporaryName(op.path.split("/").pop() ?? "file"));
          const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
          try {
            let done = 0;
            while (done < op.size) done += writeSync(fd, data, op.dataOffset + done, op.size - done);
            fchmodSync(fd, op.mode);
            futimesSync(fd, op.mtime, op.mtime);
          } catch (error) {
            closeSync(fd);
            rmSync(temp, { force: true });
            throw error;
          }
          closeSync(fd);
          try {
            // link(2) never replaces: a name that appeared meanwhile is an error, not overwritten.
            linkSync(temp, full);
            unlinkSync(temp);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code !== "EPERM" && code !== "EOPNOTSUPP" && code !== "ENOTSUP") {
              rmSync(temp, { force: true });
              throw error;
            }
            // A file system without hard links: rename, after checking the name is still free.
            if (lstatSync(full, { throwIfNoEntry: false })) {
              rmSync(temp, { force: true });
              throw new KimgError(ErrorCode.OUTPUT_EXISTS, `${op.path} appeared during extraction`, { path: op.path });
            }
            renameSync(temp, full);
          }
          result.files++;
          result.bytes += op.size;
          break;
        }
        case "hardlink":
          linkSync(place(op.to), full);
          result.hardlinks++;
          break;
        case "symlink":
          symlinkSync(op.target, full);
          lutimesSync(full, op.mtime, op.mtime);
          result.symlinks++;
          break;
      }
    } catch (error) {
      throw ioError("write", join(display, op.path), error);
    }
  }
  // Modes last, deepest first (a 0555 folder must not stop its own contents), each checked to be our directory still.
  for (const d of dirModes.reverse()) {
    const info = lstatSync(d.full, { throwIfNoEntry: false });
    if (!info?.isDirectory()) throw new KimgError(ErrorCode.IO, `${d.full} is no longer a directory`, { path: d.full });
    try {
      // chmod follows a symlink, so it is applied only to what lstat just saw as a directory.
      const fd = openSync(d.full, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        fchmodSync(fd, d.mode);
        futimesSync(fd, d.mtime, d.mtime);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      throw ioError("set the mode of", d.full, error);
    }
  }
  return result;
}
