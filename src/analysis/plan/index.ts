/** The boot plan of an analysed layer tree: find the bootable kernel and plan how a loader enters it. */
import { PLANNED_FORMATS, UNSUPPORTED_KERNEL_FORMATS, unsupportedName } from "../../formats/registry.js";
import { ErrorCode, KimgError } from "../../io/errors.js";
import type { Layer } from "../../model/report.js";
import { kernelChain } from "../summary.js";
import type { Tree } from "../tree.js";
import { assertKernelWhole, noKernelError } from "../whole.js";
import { ARM_ZIMAGE_WINDOW, planArm } from "./arm.js";
import { planArm64 } from "./arm64.js";
import { applyContainer, containerContext, containerKernelAddress } from "./container.js";
import { planElf } from "./elf.js";
import { planLoongArch } from "./loongarch.js";
import { planRiscv } from "./riscv.js";
import type { BootPlan, Check, PlanOptions } from "../../model/plan.js";
import { DEFAULT_RAM_BASE, ENTRY_SYMBOLS } from "./constants.js";
import { planX86 } from "./x86.js";

/** The layer a loader boots: the innermost Image, else the bzImage, else an ELF vmlinux. */
export function bootableLayer(chain: Layer[]): Layer | null {
  for (const format of PLANNED_FORMATS) {
    const l = [...chain].reverse().find((x) => x.format === format);
    if (l) return l;
  }
  return null;
}

/** With a vmlinux's symbols at hand: does the planned core entry match the symbol table? */
function symbolCheck(p: BootPlan, symbols: ReadonlyMap<string, bigint>): Check {
  const names = ENTRY_SYMBOLS[p.arch];
  if (!names) return { id: "entry-symbol", ok: true, message: `no entry symbol is checked for ${p.arch}` };
  const base = symbols.get(names.base);
  const entryName = names.entry.find((n) => symbols.has(n));
  const entry = entryName === undefined ? undefined : symbols.get(entryName);
  if (base === undefined || entry === undefined || entryName === undefined) {
    return { id: "entry-symbol", ok: false, message: `the vmlinux has no ${names.base} or ${names.entry.join("/")} symbol` };
  }
  const expected = Number(entry - base);
  const planned = p.entry.branchTarget ?? p.entry.offset;
  return {
    id: "entry-symbol",
    ok: planned === expected,
    message: `${entryName} - ${names.base} = 0x${expected.toString(16)} in the vmlinux; the plan ${planned === expected ? "agrees" : `says 0x${planned.toString(16)}`}`,
    layer: p.kernel.path,
  };
}

/**
 * The boot plan of the kernel in an analysed tree (see `analyse`), with `options.vmlinuxSymbols`
 * checked against the planned entry. Throws a KimgError: UNSUPPORTED when there is no bootable
 * kernel or kimg cannot plan its format, or the error of a truncated kernel.
 */
export function planFromTree(tree: Tree, options: PlanOptions = {}): BootPlan {
  const result = planKernel(tree, options);
  if (options.vmlinuxSymbols) result.checks.push(symbolCheck(result, options.vmlinuxSymbols));
  return result;
}

function planKernel(tree: Tree, options: PlanOptions): BootPlan {
  // A boot container (uImage, FIT, Android boot) names the kernel, its addresses and the DTB and ramdisk sizes.
  const container = containerContext(kernelChain(tree.root), tree.facts);
  const chain = container?.chain ?? kernelChain(tree.root);
  if (container) {
    // A zImage's RAM is the 128 MiB aligned region its container loads it in, unless --ram-base says otherwise.
    const armLoad = bootableLayer(chain)?.format === "arm-zimage" && options.ramBase === undefined ? container.load?.value : undefined;
    options = {
      ...options,
      ...(armLoad !== undefined ? { ramBase: armLoad & ~BigInt(ARM_ZIMAGE_WINDOW - 1) } : {}),
      dtbSize: options.dtbSize ?? container.dtb?.size ?? null,
      initrdSize: options.initrdSize ?? container.ramdisk?.size ?? null,
    };
  }
  const result = planChain(tree, chain, options, container === null ? null : (kernel) => containerKernelAddress(container, kernel, tree.facts));
  const kernel = chain.find((l) => l.path === result.kernel.path);
  if (container && kernel) applyContainer(result, container, kernel, tree.facts);
  return result;
}

function planChain(tree: Tree, chain: Layer[], options: PlanOptions, kernelAt: ((kernel: Layer) => bigint | null) | null): BootPlan {
  const unsupported = chain.find((l) => UNSUPPORTED_KERNEL_FORMATS.has(l.format));
  if (unsupported) {
    throw new KimgError(ErrorCode.UNSUPPORTED, `${unsupportedName(unsupported.format)}: kimg cannot plan how this format boots`, {
      structure: "layer tree",
      format: unsupported.format,
      layer: unsupported.path,
    });
  }
  const kernel = bootableLayer(chain);
  if (!kernel) throw noKernelError(tree.diagnostics, ErrorCode.UNSUPPORTED, "no bootable kernel found in this image");
  assertKernelWhole(tree.diagnostics, kernel, { payload: true });
  const bytes = tree.bytes.get(kernel.path) ?? new Uint8Array(0);
  const upTo = chain.slice(0, chain.indexOf(kernel) + 1);
  const ramBase = (arch: string): bigint => options.ramBase ?? DEFAULT_RAM_BASE[arch] ?? 0n;
  switch (kernel.format) {
    case "arm64-image":
      return planArm64(kernel, bytes, upTo, ramBase("arm64"), options, tree.facts, kernelAt?.(kernel) ?? null);
    case "riscv-image":
      return planRiscv(kernel, bytes, upTo, ramBase(kernel.arch ?? "riscv64"), options, tree.facts);
    case "loongarch-image":
      return planLoongArch(kernel, bytes, upTo, options.ramBase ?? null, options, tree.facts);
    case "arm-zimage":
      return planArm(kernel, bytes, upTo, ramBase("arm"), options, tree.facts, kernelAt?.(kernel) ?? null);
    case "bzimage":
      return planX86(kernel, bytes, upTo, ramBase(kernel.arch ?? "x86_64"), options, tree.facts);
    default:
      return planElf(kernel, bytes, upTo, tree.facts);
  }
}

export type { BootPlan, PlanOptions };
