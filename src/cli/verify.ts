/** `kimg verify FILE [--cert CERT ...] [--layer PATH ...] [--json]` and `kimg digest FILE [--alg ALG] [--layer PATH | --all]`. */
import type { Command } from "commander";
import { certificateSubjects, digestImage, DIGEST_ALGORITHMS, fitKeyNames, isDigestName, verifyImage } from "../api/index.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { readInput } from "../node/files.js";
import { writeStdout } from "../node/stdout.js";
import { renderVerifyText } from "../report/verify-text.js";
import { EXIT } from "./exit-codes.js";
import { imageOptions, readImage, type ImageFlags } from "./options.js";
import { addPolicyOptions, readPolicyFiles } from "./policy-options.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

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

export function registerSignatureCommands(program: Command): void {
  const verifyCommand = program
    .command("verify")
    .description("check the Authenticode signatures of every PE image inside FILE (outer EFI program, inner kernel)")
    .argument("<file>", "kernel image (zboot vmlinuz.efi, Image, bzImage, UKI, signed PE)")
    .option(
      "--cert <file>",
      "a certificate (PEM or DER) the signer's chain must reach; for a U-Boot FIT, the control DTB (mkimage -K) or a PEM/DER public key; repeatable",
      collect,
      [],
    )
    .option("--integrity-only", "accept intact signatures without checking who signed (exit 0 when intact; never reported as verified)")
    .option("--layer <path>", "check only this PE layer (see `kimg inspect`); repeatable", collect, [])
    .option("--json", "print the report as JSON");
  addPolicyOptions(verifyCommand); // issue 17: --db, --dbx, --sbat-level, --sbat-latest
  imageOptions(verifyCommand).action(async (file: string, opts: ImageFlags & { cert: string[]; layer: string[]; json?: boolean; integrityOnly?: boolean }) => {
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
  });

  const digestCommand = program
    .command("digest")
    .description("print the Authenticode digest of the outermost PE image (like pesign -h)")
    .argument("<file>", "kernel image or PE file")
    .option("--alg <name>", "sha256, sha1, sha384 or sha512", "sha256")
    .option("--layer <path>", "the PE layer to hash (see `kimg inspect`); default: the outermost")
    .option("--all", "one line per PE layer: digest and layer path")
    .option("--no-trim", "hash zero padding after the certificate table as data (what an untrimmed check sees)");
  imageOptions(digestCommand).action(async (file: string, opts: ImageFlags & { alg: string; layer?: string; all?: boolean; trim: boolean }) => {
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
  });
}
