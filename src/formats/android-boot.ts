/**
 * Android boot images: `boot.img` (magic "ANDROID!", header versions 0-4) and `vendor_boot.img`
 * (magic "VNDRBOOT", versions 3-4). Source: AOSP system/tools/mkbootimg, include/bootimg/bootimg.h
 * (the structs quoted below) and mkbootimg.py / unpack_bootimg.py (where the parts go).
 *
 * Every part starts on a page boundary and is padded to the next one: the header takes the first
 * page(s), then the parts in a fixed order, each `ceil(size / page_size)` pages.
 *   boot v0-v2 (page_size from the header): header, kernel, ramdisk, second, recovery_dtbo (v1+,
 *     at its recovery_dtbo_offset), dtb (v2).
 *   boot v3-v4 (always 4096-byte pages): header, kernel, ramdisk, boot signature (v4).
 *   vendor_boot v3-v4 (page_size from the header): header (ceil(header_size / page_size) pages),
 *     vendor ramdisk(s), dtb, vendor ramdisk table (v4), bootconfig (v4).
 */
import { sniffCodec } from "../codecs/sniff.js";
import { alignUp } from "../io/bytes.js";
import { annotate, defineLayout, defineVariants, hex, readStruct, readVariant, startsWith, structureOf, u32 } from "../io/layout.js";
import type { AndroidBootFacts, AndroidPart, AndroidVendorBootFacts, VendorRamdiskEntry } from "../model/facts.js";
import type { Field, JsonValue, LayerFormat, Structure } from "../model/report.js";
import type { ChildSpec, FormatInput, FormatParser } from "./types.js";

export const BOOT_MAGIC = "ANDROID!";
export const VENDOR_BOOT_MAGIC = "VNDRBOOT";
/** v3 and v4 boot images use 4096-byte pages whatever page size the device has (BOOT_IMAGE_HEADER_V3_PAGESIZE). */
export const BOOT_IMAGE_V3_PAGE_SIZE = 4096;
/** Most vendor ramdisk table entries read (mkbootimg writes one per --vendor_ramdisk_fragment). */
export const MAX_VENDOR_RAMDISK_ENTRIES = 256;

/*
 * struct boot_img_hdr_v0 {
 *     uint8_t magic[BOOT_MAGIC_SIZE];
 *     uint32_t kernel_size; uint32_t kernel_addr;
 *     uint32_t ramdisk_size; uint32_t ramdisk_addr;
 *     uint32_t second_size; uint32_t second_addr;
 *     uint32_t tags_addr; uint32_t page_size;
 *     uint32_t header_version;
 *     // os_version = A[31:25] B[24:18] C[17:11] (Y-2000)[10:4] M[3:0]
 *     uint32_t os_version;
 *     uint8_t name[BOOT_NAME_SIZE];             // 16
 *     uint8_t cmdline[BOOT_ARGS_SIZE];          // 512
 *     uint32_t id[8];
 *     uint8_t extra_cmdline[BOOT_EXTRA_ARGS_SIZE]; // 1024
 * } __attribute__((packed));
 * struct boot_img_hdr_v1 : public boot_img_hdr_v0 {
 *     uint32_t recovery_dtbo_size; uint64_t recovery_dtbo_offset; uint32_t header_size;
 * } __attribute__((packed));
 * struct boot_img_hdr_v2 : public boot_img_hdr_v1 { uint32_t dtb_size; uint64_t dtb_addr; } __attribute__((packed));
 */
const V0_FIELDS = [
  { name: "magic", offset: 0, type: "ascii", size: 8 },
  { name: "kernel_size", offset: 8, type: "u32" },
  { name: "kernel_addr", offset: 12, type: "u32" },
  { name: "ramdisk_size", offset: 16, type: "u32" },
  { name: "ramdisk_addr", offset: 20, type: "u32" },
  { name: "second_size", offset: 24, type: "u32" },
  { name: "second_addr", offset: 28, type: "u32" },
  { name: "tags_addr", offset: 32, type: "u32" },
  { name: "page_size", offset: 36, type: "u32" },
  { name: "header_version", offset: 40, type: "u32" },
  { name: "os_version", offset: 44, type: "u32" },
  { name: "name", offset: 48, type: "cstr", size: 16 },
  { name: "cmdline", offset: 64, type: "cstr", size: 512 },
  { name: "id", offset: 576, type: "bytes", size: 32 },
  { name: "extra_cmdline", offset: 608, type: "cstr", size: 1024 },
] as const;
const V1_FIELDS = [
  ...V0_FIELDS,
  { name: "recovery_dtbo_size", offset: 1632, type: "u32" },
  { name: "recovery_dtbo_offset", offset: 1636, type: "u64" },
  { name: "header_size", offset: 1644, type: "u32" },
] as const;
const V2_FIELDS = [...V1_FIELDS, { name: "dtb_size", offset: 1648, type: "u32" }, { name: "dtb_addr", offset: 1652, type: "u64" }] as const;

