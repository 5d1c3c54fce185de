/** Pieces every architecture's plan shares: the regions/checks of the PE layers on the kernel chain, and segment placement. */
import type { Layer, PeInfo } from "../../types.js";
import { elfRegions, elfWxCheck, nxConsistencyCheck, peChecks, peRegions, type Check, type Region } from "../protection.js";
import { alignUpBig, hexBig, type Segment } from "./types.js";

export interface PeLayer {
  layer: Layer;
  pe: PeInfo;
}

/** The PE view of a layer (its "pe" child, or itself). */
export function peOf(layer: Layer): PeLayer | null {
  if (layer.pe) return { layer, pe: layer.pe };
  const child = layer.children.find((c) => c.format === "pe" && c.pe);
  return child?.pe ? { layer: child, pe: child.pe } : null;
}

/** Regions and checks of the outer EFI program(s) and the inner kernel. */
export function protectionMap(chain: Layer[], kernel: Layer, pageSize: number): { regions: Region[]; checks: Check[] } {
  const regions: Region[] = [];
  const checks: Check[] = [];
  const inner = peOf(kernel);
  const outers = chain.filter((l) => l !== kernel && l.format !== "compressed").map(peOf).filter((p): p is PeLayer => p !== null);
  for (const p of [...outers, ...(inner ? [inner] : [])]) {
    regions.push(...peRegions(p.layer, p.pe));
    checks.push(...peChecks(p.layer, p.pe, p === inner ? pageSize : 4096));
  }
  for (const o of outers) checks.push(nxConsistencyCheck(o.layer, o.pe, kernel, inner?.pe ?? null));
  if (!inner && kernel.format === "elf") {
    const r = elfRegions(kernel);
    regions.push(...r);
    checks.push(elfWxCheck(kernel, r));
  }
  if (!inner && kernel.format !== "elf") {
    checks.push({ id: "pe-header", ok: false, message: "the kernel has no PE header: no section table to map permissions from", layer: kernel.path });
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
