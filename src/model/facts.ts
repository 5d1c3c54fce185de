/**
 * Typed facts per format: what a format's parser read from its header, decoded once, for the
 * modules that compute with it (the planners, the protection map, the summary, kexec). They are
 * not part of the JSON report: the analysed tree keeps them beside the layers' bytes, keyed by
 * layer path (`Tree.facts`). Each parser derives its layer's `info` (the display projection in
 * the report) from the same facts.
 *
 * Raw header integers keep their on-disk width: u64 fields are `bigint`, u32 and smaller are
 * `number`. Offsets are byte offsets within the layer's own bytes unless a field says otherwise.
 */

import type { CodecName } from "../codecs/types.js";
// Initramfs archives (issue 16)
import type { InitramfsSegment } from "./archive.js";

/** The "Linux version ..." banner found in a kernel's bytes (formats/banner.ts). */
export interface KernelBanner {
  /** The whole banner line, "Linux version 6.8.0-31-generic (buildd@...) ...". */
  text: string;
  /** Its first word after "Linux version ": the release, "6.8.0-31-generic". */
  release: string;
}

/**
 * The arm64 Image header (Documentation/arch/arm64/booting.rst, arch/arm64/include/asm/image.h),
 * with its `flags` decoded.
 */
export interface Arm64ImageFacts {
  kind: "arm64-image";
  /** `text_offset` (header 0x08, u64 LE): bytes from a 2 MiB aligned base to the image start. Unreliable when `imageSize` is 0. */
  textOffset: bigint;
  /** `image_size` (header 0x10, u64 LE): bytes of memory the kernel occupies from its start, BSS included; 0 in pre-v3.17 headers. */
  imageSize: bigint;
  /** True when `image_size` is 0 (pre-v3.17 header): loaders assume text_offset 0x80000 (ARM64_LEGACY_TEXT_OFFSET). */
  legacyHeader: boolean;
  /** `flags` (header 0x18, u64 LE) as read. */
  flags: bigint;
  /** `flags` bit 0: the kernel is big-endian. */
  bigEndian: boolean;
  /** `flags` bits 1-2: the kernel's page size in bytes (4096, 16384, 65536), null when unspecified (0). */
  pageSize: number | null;
  /** `flags` bit 3: 0 = the 2 MiB aligned base should be close to the start of DRAM, 1 = anywhere in the 48-bit physical range. */
  placeAnywhere: boolean;
  /** `flags` bits 4-63: reserved, 0 in every kernel so far. */
  reservedFlags: bigint;
  /** `res5` (header 0x3c, u32): offset of the PE header, null when 0 (no EFI stub). */
  peOffset: number | null;
  /** Offset of the target of the first `b` in code0/code1 (the core entry, primary_entry/stext), or null. */
  branchTarget: number | null;
  /** The kernel banner, when found in the image. */
  banner: KernelBanner | null;
}

/** The RISC-V Image header (Documentation/arch/riscv/boot-image-header.rst, arch/riscv/include/asm/image.h). */
export interface RiscvImageFacts {
  kind: "riscv-image";
  /** `text_offset` (header 0x08, u64 LE): the image's load offset; in practice the PMD size (2 MiB rv64, 4 MiB rv32), which loaders use as the alignment. */
  textOffset: bigint;
  /** `image_size` (header 0x10, u64 LE): bytes of memory the kernel occupies, BSS included; 0 is rejected by loaders. */
  imageSize: bigint;
  /** `flags` (header 0x18, u64 LE) as read. */
  flags: bigint;
  /** `flags` bit 0: big-endian (never implemented by Linux). */
  bigEndian: boolean;
  /** `version` (header 0x20, u32): major in bits 31-16, minor in bits 15-0. */
  version: { major: number; minor: number };
  /** `res3` (header 0x3c, u32): offset of the PE header, null when 0. */
  peOffset: number | null;
  /** The register width: from the PE machine, else from text_offset (4 MiB = rv32). */
  xlen: 32 | 64;
  /** The kernel banner, when found in the image. */
  banner: KernelBanner | null;
}

