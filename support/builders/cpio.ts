/**
 * cpio newc/crc archives built field by field (issue 16), for hostile variants the real tools
 * never write: names with "..", NULs, symlinks then files through them, devices, bad headers.
 */

/** One entry as written: any field may be overridden, even to a value the format forbids. */
export interface CpioEntrySpec {
  name: string | Uint8Array;
  mode: number;
  data?: Uint8Array | string;
  ino?: number;
  uid?: number;
  gid?: number;
  nlink?: number;
  mtime?: number;
  devMajor?: number;
  devMinor?: number;
  rdevMajor?: number;
  rdevMinor?: number;
  /** c_namesize as written (default: the name's length + 1). */
  nameSize?: number;
  /** c_filesize as written (default: the data's length). */
  fileSize?: number;
  /** c_chksum as written (default: the byte sum in crc archives, 0 in newc). */
  check?: number;
  /** The magic (default "070701"). */
  magic?: string;
  /** Omit the name's NUL. */
  noNul?: boolean;
}

const encoder = new TextEncoder();

function bytesOf(v: Uint8Array | string | undefined): Uint8Array {
  return v === undefined ? new Uint8Array(0) : typeof v === "string" ? encoder.encode(v) : v;
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** One entry's bytes: header, name, padding, data, padding (alignment counted from the entry, which starts on 4 bytes). */
export function cpioEntry(e: CpioEntrySpec): Uint8Array {
  const name = bytesOf(e.name);
  const data = bytesOf(e.data);
  const magic = e.magic ?? "070701";
  const sum = data.reduce((s, b) => (s + b) >>> 0, 0);
  const h = (n: number): string => (n >>> 0).toString(16).padStart(8, "0").slice(-8);
  const header =
    magic +
    [
      e.ino ?? 1,
      e.mode,
      e.uid ?? 0,
      e.gid ?? 0,
      e.nlink ?? 1,
      e.mtime ?? 1_700_000_000,
      e.fileSize ?? data.length,
      e.devMajor ?? 0,
      e.devMinor ?? 0,
      e.rdevMajor ?? 0,
      e.rdevMinor ?? 0,
      e.nameSize ?? name.length + 1,
      e.check ?? (magic === "070702" ? sum : 0),
    ]
      .map(h)
      .join("");
  const nameLen = name.length + (e.noNul ? 0 : 1);
  const head = 110 + nameLen;
  const out = new Uint8Array(head + pad4(head) + data.length + pad4(data.length));
  out.set(encoder.encode(header), 0);
  out.set(name, 110);
  out.set(data, head + pad4(head));
  return out;
}

/** Entries then the TRAILER!!! entry. */
export function cpioArchive(entries: CpioEntrySpec[], magic = "070701"): Uint8Array {
  const parts = [...entries.map((e) => cpioEntry({ magic, ...e })), cpioEntry({ name: "TRAILER!!!", mode: 0, nlink: 1, ino: 0, magic })];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Mode bits by type. */
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;
