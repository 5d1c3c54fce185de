/**
 * 32-bit Arm zImage: Documentation/arch/arm/booting.rst. The zImage is entered at its first
 * instruction (in ARM state, even for a Thumb-2 kernel) with r0 = 0, r1 = the machine type
 * (~0 with a device tree), r2 = the DTB's physical address, MMU and data cache off, in SVC mode
 * (or HYP on CPUs with the virtualisation extensions). Placement, section 6: "The kernel should
 * be placed in the first 128MiB of RAM. It is recommended that it is loaded above 32MiB in order
 * to avoid the need to relocate prior to decompression"; section 4b: the DTB "at a 64bit aligned
 * address [...] A safe location is just above the 128MiB boundary from start of RAM"; section 5:
 * the initramfs "just above the device tree blob".
 */
import type { DecodedInstruction } from "../../isa/types.js";
import { factsOf, type FactsTable } from "../../model/facts.js";
import type { Layer } from "../../model/report.js";
import type { BootPlan, Check, PlanOptions, Segment } from "../../model/plan.js";
import { Placer, protectionMap } from "./common.js";
import { efiEntryOf } from "./entry-checks.js";
import { hexBig, MiB } from "./constants.js";

/** booting.rst section 6: "placed in the first 128MiB of RAM". */
export const ARM_ZIMAGE_WINDOW = 128 * MiB;
/** booting.rst section 6: "loaded above 32MiB in order to avoid the need to relocate prior to decompression". */
export const ARM_ZIMAGE_OFFSET = 32 * MiB;
/** The zImage's load alignment kimg uses: a page (head.S is position independent; 4 KiB keeps its data page aligned). */
export const ARM_ZIMAGE_ALIGN = 4096;
/** booting.rst section 4b: "at a 64bit aligned address". */
export const ARM_DTB_ALIGN = 8;
/** An estimate for the running system's DTB when none is given. */
const DTB_ESTIMATE = 64 * 1024;

/** The few words a zImage starts with (head.S `__initial_nops`, efi-header.S `__nop`, the branch to label 1). */
export function decodeArmWord(word: number, offset: number): DecodedInstruction {
  const encoding = `0x${word.toString(16).padStart(8, "0")}`;
  const base = { offset, size: 4, encoding };
  if (word === 0xe1a00000) return { ...base, text: "mov r0, r0", mnemonic: "nop", fallsThrough: true, writes: [], harmless: true };
  // efi-header.S: "MZ" | (0x2255 << 16) (newer) or (0x1310 << 16) (older): almost a NOP, r5 or the flags.
  if (word === 0xe2255a4d) return { ...base, text: "eor r5, r5, #0x4d000", mnemonic: "eor", fallsThrough: true, writes: ["r5"], harmless: true };
  if (word === 0x13105a4d) return { ...base, text: "tstne r0, #0x4d000", mnemonic: "tstne", fallsThrough: true, writes: ["cpsr"], harmless: true };
  // A1 B: cond 1110 (always), 1010, imm24; the target is PC (+8) plus imm24 * 4.
  if ((word & 0xff000000) >>> 0 === 0xea000000) {
    const imm = word & 0xffffff;
    const target = offset + 8 + (imm & 0x800000 ? imm - 0x1000000 : imm) * 4;
    return { ...base, text: `b 0x${target.toString(16)}`, mnemonic: "b", branchTarget: target, fallsThrough: false, writes: [], harmless: true };
  }
  return { ...base, text: "(unknown)", mnemonic: "(unknown)", fallsThrough: true, writes: [], harmless: false };
}

/** The instructions from the start up to and including the first branch (at most the header's 9 words). */
function headerInstructions(bytes: Uint8Array): DecodedInstruction[] {
  const out: DecodedInstruction[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 4 <= Math.min(bytes.length, 0x24); at += 4) {
    const i = decodeArmWord(view.getUint32(at, true), at);
    out.push(i);
    if (!i.fallsThrough || i.mnemonic === "(unknown)") break;
  }
  return out;
}

