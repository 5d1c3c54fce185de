/** Compresses fixture data with the real tools, using the kernel's own flags (scripts/Makefile.lib, xz_wrap.sh). */
import { execFileSync } from "node:child_process";

export type Tool =
  | "gzip"
  | "zstd"
  | "xz"
  | "xz-arm64"
  | "xz-x86"
  // xz_wrap.sh for 32-bit Arm (not Thumb-2): the ARM BCJ filter, as Debian's armhf zImage has it.
  | "xz-arm"
  | "lzma"
  | "lz4"
  | "lzo"
  | "bzip2";

export const KERNEL_FLAGS: Readonly<Record<Tool, [string, string[]]>> = {
  gzip: ["gzip", ["-n", "-9", "-c"]],
  zstd: ["zstd", ["-22", "--ultra", "-q", "-c"]],
  xz: ["xz", ["--check=crc32", "--threads=1", "--lzma2=dict=32MiB", "-c"]],
  "xz-arm64": ["xz", ["--check=crc32", "--threads=1", "--arm64", "--lzma2=lp=2,lc=2,dict=32MiB", "-c"]],
  "xz-x86": ["xz", ["--check=crc32", "--threads=1", "--x86", "--lzma2=dict=32MiB", "-c"]],
  "xz-arm": ["xz", ["--check=crc32", "--threads=1", "--arm", "--lzma2=dict=32MiB", "-c"]],
  lzma: ["lzma", ["-9", "-c"]],
  lz4: ["lz4", ["-l", "-9", "-c", "-q"]],
  lzo: ["lzop", ["-9", "-c"]],
  bzip2: ["bzip2", ["-9", "-c"]],
};

/** Runs the tool on stdin, as the kernel build does (so the size is unknown to the compressor). */
export function compressWith(tool: Tool, data: Uint8Array): Uint8Array {
  const [cmd, args] = KERNEL_FLAGS[tool];
  const out = execFileSync(cmd, args, { input: data, maxBuffer: 1 << 30 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** zboot comp_type ids and the tool that makes each. */
export const ZBOOT_TOOLS: ReadonlyArray<[string, Tool]> = [
  ["gzip", "gzip"],
  ["zstd22", "zstd"],
  ["zstd", "zstd"],
  ["xzkern", "xz-arm64"],
  ["lzma", "lzma"],
  ["lz4", "lz4"],
  ["lzo", "lzo"],
];
