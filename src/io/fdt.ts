/**
 * Flattened device tree (DTB) reader, shared by the formats (a U-Boot FIT is a device tree) and
 * kexec (the running system's tree, rewritten for the next kernel by kexec/fdt.ts).
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
 *
 * Every offset and length is checked against the blob, and the tree is bounded by the named
 * limits of io/limits.ts (depth, node count, property size, strings block size).
 */
import { ErrorCode, KimgError } from "./errors.js";
import type { ErrorCodeValue } from "./errors.js";
import { FDT_MAX_DEPTH, FDT_MAX_NODES, FDT_MAX_PROPERTY_BYTES, FDT_MAX_RESERVATIONS, FDT_MAX_STRINGS_BYTES } from "./limits.js";

export { FDT_MAX_DEPTH, FDT_MAX_NODES, FDT_MAX_PROPERTY_BYTES, FDT_MAX_RESERVATIONS, FDT_MAX_STRINGS_BYTES };

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;
export const FDT_HEADER_SIZE = 40;

/** arm64 booting.rst: "The device tree blob (dtb) must be ... not exceed 2 megabytes in size". kexec's bound. */
export const FDT_MAX_BYTES = 2 * 1024 * 1024;

const STRUCTURE = "device tree";

export interface FdtProperty {
  name: string;
  value: Uint8Array;
  /** Offset of the value in the blob read (absent on properties made in memory). */
  offset?: number;
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

export interface FdtHeader {
  totalSize: number;
  offStruct: number;
  offStrings: number;
  offRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  sizeStrings: number;
  sizeStruct: number;
}

export interface Fdt {
  bootCpuidPhys: number;
  reservations: FdtReservation[];
  root: FdtNode;
  /** The header as read (absent on trees made in memory). */
  header?: FdtHeader;
}

export interface ParseFdtOptions {
  /** Largest totalsize accepted, in bytes (default FDT_MAX_BYTES, kexec's 2 MiB). */
  maxBytes?: number;
  /** Property values as views into the input instead of copies (a FIT's embedded kernel). */
  views?: boolean;
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

/** Reads and checks the header: every block inside totalsize, totalsize inside the bytes. */
export function readFdtHeader(bytes: Uint8Array, maxBytes = FDT_MAX_BYTES): FdtHeader {
  const totalSize = fdtTotalSize(bytes);
  if (totalSize > maxBytes) fail(ErrorCode.LIMIT, `totalsize ${totalSize} exceeds ${maxBytes}`, 4, { actual: totalSize, expected: maxBytes });
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
  if (sizeStrings > FDT_MAX_STRINGS_BYTES)
    fail(ErrorCode.LIMIT, `strings block of ${sizeStrings} bytes exceeds FDT_MAX_STRINGS_BYTES (${FDT_MAX_STRINGS_BYTES})`, 32, {
      actual: sizeStrings,
      expected: FDT_MAX_STRINGS_BYTES,
    });
  return { totalSize, offStruct, offStrings, offRsvmap, version, lastCompVersion, bootCpuidPhys, sizeStrings, sizeStruct };
}

export function parseFdt(bytes: Uint8Array, options: ParseFdtOptions = {}): Fdt {
  const header = readFdtHeader(bytes, options.maxBytes ?? FDT_MAX_BYTES);
  const { totalSize, offStruct, offStrings, offRsvmap, sizeStrings, sizeStruct } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, totalSize);
  const reservations = readReservations(view, offRsvmap, totalSize);
  const strings = new Uint8Array(bytes.buffer, bytes.byteOffset + offStrings, sizeStrings);
  const root = readStructure(bytes.subarray(0, totalSize), view, offStruct, offStruct + sizeStruct, strings, options.views ?? false);
  return { bootCpuidPhys: header.bootCpuidPhys, reservations, root, header };
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

function readStructure(bytes: Uint8Array, view: DataView, start: number, end: number, strings: Uint8Array, views: boolean): FdtNode {
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let nodes = 0;
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
        if (stack.length >= FDT_MAX_DEPTH) fail(ErrorCode.LIMIT, `nodes nest deeper than FDT_MAX_DEPTH (${FDT_MAX_DEPTH})`, tokenOffset);
        if (++nodes > FDT_MAX_NODES) fail(ErrorCode.LIMIT, `more than FDT_MAX_NODES (${FDT_MAX_NODES}) nodes`, tokenOffset);
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
        if (length > FDT_MAX_PROPERTY_BYTES)
          fail(ErrorCode.LIMIT, `property value of ${length} bytes exceeds FDT_MAX_PROPERTY_BYTES (${FDT_MAX_PROPERTY_BYTES})`, tokenOffset + 4, {
            actual: length,
            expected: FDT_MAX_PROPERTY_BYTES,
          });
        if (nameOffset >= strings.length)
          fail(ErrorCode.BAD_OFFSET, `property name offset 0x${nameOffset.toString(16)} is outside the strings block`, tokenOffset + 8);
        const name = readString(strings, nameOffset, strings.length, "property name");
        node.properties.push({ name, value: views ? bytes.subarray(at, at + length) : bytes.slice(at, at + length), offset: at });
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

/** Finds a node by absolute path ("/chosen") from the root of `fdt` (or below `node`); unit addresses must be spelled out. */
export function findNode(fdt: Fdt | FdtNode, path: string): FdtNode | undefined {
  let node: FdtNode | undefined = "root" in fdt ? fdt.root : fdt;
  for (const part of path.split("/").filter((p) => p !== "")) {
    node = node?.children.find((c) => c.name === part);
  }
  return node;
}

export function getProperty(node: FdtNode, name: string): Uint8Array | undefined {
  return node.properties.find((p) => p.name === name)?.value;
}

/** Reads a property holding one 32- or 64-bit big-endian cell group (as `linux,initrd-start`). */
export function readCellValue(value: Uint8Array): bigint | undefined {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (value.length === 4) return BigInt(view.getUint32(0));
  if (value.length === 8) return view.getBigUint64(0);
  return undefined;
}

/** A string property's first string (NUL-terminated), or undefined when the value has no NUL. */
export function stringProperty(node: FdtNode, name: string): string | undefined {
  const value = getProperty(node, name);
  if (!value) return undefined;
  const nul = value.indexOf(0);
  if (nul < 0) return undefined;
  return new TextDecoder("latin1").decode(value.subarray(0, nul));
}

/** A string-list property ("compatible", a FIT configuration's "fdt"), or undefined. */
export function stringListProperty(node: FdtNode, name: string): string[] | undefined {
  const value = getProperty(node, name);
  if (!value || value.length === 0 || value[value.length - 1] !== 0) return undefined;
  return new TextDecoder("latin1").decode(value.subarray(0, value.length - 1)).split("\0");
}

/** A u32 property (one cell), or undefined when it is not 4 bytes. */
export function u32Property(node: FdtNode, name: string): number | undefined {
  const value = getProperty(node, name);
  if (value?.length !== 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
}