/*
 * struct boot_img_hdr_v3 {
 *     uint8_t magic[BOOT_MAGIC_SIZE];
 *     uint32_t kernel_size; uint32_t ramdisk_size;
 *     uint32_t os_version;
 *     uint32_t header_size;
 *     uint32_t reserved[4];
 *     uint32_t header_version; // offset remains constant for version check
 *     uint8_t cmdline[BOOT_ARGS_SIZE + BOOT_EXTRA_ARGS_SIZE]; // 1536
 * } __attribute__((packed));
 * struct boot_img_hdr_v4 : public boot_img_hdr_v3 { uint32_t signature_size; } __attribute__((packed));
 */
const V3_FIELDS = [
  { name: "magic", offset: 0, type: "ascii", size: 8 },
  { name: "kernel_size", offset: 8, type: "u32" },
  { name: "ramdisk_size", offset: 12, type: "u32" },
  { name: "os_version", offset: 16, type: "u32" },
  { name: "header_size", offset: 20, type: "u32" },
  { name: "reserved", offset: 24, type: "bytes", size: 16 },
  { name: "header_version", offset: 40, type: "u32" },
  { name: "cmdline", offset: 44, type: "cstr", size: 1536 },
] as const;
const V4_FIELDS = [...V3_FIELDS, { name: "signature_size", offset: 1580, type: "u32" }] as const;

export const BOOT_IMAGE_HEADER_V0 = defineLayout("boot_img_hdr_v0", 1632, V0_FIELDS);
export const BOOT_IMAGE_HEADER_V1 = defineLayout("boot_img_hdr_v1", 1648, V1_FIELDS);
export const BOOT_IMAGE_HEADER_V2 = defineLayout("boot_img_hdr_v2", 1660, V2_FIELDS);
export const BOOT_IMAGE_HEADER_V3 = defineLayout("boot_img_hdr_v3", 1580, V3_FIELDS);
export const BOOT_IMAGE_HEADER_V4 = defineLayout("boot_img_hdr_v4", 1584, V4_FIELDS);
/** The boot image header by header_version (at 0x28 in every version). */
export const BOOT_IMAGE_HEADER = defineVariants("boot_img_hdr", {
  v0: BOOT_IMAGE_HEADER_V0,
  v1: BOOT_IMAGE_HEADER_V1,
  v2: BOOT_IMAGE_HEADER_V2,
  v3: BOOT_IMAGE_HEADER_V3,
  v4: BOOT_IMAGE_HEADER_V4,
});

/*
 * struct vendor_boot_img_hdr_v3 {
 *     uint8_t magic[VENDOR_BOOT_MAGIC_SIZE];
 *     uint32_t header_version;
 *     uint32_t page_size;
 *     uint32_t kernel_addr; uint32_t ramdisk_addr;
 *     uint32_t vendor_ramdisk_size;
 *     uint8_t cmdline[VENDOR_BOOT_ARGS_SIZE]; // 2048
 *     uint32_t tags_addr;
 *     uint8_t name[VENDOR_BOOT_NAME_SIZE];    // 16
 *     uint32_t header_size;
 *     uint32_t dtb_size; uint64_t dtb_addr;
 * } __attribute__((packed));
 * struct vendor_boot_img_hdr_v4 : public vendor_boot_img_hdr_v3 {
 *     uint32_t vendor_ramdisk_table_size; uint32_t vendor_ramdisk_table_entry_num;
 *     uint32_t vendor_ramdisk_table_entry_size; uint32_t bootconfig_size;
 * } __attribute__((packed));
 */
