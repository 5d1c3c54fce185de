/**
 * The report model: the one product that the library returns, `--json` prints, and the text
 * view and the web page render. Plain JSON values only (no bigint, no Uint8Array), so
 * `JSON.parse(JSON.stringify(report))` is the identity. Integers that do not fit a double
 * exactly are decimal strings; every integer field also carries its `hex` form.
 */

import type { ReportCode } from "./codes.js";
import type { BootPlan } from "./plan.js";

export type FieldValue = number | string | boolean | null;

/** One field read from the data, with where it came from. */
export interface Field {
  name: string;
  /** Offset of the field in the layer's space (see Layer.space). */
  offset: number;
  /** Size in bytes. */
  size: number;
  value: FieldValue;
  /** Hex form of integer values ("0x818223cd"). */
  hex?: string;
  /** What the value means, decoded ("NX_COMPAT | DYNAMIC_BASE", "64K pages"). */
  meaning?: string;
}

/** A header, table or record: a run of fields. */
export interface Structure {
  name: string;
  offset: number;
  size: number;
  fields: Field[];
}

/** The formats kimg recognises. `summary.format` is one of the first nine. */
export type LayerFormat =
  | "zboot"
  | "arm64-image"
  | "riscv-image"
  | "loongarch-image"
  | "bzimage"
  | "arm-zimage"
  | "s390-image"
  | "raw-kernel"
  | "elf"
  | "uki"
  | "pe"
  | "compressed"
  | "cpio"
  | "dtb"
  | "text"
  | "data";

export type Severity = "info" | "warning" | "error";

/** Something odd but not fatal, found while reading. */
export interface Diagnostic {
  /** Stable code, e.g. "ZBOOT_CODEC_MISMATCH", "E_TRUNCATED". */
  code: ReportCode;
  severity: Severity;
  message: string;
  /** Offset in the space of `layer`, or null when the problem has no single place. */
  offset: number | null;
  /** Path of the layer it concerns. */
  layer: string;
}

export type JsonValue = FieldValue | JsonValue[] | { [key: string]: JsonValue };

/** A PE/COFF section as the protection map and the signature code need it. */
export interface PeSection {
  name: string;
  /** Offset of the section header in the layer's space. */
  headerOffset: number;
  virtualAddress: number;
  virtualSize: number;
  pointerToRawData: number;
  sizeOfRawData: number;
  characteristics: number;
  /** "r-x", "rw-", "r--" ... from MEM_READ/MEM_WRITE/MEM_EXECUTE. */
  perms: string;
  /** Decoded flag names. */
  flags: string[];
}

/** The facts of a PE/COFF header that other parts of kimg use. */
export interface PeInfo {
  peOffset: number;
  machine: number;
  machineName: string;
  /** "PE32" or "PE32+". */
  kind: "PE32" | "PE32+";
  addressOfEntryPoint: number;
  imageBase: number | string;
  sectionAlignment: number;
  fileAlignment: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  sizeOfCode: number;
  checkSumOffset: number;
  dllCharacteristics: number;
  dllCharacteristicsFlags: string[];
  nxCompat: boolean;
  subsystem: number;
  /** The certificate table (data directory 4): a file offset, not an RVA. */
  certificateTable: { offset: number; size: number; entryOffset: number } | null;
  /** Offset of the data-directory array; each entry is 8 bytes. */
  dataDirectoryOffset: number;
  numberOfRvaAndSizes: number;
  sections: PeSection[];
  /** Bytes after the end of the certificate table, all zero (v6.4+ zboot padding). */
  trailingZeroBytes: number;
}

/** One node of the layer tree. */
export interface Layer {
  /** "/" for the input; children append a name: "/payload", "/payload/decompressed/pe", "/.linux". */
  path: string;
  format: LayerFormat;
  /** One line for people: "EFI zboot image (arm64, zstd22)". */
  title: string;
  /** Where the offsets of this layer count from: "file", or the path of the compressed layer whose output holds it. */
  space: string;
  /** Start of the layer in its space. */
  offset: number;
  size: number;
  /** Architecture, where the layer says. */
  arch: string | null;
  structures: Structure[];
  /** Derived facts for scripts (codec, page size, linux version...); each also appears as a field with its offset. */
  info: Record<string, JsonValue>;
  pe?: PeInfo;
  children: Layer[];
}

export interface Summary {
  /** The outermost format. */
  format: LayerFormat;
  /** The kernel's architecture: arm64, riscv64, riscv32, loongarch64, x86_64, x86, ... */
  arch: string | null;
  /** The codec of the kernel payload, or null when the kernel is not compressed. */
  compression: "gzip" | "zstd" | "xz" | "lzma" | "lz4" | "lzo" | "bzip2" | null;
  /** The innermost kernel layer reached (arm64-image, riscv-image, loongarch-image, bzimage, elf, ...). */
  kernelFormat: LayerFormat | null;
  /** Path of that layer. */
  kernelPath: string | null;
  /** The "Linux version ..." banner, when found. */
  linuxVersion: string | null;
}

export interface Report {
  tool: "kimg";
  /** Version of the report shape. */
  schema: 1;
  input: { name: string | null; size: number };
  summary: Summary;
  root: Layer;
  /** How a non-EFI loader boots the kernel (entry decode, load plan with default addresses, protection map); null when no bootable kernel was reached. */
  plan: BootPlan | null;
  diagnostics: Diagnostic[];
}
