/**
 * The bytes a FIT configuration signature covers: the regions of the device tree that U-Boot's
 * fdt_find_regions (boot/fdt_region.c) selects for a list of node paths, minus the image data
 * properties, plus the strings block as far as `hashed-strings` says (boot/image-fit-sig.c
 * fit_config_check_sig). Our own walk of the structure block, token by token, following the
 * same rules:
 *
 * - a node in the list is "wanted" at level 2: its FDT_BEGIN_NODE (with its name), its
 *   properties (except `data`, `data-size`, `data-position`, `data-offset`), its FDT_NOPs and
 *   its FDT_END_NODE are included;
 * - a direct subnode of a wanted node not in the list drops to level 1: its FDT_BEGIN_NODE and
 *   FDT_END_NODE are included, its properties are not; deeper nodes drop to 0;
 * - adjacent included runs merge into one region; the FDT_END token always ends the last one.
 *
 * Bounds: every token inside the structure block, node depth below FDT_MAX_DEPTH, a node path
 * below U-Boot's 200 bytes, and at most `20 + 7 * nodes` regions, as U-Boot allows.
 */
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAX_DEPTH, FDT_NOP, FDT_PROP, readFdtHeader } from "../io/fdt.js";

/** Properties fit_config_check_sig leaves out (FIT_DATA_PROP, FIT_DATA_SIZE_PROP, FIT_DATA_POSITION_PROP, FIT_DATA_OFFSET_PROP). */
export const FIT_EXCLUDED_PROPERTIES = ["data", "data-size", "data-position", "data-offset"] as const;

/** U-Boot's `char path[200]` in fit_config_check_sig. */
const MAX_PATH_BYTES = 200;

/** A region of the FIT: offset from the start of the tree, size in bytes. */
export type FitRegion = [offset: number, size: number];

/** The regions, or why U-Boot would refuse to compute them (its err_msgp text). */
export type RegionResult = { ok: true; regions: FitRegion[] } | { ok: false; reason: string };

const latin1 = new TextDecoder("latin1");

/**
 * fdt_find_regions(fit, include, exc_prop, ...) and the hashed-strings region, as
 * fit_config_check_sig computes them. `bytes` starts at the tree; `hashedStrings` is the
 * signature node's `hashed-strings` ([offset, size]; the offset is always 0, U-Boot uses only
 * the size), or null when absent.
 */
