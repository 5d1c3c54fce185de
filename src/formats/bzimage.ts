/**
 * x86 bzImage: the real-mode setup header. Source: Documentation/arch/x86/boot.rst,
 * arch/x86/include/uapi/asm/bootparam.h (struct setup_header). Offsets are from the file start.
 */
import { annotate, defineLayout, hex, printable, readStruct, u16, u32 } from "../io/layout.js";
import { crc32 as portableCrc32 } from "../codecs/checksums.js";
import type { Layer, PeInfo, Structure } from "../model/report.js";
import { SETUP_FIELD_PROTOCOL, bzImageGeneration, protocolName, reportGeneration, type BzImageClues } from "./generations.js";
import { flagNames, hasPeHeader } from "./pe.js";
import type { ChildSpec, FormatParser } from "./types.js";
import type { BzImageFacts } from "../model/facts.js";

export const SETUP_HEADER = defineLayout("setup header", 0x26c, [
  { name: "setup_sects", offset: 0x1f1, type: "u8" },
  { name: "root_flags", offset: 0x1f2, type: "u16" },
  { name: "syssize", offset: 0x1f4, type: "u32" },
  { name: "ram_size", offset: 0x1f8, type: "u16" },
  { name: "vid_mode", offset: 0x1fa, type: "u16" },
  { name: "root_dev", offset: 0x1fc, type: "u16" },
  { name: "boot_flag", offset: 0x1fe, type: "u16" },
  { name: "jump", offset: 0x200, type: "u16" },
  { name: "header", offset: 0x202, type: "ascii", size: 4 },
  { name: "version", offset: 0x206, type: "u16" },
  { name: "realmode_swtch", offset: 0x208, type: "u32" },
  { name: "start_sys_seg", offset: 0x20c, type: "u16" },
  { name: "kernel_version", offset: 0x20e, type: "u16" },
  { name: "type_of_loader", offset: 0x210, type: "u8" },
  { name: "loadflags", offset: 0x211, type: "u8" },
  { name: "setup_move_size", offset: 0x212, type: "u16" },
  { name: "code32_start", offset: 0x214, type: "u32" },
  { name: "ramdisk_image", offset: 0x218, type: "u32" },
  { name: "ramdisk_size", offset: 0x21c, type: "u32" },
  { name: "bootsect_kludge", offset: 0x220, type: "u32" },
  { name: "heap_end_ptr", offset: 0x224, type: "u16" },
  { name: "ext_loader_ver", offset: 0x226, type: "u8" },
  { name: "ext_loader_type", offset: 0x227, type: "u8" },
  { name: "cmd_line_ptr", offset: 0x228, type: "u32" },
  { name: "initrd_addr_max", offset: 0x22c, type: "u32" },
  { name: "kernel_alignment", offset: 0x230, type: "u32" },
  { name: "relocatable_kernel", offset: 0x234, type: "u8" },
  { name: "min_alignment", offset: 0x235, type: "u8" },
  { name: "xloadflags", offset: 0x236, type: "u16" },
  { name: "cmdline_size", offset: 0x238, type: "u32" },
  { name: "hardware_subarch", offset: 0x23c, type: "u32" },
  { name: "hardware_subarch_data", offset: 0x240, type: "u64" },
  { name: "payload_offset", offset: 0x248, type: "u32" },
  { name: "payload_length", offset: 0x24c, type: "u32" },
  { name: "setup_data", offset: 0x250, type: "u64" },
  { name: "pref_address", offset: 0x258, type: "u64" },
  { name: "init_size", offset: 0x260, type: "u32" },
  { name: "handover_offset", offset: 0x264, type: "u32" },
  { name: "kernel_info_offset", offset: 0x268, type: "u32" },
] as const);

const LOADFLAGS: ReadonlyArray<[number, string]> = [
  [0x01, "LOADED_HIGH"],
  [0x02, "KASLR_FLAG"],
  [0x20, "QUIET_FLAG"],
  [0x40, "KEEP_SEGMENTS"],
  [0x80, "CAN_USE_HEAP"],
];

export const XLOADFLAGS: ReadonlyArray<[number, string]> = [
  [0x01, "XLF_KERNEL_64"],
  [0x02, "XLF_CAN_BE_LOADED_ABOVE_4G"],
  [0x04, "XLF_EFI_HANDOVER_32"],
  [0x08, "XLF_EFI_HANDOVER_64"],
  [0x10, "XLF_EFI_KEXEC"],
  [0x20, "XLF_5LEVEL"],
  [0x40, "XLF_5LEVEL_ENABLED"],
  [0x80, "XLF_MEM_ENCRYPTION"],
];

export const HDRS = 0x53726448;
const KERNEL_INFO_MAGIC = 0x506f544c; // "LToP"