/** `kernelAt`: where a boot container's loader puts the zImage (its load address), instead of 32 MiB into RAM. */
export function planArm(
  kernel: Layer,
  bytes: Uint8Array,
  chain: Layer[],
  ramBase: bigint,
  options: PlanOptions,
  facts: FactsTable,
  kernelAt: bigint | null = null,
): BootPlan {
  const z = factsOf(facts, kernel.path, "arm-zimage");
  const start = z?.start ?? 0;
  const end = z?.end ?? bytes.length;
  // end - start is the zImage as linked (_edata); the decompressor's stack and heap follow it (BSS).
  const linked = end > start ? end - start : bytes.length;
  const memorySize = Math.max(linked, bytes.length) + (z?.bssSize ?? 0);
  // A zImage linked to a fixed address (start != 0, CONFIG_ZBOOT_ROM or an old board kernel) runs only there.
  const fixed = start !== 0;
  const kernelAddress = kernelAt ?? (fixed ? BigInt(start) : ramBase + BigInt(ARM_ZIMAGE_OFFSET));
  const rules = [
    "load the zImage in the first 128 MiB of RAM, above 32 MiB so that the decompressor need not relocate itself",
    "DTB on a 64-bit boundary just above the first 128 MiB of RAM, out of the decompressor's way and inside the low-memory mapping",
    "initrd just above the DTB",
  ];
  if (fixed) rules.push(`the header's start ${hexBig(BigInt(start))} is an absolute address: this zImage runs only there`);
  if (kernelAt !== null) rules.push(`the boot container loads the zImage at ${hexBig(kernelAt)}`);
  const segments: Segment[] = [
    {
      name: "kernel",
      address: hexBig(kernelAddress),
      size: bytes.length,
      memorySize,
      alignment: ARM_ZIMAGE_ALIGN,
      note: "the zImage: its decompressor writes the Image near the start of RAM (ZRELADDR), relocating itself first when in the way",
    },
  ];
  const windowEnd = ramBase + BigInt(ARM_ZIMAGE_WINDOW);
  const placer = new Placer(windowEnd > kernelAddress + BigInt(memorySize) ? windowEnd : kernelAddress + BigInt(memorySize));
  const dtbSize = options.dtbSize ?? DTB_ESTIMATE;
  const dtb = placer.place(
    "dtb",
    dtbSize,
    ARM_DTB_ALIGN,
    options.dtbSize
      ? "the given device tree with /chosen updated (bootargs, initrd)"
      : "the running system's device tree (size estimated) with /chosen updated",
  );
  segments.push(dtb);
  if (options.initrdSize)
    segments.push(placer.place("initrd", options.initrdSize, 4096, "initrd just above the DTB; /chosen linux,initrd-start/end point at it"));

  const instructions = headerInstructions(bytes);
  const branch = instructions.find((i) => i.branchTarget !== undefined);
  const branchTarget = branch?.branchTarget ?? null;
  const { regions, checks } = protectionMap(chain, kernel, 4096, facts);
  checks.push(...entryChecks(kernel, bytes, instructions, branchTarget));
  checks.push(placementCheck(kernel, kernelAddress, memorySize, ramBase));
  if (z) {
    checks.push({
      id: "arm-endianness",
      ok: z.endianness !== null || !z.extensionTable,
      info: z.endianness !== null || !z.extensionTable,
      message:
        z.endianness === "big"
          ? "a BE8 kernel: entered in little-endian state like any zImage, it switches to big-endian itself"
          : z.endianness === "little"
            ? "a little-endian kernel (endianness word 0x04030201)"
            : z.extensionTable
              ? `the endianness word ${hexBig(BigInt(z.endianWord))} names no byte order`
              : "no endianness word (a kernel older than v3.10): little-endian assumed",
      layer: kernel.path,
      offset: 0x30,
    });
  }
  const efi = efiEntryOf(kernel);
  return {
    arch: "arm",
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
            why: "efi_pe_entry needs UEFI boot services, which are gone once the firmware has exited them (kexec); a non-EFI loader enters at the zImage start",
          }
        : null,
      explanation: [
        `enter at the zImage start in ARM state (even for a Thumb-2 kernel): ${instructions
          .slice(0, -1)
          .map((i) => i.text)
          .filter((t, n, all) => all.indexOf(t) === n)
          .join(", ")} change nothing the protocol passes, then ${branch?.text ?? "?"} reaches the decompressor's start`,
        "the decompressor finds the compressed kernel between input_data and input_data_end, unpacks it and jumps to it with r0-r2 as it received them",
      ],
    },
    load: {
      ramBase: hexBig(ramBase),
      alignment: ARM_ZIMAGE_ALIGN,
      base: hexBig(kernelAddress),
      kernelAddress: hexBig(kernelAddress),
      textOffset: 0,
      memorySize,
      fileSize: bytes.length,
      rules,
    },
    segments,
    registers: [
      { name: "r0", value: "0x0", meaning: "must be 0" },
      { name: "r1", value: "0xffffffff", meaning: "machine type number; ~0 (0xffffffff) when booting with a device tree" },
      { name: "r2", value: dtb.address, meaning: "physical address of the device tree (or of an ATAG list)" },
    ],
    cpuState: [
      "MMU off, data cache off; instruction cache on or off",
      "IRQs and FIQs disabled",
      "SVC mode, or HYP mode on CPUs with the virtualisation extensions (recommended there)",
      "ARM state at the first instruction, even for a Thumb-2 kernel",
    ],
    regions,
    checks,
  };
}

