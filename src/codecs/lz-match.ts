/** The LZ77 match copy that lz4 and LZO1X share; the caller has checked distance and length. */

/** Copies (matches, and literals in the decoders) shorter than this go byte by byte, longer ones through set/copyWithin. */
export const BULK_COPY_BYTES = 32;

/**
 * Copies `length` bytes from `distance` back to `op`. An overlapping match (distance < length)
 * repeats its pattern: byte by byte when short, else whole periods, doubling the span.
 */
export function copyMatch(output: Uint8Array, op: number, distance: number, length: number): void {
  const from = op - distance;
  if (length < BULK_COPY_BYTES) {
    for (let k = 0; k < length; k++) output[op + k] = output[from + k]!;
  } else if (distance >= length) {
    output.copyWithin(op, from, from + length);
  } else {
    let done = 0;
    while (done < length) {
      const span = Math.min(length - done, done + distance);
      output.copyWithin(op + done, from, from + span);
      done += span;
    }
  }
}
