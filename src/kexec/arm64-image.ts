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
import { readStruct } from "../io/layout.js";
import { ARM64_HEADER, ARM64_IMAGE_MAGIC, decodeArm64Flags } from "../formats/arm64.js";
import { arm64KernelNeeds, type Arm64KernelNeeds } from "../boot/placement/arm64.js";

export const ARM64_MAGIC = ARM64_IMAGE_MAGIC;
export const ARM64_HEADER_SIZE = ARM64_HEADER.size;
/** Image sizes beyond this are not kernels (the largest distribution Images are ~60 MiB). */
export const ARM64_MAX_IMAGE_BYTES = 1024 * 1024 * 1024;

export interface Arm64LoadInfo {
  textOffset: number;
  /** Bytes from the load address the kernel may use, BSS included (16 MiB or the file, if larger, when image_size is 0). */
  imageSize: number;
  flags: number;
  bigEndian: boolean;
  /** Page size the kernel was built for, or null when the header leaves it unspecified. */
  pageSize: number | null;
  /** true when image_size was 0 (pre-3.17 header) and the loader assumed the legacy values. */
  legacyHeader: boolean;
  /** The same facts as the placement model's input (boot/placement/arm64.ts). */
  needs: Arm64KernelNeeds;
}

/** The load facts of an arm64 Image, read with the core's header layout (formats/arm64.ts). */
export function readArm64LoadInfo(image: Uint8Array): Arm64LoadInfo {
  const structure = "arm64 Image header";
  const { record: h } = readStruct(ARM64_HEADER, image, 0);
  if (h.magic !== ARM64_IMAGE_MAGIC) {
    throw new KimgError(ErrorCode.BAD_MAGIC, `not an arm64 Image: magic at 0x38 is 0x${h.magic.toString(16)}, not "ARM\\x64"`, {
      structure,
      offset: 0x38,
      expected: ARM64_IMAGE_MAGIC,
      actual: h.magic,
    });
  }
  const max = BigInt(ARM64_MAX_IMAGE_BYTES);
  if (h.text_offset > max || h.image_size > max) {
    throw new KimgError(
      ErrorCode.LIMIT,
      `text_offset 0x${h.text_offset.toString(16)} / image_size 0x${h.image_size.toString(16)} exceed ${ARM64_MAX_IMAGE_BYTES} bytes`,
      { structure, offset: 0x08 },
    );
  }
  const flags = decodeArm64Flags(h.flags);
  // The pre-v3.17 defaults (text_offset 0x80000, 16 MiB) come from the placement model, as in `kimg plan`.
  const needs = arm64KernelNeeds({ textOffset: Number(h.text_offset), imageSize: Number(h.image_size), fileSize: image.length });
  return {
    textOffset: needs.textOffset,
    imageSize: needs.memorySize,
    flags: Number(h.flags & 0xffffffffn),
    bigEndian: flags.bigEndian,
    pageSize: flags.pageSize,
    legacyHeader: needs.legacyHeader,
    needs,
  };
}
