/**
 * EFI zboot: the generic compressed EFI kernel of arm64, RISC-V and LoongArch (v6.1+).
 * Source: drivers/firmware/efi/libstub/zboot-header.S, Makefile.zboot. See docs/formats.md §1.
 *
 *   .Ldoshdr: .long MZ_MAGIC
 *             .ascii "zimg"                           // image type
 *             .long __efistub__gzdata_start - .Ldoshdr // payload offset
 *             .long __efistub__gzdata_size - ZBOOT_SIZE_LEN // payload size
 *             .long 0, 0                              // reserved
 *             .asciz COMP_TYPE                        // compression type
 *             .org .Ldoshdr + 0x38
 *             .long LINUX_PE_MAGIC
 *             .long .Lpehdr - .Ldoshdr                // PE header offset
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { annotate, defineLayout, hex, readStruct, startsWith, u32 } from "../io/layout.js";
import type { CodecName } from "../codecs/types.js";
import { factsOf, type LayerFacts, type ZbootFacts, type ZbootSizeRule, type ZbootTrailer } from "../model/facts.js";
import type { Layer } from "../model/report.js";
import { reportGeneration, zbootGeneration } from "./generations.js";
import { MACHINE_ARCH, MACHINE_NAMES, peMachine } from "./pe.js";
import type { ChildSpec, CompressedHint, FormatParser } from "./types.js";

export const ZBOOT_HEADER = defineLayout("zboot header", 0x40, [
  { name: "mz_magic", offset: 0x00, type: "u32" },
  { name: "image_type", offset: 0x04, type: "ascii", size: 4 },
  { name: "payload_offset", offset: 0x08, type: "u32" },
  { name: "payload_size", offset: 0x0c, type: "u32" },
  { name: "reserved0", offset: 0x10, type: "u32" },
  { name: "reserved1", offset: 0x14, type: "u32" },
  { name: "comp_type", offset: 0x18, type: "cstr", size: 32 },
  { name: "linux_pe_magic", offset: 0x38, type: "u32" },
  { name: "pe_header_offset", offset: 0x3c, type: "u32" },
] as const);

export const LINUX_PE_MAGIC = 0x818223cd;
const ZIMG = [0x7a, 0x69, 0x6d, 0x67];

/** zboot codec ids as Makefile.zboot writes them, and the codec they name. */
export const ZBOOT_CODECS: Readonly<Record<string, CodecName>> = {
  gzip: "gzip",
  lz4: "lz4",
  lzma: "lzma",
  lzo: "lzo",
  xzkern: "xz",
  zstd22: "zstd",
  zstd: "zstd",
};

export type { ZbootSizeRule } from "../model/facts.js";

export function isZboot(bytes: Uint8Array): boolean {
  return bytes[0] === 0x4d && bytes[1] === 0x5a && startsWith(bytes, ZIMG, 4);
}