const VENDOR_V3_FIELDS = [
  { name: "magic", offset: 0, type: "ascii", size: 8 },
  { name: "header_version", offset: 8, type: "u32" },
  { name: "page_size", offset: 12, type: "u32" },
  { name: "kernel_addr", offset: 16, type: "u32" },
  { name: "ramdisk_addr", offset: 20, type: "u32" },
  { name: "vendor_ramdisk_size", offset: 24, type: "u32" },
  { name: "cmdline", offset: 28, type: "cstr", size: 2048 },
  { name: "tags_addr", offset: 2076, type: "u32" },
  { name: "name", offset: 2080, type: "cstr", size: 16 },
  { name: "header_size", offset: 2096, type: "u32" },
  { name: "dtb_size", offset: 2100, type: "u32" },
  { name: "dtb_addr", offset: 2104, type: "u64" },
] as const;
const VENDOR_V4_FIELDS = [
  ...VENDOR_V3_FIELDS,
  { name: "vendor_ramdisk_table_size", offset: 2112, type: "u32" },
  { name: "vendor_ramdisk_table_entry_num", offset: 2116, type: "u32" },
  { name: "vendor_ramdisk_table_entry_size", offset: 2120, type: "u32" },
  { name: "bootconfig_size", offset: 2124, type: "u32" },
] as const;

export const VENDOR_BOOT_IMAGE_HEADER_V3 = defineLayout("vendor_boot_img_hdr_v3", 2112, VENDOR_V3_FIELDS);
export const VENDOR_BOOT_IMAGE_HEADER_V4 = defineLayout("vendor_boot_img_hdr_v4", 2128, VENDOR_V4_FIELDS);
/** The vendor_boot header by header_version (at 0x08). */
export const VENDOR_BOOT_IMAGE_HEADER = defineVariants("vendor_boot_img_hdr", { v3: VENDOR_BOOT_IMAGE_HEADER_V3, v4: VENDOR_BOOT_IMAGE_HEADER_V4 });

/*
 * struct vendor_ramdisk_table_entry_v4 {
 *     uint32_t ramdisk_size;   // size in bytes for the ramdisk image
 *     uint32_t ramdisk_offset; // offset to the ramdisk image in vendor ramdisk section
 *     uint32_t ramdisk_type;   // type of the ramdisk
 *     uint8_t ramdisk_name[VENDOR_RAMDISK_NAME_SIZE]; // 32, asciiz ramdisk name
 *     uint32_t board_id[VENDOR_RAMDISK_TABLE_ENTRY_BOARD_ID_SIZE]; // 16
 * } __attribute__((packed));
 */
export const VENDOR_RAMDISK_TABLE_ENTRY = defineLayout("vendor_ramdisk_table_entry_v4", 108, [
  { name: "ramdisk_size", offset: 0, type: "u32" },
  { name: "ramdisk_offset", offset: 4, type: "u32" },
  { name: "ramdisk_type", offset: 8, type: "u32" },
  { name: "ramdisk_name", offset: 12, type: "cstr", size: 32 },
  { name: "board_id", offset: 44, type: "bytes", size: 64 },
] as const);

/** VENDOR_RAMDISK_TYPE_* of bootimg.h. */
export const VENDOR_RAMDISK_TYPES: readonly string[] = ["none", "platform", "recovery", "dlkm"];

const ANDROID_MAGIC = Array.from(BOOT_MAGIC, (c) => c.charCodeAt(0));
const VNDRBOOT_MAGIC = Array.from(VENDOR_BOOT_MAGIC, (c) => c.charCodeAt(0));

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const pagesOf = (size: number, page: number): number => Math.ceil(size / page);

/** The page size kimg accepts in a header: a power of two from 2 KiB to 64 KiB (mkbootimg writes 2048-16384). */
function validPageSize(page: number): boolean {
  return isPowerOfTwo(page) && page >= 2048 && page <= 65536;
}

/**
 * os_version: A.B.C in bits 31-11 (7 bits each) and the patch level YYYY-MM in bits 10-0, as
 * unpack_bootimg prints them; a part that is 0 was not set (mkbootimg's default) and is null, as
 * AOSP's unpack_bootimg (Debian trixie's 1:34) prints "None" for it.
 */
export function decodeOsVersion(value: number): { version: string | null; patchLevel: string | null } {
  const os = value >>> 11;
  const level = value & 0x7ff;
  const version = os === 0 ? null : `${os >>> 14}.${(os >>> 7) & 0x7f}.${os & 0x7f}`;
  const patchLevel = level === 0 ? null : `${String((level >>> 4) + 2000).padStart(4, "0")}-${String(level & 0xf).padStart(2, "0")}`;
  return { version, patchLevel };
}

export function isAndroidBoot(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, ANDROID_MAGIC)) return false;
  const version = u32(bytes, 40);
  const kernelSize = u32(bytes, 8);
  if (version === undefined || kernelSize === undefined || version > 4) return false;
  if (version >= 3) return BOOT_IMAGE_V3_PAGE_SIZE + kernelSize <= bytes.length;
  const page = u32(bytes, 36) ?? 0;
  return validPageSize(page) && page + kernelSize <= bytes.length;
}