/** The LoongArch EFI kernel image header (Documentation/arch/loongarch/booting.rst, arch/loongarch/include/asm/image.h). */
export interface LoongArchImageFacts {
  kind: "loongarch-image";
  /** `kernel_entry` (header 0x08, u64 LE) as read: a physical address (v6.10+) or a DMW virtual address (older kernels). */
  kernelEntry: bigint;
  /** Which form `kernelEntry` has: "physical" (bits 63-48 zero) or "dmw-virtual" (a 0x9000... direct-mapped-window address). */
  entryForm: "physical" | "dmw-virtual";
  /** `kernelEntry` masked to the 48 physical address bits (DMW_PABITS). */
  entryPhysical: bigint;
  /** Byte offset of the entry in the image (`entryPhysical - loadAddress`), null when it falls outside the image. */
  entryOffset: number | null;
  /** `kernel_asize` (header 0x10, u64 LE): bytes of memory the kernel occupies (_end - _text); 0 is rejected by kexec_file. */
  imageSize: bigint;
  /** `load_offset` (header 0x18, u64 LE) as read: PHYS_LINK_KADDR, 0 on older kernels. */
  loadOffset: bigint;
  /** The link address the entry is relative to: `loadOffset`, or 0x200000 (LOONGARCH_LEGACY_LOAD_OFFSET) when it is 0. */
  loadAddress: bigint;
  /** `linux_pe_magic` (header 0x38, u32) is LINUX_PE_MAGIC (v6.2+); 0 on v6.1. */
  linuxPeMagic: boolean;
  /** `pe_header` (header 0x3c, u32): offset of the PE header. */
  peOffset: number;
  /** The kernel banner, when found in the image. */
  banner: KernelBanner | null;
}

/**
 * The x86 setup header of a bzImage (Documentation/arch/x86/boot.rst). Fields the image's boot
 * protocol version predates are null (or the protocol's documented default, where noted).
 */
export interface BzImageFacts {
  kind: "bzimage";
  /** `version` (0x206, u16): the boot protocol, major in the high byte (0x20f = 2.15). */
  protocol: number;
  /** `setup_sects` (0x1f1, u8): real-mode setup sectors (0 means 4). */
  setupSects: number;
  /** File offset of the protected-mode kernel: (setup_sects or 4, + 1) * 512. */
  protectedModeOffset: number;
  /** `kernel_alignment` (0x230, u32, protocol 2.05+): the load alignment in bytes; null before 2.05. */
  kernelAlignment: number | null;
  /** `relocatable_kernel` (0x234, u8, protocol 2.05+) is non-zero; null before 2.05. */
  relocatable: boolean | null;
  /** `xloadflags` (0x236, u16, protocol 2.12+) as read; 0 before 2.12. */
  xloadflags: number;
  /** The XLF_* names of the bits set in `xloadflags` (empty before 2.12). */
  xloadflagNames: string[];
  /** `cmdline_size` (0x238, u32, protocol 2.06+): the longest command line in bytes, NUL excluded; 255 before 2.06. */
  cmdlineSize: number;
  /** `pref_address` (0x258, u64, protocol 2.10+): the preferred load address; null before 2.10. */
  prefAddress: bigint | null;
  /** `init_size` (0x260, u32, protocol 2.10+): bytes needed from the load address while decompressing; null before 2.10. */
  initSize: number | null;
  /** `handover_offset` (0x264, u32, protocol 2.11+): the EFI handover entry, from the protected-mode start (32-bit); null when 0 or absent. */
  handoverOffset: number | null;
  /** The string `kernel_version` (0x20e, u16 + 0x200) points at ("6.8.0 (buildd@...) #31 ..."), null when absent. */
  kernelVersion: string | null;
  /** Its first word, the release. */
  release: string | null;
  /** `setup_type_max` of the kernel_info block (protocol 2.15+), null when there is none. */
  setupTypeMax: number | null;
  /** File offset and length (`payload_offset` 0x248 from the protected-mode start, `payload_length` 0x24c) of the compressed vmlinux, null when absent or outside the file. */
  payload: { offset: number; length: number } | null;
}

