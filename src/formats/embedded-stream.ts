/**
 * Finds the compressed kernel inside a self-decompressing image where no header field points at
 * it: the 32-bit Arm zImage's `.piggydata`, s390's `.rodata.compressed`, the MIPS vmlinuz's
 * `.image`. Each is one stream the kernel build wrote with its usual tools (scripts/Makefile.lib
 * cmd_gzip, cmd_xzkern ...), linked after the decompressor's own code and data, which may hold
 * the same magic bytes as constants (the xz decoder's HEADER_MAGIC). So a candidate counts only
 * when the header after the magic is valid too (the xz header CRC32, gzip's flag bytes, bzip2's
 * block magic ...); the first valid one wins.
 */
import { crc32 } from "../codecs/checksums.js";
import { sniffCodec } from "../codecs/sniff.js";
import type { CodecName } from "../codecs/types.js";
import { indexOf, u32 } from "../io/layout.js";

export interface EmbeddedStream {
  codec: CodecName;
  offset: number;
  length: number;
  /** How the end was found: the container's own bound, or the xz stream footer. */
  end: "container" | "xz footer";
}

/** Candidates examined per magic: enough for any real decompressor, a bound on hostile input. */
const MAX_CANDIDATES = 256;

interface Probe {
  codec: CodecName;
  magic: Uint8Array;
  /** The rest of the header is what a kernel build writes. */
  valid(bytes: Uint8Array, at: number): boolean;
}

const PROBES: readonly Probe[] = [
  {
    // xz-file-format 2.1.1: Stream Flags (0x00, check ID <= 0x0f) and their CRC32.
    codec: "xz",
    magic: new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
    valid: (b, at) => b[at + 6] === 0 && (b[at + 7] ?? 0xff) <= 0x0f && u32(b, at + 8) === crc32(b.subarray(at + 6, at + 8)),
  },
  {
    // RFC 1952: deflate, no reserved flag bits, XFL 0/2/4, a known OS byte.
    codec: "gzip",
    magic: new Uint8Array([0x1f, 0x8b, 0x08]),
    valid: (b, at) => ((b[at + 3] ?? 0xff) & 0xe0) === 0 && [0, 2, 4].includes(b[at + 8] ?? -1) && ((b[at + 9] ?? 0xff) <= 13 || b[at + 9] === 255),
  },
  {
    // RFC 8878 3.1.1.1.1: the frame header descriptor's reserved bit is zero.
    codec: "zstd",
    magic: new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]),
    valid: (b, at) => ((b[at + 4] ?? 0xff) & 0x08) === 0,
  },
  {
    // lz4 legacy frame: a first block of at most LZ4_compressBound(8 MiB).
    codec: "lz4",
    magic: new Uint8Array([0x02, 0x21, 0x4c, 0x18]),
    valid: (b, at) => {
      const size = u32(b, at + 4) ?? 0;
      return size > 0 && size <= 8 * 1024 * 1024 + 32 * 1024 + 16;
    },
  },
  { codec: "lzo", magic: new Uint8Array([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]), valid: () => true },
  {
    // "BZh1".."BZh9", then a block (pi) or end-of-stream (sqrt pi) magic.
    codec: "bzip2",
    magic: new Uint8Array([0x42, 0x5a, 0x68]),
    valid: (b, at) => {
      const level = b[at + 3] ?? 0;
      const block = [b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9]].join(",");
      return level >= 0x31 && level <= 0x39 && (block === "49,65,89,38,83,89" || block === "23,114,69,56,80,144");
    },
  },
  {
    // .lzma alone as the kernel's `lzma -9` writes it: properties 0x5d, then sniffCodec's checks.
    codec: "lzma",
    magic: new Uint8Array([0x5d, 0x00, 0x00]),
    valid: (b, at) => sniffCodec(b.subarray(at, at + 13))?.codec === "lzma",
  },
];

/**
 * The first valid compressed stream in [from, to). Its length runs to `to` (when the container
 * says where the stream ends), or, for xz without that bound, to its stream footer.
 */
export function findEmbeddedStream(bytes: Uint8Array, from: number, to: number, toIsStreamEnd: boolean): EmbeddedStream | null {
  const end = Math.min(to, bytes.length);
  let best: { probe: Probe; at: number } | null = null;
  for (const probe of PROBES) {
    const limit = best ? best.at : end;
    let at = indexOf(bytes, probe.magic, Math.max(0, from), limit);
    for (let n = 0; at !== -1 && n < MAX_CANDIDATES; n++) {
      if (probe.valid(bytes, at)) {
        best = { probe, at };
        break;
      }
      at = indexOf(bytes, probe.magic, at + 1, limit);
    }
  }
  if (!best) return null;
  const { probe, at } = best;
  if (!toIsStreamEnd && probe.codec === "xz") {
    const footerEnd = xzFooterEnd(bytes, at, end);
    if (footerEnd !== null) return { codec: "xz", offset: at, length: footerEnd - at, end: "xz footer" };
  }
  return { codec: probe.codec, offset: at, length: end - at, end: "container" };
}

const FOOTER_MAGIC = new Uint8Array([0x59, 0x5a]);

/**
 * xz-file-format 2.1.2: the footer is CRC32, Backward Size, Stream Flags (as in the header) and
 * "YZ"; the CRC32 covers Backward Size and Stream Flags. The first footer that checks out ends
 * the stream (a false one would need a CRC32 collision).
 */
function xzFooterEnd(bytes: Uint8Array, start: number, end: number): number | null {
  let at = indexOf(bytes, FOOTER_MAGIC, start + 12 + 10, end);
  for (let n = 0; at !== -1 && n < 1 << 16; n++) {
    const footer = at - 10;
    if (bytes[at - 2] === bytes[start + 6] && bytes[at - 1] === bytes[start + 7] && u32(bytes, footer) === crc32(bytes.subarray(footer + 4, footer + 10))) {
      return at + 2;
    }
    at = indexOf(bytes, FOOTER_MAGIC, at + 1, end);
  }
  return null;
}
