/**
 * 32-bit Arm zImage: the decompressor (arch/arm/boot/compressed/head.S) with the compressed
 * arch/arm/boot/Image linked in as `.piggydata` (piggy.S: between `input_data` and
 * `input_data_end`, compressed by the Makefile's piggy_data rule: gzip, lzo, lzma, xz, lz4, each
 * ending in the Image's size as a little-endian u32). Booted as it is by the Arm boot protocol
 * (analysis/plan/arm.ts). Source: head.S, vmlinux.lds.S, arch/arm/include/asm/image.h:
 *
 *   u32 code[9];               // nops or the EFI stub's "MZ"; then a branch
 *   u32 magic;                 // 0x24: 0x016f2818
 *   u32 start;                 // 0x28: absolute load/run address (0: position independent)
 *   u32 end;                   // 0x2c: _edata, the end of the zImage
 *   u32 endian;                // 0x30: 0x04030201 as the kernel stores it (0x01020304 read on BE8)
 *   u32 magic2;                // 0x34: 0x45454545: the extension table follows
 *   u32 extension_tag_offset;  // 0x38: tags { u32 size in words, u32 tag, ... }, ending in size 0
 *
 * Loaders read every word little-endian: a BE8 kernel stores them byte-swapped (ZIMAGE_MAGIC) so
 * that they read the same, except the endianness word, which tells the two apart. The "KLSZ" tag
 * holds size_ptr, the offset of the word after `.piggydata` that gives the Image's size (for gzip
 * that is the stream's own ISIZE; the other codecs append it after the stream).
 */
import { annotate, defineLayout, hex, readStruct, u32 } from "../io/layout.js";
import { findEmbeddedStream } from "./embedded-stream.js";
import { hasPeHeader } from "./pe.js";
import type { CodecName } from "../codecs/types.js";
import type { ChildSpec, FormatInput, FormatParser } from "./types.js";
import type { ArmZImageFacts } from "../model/facts.js";
import type { Field, Layer } from "../model/report.js";

export const ARM_ZIMAGE_HEADER = defineLayout("Arm zImage header", 0x3c, [
  { name: "code0", offset: 0x00, type: "u32" },
  { name: "magic", offset: 0x24, type: "u32" },
  { name: "start", offset: 0x28, type: "u32" },
  { name: "end", offset: 0x2c, type: "u32" },
  { name: "endian", offset: 0x30, type: "u32" },
  { name: "magic2", offset: 0x34, type: "u32" },
  { name: "extension_tag_offset", offset: 0x38, type: "u32" },
] as const);

export const ARM_ZIMAGE_MAGIC = 0x016f2818;
const ARM_ZIMAGE_MAGIC2 = 0x45454545;
/** "KLSZ": kernel size tag. */
const ZIMAGE_TAG_KRNL_SIZE = 0x5a534c4b;
/** The KLSZ tag's words after its header, with the info keys they are reported under (text_offset and malloc_size only in some kernels). */
const KRNL_SIZE_FIELDS = [
  ["size_ptr", "sizePtr"],
  ["bss_size", "bssSize"],
  ["text_offset", "textOffset"],
  ["malloc_size", "mallocSize"],
] as const;
/** Tags read from the extension table before giving up on it. */
const MAX_TAGS = 16;

export function isArmZImage(bytes: Uint8Array): boolean {
  return u32(bytes, 0x24) === ARM_ZIMAGE_MAGIC;
}

export const armZImageFormat: FormatParser = {
  format: "arm-zimage",
  // Booted as it is: the decompressor is the entry (Documentation/arch/arm/booting.rst, section 6).
  kernel: { bootable: true, planRank: 5, unsupported: null },
  probe: isArmZImage,
  parse(input, layer): ChildSpec[] {
    const { bytes, base } = input;
    const h = readStruct(ARM_ZIMAGE_HEADER, bytes, 0, { base });
    const r = h.record;
    layer.structures.push(h.structure);
    layer.arch = "arm";
    const efi = hasPeHeader(bytes);
    annotate(h.structure, "code0", efi ? '"MZ" (EFI stub: the zImage is also a PE/COFF image)' : "code");
    annotate(h.structure, "magic", "zImage magic");
    annotate(h.structure, "start", r.start === 0 ? "0: position independent" : "absolute load address");
    const endian = r.endian === 0x04030201 ? "little-endian" : r.endian === 0x01020304 ? "big-endian (BE8)" : null;
    const hasTable = r.magic2 === ARM_ZIMAGE_MAGIC2;
    annotate(h.structure, "endian", endian ?? (hasTable ? "not an endianness word" : "no endianness word (older kernel)"));
    if (endian === null && hasTable) {
      // Kernels with the extension table (v5.9+) always have the word: a damaged or hand-made header.
      input.diagnose("ZIMAGE_BAD_ENDIAN", "warning", `the endianness word is ${hex(r.endian)}, neither 0x04030201 (little-endian) nor 0x01020304 (BE8)`, 0x30);
    }
    annotate(h.structure, "magic2", hasTable ? "extension table present" : "absent (older kernel)");
    layer.info.start = r.start;
    layer.info.end = r.end;
    layer.info.bigEndian = endian === null ? null : endian !== "little-endian";
    layer.info.efiStub = efi;
    if (r.end < r.start) {
      input.diagnose("ZIMAGE_TRUNCATED", "warning", `the header's end ${hex(r.end)} lies before its start ${hex(r.start)}`, 0x2c);
    } else if (r.end - r.start > bytes.length) {
      input.diagnose("ZIMAGE_TRUNCATED", "error", `the header says the zImage is ${hex(r.end - r.start)} bytes; ${hex(bytes.length)} are present`, 0x2c);
    }

    const tag = hasTable ? readKernelSizeTag(input, layer, r.extension_tag_offset) : null;
    const sizePtr = tag?.sizePtr ?? null;
    const children: ChildSpec[] = efi ? [{ name: "pe", offset: 0, length: bytes.length, format: "pe" }] : [];
    const tableInside = hasTable && r.extension_tag_offset >= 0x40 && r.extension_tag_offset < bytes.length;
    const payload = findPayload(bytes, tableInside ? r.extension_tag_offset : 0x40, sizePtr, r.end > r.start ? r.end - r.start : bytes.length);
    const declaredSize = payload?.size.expectedSize ?? (payload ? declaredSizeAfter(bytes, payload) : null);
    const facts: ArmZImageFacts = {
      kind: "arm-zimage",
      start: r.start,
      end: r.end,
      endianWord: r.endian,
      endianness: endian === null ? null : endian === "little-endian" ? "little" : "big",
      extensionTable: hasTable,
      sizePtr,
      bssSize: tag?.bssSize ?? null,
      efiStub: efi,
      payload: payload ? { offset: payload.offset, length: payload.length, codec: payload.codec } : null,
      declaredSize,
    };
    input.setFacts(facts);
    if (payload) {
      layer.info.payloadOffset = payload.offset;
      layer.info.payloadSize = payload.length;
      layer.info.payloadCodec = payload.codec;
      if (declaredSize !== null) layer.info.declaredSize = declaredSize;
      children.push({ name: "payload", offset: payload.offset, length: payload.length, compressed: { contents: "raw-kernel", ...payload.size } });
    } else {
      input.diagnose("ZIMAGE_PAYLOAD_NOT_FOUND", "error", "no compressed stream with a valid header found in the zImage", 0);
    }
    const codec = payload ? `, ${payload.codec} payload` : "";
    layer.title = `32-bit Arm zImage: ${endian ?? "endianness unknown"}${efi ? ", EFI stub" : ""}${codec}`;
    return children;
  },
};

