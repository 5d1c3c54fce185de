/**
 * LoongArch: Documentation/arch/loongarch/booting.rst, arch/loongarch/kernel/head.S. The loader
 * enters at kernel_entry (never at the "MZ" word) with a0 = efi_boot, a1 = cmdline, a2 = EFI
 * system table, so the kernel still finds the EFI and ACPI tables.
 */
import { decodeLoongArch, decodeLoongArchSequence } from "../../isa/loongarch.js";
import { factsOf, type FactsTable } from "../../model/facts.js";
import type { Layer } from "../../model/report.js";
import { Placer, protectionMap } from "./common.js";
import { efiEntryOf } from "./entry-checks.js";
import type { BootPlan, PlanOptions, Segment } from "../../model/plan.js";
import { hexBig } from "./constants.js";
import { loongArchKernelNeeds, placeLoongArchKernel } from "../../boot/placement/loongarch.js";
import { noRoomAbove, ramFrom } from "../../boot/placement/memory.js";
import { placementEnd } from "../../boot/placement/types.js";
import type { Check } from "../../model/plan.js";

/** Where in-kernel kexec copies the command line (machine_kexec.c: KEXEC_CMDLINE_ADDR). */
const KEXEC_CMDLINE_ADDR = 0x108000n;

export function planLoongArch(kernel: Layer, bytes: Uint8Array, chain: Layer[], ramBase: bigint | null, options: PlanOptions, facts: FactsTable): BootPlan {
  const header = factsOf(facts, kernel.path, "loongarch-image");
  const entryOffset = header?.entryOffset ?? null;
  // The placement model (boot/placement/loongarch.ts), shared with kexec once it loads LoongArch.
  const needs = loongArchKernelNeeds({ loadOffset: header?.loadOffset ?? 0n, imageSize: Number(header?.imageSize ?? 0n), fileSize: bytes.length });
  const loadOffset = needs.linkAddress;
  const imageSize = needs.memorySize;
  // "undefined" only when the walker did not read the layer (a limit).
  const kernelEntry = header ? hexBig(header.kernelEntry) : "undefined";
  // Without a relocation base the kernel goes to its link address (PHYS_LINK_KADDR).
  const relocated = ramBase !== null;
  const placement = placeLoongArchKernel(needs, relocated ? ramFrom(ramBase) : null);
  if (placement === null) throw noRoomAbove(ramBase ?? 0n);
  const kernelAddress = placement.address;
  const segments: Segment[] = [
    {
      name: "kernel",
      address: hexBig(kernelAddress),
      size: bytes.length,
      memorySize: imageSize,
      alignment: needs.alignment,
      note: relocated ? "relocated kernel (needs CONFIG_RELOCATABLE)" : "at its link address (load_offset)",
    },
  ];
  const placer = new Placer(placementEnd(placement));
  const cmdline = options.cmdline ?? "";
  const cmdlineBytes = new TextEncoder().encode(cmdline).length + 1;
  if (options.initrdSize) segments.push(placer.place("initrd", options.initrdSize, 64 * 1024, "initrd; passed as initrd=ADDR,SIZE on the command line"));
  segments.push({
    name: "cmdline",
    address: hexBig(KEXEC_CMDLINE_ADDR),
    size: cmdlineBytes,
    memorySize: 4096,
    alignment: 4096,
    note: 'command line (kexec_load finds the segment that starts with "kexec")',
  });

  const mz = decodeLoongArch(((bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8) | ((bytes[2] ?? 0) << 16) | ((bytes[3] ?? 0) << 24)) >>> 0, 0);
  const atEntry = entryOffset !== null && entryOffset + 8 <= bytes.length ? decodeLoongArchSequence(bytes, 2, { start: entryOffset }) : [];
  const { regions, checks } = protectionMap(chain, kernel, 4096, facts);
  const extra: Check[] = [
    {
      id: "entry-in-image",
      ok: entryOffset !== null,
      message:
        entryOffset === null ? `kernel_entry ${kernelEntry} does not map into the image` : `kernel_entry maps to image offset 0x${entryOffset.toString(16)}`,
      layer: kernel.path,
      offset: 8,
    },
    {
      id: "mz-word",
      ok: true,
      message: `"MZ" decodes as ${mz.text}${mz.harmless ? ", harmless" : ""}; loaders never execute it: they jump to kernel_entry`,
      layer: kernel.path,
      offset: 0,
    },
  ];
  if ((header?.imageSize ?? 0n) === 0n)
    extra.push({ id: "kernel-asize", ok: false, message: "kernel_asize is 0: kexec_file_load rejects the image", layer: kernel.path, offset: 0x10 });
  checks.push(...extra);
  const efi = efiEntryOf(kernel);
  const entryAddress = entryOffset === null ? null : kernelAddress + BigInt(entryOffset);
  return {
    arch: "loongarch64",
    kernel: { path: kernel.path, format: kernel.format, size: bytes.length },
    entry: {
      offset: entryOffset ?? -1,
      address: entryAddress === null ? "unknown" : hexBig(entryAddress),
      branchTarget: null,
      form: header?.entryForm ?? null,
      instructions: [mz, ...atEntry],
      efiEntry: efi ? { rva: efi, why: "efi_pe_entry is the EFI stub; it needs boot services. kexec enters at kernel_entry" } : null,
      explanation: [
        `enter at kernel_entry (${kernelEntry}, ${header?.entryForm === "dmw-virtual" ? "a DMW virtual address of pre-v6.10 kernels" : "a physical address (v6.10+)"}), masked to 48 bits and taken relative to the load address ${hexBig(loadOffset)}: image offset ${entryOffset === null ? "?" : "0x" + entryOffset.toString(16)}`,
        "kernel_entry programs the direct-mapped windows itself, so it may run at a physical or a DMW address",
      ],
    },
    load: {
      ramBase: hexBig(ramBase ?? 0n),
      alignment: needs.alignment,
      base: hexBig(kernelAddress),
      kernelAddress: hexBig(kernelAddress),
      textOffset: Number(loadOffset),
      memorySize: imageSize,
      fileSize: bytes.length,
      rules: [
        `load at the link address load_offset ${hexBig(loadOffset)}${needs.linkAddressAssumed ? " (0 in the header: older kernel, 0x200000 assumed)" : ""}, or anywhere 2 MiB aligned with CONFIG_RELOCATABLE`,
        "kernel_asize bytes must be free",
      ],
    },
    segments,
    registers: [
      { name: "a0", value: "inherited", meaning: "efi_boot: non-zero when booted by UEFI (the running kernel's fw_arg0)" },
      { name: "a1", value: hexBig(KEXEC_CMDLINE_ADDR), meaning: "physical address of the command line" },
      { name: "a2", value: "inherited", meaning: "EFI system table (the running kernel's fw_arg2): how the kernel finds the EFI and ACPI tables" },
    ],
    cpuState: ["interrupts off", "the kernel sets up its own DMW windows and CRMD at kernel_entry"],
    regions,
    checks,
  };
}
