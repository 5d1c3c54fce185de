/**
 * Android boot image fixtures. Versions 0-3 and vendor_boot v3 come from Debian's `mkbootimg`
 * (the tests run it); Debian's mkbootimg (android-platform-tools 29) stops at v3, so the v4
 * boot and vendor_boot images are written here byte for byte as AOSP's mkbootimg.py writes them
 * (system/tools/mkbootimg: write_header_v3/v4, write_vendor_boot_header, write_vendor_boot_data).
 */
import { createHash } from "node:crypto";
import { ByteWriter, alignUp, concat, text } from "./bytes.js";

function padded(data: Uint8Array, page: number): Uint8Array {
  const out = new Uint8Array(alignUp(data.length, page));
  out.set(data);
  return out;
}

/** A newc cpio archive with the given files and the TRAILER!!! entry (as `cpio -o -H newc` writes it). */
export function buildNewcCpio(files: ReadonlyArray<{ name: string; data: Uint8Array }>): Uint8Array {
  const parts: Uint8Array[] = [];
  let ino = 1;
  const entry = (name: string, data: Uint8Array, mode: number): void => {
    const h = (v: number): string => v.toString(16).padStart(8, "0");
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = text(`070701${fields.map(h).join("")}${name}\0`);
    parts.push(padded(header, 4), padded(data, 4));
  };
  for (const f of files) entry(f.name, f.data, 0o100644);
  entry("TRAILER!!!", new Uint8Array(0), 0);
  return concat(...parts);
}

/** os_version as mkbootimg packs it: A.B.C in bits 31-11, (year - 2000) and month in bits 10-0. */
export function packOsVersion(version: [number, number, number], year: number, month: number): number {
  const [a, b, c] = version;
  return ((((a << 14) | (b << 7) | c) << 11) | (((year - 2000) << 4) | month)) >>> 0;
}

export interface BootV4Spec {
  kernel: Uint8Array;
  ramdisk?: Uint8Array;
  osVersion?: number;
  cmdline?: string;
  /** signature_size; mkbootimg.py writes a 4096-byte (zeroed unless GKI-signed) boot signature. */
  signature?: Uint8Array;
}

/** A boot.img header v4 (4096-byte pages: header, kernel, ramdisk, boot signature). */
export function buildBootV4(spec: BootV4Spec): Uint8Array {
  const page = 4096;
  const ramdisk = spec.ramdisk ?? new Uint8Array(0);
  const signature = spec.signature ?? new Uint8Array(4096);
  const h = new ByteWriter(page)
    .ascii(0, "ANDROID!")
    .u32(8, spec.kernel.length)
    .u32(12, ramdisk.length)
    .u32(16, spec.osVersion ?? 0)
    .u32(20, 1584)
    .u32(40, 4)
    .ascii(44, spec.cmdline ?? "")
    .u32(1580, signature.length);
  return concat(h.bytes, padded(spec.kernel, page), padded(ramdisk, page), padded(signature, page));
}

export interface VendorRamdiskSpec {
  name: string;
  /** VENDOR_RAMDISK_TYPE_*: 0 none, 1 platform, 2 recovery, 3 dlkm. */
  type: number;
  data: Uint8Array;
  boardId?: number[];
}

export interface VendorBootV4Spec {
  pageSize?: number;
  ramdisks: VendorRamdiskSpec[];
  dtb: Uint8Array;
  bootconfig?: Uint8Array;
  cmdline?: string;
  name?: string;
  base?: number;
}

/** A vendor_boot.img header v4: header, vendor ramdisks, dtb, vendor ramdisk table, bootconfig, each padded to page_size. */
export function buildVendorBootV4(spec: VendorBootV4Spec): Uint8Array {
  const page = spec.pageSize ?? 4096;
  const base = spec.base ?? 0x10000000;
  const bootconfig = spec.bootconfig ?? new Uint8Array(0);
  const ramdiskSection = concat(...spec.ramdisks.map((r) => r.data));
  const table = new ByteWriter(spec.ramdisks.length * 108);
  let offset = 0;
  spec.ramdisks.forEach((r, i) => {
    const at = i * 108;
    table
      .u32(at, r.data.length)
      .u32(at + 4, offset)
      .u32(at + 8, r.type)
      .ascii(at + 12, r.name);
    (r.boardId ?? []).forEach((v, j) => {
      table.u32(at + 44 + j * 4, v);
    });
    offset += r.data.length;
  });
  const h = new ByteWriter(alignUp(2128, page))
    .ascii(0, "VNDRBOOT")
    .u32(8, 4)
    .u32(12, page)
    .u32(16, base + 0x8000)
    .u32(20, base + 0x01000000)
    .u32(24, ramdiskSection.length)
    .ascii(28, spec.cmdline ?? "")
    .u32(2076, base + 0x100)
    .ascii(2080, spec.name ?? "")
    .u32(2096, 2128)
    .u32(2100, spec.dtb.length)
    .u64(2104, base + 0x01f00000)
    .u32(2112, table.bytes.length)
    .u32(2116, spec.ramdisks.length)
    .u32(2120, 108)
    .u32(2124, bootconfig.length);
  return concat(h.bytes, padded(ramdiskSection, page), padded(spec.dtb, page), padded(table.bytes, page), padded(bootconfig, page));
}

