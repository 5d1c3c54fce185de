/**
 * Files for the CLI: bounded reads of regular files only, and all-or-nothing writes.
 *
 * Reads open the file once and judge the open descriptor (no stat-then-read race): a device,
 * FIFO, socket or folder is refused, and no more than `maxInputBytes` + 1 bytes are ever read.
 *
 * Writes go to a temporary file in the target's file system first. On Linux that file has no
 * name (O_TMPFILE), so a process killed with SIGKILL leaves nothing; elsewhere it is a hidden
 * named file, removed on failure and on SIGINT/SIGTERM/SIGHUP. Only when every file of a set is
 * written (and, with `sync`, on disk) are they linked into place, with link(2), which fails when the target exists: an
 * existing file is kept unless --force even when another process creates it meanwhile. With
 * --force the file is renamed over the old one. Only regular files (or symlinks, which are
 * replaced, never followed) are ever replaced: never a device, FIFO, socket or folder.
 */
import {
  close,
  closeSync,
  constants,
  fstat,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  open as openDescriptor,
  openSync,
  read,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
  unlinkSync,
  type Stats,
} from "node:fs";
import { access, mkdir, open, realpath, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { ErrorCode, KimgError } from "../io/errors.js";
import { DEFAULT_LIMITS } from "../io/limits.js";
import { koffiWhereHarmless, libc, loadKoffi } from "./koffi.js";
import { isLocalFileSystem, MAP_MIN_BYTES, mapLeased } from "./mapped-file.js";

// ---------------------------------------------------------------------------------------------
// Reading

export interface ReadOptions {
  /** Largest file accepted, in bytes (default: DEFAULT_LIMITS.maxInputBytes). */
  maxBytes?: number;
  /** How to name the file in errors, e.g. "--initrd" (default: just its path). */
  what?: string;
  /** Runs once while the first read is in flight in the thread pool: synchronous work to overlap with it. */
  whileReading?: () => void;
  /**
   * Called while the file is still being read, each time more of it has arrived: `bytes` is the
   * array readInput will return (if the file keeps its size) and its first `upTo` bytes are
   * final. Work on them overlaps the reads (the CLI scans for the kernel's markers).
   */
  onArrived?: (bytes: Uint8Array, upTo: number) => void;
  /**
   * Map a file of MAP_MIN_BYTES or more instead of reading it, where a read lease keeps other
   * processes from changing it meanwhile (node/mapped-file.ts); read it where not. The CLI only:
   * the mapping and the lease last as long as the process. onArrived is not called for a mapped
   * file, which is all there at once.
   */
  map?: boolean;
}

/** "a FIFO", "a character device"...: what a non-regular file is, for the error message. */
export function fileKind(info: Stats): string {
  if (info.isFile()) return "a regular file";
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  if (info.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

/*
 * Inputs are read through node:fs's callback functions on a descriptor, not node:fs/promises:
 * loading that module (its FileHandle brings readline, the watchers and more) took 8 ms of
 * `kimg inspect` on Node 24. The writes below use it; the CLI bundle loads it when they start.
 */
const openFd = promisify(openDescriptor);
const statFd = promisify(fstat);
const readAt = promisify(read);
const readFd = async (fd: number, into: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  (await readAt(fd, into, offset, length, position)).bytesRead;
const closeAt = promisify(close);
const closeFd = (fd: number): Promise<void> => closeAt(fd).catch(() => undefined);

const READ_CHUNK_BYTES = 1024 * 1024;
/**
 * Files from this size on are read in pieces of PARALLEL_READ_BYTES, READS_IN_FLIGHT at a time,
 * by two of the thread pool's threads side by side: copying the page cache into fresh memory is
 * mostly page faults, which two cores take in parallel, and the main thread scans what has
 * arrived meanwhile (readImage). A 48 MB Image: 23 ms in one read, 14-17 ms so; `kimg inspect`
 * of it 82 against 68-70 ms with the scan beside it (1, 2, 4, 8 MiB pieces, 1-4 at a time, tried).
 */
const PARALLEL_READ_MIN_BYTES = 8 * 1024 * 1024;
const PARALLEL_READ_BYTES = 8 * 1024 * 1024;
const READS_IN_FLIGHT = 2;

/** Opens `path` for reading and checks, on the open descriptor, that it is a regular file within the cap. */
async function openRegular(path: string, label: string, maxBytes: number): Promise<{ fd: number; size: number }> {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (the check below refuses it anyway).
    fd = await openFd(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw new KimgError(ErrorCode.IO, `cannot read ${label}: ${(error as Error).message}`, { path });
  }
  try {
    const info = await statFd(fd);
    if (!info.isFile()) throw new KimgError(ErrorCode.IO, `${label} is not a regular file (${fileKind(info)})`, { path });
    if (info.size > maxBytes) throw overLimit(label, path, maxBytes);
    return { fd, size: info.size };
  } catch (error) {
    await closeFd(fd);
    throw error;
  }
}

function overLimit(label: string, path: string, maxBytes: number): KimgError {
  return new KimgError(ErrorCode.LIMIT, `${label} is larger than ${maxBytes} bytes (maxInputBytes)`, { path, limit: "maxInputBytes" });
}

/**
 * Reads a whole regular file, at most `maxBytes`. A file that grows while it is read, or a
 * /proc file that says it is empty, is read to its end, but never past `maxBytes` + 1 bytes.
 */
export async function readInput(path: string, options: ReadOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? DEFAULT_LIMITS.maxInputBytes;
  const label = options.what ? `${options.what} ${path}` : path;
  const { fd, size } = await openRegular(path, label, maxBytes);
  try {
    const mapped = options.map && size >= MAP_MIN_BYTES ? mapInput(fd) : null;
    if (mapped !== null) {
      if (mapped.length > maxBytes) throw overLimit(label, path, maxBytes);
      options.whileReading?.();
      return mapped;
    }
    // One byte more than the size: reading it proves the end (or that the file grew).
    let buffer = new Uint8Array(Math.min(maxBytes + 1, size + 1 > 1 ? size + 1 : READ_CHUNK_BYTES));
    // What is returned when the file keeps its size (onArrived is given this very array).
    const expected = buffer.subarray(0, Math.min(size, buffer.length));
    const parallel = size >= PARALLEL_READ_MIN_BYTES;
    let length = parallel ? await readInParallel(fd, expected, options) : 0;
    // Then (or from the start) one read after another, to the end of the file wherever that is.
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw overLimit(label, path, maxBytes);
        const grown = new Uint8Array(Math.min(maxBytes + 1, buffer.length * 2));
        grown.set(buffer);
        buffer = grown;
      }
      const reading = readFd(fd, buffer, length, buffer.length - length, length);
      if (length === 0 && !parallel) options.whileReading?.();
      const bytesRead = await reading;
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw overLimit(label, path, maxBytes);
    if (length === expected.length && buffer.buffer === expected.buffer) return expected;
    return length === buffer.length ? buffer : length * 2 < buffer.length ? buffer.slice(0, length) : buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof KimgError) throw error;
    throw new KimgError(ErrorCode.IO, `cannot read ${label}: ${(error as Error).message}`, { path });
  } finally {
    await closeFd(fd);
  }
}

/** The file open on `fd` mapped under a read lease, or null (then it is read). */
function mapInput(fd: number): Uint8Array | null {
  // The file system of the open file itself (its /proc/self/fd link), not whatever the path names now.
  try {
    if (!isLocalFileSystem(statfsSync(`/proc/self/fd/${fd}`).type)) return null;
  } catch {
    return null;
  }
  const koffi = koffiWhereHarmless();
  return koffi === undefined ? null : mapLeased(koffi, fd, () => fstatSync(fd).size);
}

/**
 * Reads `into` (the file's size as fstat told it) in pieces, several at a time, at their
 * positions. Returns how many bytes from the start were read before the file ended, which is
 * less than into.length only if the file shrank meanwhile; the caller reads on from there.
 */
async function readInParallel(fd: number, into: Uint8Array, options: ReadOptions): Promise<number> {
  const pieces = Math.ceil(into.length / PARALLEL_READ_BYTES);
  const done = new Uint8Array(pieces);
  let next = 0;
  let contiguous = 0;
  let end = into.length;
  const readPiece = async (piece: number): Promise<void> => {
    const start = piece * PARALLEL_READ_BYTES;
    const stop = Math.min(into.length, start + PARALLEL_READ_BYTES);
    for (let at = start; at < stop; ) {
      const bytesRead = await readFd(fd, into, at, stop - at, at);
      if (bytesRead === 0) {
        end = Math.min(end, at);
        break;
      }
      at += bytesRead;
    }
    done[piece] = 1;
    const before = contiguous;
    while (contiguous < pieces && done[contiguous] === 1) contiguous++;
    const upTo = Math.min(end, contiguous * PARALLEL_READ_BYTES);
    // Only while reads are still under way: past the last one the caller goes on by itself.
    if (contiguous > before && contiguous < pieces && upTo > 0) options.onArrived?.(into, upTo);
  };
  const lane = async (): Promise<void> => {
    while (next < pieces) await readPiece(next++);
  };
  const lanes = [lane()];
  options.whileReading?.();
  for (let i = 1; i < READS_IN_FLIGHT; i++) lanes.push(lane());
  await Promise.all(lanes);
  return end;
}

/** The size of a regular file, checked like readInput but without reading it (plan --initrd). */
export async function inputSize(path: string, options: ReadOptions = {}): Promise<number> {
  const label = options.what ? `${options.what} ${path}` : path;
  const { fd, size } = await openRegular(path, label, options.maxBytes ?? DEFAULT_LIMITS.maxInputBytes);
  await closeFd(fd);
  return size;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface WriteOptions {
  /** Overwrite an existing output (a regular file or a symlink, never anything else). */
  force?: boolean;
  /** Paths that must never be written (the input). */
  protect?: string[];
  /**
   * Also make the files and their names durable before returning: fsync of each temp file before
   * it is linked into place, then of the folder (as gzip --synchronous). Without it an output
   * still appears whole or not at all to every process, but a power cut soon after may lose it.
   */
  sync?: boolean;
}

/**
 * What the write path does at the system level, replaceable so tests and the fuzzer can
 * simulate a failing disk or a system without O_TMPFILE. Not for normal use.
 */
export const outputIo = {
  /** Try an unnamed temp file (Linux O_TMPFILE) before a named one. */
  unnamedTemps: true,
  /**
   * Writes data[from, to) at those offsets of the file (all of it by default), in as few write(2)
   * calls as the kernel allows (FileHandle.writeFile would take 512 KiB a call).
   */
  write: async (handle: FileHandle, data: Uint8Array, from = 0, to = data.length): Promise<void> => {
    for (let done = from; done < to; ) {
      const { bytesWritten } = await handle.write(data, done, to - done, done);
      if (bytesWritten === 0) throw new Error("write(2) wrote nothing");
      done += bytesWritten;
    }
  },
};

/** Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY); Node does not export it. Same value on these arches. */
const O_TMPFILE =
  process.platform === "linux" && ["x64", "arm64", "riscv64", "loong64", "ia32", "arm"].includes(process.arch) ? 0o20000000 | constants.O_DIRECTORY : null;
/** <fcntl.h>: the current folder as a dirfd, and "follow the /proc/self/fd magic link". */
const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;
const NAME_MAX_BYTES = 255;

type Linker = (from: string, to: string) => number;
let procLinker: Linker | null | undefined;

/**
 * linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, to, AT_SYMLINK_FOLLOW) through koffi: the one call
 * that gives an O_TMPFILE file a name (Node's fs.link does not follow the magic link: EXDEV).
 * Returns 0 or an errno; null when libc cannot be bound (then named temp files are used).
 */
function linker(): Linker | null {
  if (procLinker !== undefined) return procLinker;
  procLinker = null;
  try {
    const koffi = loadKoffi();
    const linkat = libc(koffi).func("int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)");
    procLinker = (from, to) => (Number(linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW)) < 0 ? koffi.errno() : 0);
  } catch {
    // No koffi or no glibc: named temp files work everywhere.
  }
  return procLinker;
}

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  13: "EACCES",
  17: "EEXIST",
  18: "EXDEV",
  28: "ENOSPC",
  30: "EROFS",
  31: "EMLINK",
  95: "EOPNOTSUPP",
  122: "EDQUOT",
};

function errnoError(errno: number, call: string): NodeJS.ErrnoException {
  const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  return Object.assign(new Error(`${name}: ${call} failed`), { code: name, errno });
}

/**
 * `digits` random hex digits for a temp name. Math.random, not node:crypto (whose loading costs
 * more than writing a 10 MB file): a name that someone guesses and takes first only makes the
 * write fail, as temp files are created with O_EXCL and linked with link(2), neither of which
 * follows or replaces what is there.
 */
function randomHex(digits: number): string {
  let hex = "";
  while (hex.length < digits)
    hex += Math.floor(Math.random() * 0x10000)
      .toString(16)
      .padStart(4, "0");
  return hex.slice(0, digits);
}

/**
 * A hidden temp name beside `base`: `.BASE.kimg-XXXXXXXXXXXX.tmp`, or `.kimg-XXXXXXXXXXXX.tmp`
 * when that would pass NAME_MAX (a legal 250-byte output name must still be writable).
 */
export function temporaryName(base: string, suffix = ".tmp"): string {
  const tag = `kimg-${randomHex(12)}${suffix}`;
  const long = `.${base}.${tag}`;
  return Buffer.byteLength(long) <= NAME_MAX_BYTES ? long : `.${tag}`;
}

/** Named temp files being written now; removed if the process is interrupted (Ctrl-C, SIGTERM). */
const pendingTemps = new Set<string>();
let signalsHooked = false;

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      // Unnamed temp files vanish with the process; named ones are removed here. Linking into
      // place is synchronous, so this never runs half way through a set's commit.
      for (const temp of pendingTemps) rmSync(temp, { force: true });
      // Die of the same signal, so the parent sees the usual status (130 for Ctrl-C).
      process.kill(process.pid, signal);
    });
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