export function isAndroidVendorBoot(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, VNDRBOOT_MAGIC)) return false;
  const version = u32(bytes, 8);
  const page = u32(bytes, 12);
  const ramdiskSize = u32(bytes, 24);
  if (version === undefined || page === undefined || ramdiskSize === undefined) return false;
  return (version === 3 || version === 4) && validPageSize(page) && page + ramdiskSize <= bytes.length;
}

/** A child for a part of the image: compressed when its first bytes name a codec, else probed (or of `format`). */
function partChild(name: string, offset: number, length: number, format?: LayerFormat): ChildSpec {
  const child: ChildSpec = { name, offset, length };
  if (format) child.format = format;
  return child;
}

/** A kernel (Image.gz, Image.lz4) or ramdisk (gzip'd cpio) that is a compressed stream goes to the tree walker's decoder. */
function withCodec(child: ChildSpec, bytes: Uint8Array): ChildSpec {
  if (child.format) return child;
  const sniffed = sniffCodec(bytes.subarray(child.offset, child.offset + Math.min(child.length, 64)));
  if (sniffed) child.compressed = { declaredCodec: sniffed.codec };
  return child;
}

// --- The v4 boot signature (issue 15) ---
/*
 * The boot signature of a v4 (GKI) boot image is an AVB VBMeta image (external/avb
 * libavb/avb_vbmeta_image.h, all fields big-endian), made by `avbtool make_vbmeta_image` over
 * the boot image's hash descriptor:
 *
 *   typedef struct AvbVBMetaImageHeader {
 *     uint8_t magic[AVB_MAGIC_LEN];                    //   0: "AVB0"
 *     uint32_t required_libavb_version_major;          //   4
 *     uint32_t required_libavb_version_minor;          //   8
 *     uint64_t authentication_data_block_size;         //  12
 *     uint64_t auxiliary_data_block_size;              //  20
 *     uint32_t algorithm_type;                         //  28: AvbAlgorithmType
 *     uint64_t hash_offset; uint64_t hash_size;        //  32, 40: in the authentication block
 *     uint64_t signature_offset; uint64_t signature_size;  // 48, 56: in the authentication block
 *     uint64_t public_key_offset; uint64_t public_key_size; // 64, 72: in the auxiliary block
 *     uint64_t public_key_metadata_offset; uint64_t public_key_metadata_size; // 80, 88
 *     uint64_t descriptors_offset; uint64_t descriptors_size; // 96, 104: in the auxiliary block
 *     uint64_t rollback_index;                         // 112
 *     uint32_t flags;                                  // 120
 *     uint32_t rollback_index_location;                // 124
 *     uint8_t release_string[AVB_RELEASE_STRING_SIZE]; // 128: 48 bytes
 *     uint8_t reserved[80];                            // 176
 *   } AVB_ATTR_PACKED AvbVBMetaImageHeader;            // 256 bytes; then the authentication
 *                                                      // block, then the auxiliary block
 */
export const AVB_VBMETA_HEADER = defineLayout("AvbVBMetaImageHeader", 256, [
  { name: "magic", offset: 0, type: "ascii", size: 4 },
  { name: "required_libavb_version_major", offset: 4, type: "u32" },
  { name: "required_libavb_version_minor", offset: 8, type: "u32" },
  { name: "authentication_data_block_size", offset: 12, type: "u64" },
  { name: "auxiliary_data_block_size", offset: 20, type: "u64" },
  { name: "algorithm_type", offset: 28, type: "u32" },
  { name: "hash_offset", offset: 32, type: "u64" },
  { name: "hash_size", offset: 40, type: "u64" },
  { name: "signature_offset", offset: 48, type: "u64" },
  { name: "signature_size", offset: 56, type: "u64" },
  { name: "public_key_offset", offset: 64, type: "u64" },
  { name: "public_key_size", offset: 72, type: "u64" },
  { name: "public_key_metadata_offset", offset: 80, type: "u64" },
  { name: "public_key_metadata_size", offset: 88, type: "u64" },
  { name: "descriptors_offset", offset: 96, type: "u64" },
  { name: "descriptors_size", offset: 104, type: "u64" },
  { name: "rollback_index", offset: 112, type: "u64" },
  { name: "flags", offset: 120, type: "u32" },
  { name: "rollback_index_location", offset: 124, type: "u32" },
  { name: "release_string", offset: 128, type: "cstr", size: 48 },
] as const);

