/**
 * Legacy U-Boot image (uImage), as `mkimage -T kernel|ramdisk|multi|...` writes it.
 * Source: U-Boot include/image.h (the header and the IH_* tables), boot/image.c (the names,
 * image_check_hcrc, image_multi_getimg):
 *
 *   #define IH_MAGIC  0x27051956  // Image Magic Number
 *   #define IH_NMLEN  32          // Image Name Length
 *   // Legacy format image header, all data in network byte order (aka natural aka bigendian).
 *   typedef struct image_header {
 *       uint32_t ih_magic;         // Image Header Magic Number
 *       uint32_t ih_hcrc;          // Image Header CRC Checksum
 *       uint32_t ih_time;          // Image Creation Timestamp
 *       uint32_t ih_size;          // Image Data Size
 *       uint32_t ih_load;          // Data  Load  Address
 *       uint32_t ih_ep;            // Entry Point Address
 *       uint32_t ih_dcrc;          // Image Data CRC Checksum
 *       uint8_t  ih_os;            // Operating System
 *       uint8_t  ih_arch;          // CPU architecture
 *       uint8_t  ih_type;          // Image Type
 *       uint8_t  ih_comp;          // Compression Type
 *       uint8_t  ih_name[IH_NMLEN]; // Image Name
 *   } image_header_t;              // (struct legacy_img_hdr in U-Boot 2023.04+)
 *
 * ih_hcrc is the CRC-32 (zlib's) of the 64 header bytes with ih_hcrc zeroed; ih_dcrc the CRC-32 of
 * the ih_size data bytes after the header. "Multi-File Images start with a list of image sizes,
 * each [...] an uint32_t in network byte order. This list is terminated by an (uint32_t)0.
 * Immediately after the terminating 0 follow the images, one by one, all aligned on uint32_t
 * boundaries (size rounded up to a multiple of 4 bytes - except for the last file)." bootm
 * decompresses the first part (the kernel) with ih_comp; the other parts are loaded as they are.
 */
import { crc32 } from "../codecs/checksums.js";
import type { CodecName } from "../codecs/types.js";
import { annotate, defineLayout, hex, readStruct, startsWith, u32 } from "../io/layout.js";
import { factsOf, type UImageFacts, type UImagePart } from "../model/facts.js";
import type { ChildSpec, FormatParser } from "./types.js";

export const UIMAGE_HEADER = defineLayout("uImage header", 64, [
  { name: "ih_magic", offset: 0x00, type: "u32" },
  { name: "ih_hcrc", offset: 0x04, type: "u32" },
  { name: "ih_time", offset: 0x08, type: "u32" },
  { name: "ih_size", offset: 0x0c, type: "u32" },
  { name: "ih_load", offset: 0x10, type: "u32" },
  { name: "ih_ep", offset: 0x14, type: "u32" },
  { name: "ih_dcrc", offset: 0x18, type: "u32" },
  { name: "ih_os", offset: 0x1c, type: "u8" },
  { name: "ih_arch", offset: 0x1d, type: "u8" },
  { name: "ih_type", offset: 0x1e, type: "u8" },
  { name: "ih_comp", offset: 0x1f, type: "u8" },
  { name: "ih_name", offset: 0x20, type: "cstr", size: 32 },
] as const);

export const IH_MAGIC = 0x27051956;
const HEADER_SIZE = 64;
const IH_OS_LINUX = 5;
const IH_ARCH_ARM64 = 22;
const IH_TYPE_MULTI = 4;
const IH_TYPE_SCRIPT = 6;
/** Parts read from a multi-file image's size table before giving up on it (U-Boot has no limit; real images have 2-3). */
export const MAX_UIMAGE_PARTS = 64;

/** [short name, long name] by IH_OS_* value (include/image.h order; long names as boot/image.c prints them). */
// biome-ignore format: one entry per enum value, in the header's order
export const IH_OS: ReadonlyArray<readonly [string, string]> = [
  ["invalid", "Invalid OS"], ["openbsd", "OpenBSD"], ["netbsd", "NetBSD"], ["freebsd", "FreeBSD"], ["4_4bsd", "4_4BSD"],
  ["linux", "Linux"], ["svr4", "SVR4"], ["esix", "Esix"], ["solaris", "Solaris"], ["irix", "Irix"], ["sco", "SCO"],
  ["dell", "Dell"], ["ncr", "NCR"], ["lynxos", "LynxOS"], ["vxworks", "VxWorks"], ["psos", "pSOS"], ["qnx", "QNX"],
  ["u-boot", "U-Boot"], ["rtems", "RTEMS"], ["artos", "ARTOS"], ["unity", "Unity OS"], ["integrity", "INTEGRITY"],
  ["ose", "Enea OSE"], ["plan9", "Plan 9"], ["openrtos", "OpenRTOS"], ["arm-trusted-firmware", "ARM Trusted Firmware"],
  ["tee", "Trusted Execution Environment"], ["opensbi", "RISC-V OpenSBI"], ["efi", "EFI Firmware"],
];

