/**
 * The report model: the one product that the library returns, `--json` prints, and the text
 * view and the web page render. Plain JSON values only (no bigint, no Uint8Array), so
 * `JSON.parse(JSON.stringify(report))` is the identity. Integers that do not fit a double
 * exactly are decimal strings; every integer field also carries its `hex` form.
 */

import type { ReportCode } from "./codes.js";
import type { BootPlan } from "./plan.js";
import type { ExDllCharacteristics, SbatLevelSection, SbatSection } from "./secure-boot.js";
// Initramfs archives (issue 16)
import type { ArchiveListing } from "./archive.js";

/**
 * The value of a field: a number for integers up to 2^53 (a decimal string beyond, with `hex`
 * beside it), a string for text and magic values, a boolean for flags, null when unreadable.
 */
export type FieldValue = number | string | boolean | null;

/** One field read from the data, with where it came from. */
export interface Field {
  /** The field's name as the format's spec (C struct or kernel doc) spells it: "payload_offset", "e_lfanew", "SizeOfImage". */
  name: string;
  /** Offset of the field's first byte in the layer's space (see `Layer.space`), in bytes. */
  offset: number;
  /** Size in bytes. */
  size: number;
  /** The value as read (decoded from its byte order); see `FieldValue`. */
  value: FieldValue;
  /** Hex form of integer values ("0x818223cd"). */
  hex?: string;
  /** What the value means, decoded ("NX_COMPAT | DYNAMIC_BASE", "64K pages"). */
  meaning?: string;
}

