/**
 * arm64: Documentation/arch/arm64/booting.rst. The Image is placed text_offset bytes above a
 * 2 MiB aligned base and entered at its first byte: code0 is the "MZ" pseudo-NOP, code1 branches
 * to primary_entry. x0 = DTB, x1..x3 = 0, MMU off.
 */
import { decodeArm64Sequence } from "../../isa/arm64.js";
import { factsOf, type FactsTable } from "../../model/facts.js";
import type { Layer } from "../../model/report.js";
import { Placer, protectionMap } from "./common.js";
import { entryChecks, efiEntryOf } from "./entry-checks.js";
import type { BootPlan, PlanOptions, Segment } from "../../model/plan.js";
import { hexBig } from "./constants.js";
import { ARM64_DTB_ALIGN, arm64DtbFits, arm64InitrdInWindow, arm64KernelNeeds, placeArm64Kernel } from "../../boot/placement/arm64.js";
import { noRoomAbove, ramFrom } from "../../boot/placement/memory.js";
import { placementEnd } from "../../boot/placement/types.js";

/** An estimate for the running system's DTB when none is given. */
const DTB_ESTIMATE = 64 * 1024;

/** `kernelAt`: where a boot container's loader puts the Image (text_offset above a 2 MiB aligned base), instead of the lowest such place above `ramBase`. */
export function planArm64(
  kernel: Layer,
  bytes: Uint8Array,
  chain: Layer[],
  ramBase: bigint,
  options: PlanOptions,
  facts: FactsTable,
  kernelAt: bigint | null = null,
): BootPlan {
  // No facts only when the walker did not read the layer (a limit): then the defaults of a pre-v3.17 header.
  const header = factsOf(facts, kernel.path, "arm64-image");
  // The placement model (boot/placement/arm64.ts) is the one kexec uses: same base, same address.
  const needs = arm64KernelNeeds({ textOffset: Number(header?.textOffset ?? 0n), imageSize: Number(header?.imageSize ?? 0n), fileSize: bytes.length });
  const atBase = kernelAt === null ? null : kernelAt - BigInt(needs.textOffset);
  const given = atBase !== null && atBase >= 0n && atBase % BigInt(needs.alignment) === 0n;
  const placement = placeArm64Kernel(needs, ramFrom(given && atBase !== null ? atBase : ramBase));
  if (placement === null) throw noRoomAbove(ramBase);
  const { textOffset, memorySize: imageSize, base, address: kernelAddress } = placement;
  const rules = [
    ...(given ? [`the boot container's loader puts the Image at ${hexBig(kernelAddress)}`] : []),
    "place the Image text_offset bytes above a 2 MiB aligned base in usable RAM",
    "image_size bytes from the image start must be free (BSS included)",
    "DTB 8-byte aligned and at most 2 MiB; initrd within a 1 GiB aligned 32 GiB window that also covers the Image",
  ];
  if (needs.legacyHeader) {
    // Pre-v3.17 headers: kexec-tools assumes text_offset 0x80000 and reserves 16 MiB.
    rules.push("image_size is 0 (pre-v3.17): text_offset 0x80000 and 16 MiB assumed, as kexec-tools does");
  }
  // The Image starts text_offset above the 2 MiB aligned base (not on the next 2 MiB boundary).
  const segments: Segment[] = [
    {
      name: "kernel",
      address: hexBig(kernelAddress),
      size: bytes.length,
      memorySize: imageSize,
      alignment: placement.alignment,
      note: "the Image; memory up to image_size covers BSS",
    },
  ];
  const placer = new Placer(placementEnd(placement));
  if (options.initrdSize) segments.push(placer.place("initrd", options.initrdSize, 4096, "initrd; /chosen linux,initrd-start/end point at it"));
  const dtbSize = options.dtbSize ?? DTB_ESTIMATE;
  const dtb = placer.place(
    "dtb",
    dtbSize,
    ARM64_DTB_ALIGN,
    options.dtbSize
      ? "the given device tree with /chosen updated (bootargs, initrd)"
      : "the running system's device tree (size estimated) with /chosen updated",
  );
  segments.push(dtb);

  const instructions = decodeArm64Sequence(bytes, 2);
  const branch = instructions.find((i) => i.branchTarget !== undefined);
  const branchTarget = branch?.branchTarget ?? null;
  const pageSize = header?.pageSize ?? 4096;
  const { regions, checks } = protectionMap(chain, kernel, pageSize, facts);
  checks.push(...entryChecks(kernel, bytes, instructions, branchTarget, "arm64"));
  const dtbFits = arm64DtbFits(dtbSize);
  checks.push({ id: "dtb-size", ok: dtbFits, message: `DTB of ${dtbSize} bytes ${dtbFits ? "fits" : "exceeds"} the 2 MiB limit` });
  const initrd = segments.find((s) => s.name === "initrd");
  if (initrd) {
    const start = BigInt(initrd.address);
    const ok = arm64InitrdInWindow(placement, { start, end: start + BigInt(initrd.size) });
    checks.push({
      id: "initrd-window",
      ok,
      message: ok ? "initrd and Image lie in one 1 GiB aligned 32 GiB window" : "initrd is outside the 32 GiB window of the Image",
    });
  }
  const efi = efiEntryOf(kernel);
  return {
    arch: "arm64",
    kernel: { path: kernel.path, format: kernel.format, size: bytes.length },
    entry: {
      offset: 0,
      address: hexBig(kernelAddress),
      branchTarget,
      form: null,
      instructions,
      efiEntry: efi
        ? {
            rva: efi,
            why: "efi_pe_entry needs UEFI boot services, which are gone once the firmware has exited them (kexec); a non-EFI loader enters at the image start",
          }
        : null,
      explanation: [
        `enter at the image start: ${instructions[0]?.text ?? "?"} only changes ${instructions[0]?.writes.join(", ") || "nothing"}, then ${instructions[1]?.text ?? "?"} reaches the core entry at +${branchTarget === null ? "?" : "0x" + branchTarget.toString(16)}`,
        "the header's first instructions run with the MMU off, so their data mapping does not matter; the core entry runs from code",
      ],
    },
    load: {
      ramBase: hexBig(ramBase),
      alignment: placement.alignment,
      base: hexBig(base),
      kernelAddress: hexBig(kernelAddress),
      textOffset,
      memorySize: imageSize,
      fileSize: bytes.length,
      rules,
    },
    segments,
    registers: [
      { name: "x0", value: dtb.address, meaning: "physical address of the device tree" },
      { name: "x1", value: "0x0", meaning: "reserved, must be 0" },
      { name: "x2", value: "0x0", meaning: "reserved, must be 0" },
      { name: "x3", value: "0x0", meaning: "reserved, must be 0" },
    ],
    cpuState: [
      "MMU off, D-cache cleaned to PoC for the image; I-cache on or off",
      "all interrupts masked (DAIF)",
      "EL2 (recommended, for virtualisation) or non-secure EL1",
    ],
    regions,
    checks,
  };
}
