/**
 * arm64 Image header. Source: Documentation/arch/arm64/booting.rst, arch/arm64/include/asm/image.h.
 *
 *   u32 code0;       // Executable code (efi_signature_nop: "MZ" pseudo-NOP with EFI)
 *   u32 code1;       // Executable code (b primary_entry)
 *   u64 text_offset; // Image load offset, little endian
 *   u64 image_size;  // Effective Image size, little endian
 *   u64 flags;       // kernel flags, little endian
 *   u64 res2, res3, res4;
 *   u32 magic = 0x644d5241; // "ARM\x64"
 *   u32 res5;        // PE header offset with EFI
 */
import { annotate, defineLayout, hex, readStruct, u32 } from "../io/layout.js";
import { bannerField, findLinuxBanner } from "./banner.js";
import { ARM64_LEGACY_TEXT_OFFSET, arm64Generation, reportGeneration } from "./generations.js";
import { hasPeHeader } from "./pe.js";
import type { ChildSpec, FormatInput, FormatParser } from "./types.js";
import type { Arm64ImageFacts, KernelBanner } from "../model/facts.js";
import type { Layer } from "../model/report.js";

export const ARM64_HEADER = defineLayout("arm64 Image header", 0x40, [
  { name: "code0", offset: 0x00, type: "u32" },
  { name: "code1", offset: 0x04, type: "u32" },
  { name: "text_offset", offset: 0x08, type: "u64" },
  { name: "image_size", offset: 0x10, type: "u64" },
  { name: "flags", offset: 0x18, type: "u64" },
  { name: "res2", offset: 0x20, type: "u64" },
  { name: "res3", offset: 0x28, type: "u64" },
  { name: "res4", offset: 0x30, type: "u64" },
  { name: "magic", offset: 0x38, type: "u32" },
  { name: "res5", offset: 0x3c, type: "u32" },
] as const);

export const ARM64_IMAGE_MAGIC = 0x644d5241;

export const ARM64_PAGE_SIZES: Readonly<Record<number, number | null>> = { 0: null, 1: 4096, 2: 16384, 3: 65536 };

export interface Arm64Flags {
  bigEndian: boolean;
  pageSize: number | null;
  /** Bit 3: 0 = base close to DRAM start, 1 = anywhere in the 48-bit range. */
  placeAnywhere: boolean;
  reservedBits: bigint;
}

export function decodeArm64Flags(flags: bigint): Arm64Flags {
  return {
    bigEndian: (flags & 1n) === 1n,
    pageSize: ARM64_PAGE_SIZES[Number((flags >> 1n) & 3n)] ?? null,
    placeAnywhere: ((flags >> 3n) & 1n) === 1n,
    reservedBits: flags >> 4n,
  };
}

export function describeArm64Flags(f: Arm64Flags): string {
  const page = f.pageSize === null ? "page size unspecified" : `${f.pageSize / 1024}K pages`;
  const placement = f.placeAnywhere ? "2MB-aligned base anywhere in the 48-bit range" : "2MB-aligned base close to the start of DRAM";
  return `${f.bigEndian ? "big-endian" : "little-endian"}, ${page}, ${placement}`;
}

export function isArm64Image(bytes: Uint8Array): boolean {
  return u32(bytes, 0x38) === ARM64_IMAGE_MAGIC;
}

/** The PE view of an Image lives at the same bytes; its header offset is in the header. */
export function peChild(bytes: Uint8Array, peOffsetField: number, input: FormatInput, fieldOffset: number): ChildSpec[] {
  if (peOffsetField === 0) return [];
  if (!hasPeHeader(bytes) || u32(bytes, 0x3c) !== peOffsetField) {
    input.diagnose("IMAGE_PE_OFFSET_INVALID", "warning", `PE header offset ${hex(peOffsetField)} does not point at "PE\\0\\0"`, fieldOffset);
    return [];
  }
  return [{ name: "pe", offset: 0, length: bytes.length, format: "pe" }];
}

