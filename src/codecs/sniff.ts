/**
 * Which codec a stream is, from its first bytes (the "standard magic numbers" of boot.rst and
 * the decompressors in lib/decompress_*.c). Prefix table first, heuristics for .lzma last.
 */
import { startsWith, u32 } from "../io/layout.js";
import type { CodecName } from "./types.js";

interface Magic {
  codec: CodecName;
  bytes: readonly number[];
  describe: string;
}

export const MAGICS: readonly Magic[] = [
  { codec: "gzip", bytes: [0x1f, 0x8b], describe: "gzip (1f 8b)" },
  { codec: "gzip", bytes: [0x1f, 0x9e], describe: "old gzip (1f 9e)" },
  { codec: "zstd", bytes: [0x28, 0xb5, 0x2f, 0xfd], describe: "zstd frame (28 b5 2f fd)" },
  { codec: "xz", bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], describe: "xz stream (fd 37 7a 58 5a 00)" },
  { codec: "lz4", bytes: [0x02, 0x21, 0x4c, 0x18], describe: "lz4 legacy frame (02 21 4c 18)" },
  { codec: "lz4", bytes: [0x04, 0x22, 0x4d, 0x18], describe: "lz4 frame (04 22 4d 18)" },
  { codec: "lzo", bytes: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], describe: "lzop file (89 4c 5a 4f ...)" },
  { codec: "bzip2", bytes: [0x42, 0x5a, 0x68], describe: "bzip2 (BZh)" },
];

export interface Sniffed {
  codec: CodecName;
  describe: string;
  magicLength: number;
}

/**
 * .lzma "alone": props byte (lc/lp/pb, at most 224; the kernel's lzma -9 writes 0x5d), a
 * dictionary size, then the u64 size, all ones when unknown.
 */
function looksLikeLzmaAlone(bytes: Uint8Array): boolean {
  const props = bytes[0];
  if (props === undefined || props >= 225 || bytes.length < 13) return false;
  const dict = u32(bytes, 1) ?? 0;
  if (dict < 4096 || dict > 0x80000000) return false;
  // Dictionary sizes are 2^n or 2^n + 2^(n-1) in practice.
  const isNice = (dict & (dict - 1)) === 0 || ((dict / 3) & (dict / 3 - 1)) === 0;
  if (!isNice) return false;
  const sizeHigh = u32(bytes, 9) ?? 0;
  const sizeLow = u32(bytes, 5) ?? 0;
  const unknown = sizeHigh === 0xffffffff && sizeLow === 0xffffffff;
  return unknown || sizeHigh < 0x100;
}

export function sniffCodec(bytes: Uint8Array): Sniffed | null {
  for (const m of MAGICS) {
    if (startsWith(bytes, m.bytes)) {
      if (m.codec === "bzip2") {
        const level = bytes[3];
        if (level === undefined || level < 0x31 || level > 0x39) continue;
      }
      return { codec: m.codec, describe: m.describe, magicLength: m.bytes.length };
    }
  }
  if (looksLikeLzmaAlone(bytes)) return { codec: "lzma", describe: ".lzma alone header", magicLength: 13 };
  return null;
}
