/**
 * The boot-plan model: how a non-EFI loader (kexec) must load and enter the kernel, and the
 * memory-protection map (regions and checks). Types only, plus the one status mapping every
 * front end uses; nothing here imports code.
 */
import type { DecodedInstruction } from "../isa/types.js";
import type { CheckId } from "./codes.js";

/** What the loader knows that the image does not say; every field has a default. */
export interface PlanOptions {
  /** Start of the RAM the loader may use (default per arch, see DEFAULT_RAM_BASE). */
  ramBase?: bigint;
  /** Size in bytes of the initrd the loader hands over, when there is one. */
  initrdSize?: number | null;
  /** Size in bytes of the device tree, when known (default: an estimate, the DTB comes from the running system). */
  dtbSize?: number | null;
  /** The kernel command line. */
  cmdline?: string | null;
  /** RISC-V: the hart that enters the kernel. */
  hartId?: number;
  /** Symbols of the matching ELF vmlinux (see ENTRY_SYMBOLS), to check the entry against. */
  vmlinuxSymbols?: ReadonlyMap<string, bigint>;
}

/** Where and how the loader enters the kernel. */
export interface EntryPlan {
  /** Where the loader jumps, as a byte offset into the kernel image; -1 for an ELF vmlinux (entered at e_entry, see `address`). */
  offset: number;
  /**
   * That point as a physical address at the planned load address; for an ELF vmlinux, e_entry
   * (a virtual address). A hex string: it can exceed 2^53.
   */
  address: string;
  /** arm64/RISC-V: the byte offset in the image that the header's branch lands on. */
  branchTarget: number | null;
  /**
   * How the entry is given: LoongArch "physical" or "dmw-virtual" kernel_entry; x86 the boot
   * protocol ("64-bit boot protocol (startup_64)"); an ELF "ELF e_entry (a virtual address)";
   * null for arm64 and RISC-V (always the image start).
   */
  form: string | null;
  /** The first instructions at the image start (and at the entry, where it differs). */
  instructions: DecodedInstruction[];
  /**
   * The EFI entry point (AddressOfEntryPoint, an RVA) that a non-EFI loader must not use, and
   * why; null when the kernel has no EFI entry (no PE header, an ELF vmlinux).
   */
  efiEntry: { rva: number; why: string } | null;
  /** Why this is the entry, in plain words. */
  explanation: string[];
}

/**
 * Where the kernel image goes in memory. Addresses are hex strings (they can exceed 2^53); sizes
 * and alignments are numbers of bytes.
 */
export interface LoadPlan {
  /** Start of the RAM the plan assumes (`PlanOptions.ramBase` or the arch's default), a physical address. */
  ramBase: string;
  /** Alignment of the load base, in bytes. */
  alignment: number;
  /** The aligned base the image is placed relative to, a physical address. */
  base: string;
  /** Where the first byte of the image goes, a physical address. */
  kernelAddress: string;
  /** Bytes between `base` and `kernelAddress` (arm64 and RISC-V `text_offset`; 0 where the format has none). */
  textOffset: number;
  /** Bytes the kernel occupies in memory from its start (BSS included). */
  memorySize: number;
  /** Bytes of the image file loaded. */
  fileSize: number;
  /** The boot protocol's placement rules this plan follows, in plain words. */
  rules: string[];
}

/** One piece the loader copies into memory (kexec's segment). */
export interface Segment {
  /** What it holds. */
  name: "kernel" | "initrd" | "dtb" | "cmdline" | "boot_params";
  /** Where it goes: a physical address as a hex string. */
  address: string;
  /** Bytes of data. */
  size: number;
  /** Bytes of memory reserved. */
  memorySize: number;
  /** Alignment of `address`, in bytes. */
  alignment: number;
  /** Why it goes there, in plain words. */
  note: string;
}

/** A CPU register the boot protocol sets at entry. */
export interface RegisterValue {
  /** The register's name in the arch's assembler: "x0" (arm64), "a1" (RISC-V, LoongArch), "rsi", "rip" (x86_64). */
  name: string;
  /** Its value as a hex string ("0x0", or an address from `segments`), or "inherited" when the loader passes on the running kernel's value. */
  value: string;
  /** What the value is, in plain words. */
  meaning: string;
}

/**
 * How a non-EFI loader (kexec) must load and enter the kernel, with the memory-protection map:
 * `Report.plan`, and what `plan` returns and `kimg plan --json` prints (with the diagnostics
 * beside it; schema docs/plan-report.schema.json).
 */
