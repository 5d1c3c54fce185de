/**
 * The listing of a cpio archive (an initramfs segment), as the report carries it on the archive's
 * layer (`Layer.archive`). Offsets are in the layer's space, like every other field.
 */

/** What a cpio entry is, from the S_IFMT bits of its c_mode. */
export type ArchiveEntryType = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket" | "unknown";

/** One entry of a newc/crc cpio archive: its header fields decoded, its name and, for a symlink, its target. */
export interface ArchiveEntry {
  /** Offset of the entry's 110-byte header (its "070701" magic) in the layer's space. */
  offset: number;
  /** The name as stored, without its terminating NUL (bytes that are not UTF-8 or a NUL inside show as U+FFFD). */
  name: string;
  /** From the S_IFMT bits of c_mode. */
  type: ArchiveEntryType;
  /** c_mode as read: type and permission bits. */
  mode: number;
  /** The permission bits (c_mode & 0o7777) as `ls -l` shows them with the type letter: "-rwxr-xr-x". */
  modeText: string;
  /** c_ino. */
  ino: number;
  /** c_uid. */
  uid: number;
  /** c_gid. */
  gid: number;
  /** c_nlink: more than 1 for a regular file makes it one of a set of hard links (same c_ino and c_dev). */
  nlink: number;
  /** c_mtime: seconds since the epoch. */
  mtime: number;
  /** c_filesize: bytes of data (the target's length for a symlink). */
  size: number;
  /** c_devmajor and c_devminor: the device of the file system the entry came from (with c_ino, the hard-link key). */
  devMajor: number;
  devMinor: number;
  /** c_rdevmajor and c_rdevminor: the device number of a character or block device entry. */
  rdevMajor: number;
  rdevMinor: number;
  /** c_check: the sum of the data bytes in a "070702" (crc) archive, 0 in newc. */
  check: number;
  /** Offset of the data in the layer's space. */
  dataOffset: number;
  /** The target of a symlink (its data), else absent. */
  target?: string;
}

/** A cpio archive read from a layer: the format, its entries in archive order, where it ends. */
export interface ArchiveListing {
  /** "newc" (magic "070701") or "crc" (magic "070702", with a data checksum per entry). */
  format: "newc" | "crc";
  /** The entries, "TRAILER!!!" excluded, in archive order. */
  entries: ArchiveEntry[];
  /** Offset of the "TRAILER!!!" entry's header in the layer's space; null when the archive ends without one. */
  trailerOffset: number | null;
  /** Offset just past the archive (the trailer and its padding) in the layer's space. */
  end: number;
  /** True when the listing stopped early (a damaged header or a limit; see the diagnostics). */
  incomplete: boolean;
}

/** One part of a concatenated initramfs: an uncompressed cpio archive or a compressed stream holding one. */
export interface InitramfsSegment {
  /** The child layer's name ("segment-0", ...). */
  name: string;
  /** "cpio" for an uncompressed archive, or the codec of a compressed one. */
  kind: "cpio" | "gzip" | "zstd" | "xz" | "lzma" | "lz4" | "lzo" | "bzip2";
  /** Start of the segment in the layer's space. */
  offset: number;
  /** Its length in bytes (without the zero padding that follows it). */
  size: number;
  /** Zero bytes skipped after it, before the next segment or the end. */
  paddingBytes: number;
}
