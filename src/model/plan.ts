/**
 * The boot-plan model: how a non-EFI loader (kexec) must load and enter the kernel, and the
 * memory-protection map (regions and checks). Types only, plus the one status mapping every
 * front end uses; nothing here imports code.
 */
import type { DecodedInstruction } from "../isa/types.js";
import type { CheckId } from "./codes.js";

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

export interface Region {
  /** The layer whose table describes it. */
  layer: string;
  name: string;
  kind: "headers" | "section" | "segment" | "gap";
  /** Start and end (exclusive) relative to the image base (RVA for PE). */
  start: number;
  end: number;
  perms: string;
  /** Offset of the table entry it came from, in its layer's space. */
  offset: number | null;
}

export interface Check {
  id: CheckId;
  /** False only for a real risk, which the message names (and for whom: firmware enforcing NX, kexec, a loader applying W^X). `--strict` fails on these. */
  ok: boolean;
  message: string;
  layer?: string;
  offset?: number | null;
  /**
   * A fact reported, not judged: what the check looks at is not used by whoever loads this
   * image this way (the inner header of a v6.2+ zboot, ELF segment flags). `ok` is true.
   */
  info?: boolean;
}

export type CheckStatus = "pass" | "fail" | "info";

/** How every front end shows a check: the same three words. */
export function checkStatus(c: Check): CheckStatus {
  return !c.ok ? "fail" : c.info ? "info" : "pass";
}