/**
 * Finds the "Linux version" banner, shows it (info.linuxVersion, info.release, a structure) and
 * returns it for the layer's facts. Without `searchKernel` only `likelyIn` (where the headers say
 * it is) is looked at: a search through the layer is what kernelContents: false turns off.
 */
export function addBanner(input: FormatInput, layer: Layer, likelyIn?: { offset: number; size: number }): KernelBanner | null {
  const banner = findLinuxBanner(input.bytes, input.limits.maxStringBytes, likelyIn, input.searchKernel);
  if (!banner) return null;
  layer.info.linuxVersion = banner.text;
  layer.info.release = banner.release;
  layer.structures.push({ name: "kernel version string", offset: input.base + banner.offset, size: banner.size, fields: [bannerField(banner, input.base)] });
  return { text: banner.text, release: banner.release };
}

/** The facts of an arm64 Image header (without the banner, which `addBanner` adds); `bytes` is the image. */
export function arm64ImageFacts(r: { text_offset: bigint; image_size: bigint; flags: bigint; res5: number }, bytes: Uint8Array): Arm64ImageFacts {
  const flags = decodeArm64Flags(r.flags);
  return {
    kind: "arm64-image",
    textOffset: r.text_offset,
    imageSize: r.image_size,
    legacyHeader: r.image_size === 0n,
    flags: r.flags,
    bigEndian: flags.bigEndian,
    pageSize: flags.pageSize,
    placeAnywhere: flags.placeAnywhere,
    reservedFlags: flags.reservedBits,
    peOffset: r.res5 || null,
    branchTarget: arm64BranchTarget(bytes),
    banner: null,
  };
}

/** Reads an arm64 Image's header facts from its bytes alone (for a loader that has no layer tree). Throws E_TRUNCATED when the header is cut. */
export function readArm64ImageFacts(bytes: Uint8Array): Arm64ImageFacts {
  return arm64ImageFacts(readStruct(ARM64_HEADER, bytes, 0).record, bytes);
}

export const arm64Format: FormatParser = {
  format: "arm64-image",
  kernel: { bootable: true, planRank: 0, unsupported: null },
  probe: isArm64Image,
  parse(input, layer): ChildSpec[] {
    const h = readStruct(ARM64_HEADER, input.bytes, 0, { base: input.base });
    const r = h.record;
    layer.structures.push(h.structure);
    const facts = arm64ImageFacts(r, input.bytes);
    input.setFacts(facts);
    const flags = decodeArm64Flags(r.flags);
    annotate(h.structure, "magic", '"ARM\\x64"');
    annotate(h.structure, "flags", describeArm64Flags(flags));
    annotate(h.structure, "code0", codeWordMeaning(r.code0));
    annotate(h.structure, "res5", r.res5 ? "PE header offset" : "no PE header (EFI stub not built)");
    if (r.image_size === 0n) {
      annotate(h.structure, "text_offset", "pre-v3.17 header: loaders assume 0x80000");
      input.diagnose("ARM64_IMAGE_SIZE_ZERO", "warning", "image_size is 0 (pre-v3.17 kernel): text_offset is unreliable, loaders assume 0x80000", 0x10);
    }
    if (flags.reservedBits !== 0n) input.diagnose("ARM64_RESERVED_FLAGS", "warning", `reserved flag bits set: ${hex(r.flags)}`, 0x18);
    layer.arch = "arm64";
    layer.info.textOffset = Number(facts.textOffset);
    layer.info.imageSize = Number(facts.imageSize);
    layer.info.bigEndian = facts.bigEndian;
    layer.info.pageSize = facts.pageSize;
    layer.info.placeAnywhere = facts.placeAnywhere;
    layer.info.peOffset = facts.peOffset;
    reportArm64Generation(layer, r, facts);
    facts.banner = addBanner(input, layer);
    layer.title = `arm64 Image (${flags.bigEndian ? "BE" : "LE"}, ${flags.pageSize ? flags.pageSize / 1024 + "K pages" : "page size unspecified"}, image_size ${hex(r.image_size)})`;
    return peChild(input.bytes, r.res5, input, 0x3c);
  },
  finish(input, layer, children) {
    checkImageWhole(input, layer, children, u32(input.bytes, 0x3c) ?? 0, arm64BranchTarget(input.bytes));
  },
};