export const zbootFormat: FormatParser = {
  format: "zboot",
  probe: isZboot,
  parse(input, layer): ChildSpec[] {
    const { bytes, base } = input;
    const h = readStruct(ZBOOT_HEADER, bytes, 0, { base });
    const r = h.record;
    layer.structures.push(h.structure);
    annotate(h.structure, "mz_magic", '"MZ"');

    const compNul = bytes.subarray(0x18, 0x38).indexOf(0);
    if (compNul === -1) {
      input.diagnose("ZBOOT_COMP_TYPE_UNTERMINATED", "error", "comp_type has no NUL within 0x18..0x37", 0x18);
    }
    const declared = r.comp_type;
    const codec = ZBOOT_CODECS[declared];
    annotate(h.structure, "comp_type", codec ? `codec ${codec}` : "unknown codec id");
    if (!codec) input.diagnose("ZBOOT_UNKNOWN_CODEC", "error", `unknown compression type "${declared}"`, 0x18);

    const magicKnown = r.linux_pe_magic === LINUX_PE_MAGIC;
    annotate(h.structure, "linux_pe_magic", magicKnown ? "LINUX_PE_MAGIC (v6.2+)" : r.linux_pe_magic === 0 ? "zero: v6.1 layout" : "unexpected value");
    if (!magicKnown && r.linux_pe_magic !== 0) {
      input.diagnose("ZBOOT_BAD_PE_MAGIC", "warning", `0x38 holds ${hex(r.linux_pe_magic)}, neither LINUX_PE_MAGIC nor 0`, 0x38);
    }

    const machine = peMachine(bytes);
    layer.arch = machine === undefined ? null : (MACHINE_ARCH[machine] ?? null);
    if (machine === undefined) input.diagnose("ZBOOT_NO_PE", "warning", "no PE header at pe_header_offset", 0x3c);
    // Checked in 64-bit-safe doubles so offset + size cannot wrap as it does in u32 C code.
    const end = r.payload_offset + r.payload_size;
    // What follows the stream tells the kernel generation (Makefile.zboot history).
    const after4 = u32(bytes, end);
    const trailer12 = [u32(bytes, end), u32(bytes, end + 4), u32(bytes, end + 8)];
    const isize = u32(bytes, end - 4);
    const rule = guessSizeRule(r.linux_pe_magic, trailer12);
    const facts: ZbootFacts = {
      kind: "zboot",
      compType: declared,
      codec: (codec as ZbootFacts["codec"] | undefined) ?? null,
      payloadOffset: r.payload_offset,
      payloadSize: r.payload_size,
      linuxPeMagic: r.linux_pe_magic,
      machine: machine ?? null,
      trailer: readTrailer(rule, codec, trailer12, after4, isize),
      sizeRuleGuess: rule,
      sizeRule: null,
    };
    input.setFacts(facts);
    layer.info.imageType = "zimg";
    layer.info.compType = facts.compType;
    layer.info.codec = facts.codec;
    layer.info.payloadOffset = facts.payloadOffset;
    layer.info.payloadSize = facts.payloadSize;
    layer.info.machine = facts.machine === null ? null : (MACHINE_NAMES[facts.machine] ?? hex(facts.machine));
    layer.title = `EFI zboot image (${layer.arch ?? "unknown arch"}, ${declared || "no codec"})`;

    const children: ChildSpec[] = [];
    if (machine !== undefined) children.push({ name: "pe", offset: 0, length: bytes.length, format: "pe" });

    if (r.payload_offset === 0 || r.payload_size === 0 || end > bytes.length || r.payload_offset < 0x40) {
      throw new KimgError(
        ErrorCode.BAD_OFFSET,
        `payload [0x${r.payload_offset.toString(16)}, +0x${r.payload_size.toString(16)}) is not inside the ${bytes.length}-byte file`,
        { structure: "zboot header", offset: base + 0x08, actual: end, expected: bytes.length },
      );
    }

    layer.info.sizeRuleGuess = rule;
    let expectedSize: number | undefined;
    let expectedSizeSource: string | undefined;
    if (codec === "gzip") {
      expectedSize = isize;
      expectedSizeSource = "gzip ISIZE";
    } else if (rule !== "v6.2-v6.3" && after4 !== undefined) {
      expectedSize = after4;
      expectedSizeSource = `le32 after the stream at ${hex(base + end)}`;
    } else if (rule === "v6.2-v6.3") {
      expectedSize = trailer12[2];
      expectedSizeSource = "SizeOfImage in the 12-byte trailer (an upper bound)";
    }
    const trailerFields = [];
    const t = facts.trailer;
    if (t?.kind === "pe-sizes") {
      trailerFields.push(
        {
          name: "SizeOfHeaders",
          offset: base + end,
          size: 4,
          value: t.sizeOfHeaders,
          hex: hex(t.sizeOfHeaders),
          meaning: "v6.2-v6.3 trailer: copied from the Image's PE header",
        },
        { name: "SizeOfCode", offset: base + end + 4, size: 4, value: t.sizeOfCode, hex: hex(t.sizeOfCode) },
        { name: "SizeOfImage", offset: base + end + 8, size: 4, value: t.sizeOfImage, hex: hex(t.sizeOfImage) },
      );
    } else if (t?.kind === "gzip-isize") {
      trailerFields.push({
        name: "gzip_isize",
        offset: base + end - 4,
        size: 4,
        value: t.size,
        hex: hex(t.size),
        meaning: "gzip ISIZE: the last 4 bytes of the stream, no trailer after it",
      });
    } else if (t?.kind === "size-le32") {
      trailerFields.push({
        name: "size_le32",
        offset: base + end,
        size: 4,
        value: t.size,
        hex: hex(t.size),
        meaning: "uncompressed size appended by *_with_size",
      });
    }
    const first = trailerFields[0];
    if (first) layer.structures.push({ name: "payload size trailer", offset: first.offset, size: trailerFields.length * 4, fields: trailerFields });

    const hint: CompressedHint = { declaredCodec: declared };
    if (expectedSize !== undefined) {
      hint.expectedSize = expectedSize;
      if (expectedSizeSource) hint.expectedSizeSource = expectedSizeSource;
    }
    children.push({ name: "payload", offset: r.payload_offset, length: r.payload_size, compressed: hint });
    return children;
  },
  finish(input, layer, children) {
    checkSizeRule(input, layer, children);
    reportZbootGeneration(input, layer, children);
  },
};

/** The trailer after the payload, as the guessed rule and the codec say to read it. */
function readTrailer(
  rule: ZbootSizeRule,
  codec: string | undefined,
  trailer12: Array<number | undefined>,
  after4: number | undefined,
  isize: number | undefined,
): ZbootTrailer | null {
  if (rule === "v6.2-v6.3") {
    const [soh, soc, soi] = trailer12;
    return { kind: "pe-sizes", sizeOfHeaders: soh ?? 0, sizeOfCode: soc ?? 0, sizeOfImage: soi ?? 0 };
  }
  if (codec === "gzip" && isize !== undefined) return { kind: "gzip-isize", size: isize };
  if (after4 !== undefined) return { kind: "size-le32", size: after4 };
  return null;
}

