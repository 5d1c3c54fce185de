/** Shared guards for decoders: the output cap and a growable output buffer. */
import { ErrorCode, KimgError } from "../io/errors.js";

export function outputLimitError(codec: string, maxOutputBytes: number): KimgError {
  return new KimgError(ErrorCode.LIMIT, `${codec} output exceeds maxOutputBytes (${maxOutputBytes} bytes); raise it with --max-size if the image is genuine`, {
    structure: `${codec} stream`,
    expected: maxOutputBytes,
  });
}

/** Collects output chunks, refusing to pass `maxOutputBytes`. */
export class ChunkSink {
  private chunks: Uint8Array[] = [];
  length = 0;

  constructor(
    private readonly codec: string,
    private readonly maxOutputBytes: number,
    private readonly onProgress?: (outputBytes: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.maxOutputBytes) throw outputLimitError(this.codec, this.maxOutputBytes);
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.onProgress?.(this.length);
  }

  concat(): Uint8Array {
    if (this.chunks.length === 1 && this.chunks[0]) return this.chunks[0];
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [out];
    return out;
  }
}