/** [short name, long name] by IH_ARCH_* value. */
// biome-ignore format: one entry per enum value, in the header's order
export const IH_ARCH: ReadonlyArray<readonly [string, string]> = [
  ["invalid", "Invalid ARCH"], ["alpha", "Alpha"], ["arm", "ARM"], ["x86", "Intel x86"], ["ia64", "IA64"],
  ["mips", "MIPS"], ["mips64", "MIPS 64 Bit"], ["powerpc", "PowerPC"], ["s390", "IBM S390"], ["sh", "SuperH"],
  ["sparc", "SPARC"], ["sparc64", "SPARC 64 Bit"], ["m68k", "M68K"], ["nios", "NIOS"], ["microblaze", "MicroBlaze"],
  ["nios2", "NIOS II"], ["blackfin", "Blackfin"], ["avr32", "AVR32"], ["st200", "ST200"], ["sandbox", "Sandbox"],
  ["nds32", "NDS32"], ["or1k", "OpenRISC 1000"], ["arm64", "AArch64"], ["arc", "ARC"], ["x86_64", "AMD x86_64"],
  ["xtensa", "Xtensa"], ["riscv", "RISC-V"],
];

/** [short name, long name] by IH_TYPE_* value. */
// biome-ignore format: one entry per enum value, in the header's order
export const IH_TYPE: ReadonlyArray<readonly [string, string]> = [
  ["invalid", "Invalid Image"], ["standalone", "Standalone Program"], ["kernel", "Kernel Image"], ["ramdisk", "RAMDisk Image"],
  ["multi", "Multi-File Image"], ["firmware", "Firmware"], ["script", "Script"], ["filesystem", "Filesystem Image"],
  ["flat_dt", "Flat Device Tree"], ["kwbimage", "Kirkwood Boot Image"], ["imximage", "Freescale i.MX Boot Image"],
  ["ublimage", "Davinci UBL image"], ["omapimage", "TI OMAP SPL With GP CH"], ["aisimage", "Davinci AIS image"],
  ["kernel_noload", "Kernel Image (no loading done)"], ["pblimage", "Freescale PBL Boot Image"],
  ["mxsimage", "Freescale MXS Boot Image"], ["gpimage", "TI Keystone SPL Image"], ["atmelimage", "ATMEL ROM-Boot Image"],
  ["socfpgaimage", "Altera SoCFPGA CV/AV preloader"], ["x86_setup", "x86 setup.bin"], ["lpc32xximage", "LPC32XX Boot Image"],
  ["loadable", "Loadable"], ["rkimage", "Rockchip Boot Image"], ["rksd", "Rockchip SD Boot Image"],
  ["rkspi", "Rockchip SPI Boot Image"], ["zynqimage", "Xilinx Zynq Boot Image"], ["zynqmpimage", "Xilinx ZynqMP Boot Image"],
  ["zynqmpbif", "Xilinx ZynqMP Boot Image (bif)"], ["fpga", "FPGA Image"], ["vybridimage", "Vybrid Boot Image"],
  ["tee", "Trusted Execution Environment Image"], ["firmware_ivt", "Firmware with HABv4 IVT"],
  ["pmmc", "TI Power Management Micro-Controller Firmware"], ["stm32image", "STMicroelectronics STM32 Image"],
  ["socfpgaimage_v1", "Altera SoCFPGA A10 preloader"], ["mtk_image", "MediaTek BootROM loadable Image"],
  ["imx8mimage", "NXP i.MX8M Boot Image"], ["imx8image", "NXP i.MX8 Boot Image"], ["copro", "Coprocessor Image"],
  ["sunxi_egon", "Allwinner eGON Boot Image"], ["sunxi_toc0", "Allwinner TOC0 Boot Image"],
  ["fdt_legacy", "legacy Image with Flat Device Tree"], ["spkgimage", "Renesas SPKG Image"], ["sfspl", "StarFive SPL Image"],
];