/** `image_size` (arm64, RISC-V) or `kernel_asize` (LoongArch) of an inner kernel image, or null. */
function innerImageSize(facts: LayerFacts | undefined): number | null {
  if (facts?.kind === "arm64-image" || facts?.kind === "riscv-image" || facts?.kind === "loongarch-image") return Number(facts.imageSize);
  return null;
}

/** A first guess from the header alone; `checkSizeRule` settles it after decompression. */
function guessSizeRule(linuxPeMagic: number, trailer12: Array<number | undefined>): ZbootSizeRule {
  if (linuxPeMagic === 0) return "v6.1";
  if (looksLikeV62Trailer(trailer12)) return "v6.2-v6.3";
  return "v6.4+";
}

function looksLikeV62Trailer(t: Array<number | undefined>): boolean {
  const [soh, soc, soi] = t;
  if (soh === undefined || soc === undefined || soi === undefined) return false;
  return soh > 0 && soh <= 0x100000 && soh % 0x200 === 0 && soc > 0 && soc < soi && soi % 0x1000 === 0 && soi < 0x40000000;
}

type FinishInput = Parameters<NonNullable<FormatParser["finish"]>>[0];

/** After decompression: which trailer rule the real output length matches. */
function checkSizeRule(input: FinishInput, layer: Layer, children: Layer[]): void {
  const zboot = factsOf(input.facts, layer.path, "zboot");
  const payload = children.find((c) => c.path.endsWith("/payload"));
  const inner = payload?.children[0];
  const stream = payload ? factsOf(input.facts, payload.path, "compressed") : undefined;
  const decompressed = stream?.decompressedSize ?? null;
  if (!zboot || !payload || decompressed === null) return;
  const expected = stream?.expectedSize ?? null;
  const innerSize = inner ? innerImageSize(input.facts.get(inner.path)) : null;
  const t = zboot.trailer?.kind === "pe-sizes" ? zboot.trailer : null;
  const innerPe = inner?.children.find((c) => c.format === "pe")?.pe;
  let rule: ZbootSizeRule | null = null;
  if (zboot.sizeRuleGuess === "v6.1") rule = expected === decompressed || zboot.codec === "gzip" ? "v6.1" : null;
  else if (innerPe && t && t.sizeOfImage === innerPe.sizeOfImage && t.sizeOfHeaders === innerPe.sizeOfHeaders) rule = "v6.2-v6.3";
  else if (innerSize !== null && innerSize === decompressed) rule = "v6.4+";
  else if (expected === decompressed) rule = "v6.4+";
  zboot.sizeRule = rule;
  layer.info.sizeRule = rule;
  if (rule) {
    if (rule === "v6.4+" && innerSize !== null && innerSize !== decompressed) {
      input.diagnose("ZBOOT_SIZE_MISMATCH", "warning", `decompressed ${decompressed} bytes but the inner image_size is ${innerSize}`);
    }
  } else {
    input.diagnose(
      "ZBOOT_SIZE_RULE_UNKNOWN",
      "warning",
      `decompressed ${decompressed} bytes, which matches no known trailer rule (declared ${String(expected)}, inner image_size ${String(innerSize)})`,
    );
  }
}

/**
 * The kernel generation from every clue the image gives: LINUX_PE_MAGIC, the trailer rule, BSS
 * padding, the codec id, the stub's NX_COMPAT and a `.sbat` section (docs/formats.md §1).
 */
function reportZbootGeneration(input: FinishInput, layer: Layer, children: Layer[]): void {
  const zboot = factsOf(input.facts, layer.path, "zboot");
  const pe = children.find((c) => c.format === "pe")?.pe;
  const payload = children.find((c) => c.path.endsWith("/payload"));
  const decompressed = payload ? (factsOf(input.facts, payload.path, "compressed")?.decompressedSize ?? null) : null;
  const inner = payload?.children[0];
  const innerSize = inner ? innerImageSize(input.facts.get(inner.path)) : null;
  const padded = decompressed !== null && innerSize !== null && decompressed <= innerSize ? decompressed === innerSize : null;
  const g = zbootGeneration({
    linuxPeMagic: zboot?.linuxPeMagic === LINUX_PE_MAGIC,
    sizeRule: zboot?.sizeRule ?? null,
    padded,
    compType: zboot?.compType ?? "",
    nxCompat: pe ? pe.nxCompat : null,
    sbat: pe?.sections.some((s) => s.name === ".sbat") ?? false,
  });
  reportGeneration(layer, g);
  if (g.inconsistent)
    input.diagnose("ZBOOT_GENERATION_INCONSISTENT", "info", `the header's clues name no single kernel generation: ${g.clues.map((c) => c.text).join("; ")}`);
}
