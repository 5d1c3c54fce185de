/** `unpack` (one layer's bytes, by default the innermost kernel) and `unpackLayers` (every layer of data). */
import { kernelChain } from "../analysis/summary.js";
import { allLayers, findLayer } from "../analysis/tree.js";
import { assertKernelWhole, noKernelError } from "../analysis/whole.js";
import { BOOTABLE_FORMATS, UNSUPPORTED_KERNEL_FORMATS, unsupportedName } from "../formats/registry.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { LayerFacts } from "../model/facts.js";
import type { Layer, LayerFormat, Report } from "../model/report.js";
import { analyse, toBytes, type InspectOptions } from "./analyse.js";

/** What `unpack` takes: the `inspect` options, and which layer to return. */
export interface UnpackOptions extends InspectOptions {
  /** Path of the layer to return (see the report); default: the innermost kernel. */
  layer?: string;
  /** Cut a signed PE image after its certificate table (drops the v6.4+ zboot zero padding). */
  trim?: boolean;
}

/** What `unpack` returns: the chosen layer's bytes with the report they came from, and what a loader needs (the bootable kernel, a UKI's initrd and command line). */
export interface UnpackResult {
  report: Report;
  /** Path of the layer returned. */
  path: string;
  format: LayerFormat;
  arch: string | null;
  /** The layer's bytes (trimmed when asked). */
  data: Uint8Array;
  /** Zero bytes removed by `trim`. */
  trimmedBytes: number;
  /** What a loader boots directly: the arm64/RISC-V/LoongArch Image the x86 bzImage or the 32-bit Arm zImage, with its typed header facts (src/model/facts.ts); null when none. */
  bootable: { path: string; format: LayerFormat; data: Uint8Array; facts: LayerFacts | null } | null;
  /** From a UKI: its .initrd and .cmdline. */
  initrd: Uint8Array | null;
  cmdline: string | null;
}

/** The default extraction stops at a recognised but unsupported kernel format; `layer` still reads any layer. */
function refuseUnsupported(chain: Layer[]): void {
  const unsupported = chain.find((l) => UNSUPPORTED_KERNEL_FORMATS.has(l.format));
  if (!unsupported) return;
  const raw = chain.find((l) => l.format === "raw-kernel");
  const hint = raw ? `; the layer ${raw.path} holds its decompressed payload as it is (\`--layer ${raw.path}\`)` : "";
  throw new KimgError(ErrorCode.UNSUPPORTED, `${unsupportedName(unsupported.format)}: kimg does not extract this format${hint}`, {
    structure: "layer tree",
    format: unsupported.format,
    layer: unsupported.path,
  });
}

/** Trim a PE layer to the end of its certificate table when only zero bytes follow. */
export function trimAfterCertificates(layer: Layer, data: Uint8Array): Uint8Array {
  const pe = layer.pe ?? layer.children.find((c) => c.format === "pe")?.pe;
  if (!pe?.certificateTable || pe.trailingZeroBytes === 0) return data;
  return data.subarray(0, pe.certificateTable.offset + pe.certificateTable.size);
}

/**
 * The bytes of one layer of an image: by default the innermost kernel, decompressed; with
 * `layer`, any layer the report lists. Also returns what a loader boots directly and, from a UKI,
 * its initrd and command line.
 *
 * Throws a KimgError: NO_SUCH_LAYER for an unknown `layer`; UNSUPPORTED for a recognised kernel
 * format kimg does not extract; UNKNOWN_FORMAT when no kernel is found; the diagnostic's error
 * when the kernel (or what a loader boots) is truncated or was not decompressed whole.
 *
 * @example
 * const { data, path, format } = await unpack(bytes);            // the innermost kernel
 * const pe = await unpack(bytes, { layer: "/pe", trim: true });  // a chosen layer, padding cut
 */
