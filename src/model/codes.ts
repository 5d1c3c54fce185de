/**
 * The catalogues of the stable ids a report carries, each defined once with a one-line meaning:
 * the codes of `diagnostics[]` and the ids of the boot plan's `checks[]`. Their union types are
 * derived from these tables, so a code used anywhere but declared here is a compile error, and the
 * README's tables are generated from them (`npm run docs:codes`, checked by test/codes.test.ts).
 * Error codes (`E_*`) live with the error family in io/errors.ts; a diagnostic may carry one, when
 * a fatal error was caught and recorded (a damaged stream, a bomb, an unreadable signature).
 */
import type { ErrorCodeValue } from "../io/errors.js";

/** Codes of non-fatal findings, by what they concern. Scripts may rely on these strings; never rename one. */
export const DIAGNOSTIC_CODES = {
  // Any kernel image
  KERNEL_TRUNCATED:
    "a kernel image ends before what its headers load (PE headers, sections, the first branch's target, a PT_LOAD): a kernel that cannot be whole",
  UNSUPPORTED_FORMAT: "a format kimg reads and reports but does not plan or extract (s390 image)",
  IMAGE_PE_OFFSET_INVALID: 'an Image header\'s PE offset does not point at "PE\\0\\0"',
  // arm64, RISC-V, LoongArch Image
  ARM64_IMAGE_SIZE_ZERO: "an arm64 image_size of 0 (a pre-v3.17 kernel): text_offset is unreliable and loaders assume 0x80000",
  ARM64_RESERVED_FLAGS: "reserved bits are set in an arm64 header's flags",
  RISCV_MAGIC2_MISSING: 'a RISC-V header of version 0.2 or later without magic2 "RSC\\x05"',
  RISCV_IMAGE_SIZE_ZERO: "a RISC-V image_size of 0, which loaders reject",
  LOONGARCH_ENTRY_OUTSIDE: "a LoongArch kernel_entry that does not map into the image",
  LOONGARCH_ASIZE_ZERO: "a LoongArch kernel_asize of 0, which kexec_file rejects",
  // EFI zboot
  ZBOOT_COMP_TYPE_UNTERMINATED: "a zboot comp_type with no NUL within 0x18..0x37",
  ZBOOT_UNKNOWN_CODEC: "a zboot comp_type that names no codec kimg knows",
  ZBOOT_BAD_PE_MAGIC: "a zboot header whose 0x38 is neither LINUX_PE_MAGIC nor 0",
  ZBOOT_NO_PE: "no PE header where a zboot's pe_header_offset points",
  ZBOOT_SIZE_MISMATCH: "a zboot payload that decompresses to a size other than the inner image_size",
  ZBOOT_SIZE_RULE_UNKNOWN: "a decompressed zboot size that matches no known size-trailer rule",
  ZBOOT_GENERATION_INCONSISTENT: "a zboot header whose clues name no single kernel generation",
  // x86 bzImage
  BZIMAGE_VERSION_OUTSIDE: "a bzImage kernel_version that points outside the file",
  BZIMAGE_KERNEL_INFO_BAD: 'a bzImage kernel_info without its "LToP" header',
  BZIMAGE_NO_PAYLOAD: "a bzImage whose payload_length is 0: no compressed kernel",
  BZIMAGE_PAYLOAD_OUTSIDE: "a bzImage payload that runs past the end of the file",
  BZIMAGE_CRC_MISMATCH: "a bzImage whose boot-protocol CRC-32 does not match: changed after the build, or data appended",
  // ELF
  ELF_VALUE_TOO_LARGE: "an ELF program header offset or size past 2^53, which cannot be placed exactly",
  // 32-bit Arm zImage, s390
  ZIMAGE_TRUNCATED: "a zImage shorter than its header's end - start",
  ZIMAGE_PAYLOAD_NOT_FOUND: "no compressed stream with a valid header in a zImage",
  ZIMAGE_BAD_TAG: "a zImage extension tag that runs past the data",
  ZIMAGE_BAD_ENDIAN: "a zImage with the extension table whose endianness word is neither 0x04030201 nor 0x01020304",
  S390_PAYLOAD_NOT_FOUND: "no compressed stream with a valid header after an s390 image's parmarea",
  // U-Boot legacy image (uImage)
  UIMAGE_HEADER_CRC_MISMATCH: "a uImage whose ih_hcrc does not match its header: U-Boot refuses it",
  UIMAGE_DATA_CRC_MISMATCH: "a uImage whose ih_dcrc does not match its data: U-Boot refuses it",
  UIMAGE_DATA_TRUNCATED: "a uImage whose ih_size runs past the end of the file",
  UIMAGE_TRAILING_DATA: "bytes after a uImage's ih_size data bytes",
  UIMAGE_UNKNOWN_VALUE: "a uImage ih_os, ih_arch, ih_type or ih_comp that names nothing in U-Boot's tables",
  UIMAGE_BAD_PART_TABLE: "a multi-file uImage whose size table has no terminator or lists parts past the data",
  UIMAGE_LZ4_LEGACY: "a uImage declaring lz4 whose data is a legacy lz4 stream (lz4 -l), which U-Boot cannot decompress",
  UIMAGE_ARM64_MOVED:
    "a uImage holding an arm64 Image that U-Boot's bootm moves from ih_load to text_offset above a 2 MiB aligned base and enters there, whatever ih_ep says",
  // PE/COFF and UKI
  PE_TOO_MANY_DIRECTORIES: "a NumberOfRvaAndSizes over the 16 data directories defined",
  PE_DIRECTORIES_TRUNCATED: "a SizeOfOptionalHeader too small for the data directories declared",
  PE_SECTION_BEYOND_FILE: "a PE section whose raw data runs past the end of the data",
  PE_CERT_TABLE_OUT_OF_RANGE: "a certificate table that is not inside the file",
  PE_PADDING_AFTER_CERT_TABLE: "zero bytes after the certificate table (zboot v6.4+ pads the Image): a signature check needs the image trimmed",
  PE_DATA_AFTER_CERT_TABLE: "non-zero data after the certificate table",
  UKI_SECTION_OUTSIDE: "a UKI section that runs past the end of the file",
  // Measured boot (issue 17: kimg pcr)
  PCR_SECTION_TOO_LARGE: "a UKI section the PCR prediction cannot measure (VirtualSize over maxOutputBytes, or data past the end): the values are incomplete",
  PCR_STUB_VERSION_UNKNOWN: "a UKI whose stub names no systemd version kimg can use (.sdmagic): the newest known list of measured sections is assumed",
  PCR_HARDWARE_SELECTED: "a .dtbauto or .efifw section, which the stub measures only when it matches the machine: kimg assumes the first",
  PCR_TOO_MANY_PROFILES: "more .profile sections than systemd's limit (256): only the first are measured",
  PCRSIG_BAD_JSON: "a .pcrsig section that is not the JSON systemd-measure sign writes (an object of banks, each an array of {pcrs, pkfp, pol, sig})",
  PCRSIG_TOO_LARGE: "a .pcrsig section over kimg's bound (1 MiB, 1024 entries)",
  PCRSIG_UNMATCHED: "a .pcrsig entry whose policy digest matches no predicted PCR 11 phase of the UKI",
  PCRSIG_KEY_MISMATCH: "a .pcrsig entry signed by another key than the .pcrpkey one (its pkfp differs)",
  PCRPKEY_BAD: "a .pcrpkey section that is not a PEM public key (or is over 64 KiB)",
  // Android boot images (issue 15)
  ANDROID_PART_OUTSIDE: "a part of an Android boot or vendor_boot image (kernel, ramdisk, dtb ...) that runs past the end of the file",
  ANDROID_BAD_PAGE_SIZE: "an Android boot image page_size that is not a power of two from 2048 to 65536",
  ANDROID_RECOVERY_DTBO_MISPLACED: "a recovery_dtbo_offset other than where mkbootimg puts the recovery DTBO (after the second stage)",
  ANDROID_DTBO_BAD: "an Android DT table (DTBO) whose total size, entry count (past MAX_DT_TABLE_ENTRIES) or an entry runs past the table",
  ANDROID_BOOT_SIGNATURE_BAD: "a v4 boot signature whose AVB header places its blocks, hash, signature, key or descriptors past the boot signature area",
  ANDROID_ID_MISMATCH: "an Android boot v0-v2 header whose id is not the SHA-1 mkbootimg computes over its parts and their sizes (changed after mkbootimg)",
  ANDROID_RAMDISK_TABLE_BAD: "a vendor_boot v4 ramdisk table whose entry count, entry size or table size cannot be read",
  // Signatures
  CERT_TABLE_UNALIGNED: "a certificate table that does not start on the 8-byte boundary the PE specification requires",
  CERT_TABLE_TRAILING_BYTES: "non-zero bytes after the last WIN_CERTIFICATE, too few for another",
  CERT_ENTRY_BAD_LENGTH: "a WIN_CERTIFICATE dwLength below 8 or past the table's end",
  CERT_ENTRY_NOT_PKCS7: "a WIN_CERTIFICATE that is not PKCS_SIGNED_DATA and cannot be verified",
  NO_READABLE_SIGNATURE: "a certificate table with no signature that could be read",
  KEXEC_SIG_WOULD_REJECT: "Linux's KEXEC_SIG check (verify_pefile.c) would reject the image",
  SIGNATURE_UNREADABLE: "a signature the quick summary could not read (inspect)",
  NO_PE_IMAGE: "no PE/COFF image in the file, so nothing carries an Authenticode signature (verify)",
  NOT_SIGNED: "no signature in the PE images chosen: nothing was verified (verify)",
  // Secure Boot policy (issue 17): SBAT, db/dbx signature lists, the debug directory
  SBAT_MALFORMED_LINE: "an SBAT line with too few fields or an empty one: shim rejects the whole section or policy",
  SBAT_TOO_MANY_ENTRIES: "an SBAT text with more than MAX_SBAT_ENTRIES lines; the rest were not read",
  SBAT_TOO_LARGE: "an SBAT text larger than MAX_SBAT_BYTES; not read",
  SBAT_SECTION_REJECTED: "a .sbat section shim does not use: two of them, relocations, SizeOfRawData below VirtualSize, or past the image",
  SBATLEVEL_BAD: "a .sbatlevel section whose header or offsets cannot be read",
  SBAT_POLICY_UNREADABLE: "an --sbat-level file that is neither a shim with .sbatlevel, a policy text nor an SbatLevel dump",
  PE_DEBUG_DIRECTORY_BAD: "a debug directory or EX_DLLCHARACTERISTICS entry that lies outside the image",
  ESL_TRUNCATED: "an EFI_SIGNATURE_LIST that runs past the end of its file",
  ESL_BAD_SIZE: "an EFI_SIGNATURE_LIST whose SignatureListSize, SignatureHeaderSize or SignatureSize do not fit together",
  ESL_TYPE_IGNORED: "an EFI_SIGNATURE_LIST of a type kimg does not use (only X.509 certificates and SHA-256 hashes count)",
  ESL_TOO_MANY: "a signature database with more than MAX_SIGNATURE_LISTS lists or MAX_SIGNATURES_PER_DATABASE signatures; the rest were not read",
  ESL_BAD_CERTIFICATE: "an EFI_CERT_X509_GUID signature that is not a readable X.509 certificate",
  AUTH_HEADER_BAD: "a signed variable update whose EFI_VARIABLE_AUTHENTICATION_2 header cannot be read",
  POLICY_FILE_UNKNOWN: "a --db or --dbx file that is no signature list, signed update or certificate",
  // Compressed streams
  CODEC_MISMATCH: "a stream whose magic names another codec than its container declares; decoded as the magic says",
  CODEC_MAGIC_MISSING: "a stream without the magic of the codec its container declares",
  DECOMPRESSED_SIZE_MISMATCH: "a stream that decompresses to another size than its container declares",
  // U-Boot FIT
  FIT_IMAGE_NO_DATA: "a FIT image node with neither data nor data-offset/data-position with data-size",
  FIT_DATA_OUTSIDE: "a FIT image whose data runs past the end of the file",
  FIT_CONFIG_MISSING_IMAGE: "a FIT configuration (or the default) that names a node /images or /configurations does not have",
  FIT_HASH_MISMATCH: "a FIT hash node whose value does not match the image data",
  FIT_HASH_UNCHECKED: "a FIT hash node kimg cannot check (an unknown algo, no value)",
  // U-Boot FIT signatures (kimg verify, issue 15)
  FIT_SIGNATURE_INVALID: "a FIT signature node that no given key verifies: the signed data or the signature was changed, or another key signed",
  FIT_SIGNATURE_BAD_LENGTH: "a FIT signature value whose length is not the one its algo needs (an absurd length included): a failed verification",
  FIT_SIGNATURE_UNKNOWN_ALGO: "a FIT signature node without algo or value, or whose algo or padding U-Boot does not know",
  FIT_SIGNATURE_REGIONS:
    "a FIT configuration signature whose hashed regions cannot be computed as U-Boot does (no hashed-nodes, the configuration not in it, hashed-strings out of bounds, too many regions)",
  FIT_SIGNATURE_NO_MATCHING_KEY: "a FIT signature node for which no given key has the right kind and size",
  FIT_SIGNATURE_NO_KEY: "a FIT signature node not checked because no public key was given (--cert)",
  FIT_HASHED_NODES_DIFFER: "a configuration signature's hashed-nodes differ from the nodes U-Boot v2026.04 and later derive from the configuration",
  FIT_REQUIRED_KEY_UNUSED: "a key the control DTB marks required that did not verify what U-Boot requires (every image, or the default configuration)",
  FIT_KEY_UNREADABLE: "a key node of the control DTB that cannot be used (skipped)",
  FIT_NOT_SIGNED: "a FIT without signature nodes: its hashes show integrity, not who made it (verify)",
  // Embedded .config, CONFIG_IKCONFIG (issue 16)
  IKCONFIG_NO_END_MARKER:
    'an "IKCFG_ST" marker with a gzip header but no "IKCFG_ED" within IKCONFIG_MAX_COMPRESSED_BYTES: the embedded .config cannot be delimited',
  IKCONFIG_TRAILING_DATA: 'bytes between the end of the embedded .config\'s gzip stream and "IKCFG_ED"',
  IKCONFIG_NOT_TEXT: "an embedded .config that inflates to bytes other than text (a NUL byte)",
  IKCONFIG_SCAN_LIMIT: "a kernel layer larger than IKCONFIG_MAX_SCAN_BYTES: only its first bytes were searched for the embedded .config",
  // Initramfs archives (issue 16)
  CPIO_CHECKSUM_MISMATCH: 'a "070702" (crc) cpio entry whose c_chksum is not the sum of its data bytes',
  CPIO_TRAILING_DATA: "bytes after a cpio archive's TRAILER!!! that are neither zero padding nor another archive",
  ARCHIVE_UNSAFE_NAME: "an archive entry not extracted: its name is absolute, empty, has a NUL or a .. component, or passes maxArchivePathDepth",
  ARCHIVE_SPECIAL_SKIPPED: "an archive entry not extracted: a device node, FIFO or socket (listed only)",
  ARCHIVE_THROUGH_LINK: "an archive entry not extracted: a parent of its path is a symlink or a file in the archive, and extraction never writes through one",
  ARCHIVE_DUPLICATE_NAME: "an archive entry whose name appears again later; the later entry wins, as the kernel's unpacker does",
  ARCHIVE_MODE_MASKED: "an archive entry extracted with fewer permission bits: setuid, setgid, sticky and group/other write are dropped",
  ARCHIVE_HARDLINK_UNRESOLVED: "a hard link (nlink > 1) whose other names are all skipped: extracted as a plain file",
  // Other contents
  DTB_TRUNCATED: "a device tree whose totalsize exceeds the bytes present",
  // issue 15: a FIT past a limit is read as a plain device tree; this says why
  DTB_TREE_REFUSED:
    "a device tree (or FIT) whose structure is not read: past a named limit (FDT_MAX_DEPTH, FDT_MAX_NODES, FDT_MAX_PROPERTY_BYTES, FDT_MAX_STRINGS_BYTES) or pointing outside itself",
  TEXT_TRUNCATED: "a text section shown only up to maxStringBytes",
} as const satisfies Readonly<Record<string, string>>;

