/**
 * `measureImage`: the measured-boot report of an image. For every UKI, the PCR 11 values
 * systemd-stub and systemd-pcrphase produce (what `systemd-measure calculate` prints), its
 * `.pcrsig` checked against them and its `.pcrpkey`; for every UKI add-on, its PCR 12 events;
 * for every PE image, the Authenticode sha256 firmware extends into PCR 4.
 */
import { asKimgError, ErrorCode, KimgError } from "../io/errors.js";
import { resolveLimits } from "../io/limits.js";
import { ALL_BANKS, isPcrBank, normalisePhase } from "../measure/pcr.js";
import type { MeasureReport, PcrBank } from "../measure/types.js";
import { measureUkiLayer, ukiLayers } from "../measure/uki-pcr.js";
import { authenticodeDigest } from "../signatures/authenticode.js";
import { peLayers } from "../signatures/pe-layers.js";
import { analyse, type Analysis, type InspectOptions } from "./analyse.js";

/** What `measureImage` takes: the `inspect` options, the banks and the boot phases. */
export interface MeasureOptions extends InspectOptions {
  /** The PCR banks to compute (default all four: sha1, sha256, sha384, sha512). */
  banks?: readonly PcrBank[];
  /**
   * The boot phases, as `systemd-measure calculate --phase=` takes them: words joined by ":"
   * ("enter-initrd:leave-initrd"). Default: the six cumulative phases of systemd-pcrphase, from
   * "enter-initrd" to "enter-initrd:leave-initrd:sysinit:ready:shutdown:final".
   */
  phases?: readonly string[];
  /** An analysis of the same input already made (the web page has one). */
  analysis?: Analysis;
}

/**
 * The measured-boot report of `input`: PCR 11 predictions of each UKI (per profile and phase,
 * in each bank, equal to `systemd-measure calculate` for the same sections), its `.pcrsig`
 * entries matched to them, its `.pcrpkey` fingerprint, the PCR 12 events of UKI add-ons and the
 * PCR 4 digest of every PE image. Malformed sections are diagnostics, not exceptions; it throws a
 * KimgError (E_USAGE) only for an unknown bank.
 *
 * @example
 * const report = await measureImage(bytes, { banks: ["sha256"] });
 * console.log(report.images[0]?.profiles[0]?.calculate.sha256);
 */
export async function measureImage(input: Uint8Array | ArrayBuffer, options: MeasureOptions = {}): Promise<MeasureReport> {
  const banks = [...new Set(options.banks ?? ALL_BANKS)];
  for (const b of banks) if (!isPcrBank(b)) throw new KimgError(ErrorCode.USAGE, `unknown PCR bank "${b}": use ${ALL_BANKS.join(", ")}`);
  banks.sort((a, b) => ALL_BANKS.indexOf(a) - ALL_BANKS.indexOf(b));
  const { report, tree } = options.analysis ?? (await analyse(input, options));
  const limits = resolveLimits(options.limits);
  const diagnostics = [...report.diagnostics];
  const images = [];
  for (const layer of ukiLayers(tree)) {
    // Given phases are normalised, sorted and deduplicated as systemd-measure does, so the output lists them alike.
    const phases = options.phases ? [...new Set(options.phases.map(normalisePhase))].sort() : undefined;
    const m = await measureUkiLayer(tree, layer, { banks, limits, ...(phases ? { phases } : {}) }, diagnostics);
    if (m) images.push(m);
  }
  const pcr4 = [];
  let first = true;
  for (const pe of peLayers(tree)) {
    let sha256: string | null = null;
    let problem: string | null = null;
    try {
      sha256 = await authenticodeDigest(pe.bytes, pe.layer.pe, "sha256", { maxHashedBytes: limits.maxOutputBytes });
    } catch (error) {
      problem = asKimgError(error, ErrorCode.BAD_FIELD).message;
    }
    pcr4.push({ layer: pe.layer.path, format: pe.format, sha256, problem, loadedByFirmware: first });
    first = false;
  }
  return { tool: "kimg", schema: 1, input: report.input, banks, images, pcr4, diagnostics };
}
