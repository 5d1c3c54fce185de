/** `archives` (issue 16): every cpio archive in an image with its extraction plan, for `kimg extract --all` and the web page's downloads. */
import { planArchive, type ArchivePlan } from "../analysis/archive-plan.js";
import { allLayers } from "../analysis/tree.js";
import { resolveLimits } from "../io/limits.js";
import type { Layer, Report } from "../model/report.js";
import { safeLayerFileName } from "../report/file-names.js";
import { analyse, type InspectOptions } from "./analyse.js";

/** One archive of an image: its layer, the folder name `extract --all` gives it, its bytes and its plan. */
export interface ImageArchive {
  layer: Layer;
  /** The folder its files go to under `extract --all DIR` ("root", "segment-0", "segment-1.decompressed"). */
  dirName: string;
  /** The archive layer's bytes: the plan's `dataOffset`s index into them. */
  data: Uint8Array;
  /** What extraction writes and skips (analysis/archive-plan.ts). */
  plan: ArchivePlan;
}

/** The archives of an analysed tree, outermost first (see `archives`). */
export function archivesOf(report: Report, bytes: ReadonlyMap<string, Uint8Array>, options: InspectOptions = {}): ImageArchive[] {
  const limits = resolveLimits(options.limits);
  const out: ImageArchive[] = [];
  for (const layer of allLayers(report.root)) {
    if (!layer.archive) continue;
    const data = bytes.get(layer.path) ?? new Uint8Array(0);
    const plan = planArchive(layer.archive, limits, (e) => e.dataOffset - layer.offset);
    out.push({ layer, dirName: safeLayerFileName(layer.path, ""), data, plan });
  }
  return out;
}

/**
 * Every cpio archive in an image (a plain or concatenated initramfs, a UKI's .initrd, a FIT or
 * Android ramdisk, a built-in initramfs) with its extraction plan: what would be written, what is
 * skipped and why. Nothing is written; `kimg extract --all` carries the plans out (node/archive-writer.ts).
 * Throws a KimgError with E_LIMIT when an archive passes maxArchiveEntries or maxArchiveBytes.
 *
 * @example
 * const { archives } = await archives(bytes);
 * for (const a of archives) for (const op of a.plan.ops) console.log(a.dirName, op.kind, op.path);
 */
export async function archives(input: Uint8Array | ArrayBuffer, options: InspectOptions = {}): Promise<{ report: Report; archives: ImageArchive[] }> {
  const { report, tree } = await analyse(input, options);
  return { report, archives: archivesOf(report, tree.bytes, options) };
}
