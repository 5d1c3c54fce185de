/**
 * Flattened device tree (DTB): parse into a tree, rewrite, serialise.
 * Source: Devicetree Specification v0.4, chapter 5 "Flattened Devicetree (DTB) Format";
 * Linux scripts/dtc/libfdt/fdt.h.
 *
 *   struct fdt_header {            // all fields big-endian
 *     uint32_t magic;              // 0xd00dfeed
 *     uint32_t totalsize;
 *     uint32_t off_dt_struct;
 *     uint32_t off_dt_strings;
 *     uint32_t off_mem_rsvmap;
 *     uint32_t version;            // 17
 *     uint32_t last_comp_version;  // 16
 *     uint32_t boot_cpuid_phys;
 *     uint32_t size_dt_strings;
 *     uint32_t size_dt_struct;     // version 17+
 *   };
 *   struct fdt_reserve_entry { uint64_t address; uint64_t size; };  // list ends with 0, 0
 *
 * The structure block is a token stream: FDT_BEGIN_NODE (0x1) + NUL-terminated name padded to
 * 4 bytes, FDT_END_NODE (0x2), FDT_PROP (0x3) + { uint32_t len; uint32_t nameoff; } + value
 * padded to 4 bytes, FDT_NOP (0x4), FDT_END (0x9).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { ErrorCodeValue } from "../io/errors.js";

export const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_NOP = 0x4;
const FDT_END = 0x9;
const FDT_HEADER_SIZE = 40;
/** Version written by `serializeFdt`, and the oldest it stays compatible with (as dtc writes). */
const FDT_WRITE_VERSION = 17;
const FDT_WRITE_LAST_COMP_VERSION = 16;

/** arm64 booting.rst: "The device tree blob (dtb) must be ... not exceed 2 megabytes in size". */
export const FDT_MAX_BYTES = 2 * 1024 * 1024;
/** Deepest node nesting accepted; real trees are under 10 levels. */
export const FDT_MAX_DEPTH = 64;
/** Most memory reservation entries read. */
export const FDT_MAX_RESERVATIONS = 1024;

const STRUCTURE = "device tree";

export interface FdtProperty {
  name: string;
  value: Uint8Array;
}

export interface FdtNode {
  /** Unit name, e.g. "memory@40000000"; "" for the root. */
  name: string;
  properties: FdtProperty[];
  children: FdtNode[];
}

export interface FdtReservation {
  address: bigint;
  size: bigint;
}

export interface Fdt {
  bootCpuidPhys: number;
  reservations: FdtReservation[];
  root: FdtNode;
}

function fail(code: ErrorCodeValue, message: string, offset: number, extra: Record<string, unknown> = {}): never {
  throw new KimgError(code, message, { structure: STRUCTURE, offset, ...extra });
}

/** The size the header declares: a blob read from /sys/firmware/fdt carries slack after it. */
export function fdtTotalSize(bytes: Uint8Array): number {
  if (bytes.length < FDT_HEADER_SIZE) fail(ErrorCode.TRUNCATED, `header needs ${FDT_HEADER_SIZE} bytes, ${bytes.length} given`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== FDT_MAGIC) fail(ErrorCode.BAD_MAGIC, `magic is 0x${magic.toString(16)}, not 0xd00dfeed`, 0, { expected: FDT_MAGIC, actual: magic });
  return view.getUint32(4);
}

export function parseFdt(bytes: Uint8Array): Fdt {
  const totalSize = fdtTotalSize(bytes);
  if (totalSize > FDT_MAX_BYTES) fail(ErrorCode.LIMIT, `totalsize ${totalSize} exceeds ${FDT_MAX_BYTES}`, 4, { actual: totalSize, expected: FDT_MAX_BYTES });
  if (totalSize < FDT_HEADER_SIZE || totalSize > bytes.length) {
    fail(ErrorCode.BAD_OFFSET, `totalsize ${totalSize} does not fit the ${bytes.length} bytes given`, 4, { actual: totalSize });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, totalSize);
  const offStruct = view.getUint32(8);
  const offStrings = view.getUint32(12);
  const offRsvmap = view.getUint32(16);
  const version = view.getUint32(20);
  const lastCompVersion = view.getUint32(24);
  const bootCpuidPhys = view.getUint32(28);
  const sizeStrings = view.getUint32(32);
  if (version < 16 || lastCompVersion > 17) {
    fail(ErrorCode.UNSUPPORTED, `version ${version} (last compatible ${lastCompVersion}) is not readable as version 16/17`, 20, { actual: version });
  }
  const sizeStruct = version >= 17 ? view.getUint32(36) : totalSize - offStruct;
  checkBlock("structure block", offStruct, sizeStruct, totalSize, 8);
  checkBlock("strings block", offStrings, sizeStrings, totalSize, 12);
  checkBlock("memory reservation block", offRsvmap, 0, totalSize, 16);
  if (offRsvmap % 8 !== 0) fail(ErrorCode.BAD_OFFSET, `memory reservation block at 0x${offRsvmap.toString(16)} is not 8-byte aligned`, 16);

  const reservations = readReservations(view, offRsvmap, totalSize);
  const strings = new Uint8Array(bytes.buffer, bytes.byteOffset + offStrings, sizeStrings);
  const root = readStructure(bytes.subarray(0, totalSize), view, offStruct, offStruct + sizeStruct, strings);
  return { bootCpuidPhys, reservations, root };
}

