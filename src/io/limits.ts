/**
 * Every bound kimg applies to untrusted input, in one place. Each limit has a unit in its name
 * and a documented default (README, "Limits"). Callers may override any of them per call.
 */
export interface Limits {
  /** Largest file read as input (image, initrd, device tree, certificate), in bytes. */
  maxInputBytes: number;
  /** Largest output of one decompression, in bytes. Kernel images are 10-150 MiB. */
  maxOutputBytes: number;
  /** Largest sum of all decompressed layers of one inspection, in bytes. */
  maxTotalOutputBytes: number;
  /** How deep containers may nest (UKI -> .linux -> zboot -> payload -> Image -> PE is 5). */
  maxNestingDepth: number;
  /** Most layers in one report. */
  maxLayerCount: number;
  /** Most PE sections read from one section table (the PE spec allows 96 for images). */
  maxSectionCount: number;
  /** Most ELF program or section headers read. */
  maxElfHeaderCount: number;
  /** Longest string read from a file (version banners, section text), in bytes. */
  maxStringBytes: number;
  /** Largest output/input ratio of one decompression once the output passes maxRatioFloorBytes. */
  maxCompressionRatio: number;
  /** Outputs up to this size are never refused for their ratio (zero-padded BSS compresses well). */
  maxRatioFloorBytes: number;
  /** Largest certificate table parsed, in bytes. */
  maxCertificateTableBytes: number;
  /** Most signatures (WIN_CERTIFICATE entries plus nested ones) examined per PE. */
  maxSignatureCount: number;
  // Initramfs archives (issue 16)
  /** Most entries read from one cpio archive (listing and extraction). */
  maxArchiveEntries: number;
  /** Largest total of file bytes one extraction writes. */
  maxArchiveBytes: number;
  /** Longest entry name in a cpio archive, in bytes (the kernel's PATH_MAX is 4096). */
  maxArchiveNameBytes: number;
  /** Most components in an extracted path. */
  maxArchivePathDepth: number;
}

const MiB = 1024 * 1024;

/** The limits every analysis uses unless the caller overrides them (README, Limits). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxInputBytes: 1024 * MiB,
  maxOutputBytes: 512 * MiB,
  maxTotalOutputBytes: 1024 * MiB,
  maxNestingDepth: 10,
  maxLayerCount: 256,
  maxSectionCount: 96,
  maxElfHeaderCount: 4096,
  maxStringBytes: 4096,
  maxCompressionRatio: 1000,
  maxRatioFloorBytes: 64 * MiB,
  maxCertificateTableBytes: 16 * MiB,
  maxSignatureCount: 16,
  // Initramfs archives (issue 16)
  maxArchiveEntries: 200_000,
  maxArchiveBytes: 4096 * MiB,
  maxArchiveNameBytes: 4096,
  maxArchivePathDepth: 64,
});

export function resolveLimits(overrides: Partial<Limits> | undefined): Limits {
  return { ...DEFAULT_LIMITS, ...(overrides ?? {}) };
}

// Device trees (io/fdt.ts): a kexec DTB or a U-Boot FIT, both untrusted. Fixed bounds, not per call.
/** Deepest node nesting accepted; real trees are under 10 levels (a FIT has 4: / images kernel hash-1). */
export const FDT_MAX_DEPTH = 64;
/** Most nodes read from one tree; a large SoC tree has a few thousand. */
export const FDT_MAX_NODES = 65536;
/** Largest property value, in bytes: a FIT embeds its kernel in one `data` property. */
export const FDT_MAX_PROPERTY_BYTES = 512 * 1024 * 1024;
/** Largest strings block (the property names), in bytes; dtc writes a few KiB. */
export const FDT_MAX_STRINGS_BYTES = 1024 * 1024;
/** Most memory reservation entries read. */
export const FDT_MAX_RESERVATIONS = 1024;

// U-Boot FIT verification (signatures/fit-verify.ts). Fixed bounds.
/** Most signature nodes verified in one FIT (each configuration signature walks the whole tree); mkimage writes one or two per node. */
export const FIT_MAX_SIGNATURE_NODES = 64;
// Secure Boot policy (issue 17): SBAT text, signature databases, the PE debug directory. Fixed bounds, not per call.
/** Largest `.sbat` section or SbatLevel policy text read, in bytes; real ones are under 1 KiB (GRUB pads its section to 4 KiB). */
export const MAX_SBAT_BYTES = 64 * 1024;
/** Most lines read from one SBAT text; real ones have under 10. */
export const MAX_SBAT_ENTRIES = 256;
/** Largest db/dbx file read, in bytes; a real dbx is about 15 KiB and NV storage rarely allows over 64 KiB. */
export const MAX_SIGNATURE_DATABASE_BYTES = 4 * 1024 * 1024;
/** Most EFI_SIGNATURE_LISTs read from one file. */
export const MAX_SIGNATURE_LISTS = 1024;
/** Most signatures read from one database (all its lists together); Microsoft's dbx has about 430. */
export const MAX_SIGNATURES_PER_DATABASE = 16384;
/** Largest SignatureSize accepted, in bytes (a certificate with its owner GUID). */
export const MAX_SIGNATURE_BYTES = 64 * 1024;
/** Most PE debug directory entries read; linkers write a handful. */
export const MAX_DEBUG_ENTRIES = 64;
// The embedded .config (CONFIG_IKCONFIG, analysis/ikconfig.ts, issue 16). Fixed bounds, not per call.
/** Most bytes of one kernel layer searched for "IKCFG_ST"; the marker is in .rodata, well inside any real kernel. */
export const IKCONFIG_MAX_SCAN_BYTES = 256 * 1024 * 1024;
/** Largest gzip stream between "IKCFG_ST" and "IKCFG_ED", in bytes; a Debian .config (about 280 KiB) gzips to about 60 KiB. */
export const IKCONFIG_MAX_COMPRESSED_BYTES = 4 * 1024 * 1024;
/** Largest .config inflated from it, in bytes (the inflate's output cap). */
export const IKCONFIG_MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** Most "IKCFG_ST" hits looked at before giving up (only one is followed by a gzip header in a real kernel). */
export const IKCONFIG_MAX_CANDIDATES = 16;
/** Largest plain .config file `kimg config` reads as text, in bytes. */
export const KCONFIG_MAX_TEXT_BYTES = IKCONFIG_MAX_CONFIG_BYTES;
// The one marker scan of a kernel layer (io/marker-scan.ts, issue 14).
/** Most offsets of one marker ("Linux version ", "IKCFG_ST", "070701") kept per layer (8 bytes each); past them a direct search answers. Kernels hold a few of each, plus one "070701" per file of a built-in initramfs. */
export const MARKER_MAX_HITS = 65536;
