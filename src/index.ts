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
// Initramfs archives (issue 16): listings, extraction plans, the text line of an entry.
export { archives, archivesOf } from "./api/index.js";
export type { ImageArchive } from "./api/index.js";
export { planArchive, safeComponents, maskedMode, ARCHIVE_MODE_MASK } from "./analysis/archive-plan.js";
export type { ArchivePlan, ArchiveOp, ArchiveSkip } from "./analysis/archive-plan.js";
export { readCpio, initramfsSegments, modeText, entryType } from "./formats/cpio.js";
export type { CpioRead, CpioReadOptions } from "./formats/cpio.js";
export { archiveEntryLine, archiveLines } from "./report/archive-text.js";
export type * from "./model/archive.js";
