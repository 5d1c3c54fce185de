/**
 * Physical memory as the placement model sees it: a list of free half-open ranges and a
 * lowest-first hole search. `kimg plan` assumes all memory from the RAM base up is free
 * ({@link ramFrom}); `kimg kexec load` passes what /proc/iomem says is free (kexec/iomem.ts).
 * Both then place the kernel with the same arithmetic. Addresses are bigint so a 64-bit
 * physical address never loses precision; sizes and alignments are numbers (they are bounded).
 */

import { alignUpBig } from "../../io/bytes.js";
import { ErrorCode, KimgError } from "../../io/errors.js";

/** A half-open physical range [start, end). */
export interface PhysRange {
  start: bigint;
  end: bigint;
}

/** Beyond any 64-bit address plus any 64-bit size: "no upper bound" (the end of {@link ramFrom}'s memory). */
export const UNBOUNDED = 1n << 130n;

/** `value` rounded up to a multiple of `alignment` (unchanged when `alignment` is 0 or 1). */
export function alignUpPhys(value: bigint, alignment: number | bigint): bigint {
  return alignUpBig(value, BigInt(alignment));
}

/** `value` rounded down to a multiple of `alignment`. */
export function alignDownPhys(value: bigint, alignment: number | bigint): bigint {
  const a = BigInt(alignment);
  return a > 1n ? (value / a) * a : value;
}

/**
 * All memory from `base` up, as a static plan assumes when no memory map is known. It has no
 * end: a header whose sizes run past the 64-bit space still gets a plan (whose addresses then
 * show it), as before the model existed; only a live memory map bounds placement.
 */
export function ramFrom(base: bigint): PhysRange[] {
  return [{ start: base, end: UNBOUNDED }];
}

/** The error for a static plan that found no room (cannot happen with {@link ramFrom}'s unbounded memory; kept so callers need no non-null assertion). */
export function noRoomAbove(ramBase: bigint): KimgError {
  return new KimgError(ErrorCode.LIMIT, `no room for the kernel between the RAM base 0x${ramBase.toString(16)} and the end of the 64-bit address space`, {
    structure: "boot plan",
  });
}

/**
 * Lowest address `a` with `a % alignment == 0` such that [a, a + size) lies inside one free
 * range and inside [min, max). Lowest-first is what kexec-tools' locate_hole() does on arm64
 * (kexec/kexec.c: with hole_end > 0 it takes the first fitting range), and what puts a kernel
 * "as close as possible to the base of DRAM" as booting.rst recommends (flags bit 3 clear, and
 * kernels before v4.6 cannot use memory below their own image).
 */
export function findHolePhys(free: readonly PhysRange[], size: number | bigint, alignment: number | bigint, min = 0n, max = UNBOUNDED): bigint | null {
  const need = BigInt(size);
  for (const range of [...free].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))) {
    const start = alignUpPhys(range.start > min ? range.start : min, alignment);
    const end = range.end < max ? range.end : max;
    if (start + need <= end) return start;
  }
  return null;
}

/** `free` without [cut.start, cut.end). */
export function takePhys(free: readonly PhysRange[], cut: PhysRange): PhysRange[] {
  const out: PhysRange[] = [];
  for (const r of free) {
    if (cut.end <= r.start || cut.start >= r.end) {
      out.push(r);
      continue;
    }
    if (cut.start > r.start) out.push({ start: r.start, end: cut.start });
    if (cut.end < r.end) out.push({ start: cut.end, end: r.end });
  }
  return out;
}