function entryChecks(kernel: Layer, bytes: Uint8Array, instructions: DecodedInstruction[], branchTarget: number | null): Check[] {
  const checks: Check[] = [];
  const unknown = instructions.find((i) => !i.harmless);
  const first = instructions[0];
  checks.push({
    id: "entry-first-instruction",
    ok: first !== undefined && unknown === undefined,
    message: !first
      ? "no instruction at the zImage start"
      : unknown
        ? `${unknown.encoding} at +0x${unknown.offset.toString(16)} is not one of the zImage header's known instructions`
        : `${first.text} at +0 is harmless: the header's instructions write only ${[...new Set(instructions.flatMap((i) => i.writes))].join(", ") || "nothing"}, which the boot protocol does not pass`,
    layer: kernel.path,
    offset: unknown?.offset ?? 0,
  });
  const inside = branchTarget !== null && branchTarget >= 0x24 && branchTarget < bytes.length;
  checks.push({
    id: "entry-branch",
    ok: inside,
    message:
      branchTarget === null
        ? "no branch to the decompressor in the zImage header's first instructions"
        : inside
          ? `the branch at +0x${(instructions.find((i) => i.branchTarget !== undefined)?.offset ?? 0).toString(16)} leads to +0x${branchTarget.toString(16)}, past the header, inside the zImage`
          : `the branch leads to +0x${branchTarget.toString(16)}, ${branchTarget < 0x24 ? "into the header" : `outside the ${bytes.length}-byte zImage`}`,
    layer: kernel.path,
    offset: instructions.find((i) => i.branchTarget !== undefined)?.offset ?? 0,
  });
  return checks;
}

function placementCheck(kernel: Layer, address: bigint, size: number, ramBase: bigint): Check {
  const from = address - ramBase;
  const to = from + BigInt(size);
  const inWindow = from >= 0n && to <= BigInt(ARM_ZIMAGE_WINDOW);
  const above = from >= BigInt(ARM_ZIMAGE_OFFSET);
  return {
    id: "arm-placement",
    ok: inWindow,
    message: !inWindow
      ? `the zImage at ${hexBig(address)} (${size} bytes) does not fit the first 128 MiB of RAM from ${hexBig(ramBase)}`
      : above
        ? `the zImage lies ${hexBig(from)} into RAM: within the first 128 MiB and above 32 MiB, so the decompressor need not relocate itself`
        : `the zImage lies ${hexBig(from)} into RAM: within the first 128 MiB, below 32 MiB, so the decompressor may relocate itself first`,
    layer: kernel.path,
    offset: null,
  };
}