/** AvbAlgorithmType (libavb/avb_crypto.h), by value. */
export const AVB_ALGORITHMS = ["NONE", "SHA256_RSA2048", "SHA256_RSA4096", "SHA256_RSA8192", "SHA512_RSA2048", "SHA512_RSA4096", "SHA512_RSA8192"] as const;

/** The boot signature area: an AVB VBMeta header with its blocks located, or what else it holds (zeros when unsigned). */
function describeBootSignature(input: FormatInput, structures: Structure[], offset: number, size: number): void {
  const { bytes, base } = input;
  const area = bytes.subarray(offset, Math.min(bytes.length, offset + size));
  if (area.length >= 256 && startsWith(area, [0x41, 0x56, 0x42, 0x30])) {
    const h = readStruct(AVB_VBMETA_HEADER, bytes, offset, { base, littleEndian: false });
    const r = h.record;
    h.structure.name = "boot signature (AvbVBMetaImageHeader)";
    annotate(h.structure, "algorithm_type", AVB_ALGORITHMS[r.algorithm_type] ?? `unknown (${r.algorithm_type})`);
    const auth = 256n;
    const aux = auth + r.authentication_data_block_size;
    const at = (block: bigint, o: bigint): string => hex(base + offset + Number(block + o));
    annotate(h.structure, "authentication_data_block_size", `bytes, at ${at(auth, 0n)}`);
    annotate(h.structure, "auxiliary_data_block_size", `bytes, at ${at(aux, 0n)}`);
    annotate(h.structure, "hash_offset", `the digest at ${at(auth, r.hash_offset)}`);
    annotate(h.structure, "signature_offset", `the signature at ${at(auth, r.signature_offset)}`);
    annotate(h.structure, "public_key_offset", `the public key at ${at(aux, r.public_key_offset)}`);
    annotate(h.structure, "descriptors_offset", `the descriptors at ${at(aux, r.descriptors_offset)}`);
    structures.push(h.structure);
    const end = aux + r.auxiliary_data_block_size;
    const inside = (o: bigint, n: bigint, block: bigint, blockSize: bigint): boolean => o + n <= blockSize && block + blockSize <= BigInt(area.length);
    if (
      end > BigInt(area.length) ||
      !inside(r.hash_offset, r.hash_size, auth, r.authentication_data_block_size) ||
      !inside(r.signature_offset, r.signature_size, auth, r.authentication_data_block_size) ||
      !inside(r.public_key_offset, r.public_key_size, aux, r.auxiliary_data_block_size) ||
      !inside(r.descriptors_offset, r.descriptors_size, aux, r.auxiliary_data_block_size)
    ) {
      input.diagnose(
        "ANDROID_BOOT_SIGNATURE_BAD",
        "error",
        `the AVB header's blocks (256 + ${r.authentication_data_block_size} + ${r.auxiliary_data_block_size} bytes) or the hash, signature, key or descriptors in them run past the ${size}-byte boot signature`,
        offset + 12,
      );
    }
    return;
  }
  const zero = area.every((b) => b === 0);
  structures.push(
    structureOf("boot signature", base + offset, size, [
      {
        name: "signature",
        offset: base + offset,
        size,
        value: zero ? `${size} bytes of zeros (not signed)` : `${size} bytes, no AVB0 magic`,
      },
    ]),
  );
}

/** Records a part, and returns its child when it lies inside the file (else a diagnostic). */
function placePart(input: FormatInput, parts: AndroidPart[], name: string, offset: number, size: number, format?: LayerFormat): ChildSpec | null {
  if (size === 0) return null;
  parts.push({ name, offset, size });
  if (offset + size > input.bytes.length) {
    input.diagnose(
      "ANDROID_PART_OUTSIDE",
      "error",
      `${name} [${hex(offset)}, +${hex(size)}) runs past the end of the ${input.bytes.length}-byte image`,
      Math.min(offset, input.bytes.length),
    );
    return null;
  }
  return withCodec(partChild(name, offset, size, format), input.bytes);
}

function partsStructure(base: number, parts: AndroidPart[]): ReturnType<typeof structureOf> {
  const fields: Field[] = parts.map((p) => ({ name: p.name, offset: base + p.offset, size: p.size, value: `${p.size} bytes at ${hex(p.offset)}` }));
  const start = Math.min(...parts.map((p) => p.offset));
  const end = Math.max(...parts.map((p) => p.offset + p.size));
  return structureOf("boot image parts", base + start, end - start, fields);
}

