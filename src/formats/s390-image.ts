/**
 * s390 kernel image (arch/s390/boot/bzImage, installed as /boot/vmlinuz): loaded at address 0, so
 * file offsets are addresses. Recognised and named only; planning and extracting it is not
 * supported yet. Source: arch/s390/boot/head.S (the IPL data moved to ipl_data.c in later
 * kernels, unchanged), arch/s390/include/asm/setup.h:
 *
 *   0x00     IPL PSW 0x00080000 0x80000000+iplstart, then two CCWs (read 0x50 bytes to 0x18 and
 *            0x68, flags 0x60 = command chaining + suppress length): what a card-reader or tape
 *            IPL loads first; bytes 0x18-0x4f are discarded, filled with 0x40 (ipl_data.c: the
 *            CCWs and the fill are what identifies an s390 image, as file(1) does)
 *   0x10008  "S390EP", the entry-point table (u8 count at 0x1000f), s390 kernel ABI
 *   0x10400  struct parmarea: ipl_device, initrd_start, initrd_size, oldmem_base, oldmem_size,
 *            kernel_version (a pointer to the decompressor's version string), max_command_line_size
 *   0x10480  command_line
 *
 * The decompressor carries the kernel (vmlinux.bin) as one compressed stream in
 * `.rodata.compressed`, which no header field points at. An xz stream's end is its footer; for
 * the other codecs the payload runs to the Secure Boot trailer (or the end of the file), and a
 * decoder may refuse the padding before it.
 */
import { annotate, cString, defineLayout, hex, readStruct, startsWith, u32 } from "../io/layout.js";
import { findEmbeddedStream } from "./embedded-stream.js";
import type { ChildSpec, FormatParser } from "./types.js";
import { reportUnsupported, unsupportedKernel, unsupportedTitle } from "./unsupported.js";

const KERNEL = unsupportedKernel("s390 kernel image");

export const S390_IPL_HEADER = defineLayout("s390 IPL header", 24, [
  { name: "ipl_psw_mask", offset: 0x00, type: "u32" },
  { name: "ipl_psw_addr", offset: 0x04, type: "u32" },
  { name: "ccw1", offset: 0x08, type: "u64" },
  { name: "ccw2", offset: 0x10, type: "u64" },
] as const);

export const S390_PARMAREA = defineLayout("s390 parmarea", 0x80, [
  { name: "ipl_device", offset: 0x00, type: "u64" },
  { name: "initrd_start", offset: 0x08, type: "u64" },
  { name: "initrd_size", offset: 0x10, type: "u64" },
  { name: "oldmem_base", offset: 0x18, type: "u64" },
  { name: "oldmem_size", offset: 0x20, type: "u64" },
  { name: "kernel_version", offset: 0x28, type: "u64" },
  { name: "max_command_line_size", offset: 0x30, type: "u64" },
] as const);

const IPL_CCW1 = [0x02, 0x00, 0x00, 0x18, 0x60, 0x00, 0x00, 0x50];
const IPL_CCW2 = [0x02, 0x00, 0x00, 0x68, 0x60, 0x00, 0x00, 0x50];
const IPL_FILL = new Array<number>(56).fill(0x40);
const PARMAREA = 0x10400;
const COMMAND_LINE = 0x10480;
/** The command line size before max_command_line_size existed. */
const LEGACY_COMMAND_LINE_SIZE = 896;
const SB_TRAILER_SIZE = 32;
const SB_TRAILER_MAGIC = [0x00, 0x00, 0x00, 0x20, 0x7a, 0x49, 0x50, 0x4c];
const EP_OFFSET = 0x10008;
const EP_STRING = [0x53, 0x33, 0x39, 0x30, 0x45, 0x50]; // "S390EP"

/** The 24 bytes an IPL loads (an ESA/390 PSW in 31-bit mode, the two read CCWs), then the 0x40 fill. */
export function isS390Image(bytes: Uint8Array): boolean {
  return (
    u32(bytes, 0, false) === 0x00080000 &&
    ((u32(bytes, 4, false) ?? 0) & 0x80000000) !== 0 &&
    startsWith(bytes, IPL_CCW1, 8) &&
    startsWith(bytes, IPL_CCW2, 16) &&
    startsWith(bytes, IPL_FILL, 24)
  );
}

