/** The boot plan: how a non-EFI loader (kexec) must load and enter the kernel. */
import type { DecodedInstruction } from "../../isa/types.js";
import type { Check, Region } from "../protection.js";

export type { Check, Region };

export interface PlanOptions {
  /** Start of the RAM the loader may use (default per arch, see DEFAULT_RAM_BASE). */
  ramBase?: bigint;
  /** Size of the initrd the loader hands over, when there is one. */
  initrdSize?: number | null;
  /** Size of the device tree, when known (default: an estimate, the DTB comes from the running system). */
  dtbSize?: number | null;
  /** The kernel command line. */
  cmdline?: string | null;
  /** RISC-V: the hart that enters the kernel. */
  hartId?: number;
  /** Symbols of the matching ELF vmlinux (see ENTRY_SYMBOLS), to check the entry against. */
  vmlinuxSymbols?: ReadonlyMap<string, bigint>;
}

/** Per arch: the image start symbol and the core entry symbols to look for, newest name first. */
export const ENTRY_SYMBOLS: Readonly<Record<string, { base: string; entry: readonly string[] }>> = {
  arm64: { base: "_text", entry: ["primary_entry", "stext"] },
  riscv64: { base: "_start", entry: ["_start_kernel"] },
  riscv32: { base: "_start", entry: ["_start_kernel"] },
  loongarch64: { base: "_text", entry: ["kernel_entry"] },
};

export interface EntryPlan {
  /** Where the loader jumps, as a byte offset into the kernel image. */
  offset: number;
  /** That point as a physical address at the planned load address. */
  address: string;
  /** arm64/RISC-V: the byte offset in the image that the header's branch lands on. */
  branchTarget: number | null;
  /** LoongArch: "physical" or "dmw-virtual" kernel_entry. */
  form: string | null;
  /** The first instructions at the image start (and at the entry, where it differs). */
  instructions: DecodedInstruction[];
  /** The EFI entry point (AddressOfEntryPoint) that a non-EFI loader must not use. */
  efiEntry: { rva: number; why: string } | null;
  /** Why this is the entry, in plain words. */
  explanation: string[];
}

export interface LoadPlan {
  ramBase: string;
  /** Alignment of the load base, in bytes. */
  alignment: number;
  /** The aligned base the image is placed relative to. */
  base: string;
  /** Where the first byte of the image goes. */
  kernelAddress: string;
  textOffset: number;
  /** Bytes the kernel occupies in memory from its start (BSS included). */
  memorySize: number;
  /** Bytes of the image file loaded. */
  fileSize: number;
  rules: string[];
}

export interface Segment {
  name: "kernel" | "initrd" | "dtb" | "cmdline" | "boot_params";
  address: string;
  /** Bytes of data. */
  size: number;
  /** Bytes of memory reserved. */
  memorySize: number;
  alignment: number;
  note: string;
}

export interface RegisterValue {
  name: string;
  value: string;
  meaning: string;
}

export interface BootPlan {
  arch: string;
  kernel: { path: string; format: string; size: number };
  entry: EntryPlan;
  load: LoadPlan;
  segments: Segment[];
  registers: RegisterValue[];
  /** The CPU state the boot protocol requires at entry. */
  cpuState: string[];
  regions: Region[];
  checks: Check[];
}

/** Default RAM starts: QEMU "virt" for arm64 and RISC-V; LoongArch and x86 load at link/preferred addresses. */
export const DEFAULT_RAM_BASE: Readonly<Record<string, bigint>> = {
  arm64: 0x40000000n,
  riscv64: 0x80000000n,
  riscv32: 0x80000000n,
  loongarch64: 0n,
  x86_64: 0x1000000n,
  x86: 0x1000000n,
};

export const MiB = 1024 * 1024;

export function alignUpBig(n: bigint, a: bigint): bigint {
  return a > 0n ? ((n + a - 1n) / a) * a : n;
}

export function hexBig(n: bigint | number): string {
  return "0x" + BigInt(n).toString(16);
}