export interface BootPlan {
  /** The kernel's architecture, as `Summary.arch`. */
  arch: string;
  /** The kernel layer planned for: its path in the layer tree, its format (`LayerFormat`) and its size in bytes. */
  kernel: { path: string; format: string; size: number };
  /** Where the loader jumps. */
  entry: EntryPlan;
  /** Where the image goes. */
  load: LoadPlan;
  /** What the loader copies where: the kernel first, then initrd, DTB, command line or boot_params as the arch needs. */
  segments: Segment[];
  /** The registers the boot protocol sets at entry, in the protocol's order. */
  registers: RegisterValue[];
  /** The CPU state the boot protocol requires at entry. */
  cpuState: string[];
  /** The protection map: every PE section (and gap) or ELF segment with its permissions, per layer. */
  regions: Region[];
  /** What kimg checked about the entry, the layout and the protections. */
  checks: Check[];
  // Boot containers (issue 15)
  /** The boot container the kernel came in (uImage, FIT, Android boot) and the addresses it gives the bootloader; absent when the kernel is not in one. */
  container?: ContainerPlan;
}

// --- Boot containers (issue 15) ---
/** An address a boot container gives the bootloader, with where it sits in the file. */
export interface ContainerAddress {
  /** The header field or FIT property: "ih_load", "ih_ep", "/images/kernel-1/load", "kernel_addr", "tags_addr" ... */
  name: string;
  /** What the bootloader does with it: "kernel load", "kernel entry", "fdt load", "ramdisk load", "DTB / ATAGs", "second stage load". */
  role: string;
  /** The address, as a hex string. */
  value: string;
  /** File offset of the field (in the whole input), or null. */
  offset: number | null;
}

/** A part of the container the bootloader takes for this boot. */
export interface ContainerPart {
  /** "kernel", "fdt", "ramdisk", "loadable", "firmware", "second". */
  role: string;
  /** The FIT image node or the Android field name. */
  name: string;
  /** Its layer path, or null when it has no layer (no data). */
  layer: string | null;
  /** Its size in bytes as stored, or null. */
  size: number | null;
}

/** What a boot container says about booting its kernel (`BootPlan.container`). */
export interface ContainerPlan {
  /** The container's format: "uimage", "fit" or "android-boot". */
  format: string;
  /** Path of the container's layer. */
  layer: string;
  /** FIT: the configuration planned (the default, or the first when there is no default); null for other containers. */
  configuration: string | null;
  /** FIT: the other configurations, not planned (plan one by extracting it, or see the report's configurations). */
  otherConfigurations: string[];
  /** The parts this boot uses, kernel first. */
  parts: ContainerPart[];
  /** The addresses the container gives, as the bootloader uses them. */
  addresses: ContainerAddress[];
  /** What the bootloader (U-Boot's bootm, an Android bootloader) does with them, in plain words. */
  notes: string[];
}
// --- end of boot containers ---

/** One range of the protection map. */
export interface Region {
  /** The layer whose table describes it. */
  layer: string;
  /** The section name, "headers", "(gap)", or "LOAD <p_vaddr>" for an ELF segment. */
  name: string;
  /** What describes it: the PE headers, a PE section, an ELF PT_LOAD segment, or the space between sections. */
  kind: "headers" | "section" | "segment" | "gap";
  /** Start in bytes: an RVA (relative to the image base) for PE; the physical address (p_paddr) for an ELF segment. */
  start: number;
  /** End (exclusive), in the same terms as `start`. */
  end: number;
  /** "r-x", "rw-", "r--", "rwx", or "---" for a gap. */
  perms: string;
  /** Offset of the table entry it came from, in its layer's space. */
  offset: number | null;
}

/** One thing kimg checked about the image as the loader will use it. */
export interface Check {
  /** Stable id of the check: "w^x", "nx-compat", "section-alignment", "entry-branch" ... */
  id: CheckId;
  /** False only for a real risk, which the message names (and for whom: firmware enforcing NX, kexec, a loader applying W^X). `--strict` fails on these. */
  ok: boolean;
  /** What was found, in plain words. */
  message: string;
  /** Path of the layer it concerns, when one. */
  layer?: string;
  /** Offset of what it looked at, in that layer's space, or null. */
  offset?: number | null;
  /**
   * A fact reported, not judged: what the check looks at is not used by whoever loads this
   * image this way (the inner header of a v6.2+ zboot, ELF segment flags). `ok` is true.
   */
  info?: boolean;
}

/** How a check is shown: "fail" when not ok, "info" for a fact not judged, else "pass". */
export type CheckStatus = "pass" | "fail" | "info";

/** How every front end shows a check: the same three words. */
export function checkStatus(c: Check): CheckStatus {
  return !c.ok ? "fail" : c.info ? "info" : "pass";
}