/** Walks the extension table; returns the KLSZ tag's size_ptr and bss_size. */
function readKernelSizeTag(input: FormatInput, layer: Layer, at: number): { sizePtr: number | null; bssSize: number | null } | null {
  const { bytes, base } = input;
  for (let n = 0; n < MAX_TAGS; n++) {
    const words = u32(bytes, at);
    const tag = u32(bytes, at + 4);
    if (words === undefined || words === 0 || tag === undefined) return null;
    if (words < 2 || at + words * 4 > bytes.length) {
      input.diagnose("ZIMAGE_BAD_TAG", "warning", `extension tag of ${words} words at ${hex(base + at)} runs past the data`, at);
      return null;
    }
    if (tag === ZIMAGE_TAG_KRNL_SIZE) {
      const fields: Field[] = [
        { name: "size", offset: base + at, size: 4, value: words, hex: hex(words), meaning: "words, header included" },
        { name: "tag", offset: base + at + 4, size: 4, value: tag, hex: hex(tag), meaning: '"KLSZ": kernel sizes' },
      ];
      KRNL_SIZE_FIELDS.slice(0, words - 2).forEach(([name, key], i) => {
        const v = u32(bytes, at + 8 + i * 4) ?? 0;
        fields.push({ name, offset: base + at + 8 + i * 4, size: 4, value: v, hex: hex(v) });
        layer.info[key] = v;
      });
      layer.structures.push({ name: "zImage kernel size tag", offset: base + at, size: words * 4, fields });
      return { sizePtr: u32(bytes, at + 8) ?? null, bssSize: words >= 4 ? (u32(bytes, at + 12) ?? null) : null };
    }
    at += words * 4;
  }
  return null;
}

interface Payload {
  codec: CodecName;
  offset: number;
  length: number;
  size: { expectedSize?: number; expectedSizeSource?: string };
  end: "container" | "xz footer" | "size_ptr";
}

/** The compressed Image: between the extension table and size_ptr when the KLSZ tag gives it. */
function findPayload(bytes: Uint8Array, from: number, sizePtr: number | null, end: number): Payload | null {
  if (sizePtr !== null && sizePtr > from && sizePtr + 4 <= bytes.length) {
    // gzip's ISIZE is the stream's own last word; the other codecs append the size after it.
    const found = findEmbeddedStream(bytes, from, sizePtr, true);
    if (!found) return null;
    const length = found.codec === "gzip" ? sizePtr + 4 - found.offset : found.length;
    const size = u32(bytes, sizePtr) ?? 0;
    return {
      codec: found.codec,
      offset: found.offset,
      length,
      size: { expectedSize: size, expectedSizeSource: "the word at size_ptr (KLSZ tag)" },
      end: "size_ptr",
    };
  }
  const found = findEmbeddedStream(bytes, from, Math.min(end, bytes.length), false);
  return found ? { codec: found.codec, offset: found.offset, length: found.length, size: {}, end: found.end } : null;
}

/**
 * Without the KLSZ tag: the size word piggy.S's `input_data_end` ends on. gzip's is its own ISIZE
 * (the stream's last 4 bytes); the other codecs' size_append follows the stream, when the stream's
 * end is known (xz by its footer).
 */
function declaredSizeAfter(bytes: Uint8Array, payload: Payload): number | null {
  const at = payload.codec === "gzip" ? payload.offset + payload.length - 4 : payload.offset + payload.length;
  return payload.end === "xz footer" || payload.codec === "gzip" ? (u32(bytes, at) ?? null) : null;
}
