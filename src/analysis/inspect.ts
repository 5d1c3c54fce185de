/** The public entry points over the layer tree: inspect (the report) and unpack (the bytes). */
import { BOOTABLE_FORMATS, UNSUPPORTED_KERNEL_FORMATS, unsupportedName } from "../formats/registry.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { Layer, LayerFormat, Report } from "../model/report.js";
import { planFromTree } from "./plan/index.js";
import type { BootPlan } from "../model/plan.js";
import { kernelChain, summarise } from "./summary.js";
import { allLayers, buildTree, findLayer, type AnalyseOptions, type Tree } from "./tree.js";
import { assertKernelWhole, noKernelError } from "./whole.js";

export type InspectOptions = AnalyseOptions;

export function toBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

export interface Analysis {
  report: Report;
  tree: Tree;
}

export async function analyse(input: Uint8Array | ArrayBuffer, options: InspectOptions = {}): Promise<Analysis> {
  const bytes = toBytes(input);
  const tree = await buildTree(bytes, options);
  await summariseSignatures(tree, options);
  const report: Report = {
    tool: "kimg",
    schema: 1,
    input: { name: options.name ?? null, size: bytes.length },
    summary: summarise(tree.root, tree.facts),
    root: tree.root,
    plan: defaultPlan(tree),
    diagnostics: tree.diagnostics,
  };
  return { report, tree };
}

/**
 * Per signed PE layer: signed or not, digest algorithm, signer subject. A small DER walker reads
 * the plain case; the PKCS#7 code (pkijs, most of the CLI's code) is loaded only for the rest.
 */
async function summariseSignatures(tree: Tree, options: InspectOptions): Promise<void> {
  const signed = [...allLayers(tree.root)].filter((l) => l.pe?.certificateTable);
  if (signed.length === 0) return;
  const { quickSignatureSummary } = await import("../signatures/quick-summary.js");
  for (const layer of signed) {
    const bytes = tree.bytes.get(layer.path);
    if (!bytes || !layer.pe) continue;
    const s = quickSignatureSummary(bytes, layer.pe, options.limits) ?? (await import("../signatures/verify.js")).signatureSummary(bytes, layer.pe, options.limits);
    layer.info.signatureCount = s.signatureCount;
    layer.info.digestAlgorithm = s.digestAlgorithm;
    layer.info.signerSubject = s.signerSubject;
    if (s.problem) tree.diagnostics.push({ code: "SIGNATURE_UNREADABLE", severity: "warning", message: s.problem, offset: layer.pe.certificateTable?.offset ?? null, layer: layer.path });
  }
}

/** The plan with default addresses, for the report; the `plan` command takes the user's. */
function defaultPlan(tree: Tree): BootPlan | null {
  try {
    return planFromTree(tree);
  } catch (error) {
    if (error instanceof KimgError && error.code === ErrorCode.UNSUPPORTED) return null;
    // No plan because of a problem already among the diagnostics (a truncated kernel, a bomb).
    if (error instanceof KimgError && error.data.diagnostic !== undefined) return null;
    const e = error instanceof KimgError ? error : new KimgError(ErrorCode.BAD_FIELD, String(error));
    tree.diagnostics.push({ code: e.code, severity: "error", message: `boot plan: ${e.message}`, offset: e.offset ?? null, layer: "/" });
    return null;
  }
}

/** Reads any kernel boot image into the report tree, descending through compressed layers. */
export async function inspect(input: Uint8Array | ArrayBuffer, options: InspectOptions = {}): Promise<Report> {
  return (await analyse(input, options)).report;
}

export interface UnpackOptions extends InspectOptions {
  /** Path of the layer to return (see the report); default: the innermost kernel. */
  layer?: string;
  /** Cut a signed PE image after its certificate table (drops the v6.4+ zboot zero padding). */
  trim?: boolean;
}

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
  /** What a loader boots directly: the arm64/RISC-V/LoongArch Image or the x86 bzImage; null when none. */
  bootable: { path: string; format: LayerFormat; data: Uint8Array } | null;
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
  throw new KimgError(ErrorCode.UNSUPPORTED, `${unsupportedName(unsupported.format)}: kimg does not extract this format${hint}`, { structure: "layer tree", format: unsupported.format, layer: unsupported.path });
}

/** Trim a PE layer to the end of its certificate table when only zero bytes follow. */
export function trimAfterCertificates(layer: Layer, data: Uint8Array): Uint8Array {
  const pe = layer.pe ?? layer.children.find((c) => c.format === "pe")?.pe;
  if (!pe?.certificateTable || pe.trailingZeroBytes === 0) return data;
  return data.subarray(0, pe.certificateTable.offset + pe.certificateTable.size);
}

export async function unpack(input: Uint8Array | ArrayBuffer, options: UnpackOptions = {}): Promise<UnpackResult> {
  const { report, tree } = await analyse(input, options);
  const chain = kernelChain(tree.root);
  let target: Layer | undefined;
  if (options.layer !== undefined) {
    target = findLayer(tree.root, options.layer);
    if (!target) throw new KimgError(ErrorCode.NO_SUCH_LAYER, `no layer "${options.layer}" in this image; \`kimg inspect\` lists the paths`, { structure: "layer tree" });
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
    bootable: bootableLayer ? { path: bootableLayer.path, format: bootableLayer.format, data: tree.bytes.get(bootableLayer.path) ?? new Uint8Array(0) } : null,
    initrd: ukiSection(".initrd"),
    cmdline: cmdlineBytes ? new TextDecoder().decode(cmdlineBytes).replace(/\0+$/, "").trim() : null,
  };
}
