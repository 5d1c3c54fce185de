/**
 * `verifyImage` (every Authenticode signature of every PE image) and `digestImage` (the
 * Authenticode digest, as pesign -h prints it). The signature stack (pkijs) is loaded only when a
 * signature is verified, so importing the API does not load it.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { resolveLimits } from "../io/limits.js";
import { authenticodeDigest, type DigestName } from "../signatures/authenticode.js";
import { peLayers, selectPeLayer, type PeLayer } from "../signatures/pe-layers.js";
import type { VerifyReport } from "../signatures/types.js";
import type { VerifyTreeOptions } from "../signatures/verify.js";
import { analyse, type Analysis, type InspectOptions } from "./analyse.js";
import { allLayers } from "../analysis/tree.js";

/** What `verifyImage` takes: the `inspect` options, the trusted certificates (`--cert`), the layers to verify, and whether an intact signature without a chain to a trusted certificate is enough. */
export interface VerifyOptions extends InspectOptions, Omit<VerifyTreeOptions, "input" | "limits"> {
  /** An analysis of the same input already made (the web page has one); skips decompressing again. */
  analysis?: Analysis;
  /** U-Boot FIT: the names of the `trustedCertificates` files (their paths), as the report names the keys they hold. */
  trustedCertificateNames?: readonly string[];
}

/**
 * Computes the Authenticode digest of every PE image in `input` (the outer EFI program of a
 * zboot or UKI, and the kernel Image inside, which KEXEC_SIG checks) and verifies every
 * signature: the digest inside it against the image, the signature against the signer
 * certificate, and, with `trustedCertificates`, the chain to one of them.
 *
 * Returns the verdict ("verified", "intact", "unsigned", "failed") with every layer, signature
 * and diagnostic; a bad signature is a verdict, not an exception. Throws a KimgError for a
 * `layers` entry that names no PE image (NO_SUCH_LAYER) or a trusted certificate file that holds
 * no certificate.
 *
 * @example
 * const report = await verifyImage(bytes, { trustedCertificates: [caDer] });
 * if (!report.accepted) console.error(report.verdictLine);
 */
export async function verifyImage(input: Uint8Array | ArrayBuffer, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { report, tree } = options.analysis ?? (await analyse(input, options));
  const { verifyTree } = await import("../signatures/verify.js");
  // U-Boot FIT (issue 15): its hash and signature nodes too; --cert files may be control DTBs or public keys.
  const hasFit = [...allLayers(tree.root)].some((l) => l.format === "fit");
  const fitVerify = hasFit ? await import("../signatures/fit-verify.js") : null;
  const split = fitVerify?.splitTrustFiles(options.trustedCertificates ?? [], options.trustedCertificateNames);
  const trustedCertificates = split ? split.certificates : options.trustedCertificates;
  const fitResult = fitVerify && split ? await fitVerify.verifyFitLayers(tree, split.fitKeys) : null;
  const base = await verifyTree(tree, {
    input: report.input,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(trustedCertificates ? { trustedCertificates } : {}),
    ...(options.layers ? { layers: options.layers } : {}),
    ...(options.integrityOnly !== undefined ? { integrityOnly: options.integrityOnly } : {}),
    // Secure Boot policies (issue 17)
    ...(options.db ? { db: options.db } : {}),
    ...(options.dbx ? { dbx: options.dbx } : {}),
    ...(options.sbatLevel ? { sbatLevel: options.sbatLevel } : {}),
    ...(options.sbatPolicy ? { sbatPolicy: options.sbatPolicy } : {}),
  });
  return fitVerify && fitResult ? fitVerify.mergeFitVerification(base, fitResult) : base;
}

/**
 * The public keys a U-Boot FIT signature can be checked against in a key file: a control DTB
 * (`mkimage -K`), a PEM or DER public key or certificate. Returns their names ("key-dev"),
 * throws a KimgError naming `source` when the file holds none.
 *
 * @example
 * fitKeyNames(controlDtb, "u-boot.dtb"); // ["key-dev"]
 */
export async function fitKeyNames(data: Uint8Array, source = "key file"): Promise<string[]> {
  const { readFitKeys } = await import("../signatures/fit-keys.js");
  return readFitKeys(data, source).keys.map((k) => k.report.name);
}

/**
 * The subjects of the certificates in a certificate file (DER, or PEM with any number of
 * certificates), as `trustedCertificates` takes them: a way to check such a file before
 * verifying. Throws a KimgError naming `source` when the file holds no readable certificate.
 * Loads the signature stack (pkijs).
 *
 * @example
 * await certificateSubjects(pem, "db.pem"); // ["CN=Debian Secure Boot CA, ..."]
 */
export async function certificateSubjects(data: Uint8Array, source = "certificate"): Promise<string[]> {
  const { nameToString, readCertificates } = await import("../signatures/certificates.js");
  return readCertificates(data, source).map((c) => nameToString(c.subject));
}

/** What `digestImage` takes: the digest algorithm, which PE layers (one path, or all), and whether to cut them after their certificate table. */
export interface DigestOptions extends Omit<InspectOptions, "shallow"> {
  /** The digest algorithm (default sha256). */
  algorithm?: DigestName;
  /** The PE layer to hash (a PE layer path, or an image whose "pe" view is meant); default: the outermost. */
  layer?: string;
  /** Every PE layer, outermost first. */
  all?: boolean;
  /** Cut zero padding after the certificate table before hashing (default true), as kexec-tools and pesign do. */
  trim?: boolean;
}

/** One line of `digestImage`'s output: a PE layer and its Authenticode digest. */
export interface LayerDigest {
  /** The PE layer hashed. */
  path: string;
  /** Lower-case hex. */
  digest: string;
}

/**
 * The Authenticode digest of the outermost PE image (or of `layer`, or of every PE image with
 * `all`), as `pesign -h` prints it, one layer at a time. The outer PE needs no decompression, so
 * the image is first read shallow; only when no PE image is found that way (a compressed Image,
 * a deeper `layer`) is it decompressed. Yields nothing when the image holds no PE image.
 *
 * Throws a KimgError: NO_SUCH_LAYER when `layer` names no PE image; LIMIT when the sections to
 * hash exceed `limits.maxOutputBytes`.
 *
 * @example
 * for await (const { path, digest } of digestImage(bytes, { all: true })) console.log(digest, path);
 */
export async function* digestImage(input: Uint8Array | ArrayBuffer, options: DigestOptions = {}): AsyncGenerator<LayerDigest> {
  const { algorithm = "sha256", layer, all = false, trim = true, ...analyseOptions } = options;
  if (all && layer !== undefined) throw new KimgError(ErrorCode.USAGE, "all and layer exclude each other");
  const choose = async (shallow: boolean): Promise<PeLayer[]> => {
    const { tree } = await analyse(input, { ...analyseOptions, shallow });
    return all ? peLayers(tree) : layer === undefined ? peLayers(tree).slice(0, 1) : [selectPeLayer(tree, layer)];
  };
  let chosen: PeLayer[] = [];
  if (!all) chosen = await choose(true).catch(() => []);
  if (chosen.length === 0) chosen = await choose(false);
  const maxHashedBytes = resolveLimits(options.limits).maxOutputBytes;
  for (const pe of chosen) yield { path: pe.layer.path, digest: await authenticodeDigest(pe.bytes, pe.layer.pe, algorithm, { trim, maxHashedBytes }) };
}