function ioError(display: string, error: unknown): KimgError {
  if (error instanceof KimgError) return error;
  return new KimgError(ErrorCode.IO, `cannot write ${display}: ${(error as Error).message}`, { path: display });
}

function existsError(display: string): KimgError {
  return new KimgError(ErrorCode.OUTPUT_EXISTS, `${display} exists; use --force to replace it`, { path: display });
}

/** What is at `target` now: nothing, something replaceable (a regular file or symlink), or a refusal. */
function targetState(info: Stats | null, display: string): "absent" | "present" {
  if (info === null) return "absent";
  if (info.isFile() || info.isSymbolicLink()) return "present";
  throw new KimgError(ErrorCode.IO, `${display} is ${fileKind(info)}, not a regular file: kimg only writes regular files`, { path: display });
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** A temp file open for writing: unnamed (O_TMPFILE) or named `temp`. */
interface OpenTemp {
  handle: FileHandle;
  temp?: string;
}

/**
 * An output being written while its data is still decoded (OutputSet.addStreamed): `offer` hands
 * the thread pool each new final part at once, so the copy into the page cache overlaps the
 * decoding; `complete` writes what was not offered and makes it part of the set.
 */
export interface StreamedFile {
  /** `bytes[0, upTo)` are final (DecodeOptions.onOutput): writes what is new of them. */
  offer(bytes: Uint8Array, upTo: number): void;
  /**
   * The file is to hold `data`. With `offered`, `data` begins with what was offered (the same
   * decoded layer, maybe cut shorter by --trim): only the rest is written. Without it, whatever
   * was offered is written over.
   */
  complete(data: Uint8Array, offered: boolean): Promise<void>;
}

interface Staged {
  target: string;
  display: string;
  /** An open O_TMPFILE file... */
  handle?: FileHandle;
  /** ...or a named temp file. */
  temp?: string;
  dev: number;
  ino: number;
  /** Set while committing: the target now holds our file; `backup` holds what it replaced. */
  placed?: boolean;
  backup?: string;
}

export interface OutputSetOptions extends WriteOptions {
  /** Make the folder (and its parents) if it does not exist, when the set is committed. */
  createDir?: boolean;
}

/**
 * Files that appear together or not at all. `add` writes each into a temp file; `commit`
 * links them all into place, or, when one cannot be placed, removes those it placed (putting
 * back what --force replaced) and the folders it made. `dispose` drops whatever is not committed.
 */
export class OutputSet {
  private readonly staged: Staged[] = [];
  /** Streamed files not completed yet: `dispose` waits for their writes in flight before closing them. */
  private readonly streaming = new Set<{ temp: OpenTemp; settle: () => Promise<void> }>();
  private disposed = false;

  private constructor(
    /** The folder the files go into (absolute). */
    private readonly dir: string,
    /** An existing folder on the same file system where the temp files live until commit. */
    private readonly stagingDir: string,
    /** The folder does not exist yet: commit makes it. */
    private readonly makeDir: boolean,
    private readonly displayDir: string,
    private readonly options: OutputSetOptions,
  ) {}

  /** Checks that `dir` exists as a folder (or can be made, with createDir) and is writable. */
  static async open(dir: string, options: OutputSetOptions = {}): Promise<OutputSet> {
    const abs = resolve(dir);
    let staging = abs;
    let makeDir = false;
    try {
      for (;;) {
        const info = await stat(staging).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT" && options.createDir && dirname(staging) !== staging) return null;
          throw error;
        });
        if (info === null) {
          makeDir = true;
          staging = dirname(staging);
          continue;
        }
        if (!info.isDirectory())
          throw new KimgError(ErrorCode.IO, `cannot write into ${dir}: ${staging === abs ? dir : staging} is ${fileKind(info)}, not a directory`, {
            path: dir,
          });
        break;
      }
      await access(staging, constants.W_OK | constants.X_OK);
    } catch (error) {
      if (error instanceof KimgError) throw error;
      throw new KimgError(ErrorCode.IO, `cannot ${makeDir ? "create" : "write into"} ${dir}: ${(error as Error).message}`, { path: dir });
    }
    return new OutputSet(abs, staging, makeDir, dir, options);
  }

  /** Writes `data` to a temp file, to become `name` in the folder on commit. */
  async add(name: string, data: Uint8Array, display = join(this.displayDir, name)): Promise<void> {
    const target = this.checkTarget(name, display);
    hookSignals();
    const temp = await this.openTemp(basename(target), display);
    await this.fill(temp, display, () => outputIo.write(temp.handle, data));
    this.staged.push(await this.seal(temp, display, target));
  }

  /**
   * Like `add`, for data that is still being decoded: the temp file is opened now and written as
   * the data arrives (StreamedFile); the file joins the set when `complete` returns. A file not
   * completed is dropped by `dispose`, after its writes in flight have ended.
   */
  async addStreamed(name: string, display = join(this.displayDir, name)): Promise<StreamedFile> {
    const target = this.checkTarget(name, display);
    hookSignals();
    const temp = await this.openTemp(basename(target), display);
    let offeredUpTo = 0;
    let failure: unknown;
    const inFlight = new Set<Promise<void>>();
    const settle = async (): Promise<void> => {
      while (inFlight.size) await Promise.all(inFlight);
    };
    const streaming = { temp, settle };
    this.streaming.add(streaming);
    return {
      offer: (bytes, upTo) => {
        if (upTo <= offeredUpTo || failure !== undefined) return;
        const write = outputIo.write(temp.handle, bytes, offeredUpTo, upTo).catch((error: unknown) => {
          failure ??= error;
        });
        offeredUpTo = upTo;
        inFlight.add(write);
        void write.then(() => inFlight.delete(write));
      },
      complete: async (data, offered) => {
        await settle();
        this.streaming.delete(streaming);
        await this.fill(temp, display, async () => {
          if (failure !== undefined) throw failure;
          const from = offered ? Math.min(offeredUpTo, data.length) : 0;
          await outputIo.write(temp.handle, data, from);
          if (offeredUpTo > data.length || !offered) await temp.handle.truncate(data.length);
        });
        this.staged.push(await this.seal(temp, display, target));
      },
    };
  }

  /** The checks of `add` before anything is written (commit checks again): the target's absolute path. */
  private checkTarget(name: string, display: string): string {
    const target = join(this.dir, name);
    for (const p of this.options.protect ?? []) {
      if (resolve(p) === target || sameFile(p, target)) {
        throw new KimgError(ErrorCode.OUTPUT_EXISTS, `refusing to write over the input ${p}`, { path: display });
      }
    }
    if (this.staged.some((s) => s.target === target)) throw new KimgError(ErrorCode.OUTPUT_EXISTS, `two outputs are named ${display}`, { path: display });
    let now: Stats | null;
    try {
      now = lstatOrNull(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") throw ioError(display, error);
      now = null;
    }
    if (targetState(now, display) === "present" && !this.options.force) throw existsError(display);
    return target;
  }

  /** An unnamed temp file (O_TMPFILE) in the staging folder where it can be linked later, else a named one. */
  private async openTemp(base: string, display: string): Promise<OpenTemp> {
    if (outputIo.unnamedTemps && O_TMPFILE !== null && linker() !== null) {
      try {
        return { handle: await open(this.stagingDir, constants.O_WRONLY | O_TMPFILE, 0o644) };
      } catch (error) {
        // No O_TMPFILE on this file system or kernel: fall back to a named temp file.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EOPNOTSUPP" && code !== "EISDIR" && code !== "EINVAL" && code !== "ENOTSUP") throw ioError(display, error);
      }
    }
    const temp = join(this.stagingDir, temporaryName(base));
    pendingTemps.add(temp);
    try {
      return { handle: await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644), temp };
    } catch (error) {
      pendingTemps.delete(temp);
      throw ioError(display, error);
    }
  }

  /** Runs `write` on the temp file (and syncs it, with `sync`); on failure the temp file is closed and removed. */
  private async fill(t: OpenTemp, display: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
      if (this.options.sync) await t.handle.sync();
    } catch (error) {
      await this.drop(t);
      throw ioError(display, error);
    }
  }

  /** The written temp file as a member of the set (a named one is closed now; an unnamed one stays open until it is linked). */
  private async seal(t: OpenTemp, display: string, target: string): Promise<Staged> {
    try {
      // Metadata calls are synchronous here: quick, and no thread-pool round trip per file.
      const info = fstatSync(t.handle.fd);
      if (t.temp === undefined) return { target, display, handle: t.handle, dev: info.dev, ino: info.ino };
      await t.handle.close();
      return { target, display, temp: t.temp, dev: info.dev, ino: info.ino };
    } catch (error) {
      await this.drop(t);
      throw ioError(display, error);
    }
  }

  /** Closes a temp file and removes it if it has a name (an unnamed one vanishes on close). */
  private async drop(t: { handle?: FileHandle | undefined; temp?: string | undefined }): Promise<void> {
    await t.handle?.close().catch(() => undefined);
    if (t.temp !== undefined) {
      rmSync(t.temp, { force: true });
      pendingTemps.delete(t.temp);
    }
  }

  /**
   * Puts every file in place, synchronously (a signal handler cannot run half way through).
   * Throws, having undone everything, when one cannot be placed.
   */
  commit(): void {
    let createdTop: string | undefined;
    try {
      if (this.makeDir) createdTop = mkdirSync(this.dir, { recursive: true });
      for (const s of this.staged) this.place(s);
    } catch (error) {
      this.rollback(createdTop);
      const failed = this.staged.find((s) => !s.placed) ?? this.staged[0];
      throw ioError(failed?.display ?? this.displayDir, error);
    }
    for (const s of this.staged) if (s.backup) rmSync(s.backup, { force: true });
    if (!this.options.sync) return;
    try {
      // Make the new names durable, not only the data.
      const fd = openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // Some file systems cannot fsync a folder; the files themselves are synced.
    }
  }

  private place(s: Staged): void {
    const state = targetState(lstatOrNull(s.target), s.display);
    const source = s.handle ? `/proc/self/fd/${s.handle.fd}` : (s.temp as string);
    if (!this.options.force) {
      // link(2) fails with EEXIST if the target appeared since add(): the existing file wins.
      if (state === "present") throw existsError(s.display);
      try {
        this.link(source, s.target, !!s.handle);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw existsError(s.display);
        // A file system without hard links (vfat): the best it allows is rename, checked just before.
        if (!s.temp || (code !== "EPERM" && code !== "EOPNOTSUPP" && code !== "ENOTSUP" && code !== "EMLINK")) throw error;
        if (lstatOrNull(s.target) !== null) throw existsError(s.display);
        renameSync(s.temp, s.target);
      }
      s.placed = true;
      if (s.temp) this.dropTemp(s);
      return;
    }
    // Keep what --force replaces until the whole set is placed, so a failure can put it back.
    // A single file needs no backup: its rename is the last step.
    if (state === "present" && this.staged.length > 1) {
      s.backup = join(this.dir, temporaryName(basename(s.target), ".old"));
      linkSync(s.target, s.backup);
    }
    let named = s.temp;
    if (!named) {
      // An unnamed file needs a name before it can be renamed over the target.
      named = join(this.dir, temporaryName(basename(s.target)));
      this.link(source, named, true);
    }
    try {
      renameSync(named, s.target);
    } catch (error) {
      if (!s.temp) rmSync(named, { force: true });
      throw error;
    }
    s.placed = true;
    if (s.temp) this.dropTemp(s);
  }

  private link(source: string, target: string, unnamed: boolean): void {
    if (!unnamed) {
      linkSync(source, target);
      return;
    }
    const errno = (linker() as Linker)(source, target);
    if (errno !== 0) throw errnoError(errno, `link ${target}`);
  }

  private dropTemp(s: Staged): void {
    if (!s.temp) return;
    rmSync(s.temp, { force: true });
    pendingTemps.delete(s.temp);
    delete s.temp;
  }

  /** Removes what this set placed (only if the target is still our file), restores backups, removes folders it made. */
  private rollback(createdTop: string | undefined): void {
    for (const s of [...this.staged].reverse()) {
      try {
        if (s.placed) {
          const now = lstatOrNull(s.target);
          if (now && now.dev === s.dev && now.ino === s.ino) unlinkSync(s.target);
          s.placed = false;
          if (s.backup) renameSync(s.backup, s.target);
        } else if (s.backup) {
          rmSync(s.backup, { force: true });
        }
        delete s.backup;
      } catch {
        // Keep undoing the rest.
      }
    }
    if (createdTop !== undefined) {
      for (let d = this.dir; d.length >= createdTop.length; d = dirname(d)) {
        try {
          rmdirSync(d);
        } catch {
          break;
        }
      }
    }
  }

  /** Closes the temp files and removes those not committed (an unnamed one vanishes on close). Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const { temp, settle } of this.streaming) {
      // A write in flight must end before its descriptor is closed (and perhaps reused).
      await settle();
      await this.drop(temp);
    }
    this.streaming.clear();
    for (const s of this.staged) await this.drop(s);
  }
}

/**
 * Loads now what writing will need (koffi, for naming an O_TMPFILE file), so that a caller can
 * overlap that with reading its input instead of paying it after decoding.
 */
