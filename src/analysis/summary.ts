/** The small stable summary scripts rely on (`summary.*` in --json). */
import { KERNEL_FORMATS } from "../formats/registry.js";
import { bannerOf, factsOf, type FactsTable } from "../model/facts.js";
import type { Layer, Summary } from "../model/report.js";

/** Sections that hold something other than the kernel; the kernel chain never enters them. */
const NOT_KERNEL = new Set(["pe", ".initrd", ".ucode", ".dtb", ".dtbauto", ".splash", ".efifw", ".sbom"]);

/** A child the kernel may be in: not the PE view nor a section holding something else (".initrd#2" counts as ".initrd"). */
function onKernelPath(child: Layer): boolean {
  return !NOT_KERNEL.has(child.path.slice(child.path.lastIndexOf("/") + 1).replace(/#\d+$/, ""));
}

/** The chain of layers from the root to the innermost kernel layer. */
export function kernelChain(root: Layer): Layer[] {
  let best: Layer[] = [];
  const visit = (layer: Layer, chain: Layer[]): void => {
    const here = [...chain, layer];
    if (KERNEL_FORMATS.has(layer.format) && here.length > best.length) best = here;
    for (const c of layer.children) {
      if (!onKernelPath(c)) continue;
      visit(c, here);
    }
  };
  visit(root, []);
  return best;
}

function firstCompressed(root: Layer): Layer | undefined {
  const queue = [root];
  while (queue.length) {
    const layer = queue.shift() as Layer;
    if (layer.format === "compressed") return layer;
    for (const c of layer.children) if (onKernelPath(c)) queue.push(c);
  }
  return undefined;
}

/** The summary of a layer tree; `facts` are the tree's (Tree.facts). */
export function summarise(root: Layer, facts: FactsTable): Summary {
  const chain = kernelChain(root);
  const kernel = chain[chain.length - 1] ?? null;
  // The kernel's payload codec, also when the payload could not be decompressed (then it is a
  // child of the last layer reached rather than part of the chain).
  // When no kernel was reached at all, the first compressed layer on a kernel path still names the codec.
  const compressedLayer =
    chain.find((l) => l.format === "compressed") ??
    kernel?.children.find((c) => c.format === "compressed" && c.path.endsWith("/payload")) ??
    (kernel ? undefined : firstCompressed(root));
  const codec = compressedLayer ? (factsOf(facts, compressedLayer.path, "compressed")?.codec ?? null) : null;
  let linuxVersion: string | null = null;
  for (const l of [...chain].reverse()) {
    const banner = bannerOf(facts.get(l.path));
    if (banner) {
      linuxVersion = banner.text;
      break;
    }
  }
  const archLayer = [...chain].reverse().find((l) => l.arch) ?? (root.arch ? root : null);
  return {
    format: root.format,
    arch: normaliseArch(archLayer?.arch ?? null, chain),
    compression: codec,
    kernelFormat: kernel?.format ?? null,
    kernelPath: kernel?.path ?? null,
    linuxVersion,
  };
}

/** An ELF vmlinux inside an x86 bzImage says x86_64 through its machine; keep the most specific arch seen. */
function normaliseArch(arch: string | null, chain: Layer[]): string | null {
  if (arch) return arch;
  for (const l of chain) if (l.arch) return l.arch;
  return null;
}