/** One ELF program header (Elf32_Phdr / Elf64_Phdr). */
export interface ElfSegmentFacts {
  /** `p_type` named ("LOAD", "NOTE", ...), or its hex value when unknown. */
  type: string;
  /** `p_flags` as "rwx" letters ("r-x", "rw-"). */
  perms: string;
  /** `p_offset`: the segment's file offset (exact up to 2^53; larger values are diagnosed). */
  offset: number;
  /** `p_vaddr`: the virtual address. */
  vaddr: bigint;
  /** `p_paddr`: the physical (load) address. */
  paddr: bigint;
  /** `p_filesz`: bytes in the file. */
  filesz: number;
  /** `p_memsz`: bytes in memory (BSS included). */
  memsz: number;
}

/** An ELF file's header and program headers (the ELF gABI; include/uapi/linux/elf.h). */
export interface ElfFacts {
  kind: "elf";
  /** `EI_CLASS`: 32 or 64. */
  elfClass: 32 | 64;
  /** `EI_DATA` is ELFDATA2LSB. */
  littleEndian: boolean;
  /** `e_machine` as read. */
  machine: number;
  /** `e_type` as read. */
  type: number;
  /** `e_entry`: the entry, a virtual address. */
  entry: bigint;
  /** Every program header, in file order. */
  segments: ElfSegmentFacts[];
  /** The kernel banner, when found in the file. */
  banner: KernelBanner | null;
}

/** The trailer Makefile.zboot appends after the compressed payload, as kimg read it. */
export type ZbootTrailer =
  /** v6.2-v6.3: 12 bytes copied from the inner Image's PE header. */
  | { kind: "pe-sizes"; sizeOfHeaders: number; sizeOfCode: number; sizeOfImage: number }
  /** gzip: no trailer; the stream's own last 4 bytes (ISIZE) give the size. */
  | { kind: "gzip-isize"; size: number }
  /** v6.1 and v6.4+ (`*_with_size`): the uncompressed size, le32, right after the stream. */
  | { kind: "size-le32"; size: number };

/** The trailer rules of Makefile.zboot across kernel versions (docs/formats.md §1.2, §1.3). */
export type ZbootSizeRule = "v6.1" | "v6.2-v6.3" | "v6.4+";

/** The EFI zboot header (drivers/firmware/efi/libstub/zboot-header.S) and what follows its payload. */
export interface ZbootFacts {
  kind: "zboot";
  /** `comp_type` (0x18, NUL-terminated ASCII): the codec id as Makefile.zboot writes it ("gzip", "zstd22", "xzkern"). */
  compType: string;
  /** The codec `compType` names, null when unknown. */
  codec: CodecName | null;
  /** `payload_offset` (0x08, u32): file offset of the compressed payload. */
  payloadOffset: number;
  /** `payload_size` (0x0c, u32): its length in bytes. */
  payloadSize: number;
  /** `linux_pe_magic` (0x38, u32) as read: LINUX_PE_MAGIC (0x818223cd) on v6.2+; 0 on v6.1, whose stub StartImage()s the inner image. */
  linuxPeMagic: number;
  /** The PE `Machine` of the stub (at `pe_header_offset` 0x3c), null without a PE header. */
  machine: number | null;
  /** The trailer after the payload, null when none could be read. */
  trailer: ZbootTrailer | null;
  /** The trailer rule guessed from the header alone. */
  sizeRuleGuess: ZbootSizeRule;
  /** The rule the decompressed length confirms (set after the payload was read); null when none matches or the payload was not decompressed. */
  sizeRule: ZbootSizeRule | null;
}

/** A Unified Kernel Image's sections (the UAPI group's UKI specification). Its PE header is `Layer.pe` of its "pe" child. */
export interface UkiFacts {
  kind: "uki";
  /** The UKI sections found, in table order; a name repeated by a later profile gets "#2", "#3" as in its layer path. */
  sections: string[];
  /** How many `.profile` sections (multi-profile UKIs). */
  profiles: number;
  // Measured boot (issue 17)
  /** A UKI add-on (`*.addon.efi`: `.cmdline`, `.dtb`, `.dtbauto`, `.initrd` or `.ucode`, no `.linux`), not a UKI. */
  addon: boolean;
  /** The stub's `.sdmagic` text ("#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####"), null when absent. */
  loaderInfo: string | null;
}

