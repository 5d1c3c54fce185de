/** Files for the CLI: bounded reads and atomic writes (temp file in the target folder, then rename). */
import { randomBytes } from "node:crypto";
import { constants, rmSync } from "node:fs";
import { lstat, mkdir, open, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ErrorCode, KimgError } from "../io/errors.js";

export async function readInput(path: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new KimgError(ErrorCode.IO, `${path} is not a regular file`, { path });
    const data = await readFile(path);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (error) {
    if (error instanceof KimgError) throw error;
    throw new KimgError(ErrorCode.IO, `cannot read ${path}: ${(error as Error).message}`, { path });
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [sa, sb] = await Promise.all([stat(a), stat(b)]);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

export interface WriteOptions {
  /** Overwrite an existing output. */
  force?: boolean;
  /** Paths that must never be written (the input). */
  protect?: string[];
}

/** Temp files being written now; removed if the process is interrupted (Ctrl-C, SIGTERM). */
const pendingTemps = new Set<string>();
let signalsHooked = false;

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const temp of pendingTemps) rmSync(temp, { force: true });
      // Die of the same signal, so the parent sees the usual status (130 for Ctrl-C).
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Writes `data` to `path` atomically: a temp file beside it, fsync, rename. An existing file is
 * kept unless `force`; the input is never overwritten; a failure leaves no partial file.
 */
export async function writeAtomic(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
  const target = resolve(path);
  for (const p of options.protect ?? []) {
    if (resolve(p) === target || (await sameFile(p, target))) {
      throw new KimgError(ErrorCode.OUTPUT_EXISTS, `refusing to write over the input ${p}`, { path });
    }
  }
  const exists = await lstat(target).then(
    () => true,
    () => false,
  );
  if (exists && !options.force) throw new KimgError(ErrorCode.OUTPUT_EXISTS, `${path} exists; use --force to replace it`, { path });
  const temp = join(dirname(target), `.${basename(target)}.kimg-${randomBytes(6).toString("hex")}.tmp`);
  hookSignals();
  pendingTemps.add(temp);
  let handle;
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    if (error instanceof KimgError) throw error;
    throw new KimgError(ErrorCode.IO, `cannot write ${path}: ${(error as Error).message}`, { path });
  } finally {
    pendingTemps.delete(temp);
  }
}

/** Makes the folder and returns its real path; every file written later must resolve inside it. */
export async function prepareOutputDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return realpath(dir);
}

export function insideDir(dir: string, file: string): boolean {
  const full = resolve(dir, file);
  return full.startsWith(dir.endsWith("/") ? dir : dir + "/") && !full.slice(dir.length + 1).includes("/");
}
export { safeLayerFileName } from "../report/file-names.js";