/** [short name, long name, codec] by IH_COMP_* value. */
export const IH_COMP: ReadonlyArray<readonly [string, string, CodecName | null]> = [
  ["none", "uncompressed", null],
  ["gzip", "gzip compressed", "gzip"],
  ["bzip2", "bzip2 compressed", "bzip2"],
  ["lzma", "lzma compressed", "lzma"],
  ["lzo", "lzo compressed", "lzo"],
  ["lz4", "lz4 compressed", "lz4"],
  ["zstd", "zstd compressed", "zstd"],
];

/** The kimg architecture name of an IH_ARCH value, where kimg has one. */
const KIMG_ARCH: Readonly<Record<number, string>> = { 2: "arm", 3: "x86", 8: "s390", 22: "arm64", 24: "x86_64", 26: "riscv" };

function nameIn(table: ReadonlyArray<readonly [string, string, ...unknown[]]>, value: number): { short: string | null; long: string } {
  const e = table[value];
  return e ? { short: e[0], long: e[1] } : { short: null, long: `unknown (${value})` };
}

/** CRC-32 of the header with ih_hcrc taken as zero (image_check_hcrc). */
export function uimageHeaderCrc(header: Uint8Array): number {
  const copy = header.slice(0, HEADER_SIZE);
  copy.fill(0, 4, 8);
  return crc32(copy);
}

/** The magic, then either a matching header CRC or values that name entries of U-Boot's tables (a header with one byte damaged is still read, and diagnosed). */
export function isUImage(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER_SIZE || u32(bytes, 0, false) !== IH_MAGIC) return false;
  if (uimageHeaderCrc(bytes) === u32(bytes, 4, false)) return true;
  const [os, arch, type, comp] = [bytes[0x1c] ?? 0xff, bytes[0x1d] ?? 0xff, bytes[0x1e] ?? 0xff, bytes[0x1f] ?? 0xff];
  return os < IH_OS.length && arch < IH_ARCH.length && type < IH_TYPE.length && comp < IH_COMP.length;
}

/** The size table of a multi-file image and where each part lies in the data (image_multi_getimg), bounded by the data. */
function readParts(data: Uint8Array): { parts: UImagePart[]; problem: string | null } {
  const sizes: number[] = [];
  for (let i = 0; ; i++) {
    const size = u32(data, i * 4, false);
    if (size === undefined) return { parts: [], problem: `the size table has no terminating 0 within the ${data.length} data bytes` };
    if (size === 0) break;
    if (sizes.length === MAX_UIMAGE_PARTS) return { parts: [], problem: `the size table lists more than MAX_UIMAGE_PARTS (${MAX_UIMAGE_PARTS}) parts` };
    sizes.push(size);
  }
  const parts: UImagePart[] = [];
  let offset = (sizes.length + 1) * 4;
  for (const [index, size] of sizes.entries()) {
    if (offset + size > data.length) {
      return { parts, problem: `part ${index} (${size} bytes at data offset ${hex(offset)}) runs past the ${data.length} data bytes` };
    }
    parts.push({ offset: HEADER_SIZE + offset, size });
    offset += (size + 3) & ~3;
  }
  return { parts, problem: null };
}

const SZ_2M = 0x200000;
const LZ4_LEGACY_MAGIC = [0x02, 0x21, 0x4c, 0x18];

/**
 * Where U-Boot's bootm runs an arm64 Image it loaded at `load` (boot/bootm.c bootm_load_os with
 * CONFIG_CMD_BOOTI, arch/arm/lib/image.c booti_setup): text_offset above the 2 MiB aligned base at
 * or after `load - text_offset` when flags bit 3 allows any base, else above the start of RAM
 * (null: unknown here). It jumps there, whatever ih_ep says.
 */
export function bootmArm64Entry(load: number, image: { textOffset: bigint; legacyHeader: boolean; placeAnywhere: boolean }): number | null {
  const textOffset = image.legacyHeader ? 0x80000 : Number(image.textOffset);
  if (!image.placeAnywhere || load < textOffset) return null;
  return Math.ceil((load - textOffset) / SZ_2M) * SZ_2M + textOffset;
}