function checkBlock(name: string, offset: number, size: number, totalSize: number, fieldOffset: number): void {
  if (offset < FDT_HEADER_SIZE || offset + size > totalSize) {
    fail(
      ErrorCode.BAD_OFFSET,
      `${name} [0x${offset.toString(16)}, +0x${size.toString(16)}) lies outside the blob (0x${totalSize.toString(16)} bytes)`,
      fieldOffset,
    );
  }
}

function readReservations(view: DataView, offset: number, end: number): FdtReservation[] {
  const list: FdtReservation[] = [];
  for (let at = offset; ; at += 16) {
    if (at + 16 > end) fail(ErrorCode.TRUNCATED, "memory reservation block has no terminating entry", at);
    const address = view.getBigUint64(at);
    const size = view.getBigUint64(at + 8);
    if (address === 0n && size === 0n) return list;
    if (list.length >= FDT_MAX_RESERVATIONS) fail(ErrorCode.LIMIT, `more than ${FDT_MAX_RESERVATIONS} memory reservations`, at);
    list.push({ address, size });
  }
}

function readString(bytes: Uint8Array, offset: number, end: number, what: string): string {
  const nul = bytes.subarray(offset, end).indexOf(0);
  if (nul < 0) fail(ErrorCode.TRUNCATED, `${what} at 0x${offset.toString(16)} has no terminating NUL`, offset);
  return new TextDecoder("latin1").decode(bytes.subarray(offset, offset + nul));
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function readStructure(bytes: Uint8Array, view: DataView, start: number, end: number, strings: Uint8Array): FdtNode {
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let at = start;
  for (;;) {
    if (at + 4 > end) fail(ErrorCode.TRUNCATED, "structure block ends without FDT_END", at);
    const token = view.getUint32(at);
    const tokenOffset = at;
    at += 4;
    switch (token) {
      case FDT_BEGIN_NODE: {
        const name = readString(bytes, at, end, "node name");
        at = align4(at + name.length + 1);
        if (root !== undefined && stack.length === 0) fail(ErrorCode.BAD_FIELD, "a second root node follows the first", tokenOffset);
        if (stack.length >= FDT_MAX_DEPTH) fail(ErrorCode.LIMIT, `nodes nest deeper than ${FDT_MAX_DEPTH}`, tokenOffset);
        const node: FdtNode = { name, properties: [], children: [] };
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(node);
        else root = node;
        stack.push(node);
        break;
      }
      case FDT_END_NODE:
        if (stack.pop() === undefined) fail(ErrorCode.BAD_FIELD, "FDT_END_NODE without an open node", tokenOffset);
        break;
      case FDT_PROP: {
        const node = stack[stack.length - 1];
        if (!node) fail(ErrorCode.BAD_FIELD, "property outside any node", tokenOffset);
        if (at + 8 > end) fail(ErrorCode.TRUNCATED, "property header runs past the structure block", at);
        const length = view.getUint32(at);
        const nameOffset = view.getUint32(at + 4);
        at += 8;
        if (length > end - at) fail(ErrorCode.BAD_OFFSET, `property value of ${length} bytes runs past the structure block`, tokenOffset, { actual: length });
        if (nameOffset >= strings.length)
          fail(ErrorCode.BAD_OFFSET, `property name offset 0x${nameOffset.toString(16)} is outside the strings block`, tokenOffset + 8);
        const name = readString(strings, nameOffset, strings.length, "property name");
        node.properties.push({ name, value: bytes.slice(at, at + length) });
        at = align4(at + length);
        break;
      }
      case FDT_NOP:
        break;
      case FDT_END:
        if (stack.length !== 0 || root === undefined) fail(ErrorCode.BAD_FIELD, "FDT_END before the root node is closed", tokenOffset);
        return root;
      default:
        fail(ErrorCode.BAD_FIELD, `unknown structure token 0x${token.toString(16)}`, tokenOffset, { actual: token });
    }
  }
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

/** Finds a node by absolute path ("/chosen"); unit addresses must be spelled out. */
export function findNode(fdt: Fdt, path: string): FdtNode | undefined {
  let node: FdtNode | undefined = fdt.root;
  for (const part of path.split("/").filter((p) => p !== "")) {
    node = node?.children.find((c) => c.name === part);
  }
  return node;
}

export function getProperty(node: FdtNode, name: string): Uint8Array | undefined {
  return node.properties.find((p) => p.name === name)?.value;
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

/** Reads a property holding one 32- or 64-bit big-endian cell group (as `linux,initrd-start`). */
export function readCellValue(value: Uint8Array): bigint | undefined {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (value.length === 4) return BigInt(view.getUint32(0));
  if (value.length === 8) return view.getBigUint64(0);
  return undefined;
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