export function configurationRegions(bytes: Uint8Array, include: readonly string[], hashedStrings: readonly number[] | null): RegionResult {
  let header: ReturnType<typeof readFdtHeader>;
  try {
    header = readFdtHeader(bytes, bytes.length);
  } catch (error) {
    return { ok: false, reason: `the tree's header is not readable: ${(error as Error).message}` };
  }
  const { offStruct: base, sizeStruct, offStrings, sizeStrings } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const wanted = new Set(include);
  const maxRegions = 20 + include.length * 7 - 1;
  const regions: FitRegion[] = [];
  const stack: number[] = [];
  const path: string[] = [];
  let want = 0;
  let start = -1;
  let next = 0;
  let tag = 0;
  let expectEnd = false;
  const fail = (reason: string): RegionResult => ({ ok: false, reason: `Failed to hash configuration: ${reason}` });
  do {
    const offset = next;
    if (offset + 4 > sizeStruct) return fail(`the structure block ends without FDT_END at 0x${(base + offset).toString(16)}`);
    tag = view.getUint32(base + offset);
    let include = 0;
    let stopAt: number;
    if (expectEnd && tag !== FDT_END) return fail("a second root node follows the first");
    switch (tag) {
      case FDT_PROP: {
        if (offset + 12 > sizeStruct) return fail(`property header at 0x${(base + offset).toString(16)} runs past the structure block`);
        const length = view.getUint32(base + offset + 4);
        const nameOffset = view.getUint32(base + offset + 8);
        if (length > sizeStruct - offset - 12) return fail(`property at 0x${(base + offset).toString(16)} runs past the structure block`);
        next = (offset + 12 + length + 3) & ~3;
        if (nameOffset >= sizeStrings) return fail(`property name offset 0x${nameOffset.toString(16)} is outside the strings block`);
        const nul = bytes.subarray(offStrings + nameOffset, offStrings + sizeStrings).indexOf(0);
        if (nul < 0) return fail("a property name has no terminating NUL");
        const name = latin1.decode(bytes.subarray(offStrings + nameOffset, offStrings + nameOffset + nul));
        include = want >= 2 && !(FIT_EXCLUDED_PROPERTIES as readonly string[]).includes(name) ? 1 : 0;
        stopAt = offset;
        break;
      }
      case FDT_NOP:
        next = offset + 4;
        include = want >= 2 ? 1 : 0;
        stopAt = offset;
        break;
      case FDT_BEGIN_NODE: {
        const nameStart = base + offset + 4;
        const nul = bytes.subarray(nameStart, base + sizeStruct).indexOf(0);
        if (nul < 0) return fail("a node name has no terminating NUL");
        next = (offset + 4 + nul + 1 + 3) & ~3;
        stopAt = next;
        const name = latin1.decode(bytes.subarray(nameStart, nameStart + nul));
        if (stack.length + 1 >= FDT_MAX_DEPTH) return fail(`nodes nest deeper than ${FDT_MAX_DEPTH}`);
        if (stack.length === 0 && name !== "") return fail("the root node has a name");
        path.push(name);
        const full = path.length === 1 ? "/" : path.join("/");
        if (full.length + 2 >= MAX_PATH_BYTES) return fail(`the node path ${full.slice(0, 60)}... is longer than U-Boot's ${MAX_PATH_BYTES} bytes`);
        stack.push(want);
        if (want === 1) stopAt = offset;
        if (wanted.has(full)) want = 2;
        else if (want) want--;
        else stopAt = offset;
        include = want;
        break;
      }
      case FDT_END_NODE: {
        next = offset + 4;
        stopAt = next;
        const previous = stack.pop();
        if (previous === undefined) return fail(`FDT_END_NODE without an open node at 0x${(base + offset).toString(16)}`);
        include = want;
        want = previous;
        path.pop();
        if (stack.length === 0) expectEnd = true;
        break;
      }
      case FDT_END:
        next = offset + 4;
        stopAt = next;
        include = 1;
        break;
      default:
        return fail(`unknown structure token 0x${tag.toString(16)} at 0x${(base + offset).toString(16)}`);
    }
    if (include && start === -1) {
      const last = regions[regions.length - 1];
      if (last && regions.length <= maxRegions && offset === last[0] + last[1] - base) {
        regions.pop();
        start = last[0] - base;
      } else start = offset;
    }
    if (!include && start !== -1) {
      regions.push([base + start, stopAt - start]);
      if (regions.length > maxRegions + 1) return { ok: false, reason: "Too many hash regions" };
      start = -1;
    }
  } while (tag !== FDT_END);
  if (next !== sizeStruct) return fail(`the structure block is 0x${sizeStruct.toString(16)} bytes but FDT_END ends at 0x${next.toString(16)}`);
  regions.push([base + start, next - start]);
  if (regions.length === 0) return { ok: false, reason: "No data to hash" };
  if (regions.length >= maxRegions) return { ok: false, reason: "Too many hash regions" };
  if (hashedStrings !== null) {
    const size = hashedStrings[1];
    if (size === undefined) return { ok: false, reason: "Invalid hashed-strings property" };
    if (size > sizeStrings)
      return { ok: false, reason: `Strings region is out of bounds: hashed-strings says ${size} bytes, the strings block has ${sizeStrings}` };
    regions.push([offStrings, size]);
  }
  return { ok: true, regions };
}

/** The regions' bytes, one after the other, as U-Boot's hash_calculate sees them. */
export function regionBytes(bytes: Uint8Array, regions: readonly FitRegion[]): Uint8Array {
  const total = regions.reduce((sum, [, size]) => sum + size, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const [offset, size] of regions) {
    out.set(bytes.subarray(offset, offset + size), at);
    at += size;
  }
  return out;
}