export function isBzImage(bytes: Uint8Array): boolean {
  return u16(bytes, 0x1fe) === 0xaa55 && u32(bytes, 0x202) === HDRS;
}

/** Real-mode part size: (setup_sects, or 4 when 0) + 1 sectors; the protected-mode kernel follows. */
export function protectedModeOffset(setupSects: number): number {
  return ((setupSects === 0 ? 4 : setupSects) + 1) * 512;
}

/** The boot protocol version as boot.rst writes it: 0x20f is "2.15". */
export function protocolText(protocol: number): string {
  return `${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, "0")}`;
}

export const bzImageFormat: FormatParser = {
  format: "bzimage",
  kernel: { bootable: true, planRank: 3, unsupported: null },
  probe: isBzImage,
  parse(input, layer): ChildSpec[] {
    const { bytes, base } = input;
    const h = readStruct(SETUP_HEADER, bytes, 0, { base });
    const r = h.record;
    // The layout is a window at 0x1f1; drop the bytes before it from the structure's range.
    h.structure.offset = base + 0x1f1;
    h.structure.size = 0x26c - 0x1f1;
    const protocol = r.version;
    layer.structures.push(h.structure);
    annotate(h.structure, "header", '"HdrS"');
    annotate(h.structure, "boot_flag", "0xAA55");
    annotate(h.structure, "version", `boot protocol ${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, "0")}`);
    annotate(h.structure, "loadflags", flagNames(r.loadflags, LOADFLAGS).join(" | ") || "none");
    const xflags = flagNames(r.xloadflags, XLOADFLAGS);
    if (protocol >= 0x20c) annotate(h.structure, "xloadflags", xflags.join(" | ") || "none");
    annotate(
      h.structure,
      "setup_sects",
      `real-mode setup is ${protectedModeOffset(r.setup_sects) / 512} sectors; protected-mode kernel at ${hex(protectedModeOffset(r.setup_sects))}`,
    );
    annotate(h.structure, "relocatable_kernel", r.relocatable_kernel ? "relocatable" : "not relocatable");
    markFieldsByProtocol(h.structure, protocol);
    if (protocol < 0x204) annotate(h.structure, "syssize", "before boot protocol 2.04 only the low two bytes are usable");

    const is64 = protocol >= 0x20c && (r.xloadflags & 1) === 1;
    layer.arch = is64 ? "x86_64" : "x86";
    const facts: BzImageFacts = {
      kind: "bzimage",
      protocol,
      setupSects: r.setup_sects,
      protectedModeOffset: protectedModeOffset(r.setup_sects),
      kernelAlignment: protocol >= 0x205 ? r.kernel_alignment : null,
      relocatable: protocol >= 0x205 ? r.relocatable_kernel !== 0 : null,
      xloadflags: protocol >= 0x20c ? r.xloadflags : 0,
      xloadflagNames: protocol >= 0x20c ? xflags : [],
      cmdlineSize: protocol >= 0x206 ? r.cmdline_size : 255,
      prefAddress: protocol >= 0x20a ? BigInt(r.pref_address) : null,
      initSize: protocol >= 0x20a ? r.init_size : null,
      handoverOffset: protocol >= 0x20b && r.handover_offset ? r.handover_offset : null,
      kernelVersion: null,
      release: null,
      setupTypeMax: null,
      payload: null,
    };
    input.setFacts(facts);
    layer.info.protocol = protocolText(protocol);
    layer.info.setupSects = facts.setupSects;
    layer.info.protectedModeOffset = facts.protectedModeOffset;
    layer.info.kernelAlignment = facts.kernelAlignment;
    layer.info.relocatable = facts.relocatable;
    layer.info.xloadflags = [...facts.xloadflagNames];
    layer.info.cmdlineSize = facts.cmdlineSize;
    layer.info.prefAddress = facts.prefAddress === null ? null : hex(facts.prefAddress);
    layer.info.initSize = facts.initSize;
    layer.info.handoverOffset = facts.handoverOffset;

    if (protocol >= 0x200 && r.kernel_version !== 0) {
      const at = 0x200 + r.kernel_version;
      if (at < bytes.length) {
        let end = at;
        const limit = Math.min(bytes.length, at + input.limits.maxStringBytes);
        while (end < limit && bytes[end] !== 0) end++;
        const text = printable(bytes.subarray(at, end));
        facts.kernelVersion = text;
        facts.release = text.split(" ")[0] ?? null;
        layer.info.kernelVersion = facts.kernelVersion;
        layer.info.release = facts.release;
        layer.structures.push({
          name: "kernel version string",
          offset: base + at,
          size: end - at,
          fields: [{ name: "kernel_version", offset: base + at, size: end - at, value: text }],
        });
      } else {
        input.diagnose("BZIMAGE_VERSION_OUTSIDE", "warning", `kernel_version points to ${hex(at)}, outside the file`, 0x20e);
      }
    }

    if (protocol >= 0x20f && r.kernel_info_offset) {
      const pm = protectedModeOffset(r.setup_sects);
      const at = pm + r.kernel_info_offset;
      const magic = u32(bytes, at);
      const size = u32(bytes, at + 4);
      const total = u32(bytes, at + 8);
      const setupTypeMax = u32(bytes, at + 12);
      if (magic === KERNEL_INFO_MAGIC) {
        layer.structures.push({
          name: "kernel_info",
          offset: base + at,
          size: 16,
          fields: [
            { name: "header", offset: base + at, size: 4, value: '"LToP"' },
            { name: "size", offset: base + at + 4, size: 4, value: size ?? 0 },
            { name: "size_total", offset: base + at + 8, size: 4, value: total ?? 0 },
            { name: "setup_type_max", offset: base + at + 12, size: 4, value: setupTypeMax ?? 0 },
          ],
        });
        facts.setupTypeMax = setupTypeMax ?? null;
        layer.info.setupTypeMax = facts.setupTypeMax;
      } else {
        input.diagnose("BZIMAGE_KERNEL_INFO_BAD", "warning", `kernel_info at ${hex(at)} lacks "LToP"`, at);
      }
    }

    const children: ChildSpec[] = [];
    if (hasPeHeader(bytes)) children.push({ name: "pe", offset: 0, length: bytes.length, format: "pe" });
    if (protocol >= 0x208 && r.payload_length === 0) {
      // Every bzImage since boot protocol 2.08 carries its compressed vmlinux: without it the file is not a kernel.
      input.diagnose("BZIMAGE_NO_PAYLOAD", "error", "payload_length is 0: no compressed kernel in this bzImage", 0x24c);
    }
    if (protocol >= 0x208 && r.payload_length > 0) {
      const at = protectedModeOffset(r.setup_sects) + r.payload_offset;
      if (at + r.payload_length > bytes.length) {
        input.diagnose("BZIMAGE_PAYLOAD_OUTSIDE", "error", `payload [${hex(at)}, +${hex(r.payload_length)}) runs past the end of the file`, 0x248);
      } else {
        // mkpiggy: the payload's last 4 bytes are the decompressed length (gzip ISIZE or size_append).
        const isGzip = bytes[at] === 0x1f && (bytes[at + 1] === 0x8b || bytes[at + 1] === 0x9e);
        const length = isGzip ? r.payload_length : Math.max(0, r.payload_length - 4);
        const expected = u32(bytes, at + r.payload_length - 4);
        facts.payload = { offset: at, length: r.payload_length };
        layer.info.payloadOffset = at;
        layer.info.payloadLength = r.payload_length;
        children.push({
          name: "payload",
          offset: at,
          length,
          compressed: expected === undefined ? {} : { expectedSize: expected, expectedSizeSource: "le32 at the end of the payload (mkpiggy)" },
        });
      }
    }
    reportGeneration(layer, bzImageGeneration(headerClues(bytes, protocol, layer)));
    layer.title = `x86 bzImage (boot protocol ${protocolText(protocol)}${facts.release ? ", " + facts.release : ""})`;
    return children;
  },
  finish(input, layer, children) {
    reportBootCrc(input, layer, children);
  },
};

