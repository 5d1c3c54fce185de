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
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) {
    let written: number;
    try {
      written = writeSync(2, bytes);
    } catch (error) {
      // A non-blocking stderr that is full: the stream waits for room, as it should.
      if ((error as NodeJS.ErrnoException).code === "EAGAIN") stderrStream().write(bytes);
      return;
    }
    bytes = bytes.subarray(written);
  }
}
