/**
 * Every byte the CLI writes to stdout goes through here. A reader that went away (EPIPE:
 * `kimg ... | head`) ends the program quietly, as it ends `cat`; any other failure (a full disk
 * behind `> file`, /dev/full) is an E_IO error. Without this, Node reports the failed write as
 * an unhandled 'error' event: a stack trace and exit status 1.
 *
 * The bytes go to file descriptor 1 directly, as stderr's lines do (node/stderr.ts): creating
 * process.stdout loads Node's stream modules, 5 ms of `kimg inspect --json` here, and on Linux
 * its writes to files, pipes and terminals are synchronous anyway. A descriptor that is
 * non-blocking and full (EAGAIN) hands the rest, and every write after it, to process.stdout,
 * which waits for room; so the order of bytes is kept.
 */
import type { Writable } from "node:stream";
import { ErrorCode, KimgError } from "../io/errors.js";
import { writeAllSync } from "./stderr.js";

/** The reader of stdout is gone (EPIPE). Not an error to report: the CLI exits 141, silently. */
export class StdoutClosed extends Error {
  override readonly name = "StdoutClosed";
  constructor() {
    super("stdout was closed by its reader (EPIPE)");
  }
}

/** Per stream: the first error it reported (its 'error' event comes with the write callback's). */
const firstError = new WeakMap<Writable, Error>();
/** Writes not awaited by their caller; drainStdout() reports how they ended. */
const pending = new Set<Promise<void>>();
let unawaitedFailure: Error | undefined;

function watch(stream: Writable): void {
  if (!stream.listeners("error").includes(remember)) stream.on("error", remember);
}

function remember(this: Writable, error: Error): void {
  if (!firstError.has(this)) firstError.set(this, error);
}

function classify(stream: Writable, error: Error): Error {
  return stdoutError(firstError.get(stream) ?? error);
}

/** What a failed write to stdout means: its reader is gone (EPIPE), or an E_IO error. */
function stdoutError(error: Error): Error {
  if ((error as NodeJS.ErrnoException).code === "EPIPE") return new StdoutClosed();
  return new KimgError(ErrorCode.IO, `cannot write to stdout: ${error.message}`, { structure: "stdout" });
}

/** Set once a write to descriptor 1 would have blocked: from then on process.stdout takes every write. */
let throughStream = false;

/** Writes to stdout (or `stream`); resolves when the bytes are handed to the system. */
export function writeStdout(data: string | Uint8Array, stream?: Writable): Promise<void> {
  if (stream === undefined && !throughStream) {
    let rest: Uint8Array;
    try {
      rest = writeAllSync(1, data);
    } catch (error) {
      return Promise.reject(stdoutError(error as Error));
    }
    if (rest.length === 0) return Promise.resolve();
    throughStream = true;
    data = rest;
  }
  return writeToStream(data, stream ?? process.stdout);
}

function writeToStream(data: string | Uint8Array, stream: Writable): Promise<void> {
  watch(stream);
  return new Promise<void>((resolve, reject) => {
    const known = firstError.get(stream);
    if (known) return reject(classify(stream, known));
    try {
      stream.write(data, (error) => (error ? reject(classify(stream, error)) : resolve()));
    } catch (error) {
      reject(classify(stream, error as Error));
    }
  });
}

/** For callers that cannot wait (sync callbacks): the write is tracked and drainStdout() reports it. */
export function writeStdoutLater(data: string | Uint8Array, stream?: Writable): void {
  const tracked = writeStdout(data, stream).catch((error: Error) => {
    unawaitedFailure ??= error;
  });
  pending.add(tracked);
  void tracked.finally(() => pending.delete(tracked));
}

/** Waits for writes made with writeStdoutLater; throws how the first failed one failed. */
export async function drainStdout(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
  if (unawaitedFailure) throw unawaitedFailure;
}