const LINUX_PE_MAGIC = 0x818223cd;

function headerClues(bytes: Uint8Array, protocol: number, layer: Layer): BzImageClues {
  const efiStub = hasPeHeader(bytes);
  return { protocol, efiStub, linuxPeMagic: efiStub && u32(bytes, 0x38) === LINUX_PE_MAGIC, kernelInfo: layer.info.setupTypeMax !== undefined };
}

/**
 * Fields newer than the image's boot protocol are not part of its header (those bytes are setup
 * code or data): they stay listed, at their offsets, with no value and a note saying so.
 */
function markFieldsByProtocol(structure: Structure, protocol: number): void {
  for (const f of structure.fields) {
    const since = SETUP_FIELD_PROTOCOL[f.name];
    if (since === undefined || since <= protocol) continue;
    f.value = null;
    delete f.hex;
    f.meaning = `not present: a boot protocol ${protocolName(since)}+ field, and this image is ${protocolName(protocol)}`;
  }
}

/**
 * The boot-protocol CRC-32 (2.08+; arch/x86/boot/tools/build.c): the reflected CRC-32 register,
 * started at 0xffffffff and not inverted, over the file up to its last 4 bytes, which hold it.
 * v6.15 dropped it (9c54baab4401) and leaves those 4 bytes zero (e471a86a8c52). Signing (sbsign,
 * pesign) sets CheckSum and the certificate entry and appends the certificate table, so a signed
 * image no longer matches: "not applicable: signed", with the state of the image as built.
 */