export const androidBootFormat: FormatParser = {
  format: "android-boot",
  probe: isAndroidBoot,
  parse(input, layer): ChildSpec[] {
    const { bytes, base } = input;
    const version = u32(bytes, 40) ?? 0;
    const variant = (["v0", "v1", "v2", "v3", "v4"] as const)[version] ?? "v0";
    const h = readVariant(BOOT_IMAGE_HEADER, variant, bytes, 0, { base });
    layer.structures.push(h.structure);
    const r = h.record;
    const os = decodeOsVersion(r.os_version);
    annotate(h.structure, "os_version", `${os.version ?? "version not set"}, patch level ${os.patchLevel ?? "not set"}`);
    const parts: AndroidPart[] = [];
    const children: ChildSpec[] = [];
    const add = (c: ChildSpec | null): void => {
      if (c) children.push(c);
    };
    let facts: AndroidBootFacts;
    if (h.variant === "v3" || h.variant === "v4") {
      const rv = h.record;
      const page = BOOT_IMAGE_V3_PAGE_SIZE;
      const kernelOffset = page;
      const ramdiskOffset = kernelOffset + pagesOf(rv.kernel_size, page) * page;
      const signatureSize = h.variant === "v4" ? h.record.signature_size : null;
      const signatureOffset = ramdiskOffset + pagesOf(rv.ramdisk_size, page) * page;
      add(placePart(input, parts, "kernel", kernelOffset, rv.kernel_size));
      add(placePart(input, parts, "ramdisk", ramdiskOffset, rv.ramdisk_size));
      add(placePart(input, parts, "boot_signature", signatureOffset, signatureSize ?? 0, "data"));
      if (signatureSize) describeBootSignature(input, layer.structures, signatureOffset, signatureSize);
      annotate(
        h.structure,
        "header_size",
        rv.header_size === 1580 || rv.header_size === 1584 ? "bytes" : "bytes (not sizeof the struct: an older mkbootimg wrote 1596)",
      );
      facts = {
        kind: "android-boot",
        headerVersion: rv.header_version,
        pageSize: page,
        kernelSize: rv.kernel_size,
        kernelAddr: null,
        ramdiskSize: rv.ramdisk_size,
        ramdiskAddr: null,
        secondSize: 0,
        secondAddr: null,
        tagsAddr: null,
        osVersion: os.version,
        osPatchLevel: os.patchLevel,
        name: null,
        cmdline: rv.cmdline,
        extraCmdline: null,
        recoveryDtboSize: 0,
        recoveryDtboOffset: null,
        headerSize: rv.header_size,
        dtbSize: 0,
        dtbAddr: null,
        signatureSize,
        parts,
      };
    } else {
      const rv = h.record;
      const page = rv.page_size;
      if (!validPageSize(page)) input.diagnose("ANDROID_BAD_PAGE_SIZE", "error", `page_size ${page} is not a power of two from 2048 to 65536`, 36);
      const kernelOffset = page;
      const ramdiskOffset = kernelOffset + pagesOf(rv.kernel_size, page) * page;
      const secondOffset = ramdiskOffset + pagesOf(rv.ramdisk_size, page) * page;
      let next = secondOffset + pagesOf(rv.second_size, page) * page;
      add(placePart(input, parts, "kernel", kernelOffset, rv.kernel_size));
      add(placePart(input, parts, "ramdisk", ramdiskOffset, rv.ramdisk_size));
      add(placePart(input, parts, "second", secondOffset, rv.second_size));
      let recoveryDtboSize = 0;
      let recoveryDtboOffset: bigint | null = null;
      let headerSize: number | null = null;
      let dtbSize = 0;
      let dtbAddr: bigint | null = null;
      if (h.variant === "v1" || h.variant === "v2") {
        recoveryDtboSize = h.record.recovery_dtbo_size;
        recoveryDtboOffset = h.record.recovery_dtbo_offset;
        headerSize = h.record.header_size;
        if (recoveryDtboSize > 0) {
          // unpack_bootimg reads it where the header says; mkbootimg puts it right after second.
          if (recoveryDtboOffset !== BigInt(next)) {
            input.diagnose(
              "ANDROID_RECOVERY_DTBO_MISPLACED",
              "warning",
              `recovery_dtbo_offset ${hex(recoveryDtboOffset)} is not where mkbootimg puts it (${hex(next)})`,
              1636,
            );
          }
          const at = recoveryDtboOffset <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(recoveryDtboOffset) : Number.MAX_SAFE_INTEGER;
          add(placePart(input, parts, "recovery_dtbo", at, recoveryDtboSize));
        }
        next += pagesOf(recoveryDtboSize, page) * page;
      }
      if (h.variant === "v2") {
        dtbSize = h.record.dtb_size;
        dtbAddr = h.record.dtb_addr;
        add(placePart(input, parts, "dtb", next, dtbSize, "dtb"));
      }
      facts = {
        kind: "android-boot",
        headerVersion: rv.header_version,
        pageSize: page,
        kernelSize: rv.kernel_size,
        kernelAddr: rv.kernel_addr,
        ramdiskSize: rv.ramdisk_size,
        ramdiskAddr: rv.ramdisk_addr,
        secondSize: rv.second_size,
        secondAddr: rv.second_addr,
        tagsAddr: rv.tags_addr,
        osVersion: os.version,
        osPatchLevel: os.patchLevel,
        name: rv.name,
        cmdline: rv.cmdline,
        extraCmdline: rv.extra_cmdline,
        recoveryDtboSize,
        recoveryDtboOffset,
        headerSize,
        dtbSize,
        dtbAddr,
        signatureSize: null,
        parts,
      };
    }
    input.setFacts(facts);
    if (parts.length > 0) layer.structures.push(partsStructure(base, parts));
    setBootInfo(layer.info, facts);
    layer.title = `Android boot image v${facts.headerVersion} (${facts.pageSize}-byte pages${facts.osVersion === null ? "" : `, Android ${facts.osVersion}`})`;
    return children;
  },
};

