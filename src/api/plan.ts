/** `plan`: how a loader (kexec) loads and enters the kernel of an image. */
import { ENTRY_SYMBOLS } from "../analysis/plan/constants.js";
import { planFromTree } from "../analysis/plan/index.js";
import { elfSymbols } from "../formats/elf-symbols.js";
import { resolveLimits } from "../io/limits.js";
import type { BootPlan, PlanOptions } from "../model/plan.js";
import type { Report } from "../model/report.js";
import { analyse, type InspectOptions } from "./analyse.js";

/** What `plan` takes: the loader's choices (RAM base, initrd and DTB sizes, command line), the `inspect` options, and optionally the matching vmlinux to check the entry against its symbols. */
export interface PlanImageOptions extends PlanOptions, InspectOptions {
  /**
   * The matching ELF vmlinux (with its symbol table, e.g. from a -dbg package): its entry
   * symbols (primary_entry, _start_kernel, kernel_entry...) are read and the planned entry is
   * checked against them (the check "entry-symbol").
   */
  vmlinux?: Uint8Array;
}

/** What `plan` returns: the boot plan, and the report of the image it was computed from. */
export interface PlanResult {
  plan: BootPlan;
  /** The report of the image the plan was made from; its diagnostics say what was damaged. */
  report: Report;
}

/** Every symbol an entry check of some architecture looks up. */
const ALL_ENTRY_SYMBOLS = [...new Set(Object.values(ENTRY_SYMBOLS).flatMap((s) => [s.base, ...s.entry]))];

/**
 * Reads the image (unpacking as needed), finds the bootable kernel and returns its boot plan
 * (load address, entry, registers, segments, memory-protection map, checks) with the report.
 *
 * Throws a KimgError: UNSUPPORTED when no bootable kernel is found or its format cannot be
 * planned; the truncation error when the kernel is not whole; for `vmlinux`, the ELF reader's
 * error (BAD_MAGIC for a file that is not ELF) before the image is read.
 *
 * @example
 * const { plan: boot } = await plan(bytes, { ramBase: 0x40000000n, initrdSize: 8 << 20 });
 * console.log(boot.entry.address, boot.checks.filter((c) => !c.ok));
 * const checked = await plan(bytes, { vmlinux: vmlinuxBytes }); // adds the "entry-symbol" check
 */
export async function plan(input: Uint8Array | ArrayBuffer, options: PlanImageOptions = {}): Promise<PlanResult> {
  const { vmlinux, ...rest } = options;
  const planOptions: PlanOptions & InspectOptions = vmlinux
    ? { ...rest, vmlinuxSymbols: elfSymbols(vmlinux, ALL_ENTRY_SYMBOLS, resolveLimits(options.limits)) }
    : rest;
  const { report, tree } = await analyse(input, planOptions);
  return { plan: planFromTree(tree, planOptions), report };
}
