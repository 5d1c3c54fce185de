/**
 * Small number and byte helpers the whole core shares, defined once: how a value is written in
 * hex, and rounding up to an alignment.
 */

/** `0x` and the value in lower-case hex, padded with zeros to `width` digits. */
export function hex(value: number | bigint, width = 0): string {
  return "0x" + value.toString(16).padStart(width, "0");
}

/** `n` rounded up to a multiple of `alignment`; `n` itself when the alignment is 0 or less. */
export function alignUp(n: number, alignment: number): number {
  return alignment > 0 ? Math.ceil(n / alignment) * alignment : n;
}

/** alignUp for addresses in exact arithmetic. */
export function alignUpBig(n: bigint, alignment: bigint): bigint {
  return alignment > 0n ? ((n + alignment - 1n) / alignment) * alignment : n;
}