/** The header generation; a pre-v3.17 header (image_size 0) gets the text_offset loaders assume. */
function reportArm64Generation(
  layer: Layer,
  r: { code0: number; code1: number; text_offset: bigint; image_size: bigint; flags: bigint; res5: number },
  facts: Arm64ImageFacts,
): void {
  reportGeneration(
    layer,
    arm64Generation({ code0: r.code0, code1: r.code1, textOffset: r.text_offset, imageSize: r.image_size, flags: r.flags, peOffset: r.res5 }),
  );
  if (facts.legacyHeader) {
    layer.info.textOffset = ARM64_LEGACY_TEXT_OFFSET;
    layer.info.textOffsetAssumed = true;
  }
}

/** Where the first `b` of the header (code0 or code1: `0x14000000 | imm26`) lands, or null. */
export function arm64BranchTarget(bytes: Uint8Array): number | null {
  for (const at of [0, 4]) {
    const word = u32(bytes, at);
    if (word !== undefined && (word & 0xfc000000) >>> 0 === 0x14000000) return at + (((word & 0x03ffffff) << 6) >> 4);
  }
  return null;
}

/**
 * An Image file cannot be shorter than what it loads. image_size counts BSS, so the file is
 * rightly shorter than that; what it must hold is its PE view, the headers (SizeOfHeaders) and
 * every section's raw data, or without a PE header the code its first branch enters. A file that ends
 * before any of these is a kernel that cannot be whole: KERNEL_TRUNCATED, an error, which
 * unpack, plan and kexec refuse (src/analysis/whole.ts).
 */
export function checkImageWhole(input: FormatInput, layer: Layer, children: Layer[], peOffset: number, branchTarget: number | null): void {
  const needs: Array<[number, string]> = [];
  // With a PE header the sections say what the file holds; a branch past them is a plan check, not truncation.
  if (peOffset === 0 && branchTarget !== null && branchTarget >= 0)
    needs.push([branchTarget + 4, `the entry code at ${hex(branchTarget)} that the header branches to`]);
  const pe = children.find((c) => c.format === "pe")?.pe;
  if (peOffset !== 0) {
    needs.push([peOffset + 24, `the PE header at ${hex(peOffset)}`]);
    if (pe) {
      needs.push([pe.sizeOfHeaders, "SizeOfHeaders"]);
      for (const s of pe.sections) if (s.sizeOfRawData > 0) needs.push([s.pointerToRawData + s.sizeOfRawData, `section ${s.name}'s raw data`]);
    }
  }
  const fileBytes = input.bytes.length;
  const [needed, what] = needs.reduce((a, b) => (b[0] > a[0] ? b : a), [0, ""] as [number, string]);
  if (needed <= fileBytes) return;
  layer.info.neededBytes = needed;
  input.diagnose(
    "KERNEL_TRUNCATED",
    "error",
    `the image ends at ${hex(fileBytes)} but ${what} reaches ${hex(needed)}: a kernel that cannot be whole`,
    fileBytes,
  );
}

function codeWordMeaning(word: number): string {
  if (word === 0xfa405a4d) return 'ccmp x18, #0, #0xd, pl ("MZ" pseudo-NOP, EFI stub)';
  if (word === 0x91005a4d) return 'add x13, x18, #0x16 ("MZ" pseudo-NOP, older kernels)';
  if (word === 0xd503201f) return "nop (no EFI stub)";
  return "code";
}