/** A compressed stream and what the tree walker did with it (analysis/tree.ts). */
export interface CompressedFacts {
  kind: "compressed";
  /** The codec the stream's magic names, else the one the container declares; null when neither is known. */
  codec: CodecName | null;
  /** The codec id the container declares, as written ("zstd22"), null when it declares none. */
  declaredCodec: string | null;
  /** The uncompressed size the container declares or implies (a hint), null when none. */
  expectedSize: number | null;
  /** True when the stream was decoded, false when it was not (shallow, limits, corrupt), null before the walker got to it. */
  decompressed: boolean | null;
  /** Bytes decoded, null unless `decompressed`. */
  decompressedSize: number | null;
}

/** A kernel kimg reads but does not plan (a raw kernel image, an s390 image): only its version. */
export interface OtherKernelFacts {
  kind: "raw-kernel" | "s390-image";
  /** The kernel banner ("Linux version ..."), or for s390 the version string its header points at; null when not found. */
  banner: KernelBanner | null;
}

// Android boot images (issue 15)
/** A part of an Android boot image: where mkbootimg put it (page-aligned), in the image's bytes. */
export interface AndroidPart {
  /** Its layer path segment: "kernel", "ramdisk", "second", "recovery_dtbo", "dtb", "boot_signature", "vendor_ramdisk...", "bootconfig". */
  name: string;
  offset: number;
  size: number;
}

/** An Android `boot.img` header, versions 0-4 (AOSP include/bootimg/bootimg.h). Fields a version lacks are null (addresses) or 0 (sizes). */
export interface AndroidBootFacts {
  kind: "android-boot";
  /** `header_version` (0x28). */
  headerVersion: number;
  /** `page_size` (0x24) for v0-v2; 4096 for v3-v4, which have no such field. */
  pageSize: number;
  kernelSize: number;
  /** `kernel_addr`, v0-v2 only. */
  kernelAddr: number | null;
  ramdiskSize: number;
  ramdiskAddr: number | null;
  secondSize: number;
  secondAddr: number | null;
  tagsAddr: number | null;
  /** `os_version` bits 31-11 as "A.B.C" (as unpack_bootimg prints it); null when 0 (not set). */
  osVersion: string | null;
  /** `os_version` bits 10-0 as "YYYY-MM"; null when 0 (not set). */
  osPatchLevel: string | null;
  /** `name` (product name), v0-v2 only. */
  name: string | null;
  /** `cmdline`: 512 bytes in v0-v2, 1536 in v3-v4. */
  cmdline: string;
  /** `extra_cmdline` (v0-v2): the part of the command line past 512 bytes. */
  extraCmdline: string | null;
  recoveryDtboSize: number;
  /** `recovery_dtbo_offset` (v1-v2): file offset of the recovery DTBO/ACPIO. */
  recoveryDtboOffset: bigint | null;
  /** `header_size` (v1+). */
  headerSize: number | null;
  /** `dtb_size` (v2). */
  dtbSize: number;
  dtbAddr: bigint | null;
  /** `signature_size` (v4): the boot signature after the ramdisk. */
  signatureSize: number | null;
  /** The parts in file order. */
  parts: AndroidPart[];
}

/** One entry of the vendor ramdisk table (vendor_boot v4). */
export interface VendorRamdiskEntry {
  name: string;
  /** `ramdisk_type` by name: "none", "platform", "recovery", "dlkm", or "unknown (n)". */
  type: string;
  typeValue: number;
  size: number;
  /** Offset within the vendor ramdisk section. */
  offset: number;
  /** `board_id[16]`. */
  boardId: number[];
}

