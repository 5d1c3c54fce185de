/**
 * RISC-V: Documentation/arch/riscv/boot.rst and boot-image-header.rst. The Image goes on a PMD
 * boundary (text_offset: 2 MiB rv64, 4 MiB rv32) and is entered at its first byte: "MZ" is
 * c.li s4,-13, then j _start_kernel. a0 = hart id, a1 = DTB, satp = 0.
 */
import { decodeRiscvSequence } from "../../isa/riscv.js";
import { factsOf, type FactsTable } from "../../model/facts.js";
import type { Layer } from "../../model/report.js";
import { Placer, protectionMap } from "./common.js";
import { efiEntryOf, entryChecks } from "./entry-checks.js";
import type { BootPlan, PlanOptions, Segment } from "../../model/plan.js";
import { hexBig, MiB } from "./constants.js";
import { alignUpPhys, noRoomAbove } from "../../boot/placement/memory.js";
import { placeRiscvKernel, riscvKernelNeeds, riscvStaticRam } from "../../boot/placement/riscv.js";
import { placementEnd } from "../../boot/placement/types.js";

const DTB_ESTIMATE = 64 * 1024;

export function planRiscv(kernel: Layer, bytes: Uint8Array, chain: Layer[], ramBase: bigint, options: PlanOptions, facts: FactsTable): BootPlan {
  const header = factsOf(facts, kernel.path, "riscv-image");
  const rv32 = kernel.arch === "riscv32";
  // The placement model (boot/placement/riscv.ts), shared with kexec once it loads RISC-V.
  const needs = riscvKernelNeeds({ textOffset: Number(header?.textOffset ?? 0n), imageSize: Number(header?.imageSize ?? 0n), fileSize: bytes.length, rv32 });
  const { textOffset, alignment, memorySize: imageSize } = needs;
  const base = alignUpPhys(ramBase, alignment);
  // OpenSBI keeps the first PMD of RAM; the kernel goes on the next boundary (riscvStaticRam).
  const placement = placeRiscvKernel(needs, riscvStaticRam(ramBase, needs));
  if (placement === null) throw noRoomAbove(ramBase);
  const kernelAddress = placement.address;
  const segments: Segment[] = [
    {
      name: "kernel",
      address: hexBig(kernelAddress),
      size: bytes.length,
      memorySize: imageSize,
      alignment,
      note: "the Image on a PMD boundary; memory up to image_size covers BSS",
    },
  ];
  const placer = new Placer(placementEnd(placement));
  if (options.initrdSize) segments.push(placer.place("initrd", options.initrdSize, 4096, "initrd; /chosen linux,initrd-start/end point at it"));
  const dtb = placer.place("dtb", options.dtbSize ?? DTB_ESTIMATE, 8, "device tree with /chosen updated; with kexec_load it must be one of the segments");
  segments.push(dtb);

  const instructions = decodeRiscvSequence(bytes, 2, { xlen: rv32 ? 32 : 64 });
  const branchTarget = instructions.find((i) => i.branchTarget !== undefined)?.branchTarget ?? null;
  const { regions, checks } = protectionMap(chain, kernel, 4096, facts);
  checks.push(...entryChecks(kernel, bytes, instructions, branchTarget, kernel.arch ?? "riscv"));
  if (header?.bigEndian === true)
    checks.push({ id: "endianness", ok: false, message: "big-endian RISC-V images are not implemented by Linux", layer: kernel.path, offset: 0x18 });
  const efi = efiEntryOf(kernel);
  return {
    arch: kernel.arch ?? "riscv64",
    kernel: { path: kernel.path, format: kernel.format, size: bytes.length },
    entry: {
      offset: 0,
      address: hexBig(kernelAddress),
      branchTarget,
      form: null,
      instructions,
      efiEntry: efi
        ? { rva: efi, why: "the EFI entry needs UEFI boot services, gone after ExitBootServices; a non-EFI loader enters at the image start" }
        : null,
      explanation: [
        `enter at the image start: ${instructions[0]?.text ?? "?"} only writes ${instructions[0]?.writes.join(", ") || "nothing"}, then ${instructions[1]?.text ?? "?"} reaches _start_kernel at +${branchTarget === null ? "?" : "0x" + branchTarget.toString(16)}`,
        "the header's first instructions run with the MMU off, so their data mapping does not matter; the core entry runs from code",
      ],
    },
    load: {
      ramBase: hexBig(ramBase),
      alignment,
      base: hexBig(base),
      kernelAddress: hexBig(kernelAddress),
      textOffset,
      memorySize: imageSize,
      fileSize: bytes.length,
      rules: [
        `place the Image on a ${alignment / MiB} MiB (PMD) boundary; text_offset is used as the alignment`,
        "image_size bytes must be free (BSS included)",
        "the first PMD of RAM usually holds the SBI firmware",
      ],
    },
    segments,
    registers: [
      { name: "a0", value: "0x" + (options.hartId ?? 0).toString(16), meaning: "hart id of the booting hart" },
      { name: "a1", value: dtb.address, meaning: "physical address of the device tree" },
    ],
    cpuState: ["satp = 0 (MMU off)", "S-mode interrupts masked (sie = 0)", "other harts held by SBI HSM until started"],
    regions,
    checks,
  };
}