function reportBootCrc(input: Parameters<NonNullable<FormatParser["finish"]>>[0], layer: Layer, children: Layer[]): void {
  const { bytes, base } = input;
  const crc32 = input.crc32 ?? portableCrc32;
  const version = u16(bytes, 0x206) ?? 0;
  const pe = children.find((c) => c.format === "pe")?.pe;
  let state: string;
  let crc: BzImageClues["crc"] = null;
  if (version < 0x208) state = `not applicable: boot protocol ${protocolName(version)} (the CRC-32 came with 2.08)`;
  else if (!input.reportDetails) state = "not checked (reportDetails: false)";
  else if (pe?.certificateTable) {
    const asBuilt = unsignedCrcState(bytes, base, pe, crc32);
    if (asBuilt === "matches") crc = "present";
    if (asBuilt === "absent") crc = "zero";
    const how =
      asBuilt === null
        ? ""
        : asBuilt === "matches"
          ? "; the image as built, without them, matches"
          : asBuilt === "absent"
            ? `; the image as built ends in 4 zero bytes: ${CRC_ABSENT}`
            : "; the image as built, without them, does not match either";
    state = `not applicable: signed (signing set CheckSum and the certificate entry and appended the certificate table)${how}`;
  } else if (bytes.length < 0x400 + 4) state = "not applicable: file too short";
  else {
    const at = bytes.length - 4;
    const stored = u32(bytes, at) ?? 0;
    const computed = ~crc32(bytes.subarray(0, at)) >>> 0;
    state = stored === computed ? "matches" : stored === 0 ? `absent: ${CRC_ABSENT}` : "does not match";
    crc = stored === computed ? "present" : stored === 0 ? "zero" : null;
    layer.structures.push({
      name: "boot protocol CRC-32",
      offset: base + at,
      size: 4,
      fields: [
        {
          name: "crc32",
          offset: base + at,
          size: 4,
          value: stored,
          hex: hex(stored),
          meaning: stored === computed ? "matches the file" : stored === 0 ? "zero: no CRC-32 (v6.15+)" : `the file's CRC-32 is ${hex(computed)}`,
        },
      ],
    });
    if (state === "does not match") {
      input.diagnose(
        "BZIMAGE_CRC_MISMATCH",
        "warning",
        `the boot-protocol CRC-32 at the end of the file is ${hex(stored)}, the file's is ${hex(computed)}: changed after the build, or data appended`,
        at,
      );
    }
  }
  layer.info.crc32 = state;
  if (crc) reportGeneration(layer, bzImageGeneration({ ...headerClues(bytes, version, layer), crc }));
}

const CRC_ABSENT = "kernels from v6.15 no longer append the CRC-32 and leave these 4 bytes zero (9c54baab4401, e471a86a8c52)";

/**
 * The CRC-32 of a signed image as it was before signing: CheckSum and the certificate entry back
 * to 0, the file cut where the certificate table (and up to 7 bytes of alignment padding) starts.
 * Null when the PE fields are not where this needs them.
 */
function unsignedCrcState(
  bytes: Uint8Array,
  base: number,
  pe: PeInfo,
  crc32: (data: Uint8Array, initial?: number) => number,
): "matches" | "absent" | "does not match" | null {
  const table = pe.certificateTable;
  if (!table) return null;
  const checkSum = pe.checkSumOffset - base;
  const entry = table.entryOffset - base;
  if (!(checkSum + 4 <= entry && table.offset <= bytes.length && entry + 8 <= table.offset - 4)) return null;
  let head = crc32(bytes.subarray(0, checkSum));
  head = crc32(new Uint8Array(4), head);
  head = crc32(bytes.subarray(checkSum + 4, entry), head);
  head = crc32(new Uint8Array(8), head);
  // Where the image as built ended: at the table, or up to 7 zero bytes of padding before it.
  let first = table.offset;
  while (first > table.offset - 7 && first - 1 - 4 >= entry + 8 && bytes[first - 1] === 0) first--;
  // One pass over the file to the first candidate's CRC, then a few bytes more for each next one.
  let crc = crc32(bytes.subarray(entry + 8, first - 4), head);
  for (let end = first; end <= table.offset; end++) {
    if (end > first) crc = crc32(bytes.subarray(end - 5, end - 4), crc);
    if (~crc >>> 0 === u32(bytes, end - 4)) return "matches";
  }
  return u32(bytes, table.offset - 4) === 0 ? "absent" : "does not match";
}