/** An Android `vendor_boot.img` header, versions 3-4 (AOSP include/bootimg/bootimg.h). */
export interface AndroidVendorBootFacts {
  kind: "android-vendor-boot";
  headerVersion: number;
  pageSize: number;
  kernelAddr: number;
  ramdiskAddr: number;
  vendorRamdiskSize: number;
  cmdline: string;
  tagsAddr: number;
  name: string;
  headerSize: number;
  dtbSize: number;
  dtbAddr: bigint;
  /** The vendor ramdisk table (v4), null in v3. */
  ramdiskTable: VendorRamdiskEntry[] | null;
  /** `bootconfig_size` (v4), null in v3. */
  bootconfigSize: number | null;
  parts: AndroidPart[];
}
// Android DT table (DTBO) images (issue 15)
/** One entry of an Android DT table (dt_table_entry). */
export interface AndroidDtboEntry {
  index: number;
  /** `dt_size`. */
  size: number;
  /** `dt_offset`, from the table's start. */
  offset: number;
  id: number;
  rev: number;
  /** `custom[4]` (in version 1, custom[0] is `flags`). */
  custom: number[];
  /** Version 1 `flags` bits 0-3 by name ("none", "zlib", "gzip"); "none" in version 0. */
  compression: string;
}

/** An Android DT table / DTBO image (AOSP libufdt dt_table.h): `dtbo.img`, a boot.img v1/v2 recovery DTBO. */
export interface AndroidDtboFacts {
  kind: "android-dtbo";
  totalSize: number;
  entryCount: number;
  entriesOffset: number;
  pageSize: number;
  version: number;
  entries: AndroidDtboEntry[];
}
// end of Android boot images

// --- 32-bit Arm zImage (issue 15) ---
/** The 32-bit Arm zImage header (arch/arm/boot/compressed/head.S, vmlinux.lds.S, piggy.S) and its payload. */
export interface ArmZImageFacts {
  kind: "arm-zimage";
  /** `start` (0x28, u32): the absolute address the zImage was linked to run at; 0 when position independent (every multi-platform kernel). */
  start: number;
  /** `end` (0x2c, u32): `_edata`, so `end - start` is the zImage's size in bytes. */
  end: number;
  /** The endianness word (0x30, u32) as read little-endian. */
  endianWord: number;
  /** What it says: 0x04030201 little-endian, 0x01020304 a BE8 kernel; null when it is neither (a kernel older than the word, or a damaged header). */
  endianness: "little" | "big" | null;
  /** `magic2` (0x34) is 0x45454545: the extension table (KLSZ tag) follows. */
  extensionTable: boolean;
  /** The KLSZ tag's `size_ptr`: offset of the word after `.piggydata` that gives the Image's size; null without the tag. */
  sizePtr: number | null;
  /** The KLSZ tag's `bss_size`; null without the tag. */
  bssSize: number | null;
  /** "MZ" at 0 and a PE header: the EFI stub (CONFIG_EFI_STUB), the zImage is a PE/COFF image too. */
  efiStub: boolean;
  /** The compressed Image between `input_data` and `input_data_end` (piggy.S), as found; null when none was found. */
  payload: { offset: number; length: number; codec: CodecName } | null;
  /** The uncompressed size the last 4 bytes of `.piggydata` declare (little-endian: gzip's ISIZE, or size_append for the other codecs); null when not read. */
  declaredSize: number | null;
}
// --- end 32-bit Arm zImage ---

// U-Boot FIT (formats/fit.ts)
/** A hash node under a FIT image (`hash-1`): what it declares; the check runs in analysis/fit-hashes.ts. */
export interface FitHashFacts {
  /** The node name, "hash-1". */
  node: string;
  /** `algo`: "crc32", "md5", "sha1", "sha256", "sha384", "sha512" (null when absent). */
  algo: string | null;
  /** `value` as lowercase hex, null when absent. */
  value: string | null;
}

