/**
 * The public entry points of the core: each takes an image's bytes and options, and returns the
 * report (inspect), bytes (unpack, unpackLayers), a boot plan (plan) or a verdict (verifyImage,
 * digestImage). Everything below src/api works on an analysed tree and never calls back up here.
 */
export { analyse } from "./analyse.js";
export type { Analysis, InspectOptions } from "./analyse.js";
export { inspect } from "./inspect.js";
export { unpack, unpackLayers, trimAfterCertificates } from "./unpack.js";
export type { UnpackOptions, UnpackResult, UnpackLayersOptions, UnpackedLayer } from "./unpack.js";
export { plan } from "./plan.js";
export type { PlanImageOptions, PlanResult } from "./plan.js";
export { verifyImage, digestImage, certificateSubjects } from "./verify.js";
export type { VerifyOptions, DigestOptions, LayerDigest } from "./verify.js";
// What the entry points' options name: progress events, digest algorithms.
export type { ProgressEvent } from "../analysis/tree.js";
export { DIGEST_ALGORITHMS, isDigestName } from "../signatures/authenticode.js";
export type { DigestName } from "../signatures/authenticode.js";
// U-Boot FIT verification (issue 15, FIT signatures)
export { fitKeyNames } from "./verify.js";
// Measured boot (issue 17)
export { measureImage } from "./measure.js";
export type { MeasureOptions } from "./measure.js";
// The embedded .config and diffconfig (issue 16)
export { kernelConfig, compareConfigs, configOptions, looksLikeConfigText } from "./config.js";
export type { KernelConfigResult, ConfigComparison } from "./config.js";
// Initramfs archives (issue 16)
export { archives, archivesOf } from "./archive.js";
export type { ImageArchive } from "./archive.js";