// --- boot.img v0-v2 written field by field (issue 15: fuzz seeds without mkbootimg) ---
export interface BootV2Spec {
  /** header_version 0, 1 or 2. */
  version: 0 | 1 | 2;
  kernel: Uint8Array;
  ramdisk?: Uint8Array;
  second?: Uint8Array;
  recoveryDtbo?: Uint8Array;
  dtb?: Uint8Array;
  pageSize?: number;
  /** mkbootimg's --base (default 0x10000000); the offsets are mkbootimg's defaults. */
  base?: number;
  cmdline?: string;
  name?: string;
  /** The id (32 bytes); default: the SHA-1 mkbootimg computes (see {@link bootImageId}). */
  id?: Uint8Array;
}

/**
 * mkbootimg.py's `id`: SHA-1 over each part and its size as a le32 (kernel, ramdisk, second,
 * then recovery_dtbo for v1+ and dtb for v2), zero-padded to 32 bytes.
 */
export function bootImageId(
  version: number,
  parts: { kernel: Uint8Array; ramdisk: Uint8Array; second: Uint8Array; recoveryDtbo: Uint8Array; dtb: Uint8Array },
): Uint8Array {
  const sha = createHash("sha1");
  const add = (b: Uint8Array): void => {
    sha.update(b);
    sha.update(new ByteWriter(4).u32(0, b.length).bytes);
  };
  add(parts.kernel);
  add(parts.ramdisk);
  add(parts.second);
  if (version > 0) add(parts.recoveryDtbo);
  if (version > 1) add(parts.dtb);
  const out = new Uint8Array(32);
  out.set(sha.digest());
  return out;
}

/** A boot.img with a v0, v1 or v2 header, laid out as mkbootimg.py writes it (each part padded to page_size). */
export function buildBootV2(spec: BootV2Spec): Uint8Array {
  const page = spec.pageSize ?? 2048;
  const base = spec.base ?? 0x10000000;
  const ramdisk = spec.ramdisk ?? new Uint8Array(0);
  const second = spec.second ?? new Uint8Array(0);
  const recoveryDtbo = spec.version > 0 ? (spec.recoveryDtbo ?? new Uint8Array(0)) : new Uint8Array(0);
  const dtb = spec.version > 1 ? (spec.dtb ?? new Uint8Array(0)) : new Uint8Array(0);
  const headerSize = [1632, 1648, 1660][spec.version] ?? 1660;
  const id = spec.id ?? bootImageId(spec.version, { kernel: spec.kernel, ramdisk, second, recoveryDtbo, dtb });
  const h = new ByteWriter(page)
    .ascii(0, "ANDROID!")
    .u32(8, spec.kernel.length)
    .u32(12, base + 0x8000)
    .u32(16, ramdisk.length)
    .u32(20, base + 0x01000000)
    .u32(24, second.length)
    .u32(28, base + 0xf00000)
    .u32(32, base + 0x100)
    .u32(36, page)
    .u32(40, spec.version)
    .ascii(48, spec.name ?? "")
    .ascii(64, spec.cmdline ?? "")
    .set(576, id);
  if (spec.version > 0) {
    const dtboOffset = recoveryDtbo.length ? page * (1 + [spec.kernel, ramdisk, second].reduce((n, p) => n + Math.ceil(p.length / page), 0)) : 0;
    h.u32(1632, recoveryDtbo.length).u64(1636, dtboOffset).u32(1644, headerSize);
  }
  if (spec.version > 1) h.u32(1648, dtb.length).u64(1652, base + 0x01f00000);
  return concat(h.bytes, padded(spec.kernel, page), padded(ramdisk, page), padded(second, page), padded(recoveryDtbo, page), padded(dtb, page));
}

/**
 * An Android DT table (DTBO) image as AOSP's mkdtboimg.py writes it (libufdt dt_table.h, fields
 * big-endian): the 32-byte header, one 32-byte entry per blob, then the blobs one after another.
 */
export function buildDtbo(
  blobs: ReadonlyArray<{ dtb: Uint8Array; id?: number; rev?: number; custom?: number[] }>,
  options: { pageSize?: number; version?: number } = {},
): Uint8Array {
  const entriesOffset = 32;
  const dataStart = entriesOffset + blobs.length * 32;
  const total = dataStart + blobs.reduce((n, b) => n + b.dtb.length, 0);
  const w = new ByteWriter(total);
  const be = (at: number, v: number): void => {
    w.u32be(at, v);
  };
  for (const [i, v] of [0xd7b7ab1e, total, 32, 32, blobs.length, entriesOffset, options.pageSize ?? 2048, options.version ?? 0].entries()) be(i * 4, v);
  let at = dataStart;
  blobs.forEach((b, i) => {
    const e = entriesOffset + i * 32;
    for (const [j, v] of [b.dtb.length, at, b.id ?? 0, b.rev ?? 0, ...(b.custom ?? [0, 0, 0, 0])].entries()) be(e + j * 4, v);
    w.set(at, b.dtb);
    at += b.dtb.length;
  });
  return w.bytes;
}