/** One /images node of a FIT (U-Boot doc/usage/fit/source_file_format.rst). */
export interface FitImageFacts {
  /** The node name ("kernel-1"): also the child layer's name. */
  name: string;
  description: string | null;
  /** `type`: "kernel", "ramdisk", "flat_dt", "firmware", "loadable" ... */
  type: string | null;
  arch: string | null;
  os: string | null;
  /** `compression`: "none", "gzip", "bzip2", "lzma", "lzo", "lz4", "zstd". */
  compression: string | null;
  /** `load`, #address-cells wide (1 or 2 cells), null when absent. */
  load: bigint | null;
  /** `entry`, null when absent. */
  entry: bigint | null;
  /** Where the data sits: an embedded `data` property, `data-offset` after the tree, `data-position` in the file. */
  dataLocation: "embedded" | "external-offset" | "external-position" | "none";
  /** Offset of the data in the FIT layer's bytes, null when it has none. */
  dataOffset: number | null;
  /** Its length (`data`'s length or `data-size`), null when unknown. */
  dataSize: number | null;
  hashes: FitHashFacts[];
  /** The `signature-*` nodes (issue 15, FIT verification). */
  signatures: FitSignatureFacts[];
}

/** One /configurations node: the images it boots together. */
export interface FitConfigurationFacts {
  name: string;
  description: string | null;
  /** True for the one /configurations `default` names. */
  isDefault: boolean;
  kernel: string | null;
  /** `fdt`: a string list (a base tree and overlays). */
  fdt: string[];
  ramdisk: string | null;
  loadables: string[];
  firmware: string | null;
  /** The `signature-*` nodes (issue 15, FIT verification). */
  signatures: FitSignatureFacts[];
}

/** A `signature-*` node of a FIT image or configuration (U-Boot doc/usage/fit/signature.rst). Offsets in the FIT layer's bytes. */
export interface FitSignatureFacts {
  /** The node name, "signature-1". */
  node: string;
  /** `algo`: "sha256,rsa2048", "sha256,rsa4096", "sha256,ecdsa256", "sha384,ecdsa384" ... null when absent. */
  algo: string | null;
  /** `padding`: "pkcs-1.5" or "pss"; null when absent (U-Boot then uses pkcs-1.5). */
  padding: string | null;
  keyNameHint: string | null;
  signerName: string | null;
  signerVersion: string | null;
  comment: string | null;
  /** `timestamp` (u32 seconds since 1970), null when absent. */
  timestamp: number | null;
  /** `hashed-nodes` (configuration signatures): the node paths mkimage hashed, null when absent. */
  hashedNodes: string[] | null;
  /** `hashed-strings`: [offset, size] of the strings block hashed, null when absent. */
  hashedStrings: [number, number] | null;
  /** `sign-images`: which configuration properties name the images signed, null when absent. */
  signImages: string[] | null;
  /** Length of `value` in bytes (0 when absent). */
  valueLength: number;
  /** Offset of `value` in the FIT layer's bytes, null when absent. */
  valueOffset: number | null;
}

/** A U-Boot FIT: its root properties, images and configurations. */
export interface FitFacts {
  kind: "fit";
  /** `description` of the root. */
  description: string | null;
  /** `timestamp` of the root (u32 seconds since 1970), null when absent. */
  timestamp: number | null;
  /** `#address-cells` of the root (how wide load and entry are), null when absent (U-Boot assumes 1). */
  addressCells: number | null;
  /** The tree's totalsize: external data (`mkimage -E`) follows it, 4-byte aligned. */
  totalSize: number;
  images: FitImageFacts[];
  configurations: FitConfigurationFacts[];
  /** `default` of /configurations, null when absent. */
  defaultConfiguration: string | null;
}

/** One part of a multi-file uImage: where its bytes lie in the uImage layer (after the size table, each earlier part padded to 4 bytes). */
export interface UImagePart {
  /** Offset of the part within the uImage layer's bytes. */
  offset: number;
  /** Its size, as the size table gives it. */
  size: number;
}