/** A diagnostic-only code (see DIAGNOSTIC_CODES). */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** What `Diagnostic.code` holds: a diagnostic code, or the code of a fatal error that was caught and recorded. */
export type ReportCode = DiagnosticCode | ErrorCodeValue;

/** Ids of the boot plan's checks (`plan.checks[].id`). Scripts may rely on these strings; never rename one. */
export const CHECK_IDS = {
  // The memory-protection map (PE view; ELF segments)
  "w^x": "no region is both writable and executable",
  "section-alignment": "SectionAlignment and every section start fit the page size, so permissions can be applied per section",
  "sections-overlap": "no two sections overlap in memory",
  "header-not-executable": "the PE headers do not lie in an executable section",
  "entry-executable": "the EFI entry (AddressOfEntryPoint) lies in an executable section",
  "nx-compat": "whether NX_COMPAT is set, so firmware may map data non-executable and code read-only (a fact)",
  "nx-consistency": "an outer PE that declares NX_COMPAT wraps a kernel that declares it too",
  "control-flow": "whether the debug directory declares CET_COMPAT and FORWARD_CFI_COMPAT (IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS; a fact)",
  "pe-header": "the kernel has no PE header, so a loader maps it as one region (a fact)",
  // The entry
  "entry-first-instruction": "the instruction at the image start is harmless for a loader that enters there",
  "entry-branch": "the first instructions branch to the core entry, inside the image",
  "entry-symbol": "the planned entry equals the entry symbol's offset in the matching vmlinux (--vmlinux)",
  "entry-in-image": "LoongArch: kernel_entry maps into the image",
  "mz-word": 'LoongArch: what the "MZ" word decodes as; loaders never execute it (a fact)',
  // Loader limits
  "dtb-size": "arm64: the device tree fits the 2 MiB limit",
  "initrd-window": "arm64: the initrd lies in the Image's 32 GiB window",
  endianness: "RISC-V: the image is little-endian, the only order Linux implements",
  "kernel-asize": "LoongArch: kernel_asize is not 0, which kexec_file_load rejects",
  "kexec-file-probe": "x86: the bzImage meets kexec_file_load's bzImage64 loader (protocol 2.12+, 64-bit, loadable above 4G)",
  "cmdline-size": "x86: the command line fits cmdline_size",
  // 32-bit Arm zImage (issue 15)
  "arm-placement": "Arm: the zImage lies in the first 128 MiB of RAM, above 32 MiB as booting.rst recommends",
  "arm-endianness": "Arm: the endianness word names the kernel's byte order (BE8 kernels need a big-endian loader setup)",
  // Boot containers: uImage, FIT, Android boot (issue 15)
  "container-load":
    "the container's load address meets the inner kernel's placement rule (arm64: text_offset above a 2 MiB aligned base; a zImage linked to a fixed start: that start)",
  "container-entry":
    "the container's entry point is where the inner kernel must be entered (arm64 Image, RISC-V Image, Arm zImage: its first byte, so entry = load)",
  "container-arch": "the architecture the container declares is the inner kernel's",
  "container-overlap": "the kernel's memory (BSS included) does not overlap the DTB or ramdisk at the container's addresses",
} as const satisfies Readonly<Record<string, string>>;

/** The id of a boot-plan check (see CHECK_IDS). */
export type CheckId = keyof typeof CHECK_IDS;

/** A catalogue's codes, in the order it lists them. */
export function codesOf<C extends Readonly<Record<string, string>>>(catalogue: C): Array<keyof C & string> {
  return Object.keys(catalogue) as Array<keyof C & string>;
}