function setBootInfo(info: Record<string, JsonValue>, f: AndroidBootFacts): void {
  info.headerVersion = f.headerVersion;
  info.pageSize = f.pageSize;
  info.osVersion = f.osVersion;
  info.osPatchLevel = f.osPatchLevel;
  info.cmdline = f.cmdline;
  if (f.extraCmdline !== null) info.extraCmdline = f.extraCmdline;
  if (f.name !== null) info.name = f.name;
  info.kernelSize = f.kernelSize;
  info.ramdiskSize = f.ramdiskSize;
  if (f.kernelAddr !== null) info.kernelAddr = hex(f.kernelAddr);
  if (f.ramdiskAddr !== null) info.ramdiskAddr = hex(f.ramdiskAddr);
  if (f.tagsAddr !== null) info.tagsAddr = hex(f.tagsAddr);
  if (f.secondAddr !== null) {
    info.secondSize = f.secondSize;
    info.secondAddr = hex(f.secondAddr);
  }
  if (f.recoveryDtboOffset !== null) {
    info.recoveryDtboSize = f.recoveryDtboSize;
    info.recoveryDtboOffset = hex(f.recoveryDtboOffset);
  }
  if (f.dtbAddr !== null) info.dtbSize = f.dtbSize;
  if (f.dtbAddr !== null) info.dtbAddr = hex(f.dtbAddr);
  if (f.headerSize !== null) info.headerSize = f.headerSize;
  if (f.signatureSize !== null) info.signatureSize = f.signatureSize;
}

/** A layer path segment from a vendor ramdisk name: only [A-Za-z0-9._-], never empty. */
function ramdiskSegment(name: string, index: number): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  return safe === "" ? `vendor_ramdisk#${index}` : `vendor_ramdisk.${safe}`;
}