/** A legacy U-Boot image header (U-Boot include/image.h, `image_header_t`; all fields big-endian). */
export interface UImageFacts {
  kind: "uimage";
  /** `ih_hcrc` (0x04, u32) as read: CRC-32 of the 64-byte header with this field zeroed. */
  headerCrc: number;
  /** `ih_hcrc` matches the header. */
  headerCrcOk: boolean;
  /** `ih_time` (0x08, u32): creation time, seconds since 1970 (UTC). */
  time: number;
  /** `ih_size` (0x0c, u32): bytes of data after the header. */
  dataSize: number;
  /** `ih_load` (0x10, u32): where U-Boot loads (or decompresses) the data. */
  loadAddress: number;
  /** `ih_ep` (0x14, u32): the address U-Boot jumps to. */
  entryPoint: number;
  /** `ih_dcrc` (0x18, u32) as read: CRC-32 of the data. */
  dataCrc: number;
  /** `ih_dcrc` matches the data; null when the data is truncated and could not be checked. */
  dataCrcOk: boolean | null;
  /** `ih_os` (0x1c, u8): IH_OS_* (5 = Linux). */
  os: number;
  /** `ih_arch` (0x1d, u8): IH_ARCH_* (2 = ARM, 22 = ARM64). */
  arch: number;
  /** `ih_type` (0x1e, u8): IH_TYPE_* (2 = kernel, 3 = ramdisk, 4 = multi). */
  type: number;
  /** `ih_comp` (0x1f, u8): IH_COMP_* (0 none, 1 gzip, 2 bzip2, 3 lzma, 4 lzo, 5 lz4, 6 zstd). */
  compression: number;
  /** The codec `ih_comp` names, null for none or an unknown value. */
  codec: CodecName | null;
  /** `ih_name` (0x20, 32 bytes, NUL-padded). */
  name: string;
  /** The parts of a multi-file (or script) image, in table order; null for other types. */
  parts: UImagePart[] | null;
}

/** The facts of one layer, by format. Layers of other formats (PE, text, data ...) have none; a PE layer's are `Layer.pe`. */
export type LayerFacts =
  | Arm64ImageFacts
  | RiscvImageFacts
  | LoongArchImageFacts
  | BzImageFacts
  | ElfFacts
  | ZbootFacts
  | UkiFacts
  | CompressedFacts
  | UImageFacts
  | OtherKernelFacts
  // Android boot images (issue 15)
  | AndroidBootFacts
  | AndroidVendorBootFacts
  | AndroidDtboFacts
  | ArmZImageFacts
  | FitFacts
  // Initramfs archives (issue 16)
  | CpioFacts
  | InitramfsFacts;

/** A cpio archive (formats/cpio.ts); its entries are in the report's `Layer.archive`. */
export interface CpioFacts {
  kind: "cpio";
  format: "newc" | "crc";
  /** Entries read, TRAILER!!! excluded. */
  entries: number;
  /** Offset just past the trailer and its padding, within the layer's bytes. */
  end: number;
  /** False when a malformed header or a limit stopped the listing. */
  complete: boolean;
}

/** A concatenated initramfs (formats/cpio.ts): its segments in file order, offsets within the layer's bytes. */
export interface InitramfsFacts {
  kind: "initramfs";
  segments: InitramfsSegment[];
}

/** The facts of the layers of one analysed image, by layer path. */
export type FactsTable = ReadonlyMap<string, LayerFacts>;

/** The facts of `path` when they are of `kind`, else undefined. */
export function factsOf<K extends LayerFacts["kind"]>(table: FactsTable, path: string, kind: K): Extract<LayerFacts, { kind: K }> | undefined {
  const f = table.get(path);
  return f !== undefined && f.kind === kind ? (f as Extract<LayerFacts, { kind: K }>) : undefined;
}

/** The banner of a kernel layer's facts, when its format has one. */
export function bannerOf(facts: LayerFacts | undefined): KernelBanner | null {
  if (facts === undefined) return null;
  switch (facts.kind) {
    case "arm64-image":
    case "riscv-image":
    case "loongarch-image":
    case "elf":
    case "raw-kernel":
    case "s390-image":
      return facts.banner;
    case "bzimage":
      return facts.kernelVersion === null ? null : { text: facts.kernelVersion, release: facts.release ?? "" };
    default:
      return null;
  }
}