export const s390ImageFormat: FormatParser = {
  format: "s390-image",
  kernel: KERNEL,
  probe: isS390Image,
  parse(input, layer): ChildSpec[] {
    const { bytes, base, limits } = input;
    const ipl = readStruct(S390_IPL_HEADER, bytes, 0, { base, littleEndian: false });
    annotate(ipl.structure, "ipl_psw_mask", "IPL PSW mask: ESA/390 format (bit 12)");
    annotate(ipl.structure, "ipl_psw_addr", `31-bit addressing, entry ${hex(ipl.record.ipl_psw_addr & 0x7fffffff)} (iplstart)`);
    annotate(ipl.structure, "ccw1", "read 0x50 bytes to 0x18, command chaining");
    annotate(ipl.structure, "ccw2", "read 0x50 bytes to 0x68, command chaining");
    layer.structures.push(ipl.structure);
    layer.arch = "s390x";
    layer.info.iplEntry = ipl.record.ipl_psw_addr & 0x7fffffff;

    if (startsWith(bytes, EP_STRING, EP_OFFSET)) {
      const count = bytes[EP_OFFSET + 7] ?? 0;
      layer.structures.push({
        name: "s390 entry points",
        offset: base + EP_OFFSET,
        size: 8,
        fields: [
          { name: "ep_string", offset: base + EP_OFFSET, size: 6, value: "S390EP" },
          {
            name: "ep_count",
            offset: base + EP_OFFSET + 7,
            size: 1,
            value: count,
            hex: hex(count),
            meaning: "number of valid entry points (s390 kernel ABI; 0x10010 is the kdump entry)",
          },
        ],
      });
      layer.info.entryPoints = count;
    }

    let kernelVersion: string | null = null;
    if (bytes.length >= PARMAREA + S390_PARMAREA.size) {
      const parm = readStruct(S390_PARMAREA, bytes, PARMAREA, { base, littleEndian: false });
      layer.structures.push(parm.structure);
      const versionPtr = parm.record.kernel_version;
      if (versionPtr > 0n && versionPtr < BigInt(bytes.length)) {
        const text = cString(bytes.subarray(Number(versionPtr)), limits.maxStringBytes);
        if (/^\d+\.\d+/.test(text)) {
          kernelVersion = text;
          annotate(parm.structure, "kernel_version", "pointer to the version string");
          layer.structures.push({
            name: "kernel version string",
            offset: base + Number(versionPtr),
            size: text.length,
            fields: [{ name: "kernel_version", offset: base + Number(versionPtr), size: text.length, value: text }],
          });
        }
      }
      if (kernelVersion === null)
        annotate(parm.structure, "kernel_version", versionPtr === 0n ? "not set (older kernel)" : "does not point at a version string");
      const maxCmdline = Number(parm.record.max_command_line_size);
      const cmdlineSize = Math.min(maxCmdline > 0 ? maxCmdline : LEGACY_COMMAND_LINE_SIZE, limits.maxStringBytes, Math.max(0, bytes.length - COMMAND_LINE));
      const cmdline = cString(bytes.subarray(COMMAND_LINE, COMMAND_LINE + cmdlineSize));
      layer.structures.push({
        name: "s390 command line",
        offset: base + COMMAND_LINE,
        size: cmdlineSize,
        fields: [{ name: "command_line", offset: base + COMMAND_LINE, size: cmdlineSize, value: cmdline }],
      });
      layer.info.commandLine = cmdline;
    }
    const banner = kernelVersion ? { text: kernelVersion, release: kernelVersion.split(" ")[0] ?? "" } : null;
    input.setFacts({ kind: "s390-image", banner });
    if (banner) {
      layer.info.kernelVersion = banner.text;
      layer.info.release = banner.release;
    }

    // arch/s390/boot/vmlinux.lds.S (v5.3+): a page-aligned end with a 32-byte .sb.trailer,
    // three zero quads and 0x20 "zIPL", after the compressed kernel.
    const trailerAt = bytes.length - SB_TRAILER_SIZE;
    const hasTrailer = trailerAt > COMMAND_LINE && startsWith(bytes, SB_TRAILER_MAGIC, bytes.length - 8);
    if (hasTrailer) {
      layer.structures.push({
        name: "secure boot trailer",
        offset: base + trailerAt,
        size: SB_TRAILER_SIZE,
        fields: [{ name: "sb_trailer", offset: base + bytes.length - 8, size: 8, value: "0x000000207a49504c", meaning: 'size 0x20, "zIPL"' }],
      });
      layer.info.secureBootTrailer = true;
    }

    const children: ChildSpec[] = [];
    const payload = findEmbeddedStream(bytes, COMMAND_LINE, hasTrailer ? trailerAt : bytes.length, false);
    if (payload) {
      layer.info.payloadOffset = payload.offset;
      layer.info.payloadSize = payload.length;
      children.push({ name: "payload", offset: payload.offset, length: payload.length, compressed: { contents: "raw-kernel" } });
    } else {
      input.diagnose("S390_PAYLOAD_NOT_FOUND", "warning", "no compressed stream with a valid header found after the parmarea", 0);
    }
    reportUnsupported(input, KERNEL, "its IPL header, parmarea and version, and unpacks its payload for inspection");
    const release = banner ? `, ${banner.release}` : "";
    layer.title = `${unsupportedTitle(KERNEL)}: IPL header${payload ? `, ${payload.codec} payload` : ""}${release}`;
    return children;
  },
};
