/** A bare ELF vmlinux is loaded by its PT_LOAD physical addresses and entered at e_entry. */
import { factsOf, type FactsTable } from "../../model/facts.js";
import type { Layer } from "../../model/report.js";
import { protectionMap } from "./common.js";
import type { BootPlan, Segment } from "../../model/plan.js";
import { hexBig } from "./constants.js";

export function planElf(kernel: Layer, bytes: Uint8Array, chain: Layer[], facts: FactsTable): BootPlan {
  const elf = factsOf(facts, kernel.path, "elf");
  const segments: Segment[] = [];
  for (const s of elf?.segments ?? []) {
    if (s.type !== "LOAD") continue;
    segments.push({
      name: "kernel",
      address: hexBig(s.paddr),
      size: s.filesz,
      memorySize: s.memsz,
      alignment: 4096,
      note: `PT_LOAD ${s.perms} from file offset 0x${s.offset.toString(16)} (vaddr ${hexBig(s.vaddr)})`,
    });
  }
  const { regions, checks } = protectionMap(chain, kernel, 4096, facts);
  const entry = hexBig(elf?.entry ?? 0n);
  return {
    arch: kernel.arch ?? "unknown",
    kernel: { path: kernel.path, format: kernel.format, size: bytes.length },
    entry: {
      offset: -1,
      address: entry,
      branchTarget: null,
      form: "ELF e_entry (a virtual address)",
      instructions: [],
      efiEntry: null,
      explanation: ["an ELF vmlinux is loaded segment by segment at p_paddr and entered at e_entry, translated by the loader"],
    },
    load: {
      ramBase: hexBig(0),
      alignment: 4096,
      base: segments[0]?.address ?? "0x0",
      kernelAddress: segments[0]?.address ?? "0x0",
      textOffset: 0,
      memorySize: segments.reduce((n, s) => n + s.memorySize, 0),
      fileSize: bytes.length,
      rules: ["each PT_LOAD at its physical address"],
    },
    segments,
    registers: [],
    cpuState: [],
    regions,
    checks,
  };
}
