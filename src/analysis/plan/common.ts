/** Pieces every architecture's plan shares: the regions/checks of the PE layers on the kernel chain, and segment placement. */
import { factsOf, type FactsTable } from "../../model/facts.js";
import type { Layer, PeInfo } from "../../model/report.js";
import type { Check, Region } from "../../model/plan.js";
import { elfRegions, elfWxCheck, nxConsistencyCheck, peChecks, peRegions, type PeLoader } from "../protection.js";
import { allLayers } from "../tree.js";
import type { Segment } from "../../model/plan.js";
import { alignUpBig, hexBig } from "./constants.js";

/** A layer and the PE header that describes it (itself, or its "pe" child). */
export interface PeView {
  layer: Layer;
  pe: PeInfo;
}

/** The PE view of a layer (its "pe" child, or itself). */
export function peOf(layer: Layer): PeView | null {
  if (layer.pe) return { layer, pe: layer.pe };
  const child = layer.children.find((c) => c.format === "pe" && c.pe);
  return child?.pe ? { layer: child, pe: child.pe } : null;
}

/**
 * Who applies the inner kernel's PE flags: the firmware, unless the kernel sits in a v6.2+ zboot
 * image, whose stub calls it directly (a v6.1 zboot, with 0 at 0x38, StartImage'd the inner image).
 */
function innerLoader(chain: Layer[], kernel: Layer, facts: FactsTable): PeLoader {
  const zboot = chain
    .slice(0, chain.indexOf(kernel))
    .reverse()
    .find((l) => l.format === "zboot");
  if (!zboot) return "firmware";
  return factsOf(facts, zboot.path, "zboot")?.linuxPeMagic === 0 ? "firmware" : "zboot-stub";
}

/** Regions and checks of the outer EFI program(s), the inner kernel and, for a bzImage, its ELF vmlinux. */
export function protectionMap(chain: Layer[], kernel: Layer, pageSize: number, facts: FactsTable): { regions: Region[]; checks: Check[] } {
  const regions: Region[] = [];
  const checks: Check[] = [];
  const inner = peOf(kernel);
  const loader = innerLoader(chain, kernel, facts);
  const outers = chain
    .filter((l) => l !== kernel && l.format !== "compressed")
    .map(peOf)
    .filter((p): p is PeView => p !== null);
  for (const p of [...outers, ...(inner ? [inner] : [])]) {
    regions.push(...peRegions(p.layer, p.pe));
    checks.push(...peChecks(p.layer, p.pe, p === inner ? pageSize : 4096, p === inner ? loader : "firmware"));
  }
  for (const o of outers) checks.push(nxConsistencyCheck(o.layer, o.pe, kernel, inner?.pe ?? null, loader));
  // An ELF vmlinux: the kernel itself, or what a bzImage decompresses (the same facts everywhere, the page included).
  const elf = kernel.format === "elf" ? kernel : kernel.format === "bzimage" ? ([...allLayers(kernel)].find((l) => l.format === "elf") ?? null) : null;
  if (elf && (!inner || elf !== kernel)) {
    const r = elfRegions(elf, factsOf(facts, elf.path, "elf"));
    regions.push(...r);
    checks.push(elfWxCheck(elf, r));
  }
  if (!inner && kernel.format !== "elf") {
    checks.push({
      id: "pe-header",
      ok: true,
      info: true,
      message: "the kernel has no PE header (built without the EFI stub): no section table to map permissions from; a loader maps it as one region",
      layer: kernel.path,
    });
  }
  return { regions, checks };
}

/** Places segments one after another from `start`, each at its alignment. */
export class Placer {
  constructor(private cursor: bigint) {}

  place(name: Segment["name"], size: number, alignment: number, note: string, memorySize = size): Segment {
    const at = alignUpBig(this.cursor, BigInt(alignment));
    this.cursor = at + BigInt(memorySize);
    return { name, address: hexBig(at), size, memorySize, alignment, note };
  }
}