export async function unpack(input: Uint8Array | ArrayBuffer, options: UnpackOptions = {}): Promise<UnpackResult> {
  const { report, tree } = await analyse(input, options);
  const chain = kernelChain(tree.root);
  let target: Layer | undefined;
  if (options.layer !== undefined) {
    target = findLayer(tree.root, options.layer);
    if (!target)
      throw new KimgError(ErrorCode.NO_SUCH_LAYER, `no layer "${options.layer}" in this image; \`kimg inspect\` lists the paths`, { structure: "layer tree" });
  } else {
    refuseUnsupported(chain);
    target = chain[chain.length - 1];
    if (!target) throw noKernelError(report.diagnostics, ErrorCode.UNKNOWN_FORMAT, "no kernel image inside this file");
  }
  assertKernelWhole(report.diagnostics, target, { payload: options.layer === undefined });
  const full = tree.bytes.get(target.path) ?? new Uint8Array(0);
  const data = options.trim ? trimAfterCertificates(target, full) : full;
  const bootableLayer = [...chain].reverse().find((l) => BOOTABLE_FORMATS.has(l.format));
  // What a loader would boot must be whole too (kexec boots it), unless the caller chose another layer.
  if (bootableLayer && options.layer === undefined) assertKernelWhole(report.diagnostics, bootableLayer, { payload: true });
  const ukiSection = (name: string): Uint8Array | null => {
    const l = chain.length ? tree.root.children.find((c) => c.path === `/${name}`) : undefined;
    return tree.root.format === "uki" && l ? (tree.bytes.get(l.path) ?? null) : null;
  };
  const cmdlineBytes = ukiSection(".cmdline");
  return {
    report,
    path: target.path,
    format: target.format,
    arch: target.arch ?? report.summary.arch,
    data,
    trimmedBytes: full.length - data.length,
    bootable: bootableLayer
      ? {
          path: bootableLayer.path,
          format: bootableLayer.format,
          data: tree.bytes.get(bootableLayer.path) ?? new Uint8Array(0),
          facts: tree.facts.get(bootableLayer.path) ?? null,
        }
      : null,
    initrd: ukiSection(".initrd"),
    cmdline: cmdlineBytes ? new TextDecoder().decode(cmdlineBytes).replace(/\0+$/, "").trim() : null,
  };
}

/** What `unpackLayers` takes: the `inspect` options, and whether to cut signed PE layers after their certificate table. */
export interface UnpackLayersOptions extends InspectOptions {
  /** Cut each signed PE layer after its certificate table (as `unpack`'s `trim`). */
  trim?: boolean;
}

/** One layer of data and its bytes. */
export interface UnpackedLayer {
  layer: Layer;
  /** The layer's bytes (trimmed when asked). */
  data: Uint8Array;
  /** Zero bytes removed by `trim`. */
  trimmedBytes: number;
}

/** A PE child that covers its parent's bytes exactly is a view, not a separate layer of data. */
export function isView(layer: Layer, parent: Layer | undefined): boolean {
  return parent !== undefined && layer.space === parent.space && layer.offset === parent.offset && layer.size === parent.size;
}

/**
 * Every layer of data in an image, outermost first: each container's payload, each decompressed
 * stream, each UKI section; a view of the same bytes (the "pe" view of an Image) is left out.
 * A file with no layer inside (a plain Image, an ELF) is its own one layer. Damage is left in
 * `report.diagnostics`, as `inspect` does.
 *
 * @example
 * const { layers } = await unpackLayers(bytes);
 * for (const { layer, data } of layers) console.log(layer.path, layer.format, data.length);
 */
export async function unpackLayers(input: Uint8Array | ArrayBuffer, options: UnpackLayersOptions = {}): Promise<{ report: Report; layers: UnpackedLayer[] }> {
  const bytes = toBytes(input);
  const { report, tree } = await analyse(bytes, options);
  const parents = new Map<string, Layer>();
  for (const l of allLayers(tree.root)) for (const c of l.children) parents.set(c.path, l);
  let chosen = [...allLayers(tree.root)].filter((layer) => layer.path !== "/" && !isView(layer, parents.get(layer.path)));
  // A plain Image (or ELF, or any file with no layer inside) is itself the one layer.
  if (chosen.length === 0) chosen = [tree.root];
  const layers = chosen.map((layer) => {
    const full = tree.bytes.get(layer.path) ?? (layer.path === "/" ? bytes : new Uint8Array(0));
    const data = options.trim ? trimAfterCertificates(layer, full) : full;
    return { layer, data, trimmedBytes: full.length - data.length };
  });
  return { report, layers };
}
