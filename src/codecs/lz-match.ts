/** The LZ77 copies that lz4 and LZO1X share; the caller has checked distance and length. */

/** Copies (matches, and literals in the decoders) shorter than this go byte by byte, longer ones through set/copyWithin. */
export const BULK_COPY_BYTES = 32;

/**
 * Copies `length` bytes from `distance` back to `op`, writing nothing at or past `end`. An
 * overlapping match (distance < length) repeats its pattern: byte by byte when short, else
 * whole periods, doubling the span.
 *
 * Most matches in machine code are 3-16 bytes long. Short ones with room before `end` are copied
 * in whole 8-byte steps (as the C decoders' "wild copy" does): the bytes written past `length`
 * are overwritten by the next instructions, and a fixed-length step saves a byte loop whose
 * varying trip count the CPU cannot predict. The steps copy byte by byte in order, so an
 * overlapping match still repeats its pattern.
 */
export function copyMatch(output: Uint8Array, op: number, distance: number, length: number, end: number): void {
  const from = op - distance;
  if (length < BULK_COPY_BYTES) {
    if (op + length + 7 <= end) {
      for (let k = 0; k < length; k += 8) {
        const d = op + k;
        const s = from + k;
        output[d] = output[s]!;
        output[d + 1] = output[s + 1]!;
        output[d + 2] = output[s + 2]!;
        output[d + 3] = output[s + 3]!;
        output[d + 4] = output[s + 4]!;
        output[d + 5] = output[s + 5]!;
        output[d + 6] = output[s + 6]!;
        output[d + 7] = output[s + 7]!;
      }
    } else {
      for (let k = 0; k < length; k++) output[op + k] = output[from + k]!;
    }
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

/**
 * Copies `count` literals from input[ip] to output[op] (both checked by the caller), writing
 * nothing at or past `end`; short runs with room are copied in whole 8-byte steps, as matches are.
 */
export function copyLiterals(input: Uint8Array, ip: number, output: Uint8Array, op: number, count: number, end: number): void {
  if (count < BULK_COPY_BYTES) {
    if (op + count + 7 <= end && ip + count + 7 <= input.length) {
      for (let k = 0; k < count; k += 8) {
        const d = op + k;
        const s = ip + k;
        output[d] = input[s]!;
        output[d + 1] = input[s + 1]!;
        output[d + 2] = input[s + 2]!;
        output[d + 3] = input[s + 3]!;
        output[d + 4] = input[s + 4]!;
        output[d + 5] = input[s + 5]!;
        output[d + 6] = input[s + 6]!;
        output[d + 7] = input[s + 7]!;
      }
    } else {
      for (let k = 0; k < count; k++) output[op + k] = input[ip + k]!;
    }
  } else {
    output.set(input.subarray(ip, ip + count), op);
  }
}
