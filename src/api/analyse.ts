/** `analyse`: the layer tree of an image and the report made from it, which every entry point starts from. */
import { checkFitHashes } from "../analysis/fit-hashes.js";
import { attachKernelConfig, configNotSearched } from "../analysis/ikconfig.js";
import { checkAndroidIds } from "../analysis/android-id.js";
import { summarise } from "../analysis/summary.js";
import { allLayers, buildTree, type AnalyseOptions, type Tree } from "../analysis/tree.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { BootPlan } from "../model/plan.js";
import type { Report } from "../model/report.js";

/** Options of `inspect` and of every entry point that reads an image. */
export type InspectOptions = AnalyseOptions;

export function toBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

/** An analysed image: the report, and the layer tree it describes with every layer's bytes. */
export interface Analysis {
  report: Report;
  /** The walker's tree: `root` is `report.root`; `bytes` holds each layer's bytes by path. */
  tree: Tree;
  /** The innermost kernel's embedded .config as built (CONFIG_IKCONFIG), exact bytes; null when absent or unreadable (see `report.kernelConfig`). */
  kernelConfig: Uint8Array | null;
}

/**
 * Reads an image into its layer tree (decompressing payloads unless `shallow`) and builds the
 * report. Damage is recorded in `report.diagnostics`; it throws a KimgError only when the input
 * cannot be read at all (e.g. a limit is exceeded before the first layer).
 *
 * @example
 * const { report, tree } = await analyse(bytes, { name: "vmlinuz" });
 * const kernel = tree.bytes.get(report.summary.kernelPath ?? "/");
 */
export async function analyse(input: Uint8Array | ArrayBuffer, options: InspectOptions = {}): Promise<Analysis> {
  const bytes = toBytes(input);
  const tree = await buildTree(bytes, options);
  if (options.reportDetails !== false) await summariseSignatures(tree, options);
  await checkFitHashes(tree);
  const config =
    options.kernelContents === false ? configNotSearched(tree.root) : await attachKernelConfig(tree.root, tree.bytes, tree.facts, tree.diagnostics);
  await checkAndroidIds(tree);
  const report: Report = {
    tool: "kimg",
    schema: 1,
    input: { name: options.name ?? null, size: bytes.length },
    summary: summarise(tree.root, tree.facts),
    root: tree.root,
    plan: options.reportDetails === false ? null : await defaultPlan(tree),
    kernelConfig: config.report,
    diagnostics: tree.diagnostics,
  };
  return { report, tree, kernelConfig: config.config };
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
    const s =
      quickSignatureSummary(bytes, layer.pe, options.limits) ??
      (await import("../signatures/signature-summary.js")).signatureSummary(bytes, layer.pe, options.limits);
    layer.info.signatureCount = s.signatureCount;
    layer.info.digestAlgorithm = s.digestAlgorithm;
    layer.info.signerSubject = s.signerSubject;
    if (s.problem)
      tree.diagnostics.push({
        code: "SIGNATURE_UNREADABLE",
        severity: "warning",
        message: s.problem,
        offset: layer.pe.certificateTable?.offset ?? null,
        layer: layer.path,
      });
  }
}

/**
 * The plan with default addresses, for the report; the `plan` command takes the user's. Its code
 * (the planners, the instruction decoders: a third of what analysis loads) is loaded only here,
 * so `extract`, which asks for no plan, does without it.
 */
async function defaultPlan(tree: Tree): Promise<BootPlan | null> {
  const { planFromTree } = await import("../analysis/plan/index.js");
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