/** A header, table or record: a run of fields. */
export interface Structure {
  /** What it is, for people: "zboot header", "COFF header", "section header 0 (.text)". */
  name: string;
  /** Offset of its first byte in the layer's space (see `Layer.space`), in bytes. */
  offset: number;
  /** Size in bytes. */
  size: number;
  /** Its fields in the order they were read (usually by offset). */
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
  | "fit"
  | "text"
  | "uimage"
  | "data"
  // Android boot images (issue 15)
  | "android-boot"
  | "android-vendor-boot"
  // UKI add-ons (issue 17, measured boot)
  | "uki-addon"
  | "android-dtbo"
  // Initramfs archives (issue 16)
  | "initramfs";

/**
 * How bad a diagnostic is: "info" a fact worth knowing (padding, an old layout), "warning" odd
 * but readable, "error" a part that could not be read (the report is then incomplete there).
 */
export type Severity = "info" | "warning" | "error";

/** Something odd but not fatal, found while reading. */
export interface Diagnostic {
  /** Stable code, e.g. "ZBOOT_CODEC_MISMATCH", "E_TRUNCATED". */
  code: ReportCode;
  /** How bad it is. */
  severity: Severity;
  /** One line for people, with the values involved. */
  message: string;
  /** Offset in the space of `layer`, or null when the problem has no single place. */
  offset: number | null;
  /** Path of the layer it concerns. */
  layer: string;
}

/** Any JSON value (the values of `Layer.info`). */
export type JsonValue = FieldValue | JsonValue[] | { [key: string]: JsonValue };

/** A PE/COFF section as the protection map and the signature code need it. */
export interface PeSection {
  /** The section name, NUL padding removed: ".text", ".data", ".reloc". */
  name: string;
  /** Offset of the 40-byte section header in the layer's space. */
  headerOffset: number;
  /** VirtualAddress: the section's start in memory as an RVA (relative to the image base). */
  virtualAddress: number;
  /** VirtualSize: bytes the section occupies in memory. */
  virtualSize: number;
  /** PointerToRawData: where its data starts, as an offset from the start of the PE image (the layer's `offset`). */
  pointerToRawData: number;
  /** SizeOfRawData: bytes of data in the file. */
  sizeOfRawData: number;
  /** The Characteristics flags as read (IMAGE_SCN_*). */
  characteristics: number;
  /** "r-x", "rw-", "r--" ... from MEM_READ/MEM_WRITE/MEM_EXECUTE. */
  perms: string;
  /** Decoded flag names. */
  flags: string[];
}

/** The facts of a PE/COFF header that other parts of kimg use. */
export interface PeInfo {
  /** Offset of the "PE\0\0" signature (e_lfanew) in the layer's space. */
  peOffset: number;
  /** The COFF Machine field (0xaa64 ARM64, 0x8664 AMD64, 0x5064 RISCV64 ...). */
  machine: number;
  /** Its name ("ARM64", "AMD64"), or the number in hex when unknown. */
  machineName: string;
  /** "PE32" or "PE32+". */
  kind: "PE32" | "PE32+";
  /** AddressOfEntryPoint: the EFI entry point, an RVA. */
  addressOfEntryPoint: number;
  /** ImageBase: a number, or a decimal string when it exceeds 2^53. */
  imageBase: number | string;
  /** SectionAlignment in bytes: how sections are aligned in memory. */
  sectionAlignment: number;
  /** FileAlignment in bytes: how section data is aligned in the file. */
  fileAlignment: number;
  /** SizeOfImage: bytes the image occupies in memory. */
  sizeOfImage: number;
  /** SizeOfHeaders: bytes of headers (DOS stub, PE headers, section table) at the image start. */
  sizeOfHeaders: number;
  /** SizeOfCode: the sum of the code sections' sizes, as the linker wrote it. */
  sizeOfCode: number;
  /** Offset of the optional header's CheckSum field in the layer's space (Authenticode skips it). */
  checkSumOffset: number;
  /** DllCharacteristics as read (IMAGE_DLLCHARACTERISTICS_*). */
  dllCharacteristics: number;
  /** Its flags by name ("NX_COMPAT", "DYNAMIC_BASE" ...). */
  dllCharacteristicsFlags: string[];
  /** IMAGE_DLLCHARACTERISTICS_NX_COMPAT is set: the firmware may map sections by their flags. */
  nxCompat: boolean;
  /** The Subsystem field (10 = EFI_APPLICATION). */
  subsystem: number;
  /**
   * The certificate table (data directory 4), or null when absent. `offset` is where it starts as
   * an offset from the start of the PE image (a file offset, not an RVA) and `size` its size in
   * bytes, as the directory says; `entryOffset` is where that directory entry is, in the layer's space.
   */
  certificateTable: { offset: number; size: number; entryOffset: number } | null;
  /** Offset of the data-directory array in the layer's space; each entry is 8 bytes. */
  dataDirectoryOffset: number;
  /** NumberOfRvaAndSizes: how many data-directory entries there are. */
  numberOfRvaAndSizes: number;
  /** The section table, in table order. */
  sections: PeSection[];
  /** Bytes after the end of the certificate table, all zero (v6.4+ zboot padding). */
  trailingZeroBytes: number;
  // Secure Boot policy and control-flow flags (issue 17, src/formats/pe-secure-boot.ts)
  /** The `.sbat` section's entries, as shim reads them; absent when there is none. */
  sbat?: SbatSection;
  /** shim's `.sbatlevel` section: the revocation policies it applies; absent when there is none. */
  sbatLevel?: SbatLevelSection;
  /** The debug directory's IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS flags (CET_COMPAT, FORWARD_CFI_COMPAT); absent when there is no such entry. */
  exDllCharacteristics?: ExDllCharacteristics;
}

/** One node of the layer tree. */
export interface Layer {
  /** "/" for the input; children append a name: "/payload", "/payload/decompressed/pe", "/.linux". */
  path: string;
  /** What kimg recognised the layer as. */
  format: LayerFormat;
  /** One line for people: "EFI zboot image (arm64, zstd22)". */
  title: string;
  /** Where the offsets of this layer count from: "file", or the path of the compressed layer whose output holds it. */
  space: string;
  /** Start of the layer in its space, in bytes. */
  offset: number;
  /** Size in bytes. */
  size: number;
  /** Architecture, where the layer says. */
  arch: string | null;
  /** The headers and tables read from this layer, each field with its offset. */
  structures: Structure[];
  /** Derived facts for scripts (codec, page size, linux version...); each also appears as a field with its offset. */
  info: Record<string, JsonValue>;
  /** The PE/COFF facts, on the "pe" layers (the PE view of an EFI image). */
  pe?: PeInfo;
  /** The entries of a cpio archive (issue 16), on "cpio" layers. */
  archive?: ArchiveListing;
  /** The layers inside this one (a PE view, a payload, what it decompresses to, UKI sections), in the order found. */
  children: Layer[];
}

/** The answers most scripts want, taken from the layer tree. */
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

/**
 * The kernel's embedded .config (CONFIG_IKCONFIG, issue 16): kernel/configs.c puts the gzipped
 * .config in .rodata between the ASCII markers "IKCFG_ST" and "IKCFG_ED". Offsets are in the
 * space of `layer` (see `Layer.space`); the same three ranges are a structure of that layer.
 */
export interface KernelConfigReport {
  /** Path of the kernel layer searched (the innermost kernel reached), null when no kernel layer was reached. */
  layer: string | null;
  /** True when the markers and a gzip stream that inflates were found. */
  present: boolean;
  /** Offset of "IKCFG_ST", null when not found. */
  startMarkerOffset: number | null;
  /** Offset of the gzip stream (`kernel_config_data`, right after "IKCFG_ST"), null when not found. */
  dataOffset: number | null;
  /** Bytes from `dataOffset` to "IKCFG_ED", null when not found. */
  compressedSize: number | null;
  /** Offset of "IKCFG_ED" (`kernel_config_data_end`), null when not found. */
  endMarkerOffset: number | null;
  /** Bytes of the .config text, null when it could not be inflated. */
  size: number | null;
  /** Options it sets or leaves unset: "CONFIG_X=value" lines plus "# CONFIG_X is not set" lines; null when not inflated. */
  optionCount: number | null;
  /** Of those, the "# CONFIG_X is not set" lines; null when not inflated. */
  unsetCount: number | null;
  /** Bytes of the layer in the search (an ELF's PT_LOAD segments, else the whole layer; at most IKCONFIG_MAX_SCAN_BYTES); the scan stops at the marker. 0 when the search was turned off (`kernelContents: false`, as `extract` of the kernel alone does). */
  searchedBytes: number;
}

/**
 * What `inspect` returns and `kimg inspect --json` prints. Its JSON Schema is
 * docs/report.schema.json (`npm run schema`), `$id` "urn:kimg:schema:report:1".
 */
export interface Report {
  /** Always "kimg": tells a kimg report from other JSON. */
  tool: "kimg";
  /** Version of the report shape. */
  schema: 1;
  /** The input: its name (the file's base name, or what the caller passed; null when none) and its size in bytes. */
  input: { name: string | null; size: number };
  /** The answers most scripts want. */
  summary: Summary;
  /** The layer tree, from the whole input ("/", space "file", offset 0) down. */
  root: Layer;
  /** How a non-EFI loader boots the kernel (entry decode, load plan with default addresses, protection map); null when no bootable kernel was reached. */
  plan: BootPlan | null;
  /** The embedded .config of the innermost kernel (CONFIG_IKCONFIG, issue 16): present or not, where, how big. */
  kernelConfig: KernelConfigReport;
  /** Everything odd but not fatal found while reading, in the order found. */
  diagnostics: Diagnostic[];
}
