/**
 * The few arm64 Image header fields a loader needs. Source: Documentation/arch/arm64/booting.rst.
 *
 *   u32 code0;  u32 code1;
 *   u64 text_offset;   // @0x08 Image load offset, little endian
 *   u64 image_size;    // @0x10 Effective Image size, little endian
 *   u64 flags;         // @0x18 bit 0: big-endian; bits 1-2: page size; bit 3: placement
 *   u64 res2, res3, res4;
 *   u32 magic;         // @0x38 0x644d5241 "ARM\x64"
 *   u32 res5;
 */
import { ErrorCode, KimgError } from "../io/errors.js";

export const ARM64_MAGIC = 0x644d5241;
export const ARM64_HEADER_SIZE = 0x40;
/** booting.rst: "If image_size is zero, a bootloader should ... assume text_offset 0x80000". */
const LEGACY_TEXT_OFFSET = 0x80000;
/** Image sizes beyond this are not kernels (the largest distribution Images are ~60 MiB). */
export const ARM64_MAX_IMAGE_BYTES = 1024 * 1024 * 1024;

export interface Arm64LoadInfo {
  textOffset: number;
  /** Bytes from the load address the kernel may use, BSS included. */
  imageSize: number;
  flags: number;
  bigEndian: boolean;
  /** Page size the kernel was built for, or null when the header leaves it unspecified. */
  pageSize: number | null;
  /** true when image_size was 0 (pre-3.17 header) and the loader assumed the legacy values. */
  legacyHeader: boolean;
}

export function readArm64LoadInfo(image: Uint8Array): Arm64LoadInfo {
  const structure = "arm64 Image header";
  if (image.length < ARM64_HEADER_SIZE) {
    throw new KimgError(ErrorCode.TRUNCATED, `${structure} needs ${ARM64_HEADER_SIZE} bytes, ${image.length} given`, { structure, offset: 0 });
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const magic = view.getUint32(0x38, true);
  if (magic !== ARM64_MAGIC) {
    throw new KimgError(ErrorCode.BAD_MAGIC, `not an arm64 Image: magic at 0x38 is 0x${magic.toString(16)}, not "ARM\\x64"`, { structure, offset: 0x38, expected: ARM64_MAGIC, actual: magic });
  }
  const textOffset = view.getBigUint64(0x08, true);
  const imageSize = view.getBigUint64(0x10, true);
  const flags = view.getBigUint64(0x18, true);
  const max = BigInt(ARM64_MAX_IMAGE_BYTES);
  if (textOffset > max || imageSize > max) {
    throw new KimgError(ErrorCode.LIMIT, `text_offset 0x${textOffset.toString(16)} / image_size 0x${imageSize.toString(16)} exceed ${ARM64_MAX_IMAGE_BYTES} bytes`, { structure, offset: 0x08 });
  }
  const legacyHeader = imageSize === 0n;
  const pageBits = Number((flags >> 1n) & 3n);
  return {
    textOffset: legacyHeader ? LEGACY_TEXT_OFFSET : Number(textOffset),
    imageSize: legacyHeader ? image.length : Number(imageSize),
    flags: Number(flags & 0xffffffffn),
    bigEndian: (flags & 1n) === 1n,
    pageSize: pageBits === 0 ? null : [0, 4096, 16384, 65536][pageBits] ?? null,
    legacyHeader,
  };
}
