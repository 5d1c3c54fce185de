/**
 * RISC-V Image header. Source: Documentation/arch/riscv/boot-image-header.rst,
 * arch/riscv/include/asm/image.h.
 *
 *   u32 code0;       // Executable code ("MZ" = c.li s4,-13 with EFI)
 *   u32 code1;       // Executable code (j _start_kernel at offset 2)
 *   u64 text_offset; // Image load offset, little endian
 *   u64 image_size;  // Effective Image size, little endian
 *   u64 flags;       // kernel flags, little endian
 *   u32 version;     // Version of this header
 *   u32 res1 = 0;
 *   u64 res2 = 0;
 *   u64 magic = 0x5643534952; // "RISCV\0\0\0", deprecated
 *   u32 magic2 = 0x56534905;  // "RSC\x05"
 *   u32 res3;        // PE/COFF header offset
 */
import { annotate, defineLayout, hex, readStruct, startsWith, u16, u32 } from "../io/layout.js";
import { peMachine, MACHINE_ARCH } from "./pe.js";
import { addBanner, checkImageWhole, peChild } from "./arm64.js";
import { reportGeneration, riscvGeneration } from "./generations.js";
import type { ChildSpec, FormatParser } from "./types.js";
import type { RiscvImageFacts } from "../model/facts.js";

export const RISCV_HEADER = defineLayout("RISC-V Image header", 0x40, [
  { name: "code0", offset: 0x00, type: "u32" },
  { name: "code1", offset: 0x04, type: "u32" },
  { name: "text_offset", offset: 0x08, type: "u64" },
  { name: "image_size", offset: 0x10, type: "u64" },
  { name: "flags", offset: 0x18, type: "u64" },
  { name: "version", offset: 0x20, type: "u32" },
  { name: "res1", offset: 0x24, type: "u32" },
  { name: "res2", offset: 0x28, type: "u64" },
  { name: "magic", offset: 0x30, type: "ascii", size: 8 },
  { name: "magic2", offset: 0x38, type: "u32" },
  { name: "res3", offset: 0x3c, type: "u32" },
] as const);

export const RISCV_IMAGE_MAGIC2 = 0x05435352;
const RISCV_MAGIC = [0x52, 0x49, 0x53, 0x43, 0x56, 0, 0, 0];

export function isRiscvImage(bytes: Uint8Array): boolean {
  return u32(bytes, 0x38) === RISCV_IMAGE_MAGIC2 || startsWith(bytes, RISCV_MAGIC, 0x30);
}

export const riscvFormat: FormatParser = {
  format: "riscv-image",
  kernel: { bootable: true, planRank: 1, unsupported: null },
  probe: isRiscvImage,
  parse(input, layer): ChildSpec[] {
    const h = readStruct(RISCV_HEADER, input.bytes, 0, { base: input.base });
    const r = h.record;
    layer.structures.push(h.structure);
    const major = r.version >>> 16;
    const minor = r.version & 0xffff;
    annotate(h.structure, "version", `${major}.${minor}`);
    annotate(
      h.structure,
      "magic2",
      r.magic2 === RISCV_IMAGE_MAGIC2 ? '"RSC\\x05"' : r.version < 2 ? "absent: header 0.1 had res3 here (magic2 came with 0.2)" : "missing",
    );
    annotate(h.structure, "magic", r.magic.startsWith("RISCV") ? '"RISCV" (deprecated since 0.2)' : "absent");
    annotate(h.structure, "flags", (r.flags & 1n) === 1n ? "big-endian" : "little-endian");
    annotate(h.structure, "res3", r.res3 ? "PE header offset" : "no PE header");
    if (r.version >= 2 && r.magic2 !== RISCV_IMAGE_MAGIC2) {
      input.diagnose("RISCV_MAGIC2_MISSING", "warning", 'version >= 0.2 requires magic2 "RSC\\x05"', 0x38);
    }
    if (r.image_size === 0n) input.diagnose("RISCV_IMAGE_SIZE_ZERO", "error", "image_size is 0; loaders reject such images", 0x10);
    // The PE machine says rv32 or rv64; without it, text_offset (the PMD size) does.
    const machine = peMachine(input.bytes);
    layer.arch = (machine !== undefined ? MACHINE_ARCH[machine] : undefined) ?? (r.text_offset === 0x400000n ? "riscv32" : "riscv64");
    const facts: RiscvImageFacts = {
      kind: "riscv-image",
      textOffset: r.text_offset,
      imageSize: r.image_size,
      flags: r.flags,
      bigEndian: (r.flags & 1n) === 1n,
      version: { major, minor },
      peOffset: r.res3 || null,
      xlen: layer.arch === "riscv32" ? 32 : 64,
      banner: null,
    };
    input.setFacts(facts);
    layer.info.textOffset = Number(facts.textOffset);
    layer.info.imageSize = Number(facts.imageSize);
    layer.info.bigEndian = facts.bigEndian;
    layer.info.version = `${major}.${minor}`;
    layer.info.peOffset = facts.peOffset;
    reportGeneration(
      layer,
      riscvGeneration({ version: r.version, hasMagic: r.magic.startsWith("RISCV"), hasMagic2: r.magic2 === RISCV_IMAGE_MAGIC2, res3At0x38: r.magic2 }),
    );
    facts.banner = addBanner(input, layer);
    layer.title = `RISC-V Image (${layer.arch}, header ${major}.${minor}, image_size ${hex(r.image_size)})`;
    return peChild(input.bytes, r.res3, input, 0x3c);
  },
  finish(input, layer, children) {
    checkImageWhole(input, layer, children, u32(input.bytes, 0x3c) ?? 0, riscvBranchTarget(input.bytes));
  },
};

/** Where `j _start_kernel` (JAL x0: opcode 0x6f) lands: at +2 after the "MZ" c.li with EFI, else at +0. */
function riscvBranchTarget(bytes: Uint8Array): number | null {
  const at = u16(bytes, 0) === 0x5a4d ? 2 : 0;
  const w = u32(bytes, at);
  if (w === undefined || (w & 0xfff) !== 0x06f) return null;
  const imm = ((w >> 31) << 20) | (((w >> 12) & 0xff) << 12) | (((w >> 20) & 1) << 11) | (((w >> 21) & 0x3ff) << 1);
  return at + imm;
}
