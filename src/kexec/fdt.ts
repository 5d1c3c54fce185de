/**
 * Flattened device tree for kexec: serialise a tree read by io/fdt.ts, rewrite /chosen for the
 * next kernel. The reader is io/fdt.ts (shared with the formats); it is re-exported here.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { ErrorCodeValue } from "../io/errors.js";
import { FDT_HEADER_SIZE, FDT_MAGIC, FDT_MAX_BYTES, FDT_MAX_DEPTH, findNode } from "../io/fdt.js";
import type { Fdt, FdtNode } from "../io/fdt.js";

export {
  FDT_MAGIC,
  FDT_MAX_BYTES,
  FDT_MAX_DEPTH,
  FDT_MAX_RESERVATIONS,
  fdtTotalSize,
  findNode,
  getProperty,
  parseFdt,
  readCellValue,
} from "../io/fdt.js";
export type { Fdt, FdtNode, FdtProperty, FdtReservation } from "../io/fdt.js";

const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_END = 0x9;
/** Version written by `serializeFdt`, and the oldest it stays compatible with (as dtc writes). */
const FDT_WRITE_VERSION = 17;
const FDT_WRITE_LAST_COMP_VERSION = 16;

const STRUCTURE = "device tree";

function fail(code: ErrorCodeValue, message: string, offset: number, extra: Record<string, unknown> = {}): never {
  throw new KimgError(code, message, { structure: STRUCTURE, offset, ...extra });
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Writes the blob the way dtc does: header, reservation map, structure block, strings block,
 * no free space; each property name is stored once and may share the tail of a longer one.
 */
export function serializeFdt(fdt: Fdt): Uint8Array {
  const encoder = new TextEncoder();
  const structWords: Uint8Array[] = [];
  let structSize = 0;
  let strings = new Uint8Array(0);

  const push = (chunk: Uint8Array): void => {
    structWords.push(chunk);
    structSize += chunk.length;
  };
  const token = (value: number): void => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value);
    push(b);
  };
  const padded = (data: Uint8Array, extraNul: boolean): void => {
    const length = data.length + (extraNul ? 1 : 0);
    const b = new Uint8Array(align4(length));
    b.set(data);
    push(b);
  };
  const nameOffset = (name: string): number => {
    const needle = encoder.encode(name + "\0");
    const found = indexOfBytes(strings, needle);
    if (found >= 0) return found;
    const grown = new Uint8Array(strings.length + needle.length);
    grown.set(strings);
    grown.set(needle, strings.length);
    const offset = strings.length;
    strings = grown;
    return offset;
  };
  const emit = (node: FdtNode, depth: number): void => {
    if (depth > FDT_MAX_DEPTH) fail(ErrorCode.LIMIT, `nodes nest deeper than ${FDT_MAX_DEPTH}`, 0);
    token(FDT_BEGIN_NODE);
    padded(encoder.encode(node.name), true);
    for (const property of node.properties) {
      token(FDT_PROP);
      const head = new Uint8Array(8);
      const headView = new DataView(head.buffer);
      headView.setUint32(0, property.value.length);
      headView.setUint32(4, nameOffset(property.name));
      push(head);
      padded(property.value, false);
    }
    for (const child of node.children) emit(child, depth + 1);
    token(FDT_END_NODE);
  };
  emit(fdt.root, 0);
  token(FDT_END);

  const offRsvmap = FDT_HEADER_SIZE;
  const offStruct = offRsvmap + (fdt.reservations.length + 1) * 16;
  const offStrings = offStruct + structSize;
  const totalSize = offStrings + strings.length;
  if (totalSize > FDT_MAX_BYTES) fail(ErrorCode.LIMIT, `the rewritten tree needs ${totalSize} bytes, more than ${FDT_MAX_BYTES}`, 0, { actual: totalSize });

  const out = new Uint8Array(totalSize);
  const view = new DataView(out.buffer);
  const header = [
    FDT_MAGIC,
    totalSize,
    offStruct,
    offStrings,
    offRsvmap,
    FDT_WRITE_VERSION,
    FDT_WRITE_LAST_COMP_VERSION,
    fdt.bootCpuidPhys,
    strings.length,
    structSize,
  ];
  for (const [index, value] of header.entries()) view.setUint32(index * 4, value);
  fdt.reservations.forEach((r, index) => {
    view.setBigUint64(offRsvmap + index * 16, r.address);
    view.setBigUint64(offRsvmap + index * 16 + 8, r.size);
  });
  let at = offStruct;
  for (const chunk of structWords) {
    out.set(chunk, at);
    at += chunk.length;
  }
  out.set(strings, offStrings);
  return out;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export function setProperty(node: FdtNode, name: string, value: Uint8Array): void {
  const existing = node.properties.find((p) => p.name === name);
  if (existing) existing.value = value;
  else node.properties.push({ name, value });
}

export function removeProperty(node: FdtNode, name: string): boolean {
  const index = node.properties.findIndex((p) => p.name === name);
  if (index < 0) return false;
  node.properties.splice(index, 1);
  return true;
}

export function stringValue(text: string): Uint8Array {
  return new TextEncoder().encode(text + "\0");
}

export function u64Value(value: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(value));
  return b;
}

/**
 * /chosen properties that describe the running kernel's own boot and must not leak into the next
 * one (Linux drivers/of/kexec.c removes the same ones for kexec_file_load).
 */
export const STALE_CHOSEN_PROPERTIES = ["linux,elfcorehdr", "linux,usable-memory-range", "linux,ima-kexec-buffer"] as const;

export interface ChosenUpdate {
  /** The new command line; null removes `bootargs`. */
  bootargs: string | null;
  /** Physical range [start, end) of the new initrd; null removes the initrd properties. */
  initrd: { start: number; end: number } | null;
  /** Fresh 8-byte `kaslr-seed` (the running kernel consumed and zeroed its own). */
  kaslrSeed?: Uint8Array;
  /** Fresh `rng-seed` bytes. */
  rngSeed?: Uint8Array;
}

export interface ChosenChange {
  property: string;
  action: "set" | "removed";
}

/** Rewrites /chosen for the next kernel, creating the node when the tree has none. */
export function updateChosen(fdt: Fdt, update: ChosenUpdate): ChosenChange[] {
  let chosen = findNode(fdt, "/chosen");
  if (!chosen) {
    chosen = { name: "chosen", properties: [], children: [] };
    fdt.root.children.push(chosen);
  }
  const changes: ChosenChange[] = [];
  const set = (name: string, value: Uint8Array): void => {
    setProperty(chosen, name, value);
    changes.push({ property: name, action: "set" });
  };
  const remove = (name: string): void => {
    if (removeProperty(chosen, name)) changes.push({ property: name, action: "removed" });
  };
  if (update.bootargs === null) remove("bootargs");
  else set("bootargs", stringValue(update.bootargs));
  if (update.initrd === null) {
    remove("linux,initrd-start");
    remove("linux,initrd-end");
  } else {
    set("linux,initrd-start", u64Value(update.initrd.start));
    set("linux,initrd-end", u64Value(update.initrd.end));
  }
  for (const name of STALE_CHOSEN_PROPERTIES) remove(name);
  if (update.kaslrSeed) {
    if (update.kaslrSeed.length !== 8)
      throw new KimgError(ErrorCode.USAGE, "kaslr-seed must be 8 bytes", { structure: STRUCTURE, actual: update.kaslrSeed.length });
    set("kaslr-seed", update.kaslrSeed);
  }
  if (update.rngSeed) set("rng-seed", update.rngSeed);
  return changes;
}
