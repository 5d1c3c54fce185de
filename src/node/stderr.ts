/**
 * The CLI's lines on stderr, written to file descriptor 2 directly. process.stderr is a stream
 * whose creation loads Node's stream modules (2.5-3 ms here for a pipe), more than the one line
 * `extract` prints at its end; on Linux its writes to files, pipes and terminals are synchronous
 * anyway, so the order of lines is the same. A reader that went away (EPIPE) or a stderr that
 * cannot be written loses the line: there is nowhere left to report it.
 */
import { writeSync } from "node:fs";

/** process.stderr, with an 'error' listener so a failed write is not an unhandled 'error' event. */
export function stderrStream(): NodeJS.WriteStream {
  const stream = process.stderr;
  if (!stream.listeners("error").includes(ignore)) stream.on("error", ignore);
  return stream;
}

function ignore(): void {}

export function writeStderr(text: string): void {
  let rest: Uint8Array;
  try {
    rest = writeAllSync(2, text);
  } catch {
    return;
  }
  // A non-blocking stderr that is full: the stream waits for room, as it should.
  if (rest.length > 0) stderrStream().write(rest);
}

/**
 * Writes `data` to descriptor `fd` with writeSync, all of it; returns what is left when the
 * descriptor is non-blocking and full (EAGAIN), nothing when all was written. Any other failure
 * is thrown (stdout.ts and writeStderr each say what it means).
 */
export function writeAllSync(fd: number, data: string | Uint8Array): Uint8Array {
  let bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    while (bytes.length > 0) bytes = bytes.subarray(writeSync(fd, bytes));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
  }
  return bytes;
}