export const androidVendorBootFormat: FormatParser = {
  format: "android-vendor-boot",
  probe: isAndroidVendorBoot,
  parse(input, layer): ChildSpec[] {
    const { bytes, base } = input;
    const h = readVariant(VENDOR_BOOT_IMAGE_HEADER, u32(bytes, 8) === 4 ? "v4" : "v3", bytes, 0, { base });
    layer.structures.push(h.structure);
    const r = h.record;
    const page = r.page_size;
    const parts: AndroidPart[] = [];
    const children: ChildSpec[] = [];
    const add = (c: ChildSpec | null): void => {
      if (c) children.push(c);
    };
    // The header takes ceil(header_size / page_size) pages (vendor_boot v3 headers are over 2 KiB).
    const headerBytes = Math.max(r.header_size, h.layout.size);
    const ramdiskSection = alignUp(headerBytes, page);
    const dtbOffset = ramdiskSection + pagesOf(r.vendor_ramdisk_size, page) * page;
    const tableOffset = dtbOffset + pagesOf(r.dtb_size, page) * page;
    const table: VendorRamdiskEntry[] = [];
    let bootconfigSize = 0;
    if (h.variant === "v4") {
      const v = h.record;
      bootconfigSize = v.bootconfig_size;
      const entrySize = v.vendor_ramdisk_table_entry_size;
      const count = v.vendor_ramdisk_table_entry_num;
      const tableFits = tableOffset + v.vendor_ramdisk_table_size <= bytes.length;
      if (count > MAX_VENDOR_RAMDISK_ENTRIES || entrySize < VENDOR_RAMDISK_TABLE_ENTRY.size || count * entrySize > v.vendor_ramdisk_table_size || !tableFits) {
        input.diagnose(
          "ANDROID_RAMDISK_TABLE_BAD",
          "error",
          `vendor ramdisk table of ${count} entries of ${entrySize} bytes in ${v.vendor_ramdisk_table_size} bytes at ${hex(tableOffset)} cannot be read`,
          2112,
        );
      } else {
        parts.push({ name: "vendor_ramdisk_table", offset: tableOffset, size: v.vendor_ramdisk_table_size });
        for (let i = 0; i < count; i++) {
          const e = readStruct(VENDOR_RAMDISK_TABLE_ENTRY, bytes, tableOffset + i * entrySize, { base, title: `vendor_ramdisk_table_entry_v4[${i}]` });
          layer.structures.push(e.structure);
          const er = e.record;
          const type = VENDOR_RAMDISK_TYPES[er.ramdisk_type] ?? `unknown (${er.ramdisk_type})`;
          annotate(e.structure, "ramdisk_type", type);
          const boardId: number[] = [];
          for (let j = 0; j < 16; j++) boardId.push(u32(er.board_id, j * 4) ?? 0);
          table.push({ name: er.ramdisk_name, type, typeValue: er.ramdisk_type, size: er.ramdisk_size, offset: er.ramdisk_offset, boardId });
          if (er.ramdisk_offset + er.ramdisk_size > r.vendor_ramdisk_size) {
            input.diagnose(
              "ANDROID_PART_OUTSIDE",
              "error",
              `vendor ramdisk "${er.ramdisk_name}" runs past the vendor ramdisk section`,
              tableOffset + i * entrySize,
            );
            continue;
          }
          add(placePart(input, parts, ramdiskSegment(er.ramdisk_name, i), ramdiskSection + er.ramdisk_offset, er.ramdisk_size));
        }
      }
    } else {
      add(placePart(input, parts, "vendor_ramdisk", ramdiskSection, r.vendor_ramdisk_size));
    }
    add(placePart(input, parts, "dtb", dtbOffset, r.dtb_size, "dtb"));
    if (h.variant === "v4") {
      const bootconfigOffset = tableOffset + pagesOf(h.record.vendor_ramdisk_table_size, page) * page;
      add(placePart(input, parts, "bootconfig", bootconfigOffset, bootconfigSize, "text"));
    }
    const facts: AndroidVendorBootFacts = {
      kind: "android-vendor-boot",
      headerVersion: r.header_version,
      pageSize: page,
      kernelAddr: r.kernel_addr,
      ramdiskAddr: r.ramdisk_addr,
      vendorRamdiskSize: r.vendor_ramdisk_size,
      cmdline: r.cmdline,
      tagsAddr: r.tags_addr,
      name: r.name,
      headerSize: r.header_size,
      dtbSize: r.dtb_size,
      dtbAddr: r.dtb_addr,
      ramdiskTable: h.variant === "v4" ? table : null,
      bootconfigSize: h.variant === "v4" ? bootconfigSize : null,
      parts,
    };
    input.setFacts(facts);
    if (parts.length > 0) layer.structures.push(partsStructure(base, parts));
    layer.info.headerVersion = facts.headerVersion;
    layer.info.pageSize = facts.pageSize;
    layer.info.kernelAddr = hex(facts.kernelAddr);
    layer.info.ramdiskAddr = hex(facts.ramdiskAddr);
    layer.info.tagsAddr = hex(facts.tagsAddr);
    layer.info.dtbAddr = hex(facts.dtbAddr);
    layer.info.vendorRamdiskSize = facts.vendorRamdiskSize;
    layer.info.dtbSize = facts.dtbSize;
    layer.info.cmdline = facts.cmdline;
    layer.info.name = facts.name;
    layer.info.headerSize = facts.headerSize;
    if (facts.ramdiskTable) {
      layer.info.vendorRamdisks = facts.ramdiskTable.map((e) => ({
        name: e.name,
        type: e.type,
        size: e.size,
        offset: e.offset,
        boardId: e.boardId.map((b) => hex(b)),
      }));
    }
    if (facts.bootconfigSize !== null) layer.info.bootconfigSize = facts.bootconfigSize;
    layer.title = `Android vendor_boot image v${facts.headerVersion} (${page}-byte pages${facts.ramdiskTable ? `, ${facts.ramdiskTable.length} vendor ramdisk${facts.ramdiskTable.length === 1 ? "" : "s"}` : ""})`;
    return children;
  },
};