export function prepareWrites(): void {
  if (outputIo.unnamedTemps && O_TMPFILE !== null) linker();
}

/**
 * Writes `data` to `path` atomically: nothing appears under `path` until the whole file is
 * written (and synced, with `sync`). An existing file is kept unless `force` (even against a concurrent
 * writer); the input is never overwritten; only regular files are replaced.
 */
export async function writeAtomic(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
  const target = resolve(path);
  const set = await OutputSet.open(dirname(target), { ...options, createDir: false });
  try {
    await set.add(basename(target), data, path);
    set.commit();
  } finally {
    await set.dispose();
  }
}

/** Makes the folder and returns its real path; every file written later must resolve inside it. */
export async function prepareOutputDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    return await realpath(dir);
  } catch (error) {
    throw new KimgError(ErrorCode.IO, `cannot create ${dir}: ${(error as Error).message}`, { path: dir });
  }
}

/** True when `file`, resolved against `dir`, names an entry directly inside `dir` (no `..`, no subfolder): the guard before every write of `kimg extract --all`. */
export function insideDir(dir: string, file: string): boolean {
  const full = resolve(dir, file);
  return full.startsWith(dir.endsWith("/") ? dir : dir + "/") && !full.slice(dir.length + 1).includes("/");
}
export { safeLayerFileName } from "../report/file-names.js";
