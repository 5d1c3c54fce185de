/**
 * Structures are declared once, as data: a table of fields with their offsets and types.
 * `readStruct` decodes one from bytes with every read bounds-checked and returns both the typed
 * record (for code) and the report structure (every field with its absolute offset, for people).
 */
import { hex } from "./bytes.js";
import { ErrorCode, KimgError } from "./errors.js";
import type { Field, FieldValue, Structure } from "../model/report.js";

export type FieldType = "u8" | "u16" | "u32" | "u64" | "i32" | "bytes" | "cstr" | "ascii";

export interface FieldSpec {
  readonly name: string;
  readonly offset: number;
  readonly type: FieldType;
  /** Size in bytes, for `bytes`, `cstr` and `ascii` fields. */
  readonly size?: number;
}

export interface Layout<F extends readonly FieldSpec[] = readonly FieldSpec[]> {
  readonly name: string;
  readonly size: number;
  readonly fields: F;
}

type ValueOf<T extends FieldType> = T extends "u64" ? bigint : T extends "bytes" ? Uint8Array : T extends "cstr" | "ascii" ? string : number;

export type RecordOf<F extends readonly FieldSpec[]> = {
  [K in F[number] as K["name"]]: ValueOf<K["type"]>;
};

export function defineLayout<const F extends readonly FieldSpec[]>(name: string, size: number, fields: F): Layout<F> {
  return { name, size, fields };
}

/**
 * One structure that comes in variants of different shape (PE32 and PE32+ optional headers, ELF32
 * and ELF64 headers), each a layout of its own, named by a key the caller reads first (the
 * optional header's Magic, e_ident[EI_CLASS]).
 */
export interface LayoutVariants<V extends Readonly<Record<string, Layout>> = Readonly<Record<string, Layout>>> {
  readonly name: string;
  readonly variants: V;
}

export function defineVariants<const V extends Readonly<Record<string, Layout>>>(name: string, variants: V): LayoutVariants<V> {
  return { name, variants };
}

/**
 * A variant read: a union discriminated by `variant`, so code reads the fields all variants share
 * straight from `record` (typed as the union of their types, e.g. `number | bigint` for a field
 * that is u32 in one and u64 in the other) and the others after narrowing on `variant`.
 */
export type DecodedVariant<V extends Readonly<Record<string, Layout>>> = {
  [K in keyof V & string]: { variant: K; layout: V[K]; record: RecordOf<V[K]["fields"]>; structure: Structure };
}[keyof V & string];

/** Reads the variant `variant` of `variants` at `at` (see readStruct). */
export function readVariant<const V extends Readonly<Record<string, Layout>>>(
  variants: LayoutVariants<V>,
  variant: keyof V & string,
  bytes: Uint8Array,
  at: number,
  options: ReadOptions = {},
): DecodedVariant<V> {
  const layout = variants.variants[variant] as V[keyof V & string];
  const { record, structure } = readStruct(layout, bytes, at, options);
  // readStruct typed the record by this variant's own fields; the union above pairs it with its key.
  return { variant, layout, record, structure } as DecodedVariant<V>;
}

export function fieldSize(spec: FieldSpec): number {
  switch (spec.type) {
    case "u8":
      return 1;
    case "u16":
      return 2;
    case "u32":
    case "i32":
      return 4;
    case "u64":
      return 8;
    default:
      return spec.size ?? 0;
  }
}

export interface DecodedStruct<F extends readonly FieldSpec[]> {
  record: RecordOf<F>;
  structure: Structure;
}

export interface ReadOptions {
  /** Offset of `bytes[0]` in the space the report speaks of (the file, or a decompressed stream). */
  base?: number;
  littleEndian?: boolean;
  /** Name for the structure in the report, when it differs from the layout's. */
  title?: string;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throws E_TRUNCATED unless `[offset, offset + length)` lies inside `bytes`. */
export function requireRange(bytes: Uint8Array, offset: number, length: number, structure: string, base = 0): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
    throw new KimgError(
      ErrorCode.TRUNCATED,
      `${structure} needs ${length} bytes at 0x${(base + offset).toString(16)}, but the data ends at 0x${(base + bytes.length).toString(16)}`,
      { structure, offset: base + offset, expected: length, actual: Math.max(0, bytes.length - offset) },
    );
  }
}

/** Re-exported for the many modules that import it with the layout helpers; its home is io/bytes.ts. */
export { hex };

/** One JSON rule for integers: a number while it is exact, else a decimal string. */
export function jsonInteger(value: number | bigint): number | string {
  if (typeof value === "number") return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

export function cString(bytes: Uint8Array, maxLength = bytes.length): string {
  let end = 0;
  const limit = Math.min(bytes.length, maxLength);
  while (end < limit && bytes[end] !== 0) end++;
  return printable(bytes.subarray(0, end));
}

/** Latin-1 decode with control characters escaped, so file text never breaks a terminal. */
export function printable(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    if (b === 0x09 || b === 0x0a || (b >= 0x20 && b < 0x7f)) out += String.fromCharCode(b);
    else out += "\\x" + b.toString(16).padStart(2, "0");
  }
  return out;
}

