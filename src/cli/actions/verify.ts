/** What `kimg verify` and `kimg digest` do (`cli/verify.ts` defines them): loaded only when one runs. */
import { certificateSubjects, digestImage, fitKeyNames, verifyImage } from "../../api/verify.js";
import { DIGEST_ALGORITHMS, isDigestName } from "../../signatures/authenticode.js";
import { ErrorCode, KimgError } from "../../io/errors.js";
import { readInput } from "../../node/files.js";
import { writeStdout } from "../../node/stdout.js";
import { renderVerifyText } from "../../report/verify-text.js";
import type { PolicyFile, SecureBootPolicyOptions } from "../../signatures/policy.js";
import { EXIT } from "../exit-codes.js";
import type { ImageFlags } from "../options.js";
import type { PolicyFlags } from "../policy-options.js";
import { readImage } from "../read-image.js";

export interface VerifyFlags extends ImageFlags {
  cert: string[];
  layer: string[];
  json?: boolean;
  integrityOnly?: boolean;
}

export interface DigestFlags extends ImageFlags {
  alg: string;
  layer?: string;
  all?: boolean;
  trim: boolean;
}

/** A --cert file: read like every input, and refused as a usage error, naming it, when it holds no certificate. */
async function readTrustedCertificate(path: string): Promise<Uint8Array> {
  const data = await readInput(path, { what: "--cert" });
  try {
    // The certificate parser brings the signature stack (pkijs); the API loads it only now.
    await certificateSubjects(data, `--cert ${path}`);
  } catch (error) {
    // U-Boot FIT: a control DTB (mkimage -K) or a public key is a key file too.
    if (
      await fitKeyNames(data, path).then(
        () => true,
        () => false,
      )
    )
      return data;
    if (error instanceof KimgError) throw new KimgError(ErrorCode.USAGE, error.message, { ...error.data, path });
    throw new KimgError(ErrorCode.USAGE, `--cert ${path}: ${(error as Error).message}`, { path });
  }
  return data;
}

async function read(path: string, what: string): Promise<PolicyFile> {
  return { name: path, data: await readInput(path, { what }) };
}

/** Reads the policy files (issue 17) named on the command line (`opts` of a command given addPolicyOptions). */
async function readPolicyFiles(opts: object): Promise<SecureBootPolicyOptions> {
  const flags = opts as Partial<PolicyFlags>;
  const out: SecureBootPolicyOptions = {};
  if (flags.db?.length) out.db = await Promise.all(flags.db.map((p) => read(p, "--db")));
  if (flags.dbx?.length) out.dbx = await Promise.all(flags.dbx.map((p) => read(p, "--dbx")));
  if (flags.sbatLevel) out.sbatLevel = await read(flags.sbatLevel, "--sbat-level");
  if (flags.sbatLatest) out.sbatPolicy = "latest";
  return out;
}

export const actions = {
  async verify(file: string, opts: VerifyFlags): Promise<void> {
    if (opts.integrityOnly && opts.cert.length)
      throw new KimgError(ErrorCode.USAGE, "--integrity-only and --cert exclude each other: --cert checks who signed");
    const { bytes, options } = await readImage(file, opts, { progress: !opts.json });
    const trustedCertificates = await Promise.all(opts.cert.map((c) => readTrustedCertificate(c)));
    const report = await verifyImage(bytes, {
      ...options,
      trustedCertificates,
      trustedCertificateNames: opts.cert,
      layers: opts.layer,
      integrityOnly: opts.integrityOnly ?? false,
      ...(await readPolicyFiles(opts)), // issue 17
    });
    await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderVerifyText(report));
    if (!report.accepted) process.exitCode = EXIT.NOT_VERIFIED;
  },

  async digest(file: string, opts: DigestFlags): Promise<void> {
    const alg = opts.alg.toLowerCase();
    if (!isDigestName(alg)) throw new KimgError(ErrorCode.USAGE, `--alg ${opts.alg}: use one of ${Object.keys(DIGEST_ALGORITHMS).join(", ")}`);
    if (opts.all && opts.layer) throw new KimgError(ErrorCode.USAGE, "--all and --layer exclude each other");
    const { bytes, options } = await readImage(file, opts, { progress: true });
    let count = 0;
    for await (const { path, digest } of digestImage(bytes, {
      ...options,
      algorithm: alg,
      ...(opts.layer !== undefined && !opts.all ? { layer: opts.layer } : {}),
      all: opts.all ?? false,
      trim: opts.trim,
    })) {
      count++;
      await writeStdout(opts.all ? `${digest}  ${path}\n` : `${digest}\n`);
    }
    if (count === 0) throw new KimgError(ErrorCode.NO_SUCH_LAYER, `${file} holds no PE/COFF image to hash`, { structure: "layer tree" });
  },
};
