/**
 * x86 bzImage: Documentation/arch/x86/boot.rst. The protected-mode kernel is loaded at an address
 * aligned to kernel_alignment (pref_address when not relocatable) and, for a 64-bit boot, entered
 * at its start + 0x200 (startup_64) with %rsi = boot_params.
 */
import { factsOf, type FactsTable } from "../../model/facts.js";
import type { Layer } from "../../model/report.js";
import { Placer, protectionMap } from "./common.js";
import { efiEntryOf } from "./entry-checks.js";
import type { BootPlan, PlanOptions } from "../../model/plan.js";
import { alignUpBig, hexBig, MiB } from "./constants.js";
import type { Check } from "../../model/plan.js";

export function planX86(kernel: Layer, bytes: Uint8Array, chain: Layer[], ramBase: bigint, options: PlanOptions, facts: FactsTable): BootPlan {
  const header = factsOf(facts, kernel.path, "bzimage");
  const pmOffset = header?.protectedModeOffset ?? 0;
  const xflags = header?.xloadflagNames ?? [];
  const is64 = xflags.includes("XLF_KERNEL_64");
  const alignment = header?.kernelAlignment || 2 * MiB;
  const relocatable = header?.relocatable === true;
  const pref = header?.prefAddress ?? 0x1000000n;
  const pmSize = Math.max(0, bytes.length - pmOffset);
  const initSize = header?.initSize || pmSize;
  const kernelAddress = relocatable ? alignUpBig(ramBase > pref ? ramBase : pref, BigInt(alignment)) : pref;
  const placer = new Placer(kernelAddress);
  const segments = [
    placer.place(
      "kernel",
      pmSize,
      alignment,
      `the protected-mode kernel (file offset 0x${pmOffset.toString(16)} on); init_size bytes reserved`,
      Math.max(initSize, pmSize),
    ),
  ];
  const cmdline = options.cmdline ?? "";
  const cmdlineSize = header?.cmdlineSize ?? 255;
  const cmdlineBytes = new TextEncoder().encode(cmdline).length + 1;
  const params = placer.place("boot_params", 4096, 4096, "the zero page: setup header copied from the image, loader fields filled in");
  segments.push(params);
  segments.push(placer.place("cmdline", cmdlineBytes, 16, `command line (at most cmdline_size = ${cmdlineSize} bytes)`));
  if (options.initrdSize)
    segments.push(
      placer.place(
        "initrd",
        options.initrdSize,
        4096,
        xflags.includes("XLF_CAN_BE_LOADED_ABOVE_4G") ? "initrd (may sit above 4 GiB)" : "initrd (must sit below initrd_addr_max)",
      ),
    );

  const entryOffset = is64 ? pmOffset + 0x200 : pmOffset;
  const { regions, checks } = protectionMap(chain, kernel, 4096, facts);
  const probe: Check = {
    id: "kexec-file-probe",
    ok: xflags.includes("XLF_KERNEL_64") && xflags.includes("XLF_CAN_BE_LOADED_ABOVE_4G") && (header?.protocol ?? 0) >= 0x20c,
    message: "kexec_file_load's bzImage64 loader needs protocol 2.12+, LOADED_HIGH, XLF_KERNEL_64 and XLF_CAN_BE_LOADED_ABOVE_4G",
    layer: kernel.path,
    offset: 0x236,
  };
  checks.push(probe, {
    id: "cmdline-size",
    ok: cmdlineBytes <= cmdlineSize + 1,
    message: `command line of ${cmdlineBytes - 1} bytes, limit ${cmdlineSize}`,
    layer: kernel.path,
    offset: 0x238,
  });
  const handover = header?.handoverOffset ?? null;
  const efi = efiEntryOf(kernel);
  return {
    arch: kernel.arch ?? "x86_64",
    kernel: { path: kernel.path, format: kernel.format, size: bytes.length },
    entry: {
      offset: entryOffset,
      address: hexBig(kernelAddress + BigInt(entryOffset - pmOffset)),
      branchTarget: null,
      form: is64 ? "64-bit boot protocol (startup_64)" : "32-bit boot protocol (code32_start)",
      instructions: [],
      efiEntry: efi
        ? {
            rva: efi,
            why: `the PE entry is the EFI stub${handover !== null ? `; the EFI handover entry is at protected-mode offset 0x${(handover + (is64 ? 0x200 : 0)).toString(16)}` : ""}; both need boot services`,
          }
        : null,
      explanation: [
        is64
          ? `enter the protected-mode kernel at +0x200 (startup_64; file offset 0x${entryOffset.toString(16)}) in long mode with %rsi = boot_params`
          : `enter the protected-mode kernel at its start (code32_start) in 32-bit protected mode with %esi = boot_params`,
      ],
    },
    load: {
      ramBase: hexBig(ramBase),
      alignment,
      base: hexBig(kernelAddress),
      kernelAddress: hexBig(kernelAddress),
      textOffset: 0,
      memorySize: Math.max(initSize, pmSize),
      fileSize: pmSize,
      rules: [
        relocatable
          ? `relocatable: any address aligned to kernel_alignment ${hexBig(alignment)}; pref_address ${hexBig(pref)} preferred`
          : `not relocatable: load at pref_address ${hexBig(pref)}`,
        "init_size bytes from the load address must be free (the decompressor works in place)",
        "only the protected-mode part (after the setup sectors) is loaded; the setup header goes into boot_params",
      ],
    },
    segments,
    registers: [
      { name: is64 ? "rsi" : "esi", value: params.address, meaning: "physical address of boot_params (the zero page)" },
      { name: is64 ? "rip" : "eip", value: hexBig(kernelAddress + BigInt(entryOffset - pmOffset)), meaning: "the entry" },
    ],
    cpuState: is64
      ? [
          "64-bit long mode, paging on with an identity map covering the kernel, boot_params, cmdline and initrd",
          "interrupts off, __BOOT_CS/__BOOT_DS flat segments",
        ]
      : ["32-bit protected mode, paging off, flat 4 GiB segments", "interrupts off"],
    regions,
    checks,
  };
}
