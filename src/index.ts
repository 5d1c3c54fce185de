/**
 * kimg: the platform-neutral core. Everything here works on Uint8Array in Node and browsers.
 * Node-only helpers (files, atomic writes, kexec) are in "kimg/node".
 */
export { inspect, unpack, analyse, trimAfterCertificates } from "./analysis/inspect.js";
export type { InspectOptions, UnpackOptions, UnpackResult, Analysis } from "./analysis/inspect.js";
export type { AnalyseOptions, ProgressEvent, Tree } from "./analysis/tree.js";
export { findLayer, allLayers } from "./analysis/tree.js";
export { kernelChain, summarise } from "./analysis/summary.js";
export { plan, planFromTree, bootableLayer } from "./analysis/plan/index.js";
export type { BootPlan, PlanOptions, EntryPlan, LoadPlan, Segment, RegisterValue } from "./model/plan.js";
export { checkStatus } from "./model/plan.js";
export type { Region, Check, CheckStatus } from "./model/plan.js";
export { verifyImage, signatureSummary } from "./signatures/verify.js";
export type { VerifyOptions } from "./signatures/verify.js";
export type { VerifyReport, VerifyLayer, VerifySignature, SignatureSummary, CertificateFacts, DigestName } from "./signatures/types.js";
export { authenticodeDigest, authenticodeDigests, authenticodeLayout } from "./signatures/authenticode.js";
export type { AuthenticodeLayout, ByteRange } from "./signatures/authenticode.js";
export { renderText } from "./report/text.js";
export { extensionFor, layerFileName, safeLayerFileName } from "./report/file-names.js";
export { renderPlanText } from "./report/plan-text.js";
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