export const uimageFormat: FormatParser = {
  format: "uimage",
  probe: isUImage,
  parse(input, layer): ChildSpec[] {
    const { bytes, base } = input;
    const h = readStruct(UIMAGE_HEADER, bytes, 0, { base, littleEndian: false });
    const r = h.record;
    const s = h.structure;
    layer.structures.push(s);
    annotate(s, "ih_magic", "IH_MAGIC");
    const headerCrcComputed = uimageHeaderCrc(bytes);
    const headerCrcOk = headerCrcComputed === r.ih_hcrc;
    annotate(s, "ih_hcrc", headerCrcOk ? "matches" : `mismatch: the header's CRC-32 is ${hex(headerCrcComputed)}`);
    if (!headerCrcOk) {
      input.diagnose(
        "UIMAGE_HEADER_CRC_MISMATCH",
        "error",
        `ih_hcrc is ${hex(r.ih_hcrc)} but the header's CRC-32 is ${hex(headerCrcComputed)}: U-Boot refuses it ("Bad Header Checksum")`,
        4,
      );
    }
    const time = new Date(r.ih_time * 1000).toISOString().replace(".000Z", "Z");
    annotate(s, "ih_time", time);
    const os = nameIn(IH_OS, r.ih_os);
    const arch = nameIn(IH_ARCH, r.ih_arch);
    const type = nameIn(IH_TYPE, r.ih_type);
    const comp = nameIn(IH_COMP, r.ih_comp);
    const codec = IH_COMP[r.ih_comp]?.[2] ?? null;
    annotate(s, "ih_os", os.short ?? os.long);
    annotate(s, "ih_arch", arch.short ?? arch.long);
    annotate(s, "ih_type", type.short ?? type.long);
    annotate(s, "ih_comp", comp.short ?? comp.long);
    for (const [field, value, what] of [
      ["ih_os", os, "operating system"],
      ["ih_arch", arch, "architecture"],
      ["ih_type", type, "image type"],
      ["ih_comp", comp, "compression"],
    ] as const) {
      if (value.short === null)
        input.diagnose(
          "UIMAGE_UNKNOWN_VALUE",
          "warning",
          `${field} ${r[field]} names no ${what} U-Boot knows`,
          s.fields.find((f) => f.name === field)?.offset ?? 0,
        );
    }

    const available = Math.max(0, bytes.length - HEADER_SIZE);
    const dataEnd = HEADER_SIZE + r.ih_size;
    const whole = r.ih_size <= available;
    const data = bytes.subarray(HEADER_SIZE, Math.min(bytes.length, dataEnd));
    let dataCrcComputed: number | null = null;
    if (whole) {
      dataCrcComputed = crc32(data);
      annotate(s, "ih_dcrc", dataCrcComputed === r.ih_dcrc ? "matches" : `mismatch: the data's CRC-32 is ${hex(dataCrcComputed)}`);
      if (dataCrcComputed !== r.ih_dcrc) {
        input.diagnose(
          "UIMAGE_DATA_CRC_MISMATCH",
          "error",
          `ih_dcrc is ${hex(r.ih_dcrc)} but the ${r.ih_size} data bytes have CRC-32 ${hex(dataCrcComputed)}: U-Boot refuses it ("Bad Data CRC")`,
          0x18,
        );
      }
      if (bytes.length > dataEnd) {
        input.diagnose(
          "UIMAGE_TRAILING_DATA",
          "info",
          `${bytes.length - dataEnd} bytes follow the ${r.ih_size} data bytes (padding, or a damaged ih_size)`,
          dataEnd,
        );
      }
    } else {
      annotate(s, "ih_dcrc", "not checked: the data is truncated");
      input.diagnose(
        "UIMAGE_DATA_TRUNCATED",
        "error",
        `ih_size is ${r.ih_size} bytes but only ${available} follow the header: the image is truncated or ih_size is damaged`,
        0x0c,
      );
    }

    const isMulti = r.ih_type === IH_TYPE_MULTI || r.ih_type === IH_TYPE_SCRIPT;
    let parts: UImagePart[] | null = null;
    if (isMulti && whole) {
      const read = readParts(data);
      parts = read.parts;
      if (read.problem) input.diagnose("UIMAGE_BAD_PART_TABLE", "error", `multi-file image: ${read.problem}`, HEADER_SIZE);
      const fields = parts.map((p, i) => ({ name: `size[${i}]`, offset: base + HEADER_SIZE + i * 4, size: 4, value: p.size, hex: hex(p.size) }));
      if (!read.problem) fields.push({ name: "terminator", offset: base + HEADER_SIZE + parts.length * 4, size: 4, value: 0, hex: "0x0" });
      layer.structures.push({ name: "multi-file size table", offset: base + HEADER_SIZE, size: fields.length * 4, fields });
    }

    const facts: UImageFacts = {
      kind: "uimage",
      headerCrc: r.ih_hcrc,
      headerCrcOk,
      time: r.ih_time,
      dataSize: r.ih_size,
      loadAddress: r.ih_load,
      entryPoint: r.ih_ep,
      dataCrc: r.ih_dcrc,
      dataCrcOk: dataCrcComputed === null ? null : dataCrcComputed === r.ih_dcrc,
      os: r.ih_os,
      arch: r.ih_arch,
      type: r.ih_type,
      compression: r.ih_comp,
      codec,
      name: r.ih_name,
      parts,
    };
    input.setFacts(facts);
    layer.arch = KIMG_ARCH[r.ih_arch] ?? arch.short;
    layer.info.name = facts.name;
    layer.info.created = time;
    layer.info.os = os.short ?? os.long;
    layer.info.arch = arch.short ?? arch.long;
    layer.info.type = type.short ?? type.long;
    layer.info.compression = comp.short ?? comp.long;
    layer.info.imageType = `${arch.long} ${os.long} ${type.long} (${comp.long})`;
    layer.info.dataSize = facts.dataSize;
    layer.info.loadAddress = hex(facts.loadAddress);
    layer.info.entryPoint = hex(facts.entryPoint);
    layer.info.headerCrcOk = facts.headerCrcOk;
    layer.info.dataCrcOk = facts.dataCrcOk;
    if (parts) layer.info.parts = parts.length;
    layer.title = `U-Boot legacy image "${facts.name}": ${layer.info.imageType}`;

    if (!whole) return [];
    if (parts) {
      // bootm applies ih_comp to the first part (the kernel) only.
      return parts.map((p, i) => {
        const child: ChildSpec = { name: `part${i}`, offset: p.offset, length: p.size };
        if (i === 0 && codec && r.ih_type === IH_TYPE_MULTI) child.compressed = { declaredCodec: comp.short ?? "" };
        return child;
      });
    }
    const payload: ChildSpec = { name: "payload", offset: HEADER_SIZE, length: r.ih_size };
    if (codec) payload.compressed = { declaredCodec: comp.short ?? "" };
    return [payload];
  },
  finish(input, layer, children) {
    const facts = factsOf(input.facts, layer.path, "uimage");
    const first = children[0];
    if (!facts || !first) return;
    // U-Boot's lz4 is the frame format (ulz4fn checks LZ4F_MAGIC); the kernel's lz4 -l legacy format fails there.
    const stream = input.bytes.subarray(first.offset - input.base, first.offset - input.base + 4);
    if (facts.codec === "lz4" && first.format === "compressed" && startsWith(stream, LZ4_LEGACY_MAGIC)) {
      input.diagnose(
        "UIMAGE_LZ4_LEGACY",
        "warning",
        "ih_comp says lz4 but the data is a legacy lz4 stream (lz4 -l): U-Boot reads only the LZ4 frame format and refuses it",
        first.offset - input.base,
      );
    }
    if (facts.os !== IH_OS_LINUX || facts.arch !== IH_ARCH_ARM64) return;
    const kernel = first.format === "compressed" ? first.children[0] : first;
    const image = kernel ? factsOf(input.facts, kernel.path, "arm64-image") : undefined;
    if (!image) return;
    const entry = bootmArm64Entry(facts.loadAddress, image);
    layer.info.bootmEntry = entry === null ? null : hex(entry);
    const moved = entry === null ? "to text_offset above the first 2 MiB boundary of RAM" : `to ${hex(entry)}`;
    if (entry !== facts.loadAddress || entry !== facts.entryPoint) {
      input.diagnose(
        "UIMAGE_ARM64_MOVED",
        "info",
        `bootm moves the arm64 Image from ih_load ${hex(facts.loadAddress)} ${moved} (text_offset ${hex(Number(image.textOffset))} above a 2 MiB aligned base) and enters it there; ih_ep ${hex(facts.entryPoint)} is not used`,
        0x10,
      );
    }
  },
};
