/** Constants and small helpers the per-arch planners share. */

/** Per arch: the image start symbol and the core entry symbols to look for, newest name first. */
export const ENTRY_SYMBOLS: Readonly<Record<string, { base: string; entry: readonly string[] }>> = {
  arm64: { base: "_text", entry: ["primary_entry", "stext"] },
  riscv64: { base: "_start", entry: ["_start_kernel"] },
  riscv32: { base: "_start", entry: ["_start_kernel"] },
  loongarch64: { base: "_text", entry: ["kernel_entry"] },
};

/** Default RAM starts: QEMU "virt" for arm64, 32-bit Arm and RISC-V; LoongArch and x86 load at link/preferred addresses. */
export const DEFAULT_RAM_BASE: Readonly<Record<string, bigint>> = {
  arm64: 0x40000000n,
  arm: 0x40000000n,
  riscv64: 0x80000000n,
  riscv32: 0x80000000n,
  loongarch64: 0n,
  x86_64: 0x1000000n,
  x86: 0x1000000n,
};

export const MiB = 1024 * 1024;

export { alignUpBig, hex as hexBig } from "../../io/bytes.js";
