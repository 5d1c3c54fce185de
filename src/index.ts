/**
 * kimg: the platform-neutral core. Everything here works on Uint8Array in Node and browsers.
 * Node-only helpers (files, atomic writes, kexec) are in "kimg/node".
 */
export { inspect, unpack, unpackLayers, analyse, trimAfterCertificates, plan, verifyImage, digestImage } from "./api/index.js";
export type {
  InspectOptions,
  UnpackOptions,
  UnpackResult,
  UnpackLayersOptions,
  UnpackedLayer,
  Analysis,
  PlanImageOptions,
  PlanResult,
  VerifyOptions,
  DigestOptions,
  LayerDigest,
} from "./api/index.js";
export type { AnalyseOptions, ProgressEvent, Tree } from "./analysis/tree.js";
export { findLayer, allLayers } from "./analysis/tree.js";
export { kernelChain, summarise } from "./analysis/summary.js";
export { planFromTree, bootableLayer } from "./analysis/plan/index.js";
export type { BootPlan, PlanOptions, EntryPlan, LoadPlan, Segment, RegisterValue } from "./model/plan.js";
export { checkStatus } from "./model/plan.js";
export type { Region, Check, CheckStatus } from "./model/plan.js";
export { signatureSummary } from "./signatures/signature-summary.js";
export type { VerifyReport, VerifyLayer, VerifySignature, SignatureSummary, CertificateFacts, DigestName } from "./signatures/types.js";
export { authenticodeDigest, authenticodeDigests, authenticodeLayout } from "./signatures/authenticode.js";
export type { AuthenticodeLayout, ByteRange } from "./signatures/authenticode.js";
export { renderText } from "./report/text.js";
export { extensionFor, layerFileName, safeLayerFileName } from "./report/file-names.js";
export { renderPlanText } from "./report/plan-text.js";
export { diagnosticLine, diagnosticParts } from "./report/diagnostic.js";
export { renderVerifyText } from "./report/verify-text.js";
export { layerProtectionChecks } from "./analysis/protection.js";
export { STATUS_MARK, checkLabel } from "./report/checks.js";
export {
  layoutRegions,
  layoutSvg,
  hashedRangesSvg,
  memoryMapFromPe,
  memoryMapFromElf,
  memoryMapsFromPlan,
  memoryMapSvg,
  mapPathForLayer,
  peViewOf,
  escapeXml,
  MAX_SVG_REGIONS,
} from "./report/svg.js";
export type { LayoutRegion, RegionKind, LaneName, MemoryMap, MemoryRegion, MemoryCheck, MemoryMark, HashedRanges, SvgOptions } from "./report/svg.js";
export { KimgError, ErrorCode, isKimgError } from "./io/errors.js";
export type { ErrorCodeValue, KimgErrorData } from "./io/errors.js";
export { DEFAULT_LIMITS } from "./io/limits.js";
export type { Limits } from "./io/limits.js";
export { BUILTIN_CODECS, CODEC_NAMES } from "./codecs/registry.js";
export type { CodecTable } from "./codecs/registry.js";
export type { Decoder, DecodeOptions, CodecName } from "./codecs/types.js";
export type * from "./model/report.js";
export type * from "./model/facts.js";
export { factsOf, bannerOf } from "./model/facts.js";
// U-Boot FIT verification (issue 15, FIT signatures)
export { fitKeyNames } from "./api/index.js";
export type { FitVerifyReport, FitVerification, FitHashVerdict, FitSignatureVerdict, FitKeyReport } from "./model/fit-verify.js";
export { renderFitVerifyLines } from "./report/fit-verify-text.js";
// Measured boot (issue 17): PCR 11/12/4 predictions
export { measureImage } from "./api/index.js";
export type { MeasureOptions } from "./api/index.js";
export type * from "./measure/types.js";
export { renderMeasureText } from "./report/measure-text.js";
export { policyPcrDigest, ALL_BANKS, DEFAULT_PHASES, BOOT_PHASE_WORDS } from "./measure/pcr.js";
export { PCR11_SECTIONS } from "./measure/uki-pcr.js";
// Secure Boot policy (issue 17): the SBAT, signature-list and verdict types of the reports, and the policy files verifyImage takes.
export type * from "./model/secure-boot.js";
export type { PolicyFile, SecureBootPolicyOptions } from "./signatures/policy.js";
// The embedded .config (CONFIG_IKCONFIG) and configurations compared as scripts/diffconfig does (issue 16)
export { kernelConfig, compareConfigs, configOptions, looksLikeConfigText } from "./api/index.js";
export type { KernelConfigResult, ConfigComparison } from "./api/index.js";
export { readConfig, diffConfigs } from "./analysis/kconfig.js";
export type { ConfigDiff, ConfigOption } from "./analysis/kconfig.js";
export { renderConfigDiff, kernelConfigLine } from "./report/config-text.js";
// Initramfs archives (issue 16): listings, extraction plans, the text line of an entry.
export { archives, archivesOf } from "./api/index.js";
export type { ImageArchive } from "./api/index.js";
export { planArchive, safeComponents, maskedMode, ARCHIVE_MODE_MASK } from "./analysis/archive-plan.js";
export type { ArchivePlan, ArchiveOp, ArchiveSkip } from "./analysis/archive-plan.js";
export { readCpio, initramfsSegments, modeText, entryType } from "./formats/cpio.js";
export type { CpioRead, CpioReadOptions } from "./formats/cpio.js";
export { archiveEntryLine, archiveLines } from "./report/archive-text.js";
export type * from "./model/archive.js";
// Speed (issue 14): the web worker compiles the zstd decoder before the first file arrives.
export { prepareZstd } from "./codecs/zstd.js";