export function toHexBytes(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function readStruct<const F extends readonly FieldSpec[]>(
  layout: Layout<F>,
  bytes: Uint8Array,
  at: number,
  options: ReadOptions = {},
): DecodedStruct<F> {
  const base = options.base ?? 0;
  const little = options.littleEndian ?? true;
  requireRange(bytes, at, layout.size, layout.name, base);
  const view = viewOf(bytes);
  const record: Record<string, number | bigint | string | Uint8Array> = {};
  const fields: Field[] = [];
  for (const spec of layout.fields) {
    const size = fieldSize(spec);
    const offset = at + spec.offset;
    requireRange(bytes, offset, size, `${layout.name}.${spec.name}`, base);
    let value: number | bigint | string | Uint8Array;
    let shown: FieldValue;
    let rawHex: string | undefined;
    switch (spec.type) {
      case "u8":
        value = view.getUint8(offset);
        break;
      case "u16":
        value = view.getUint16(offset, little);
        break;
      case "u32":
        value = view.getUint32(offset, little);
        break;
      case "i32":
        value = view.getInt32(offset, little);
        break;
      case "u64":
        value = view.getBigUint64(offset, little);
        break;
      case "bytes":
        value = bytes.subarray(offset, offset + size);
        break;
      case "cstr":
        value = cString(bytes.subarray(offset, offset + size));
        break;
      case "ascii":
        value = printable(bytes.subarray(offset, offset + size));
        break;
    }
    if (typeof value === "number" || typeof value === "bigint") {
      shown = jsonInteger(value);
      rawHex = value < 0 ? "-" + hex(-value) : hex(value);
    } else if (value instanceof Uint8Array) {
      shown = toHexBytes(value);
    } else {
      shown = value;
    }
    record[spec.name] = value;
    const field: Field = { name: spec.name, offset: base + offset, size, value: shown };
    if (rawHex !== undefined) field.hex = rawHex;
    fields.push(field);
  }
  return {
    record: record as RecordOf<F>,
    structure: { name: options.title ?? layout.name, offset: base + at, size: layout.size, fields },
  };
}

/** Adds a human meaning to a field of a structure ("NX_COMPAT | DYNAMIC_BASE", "4K pages"). */
export function annotate(structure: Structure, fieldName: string, meaning: string): void {
  const field = structure.fields.find((f) => f.name === fieldName);
  if (field) field.meaning = meaning;
}

/** Builds a structure from fields computed by hand (tables of variable length). */
export function structureOf(name: string, offset: number, size: number, fields: Field[]): Structure {
  return { name, offset, size, fields };
}

export function u32(bytes: Uint8Array, offset: number, littleEndian = true): number | undefined {
  if (offset < 0 || offset + 4 > bytes.length) return undefined;
  return viewOf(bytes).getUint32(offset, littleEndian);
}

export function u16(bytes: Uint8Array, offset: number, littleEndian = true): number | undefined {
  if (offset < 0 || offset + 2 > bytes.length) return undefined;
  return viewOf(bytes).getUint16(offset, littleEndian);
}

export function u64(bytes: Uint8Array, offset: number, littleEndian = true): bigint | undefined {
  if (offset < 0 || offset + 8 > bytes.length) return undefined;
  return viewOf(bytes).getBigUint64(offset, littleEndian);
}

export function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>, at = 0): boolean {
  if (at < 0 || at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * A search of `bytes` the platform does natively (the CLI registers glibc's memmem through koffi:
 * node/byte-search.ts): the offset of the first `pattern` that starts at or after `from` and ends
 * by `to`, or -1. Registered, it answers indexOf over long ranges and the kernel-marker searches
 * (io/marker-scan.ts) with the same results.
 */
export type ByteSearch = (bytes: Uint8Array, pattern: Uint8Array, from: number, to: number) => number;

/** A ByteSearch that runs off the main thread (memmem on a thread-pool thread), for searches started ahead of the questions. */
export type AsyncByteSearch = (bytes: Uint8Array, pattern: Uint8Array, from: number, to: number) => Promise<number>;

let byteSearch: ByteSearch | null = null;

/** Registers a native search (null: the searches here again). */
export function useByteSearch(search: ByteSearch | null): void {
  byteSearch = search;
}

/** The registered native search, or null. */
export function registeredByteSearch(): ByteSearch | null {
  return byteSearch;
}

/** Shorter ranges are searched here: a native call costs more than the search. */
const NATIVE_INDEX_OF_MIN_BYTES = 64 * 1024;

/**
 * Finds `needle` in `haystack` within [from, to); -1 when absent. Boyer-Moore-Horspool, so a
 * scan for "Linux version " through a 100 MB image skips ahead by up to the needle's length;
 * over a long range, the registered native search where there is one (memmem: 7 magic numbers
 * through 40 MB of an ELF took 565 ms here, a few ms each natively).
 */
export function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0, to = haystack.length): number {
  const n = needle.length;
  const end = Math.min(to, haystack.length);
  if (n === 0 || from < 0 || end - from < n) return -1;
  if (byteSearch !== null && end - from >= NATIVE_INDEX_OF_MIN_BYTES) return byteSearch(haystack, needle, from, end);
  const skip = new Int32Array(256).fill(n);
  for (let i = 0; i < n - 1; i++) skip[needle[i] as number] = n - 1 - i;
  const lastByte = needle[n - 1] as number;
  for (let i = from; i <= end - n; ) {
    const b = haystack[i + n - 1] as number;
    if (b === lastByte) {
      let j = n - 2;
      while (j >= 0 && haystack[i + j] === needle[j]) j--;
      if (j < 0) return i;
    }
    i += skip[b] as number;
  }
  return -1;
}
