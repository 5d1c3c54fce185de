/** `kimg verify FILE [--cert CERT ...] [--layer PATH ...] [--json]` and `kimg digest FILE [--alg ALG] [--layer PATH | --all]`. */
import { basename } from "node:path";
import type { Command } from "commander";
import { analyse } from "../analysis/inspect.js";
import type { Tree } from "../analysis/tree.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { NODE_CODECS } from "../node/codecs.js";
import { readInput } from "../node/files.js";
import { writeStdout } from "../node/stdout.js";
import { authenticodeDigest, isDigestName, DIGEST_ALGORITHMS } from "../signatures/authenticode.js";
// The signature stack (pkijs, asn1js: most of the CLI's code) is loaded by the commands that need it.
import type { PeLayer } from "../signatures/verify.js";
import { EXIT } from "./exit-codes.js";
import { maxSizeOption, maxTotalSizeOption, sizeLimits } from "./options.js";
import { progressReporter } from "./progress.js";
import { renderVerifyText } from "../report/verify-text.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A --cert file: read like every input, and refused as a usage error, naming it, when it holds no certificate. */
async function readTrustedCertificate(path: string): Promise<Uint8Array> {
  const data = await readInput(path, { what: "--cert" });
  // Loaded here, not at start: the certificate parser brings the signature stack (pkijs).
  const { readCertificates } = await import("../signatures/certificates.js");
  try {
    readCertificates(data, `--cert ${path}`);
  } catch (error) {
    if (error instanceof KimgError) throw new KimgError(ErrorCode.USAGE, error.message, { ...error.data, path });
    throw new KimgError(ErrorCode.USAGE, `--cert ${path}: ${(error as Error).message}`, { path });
  }
  return data;
}

export function registerSignatureCommands(program: Command): void {
  program
    .command("verify")
    .description("check the Authenticode signatures of every PE image inside FILE (outer EFI program, inner kernel)")
    .argument("<file>", "kernel image (zboot vmlinuz.efi, Image, bzImage, UKI, signed PE)")
    .option("--cert <file>", "a certificate (PEM or DER) the signer's chain must reach; repeatable", collect, [])
    .option("--integrity-only", "accept intact signatures without checking who signed (exit 0 when intact; never reported as verified)")
    .option("--layer <path>", "check only this PE layer (see `kimg inspect`); repeatable", collect, [])
    .option("--json", "print the report as JSON")
    .addOption(maxSizeOption())
    .addOption(maxTotalSizeOption())
    .action(async (file: string, opts: { cert: string[]; layer: string[]; json?: boolean; integrityOnly?: boolean; maxSize?: number; maxTotalSize?: number }) => {
      if (opts.integrityOnly && opts.cert.length) throw new KimgError(ErrorCode.USAGE, "--integrity-only and --cert exclude each other: --cert checks who signed");
      const bytes = await readInput(file);
      const trustedCertificates = await Promise.all(opts.cert.map((c) => readTrustedCertificate(c)));
      const { verifyImage } = await import("../signatures/verify.js");
      const report = await verifyImage(bytes, {
        name: basename(file),
        codecs: NODE_CODECS,
        trustedCertificates,
        layers: opts.layer,
        integrityOnly: opts.integrityOnly ?? false,
        ...sizeLimits(opts),
        onProgress: progressReporter(!opts.json),
      });
      await writeStdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : renderVerifyText(report));
      if (!report.accepted) process.exitCode = EXIT.NOT_VERIFIED;
    });

  program
    .command("digest")
    .description("print the Authenticode digest of the outermost PE image (like pesign -h)")
    .argument("<file>", "kernel image or PE file")
    .option("--alg <name>", "sha256, sha1, sha384 or sha512", "sha256")
    .option("--layer <path>", "the PE layer to hash (see `kimg inspect`); default: the outermost")
    .option("--all", "one line per PE layer: digest and layer path")
    .option("--no-trim", "hash zero padding after the certificate table as data (what an untrimmed check sees)")
    .addOption(maxSizeOption())
    .addOption(maxTotalSizeOption())
    .action(async (file: string, opts: { alg: string; layer?: string; all?: boolean; trim: boolean; maxSize?: number; maxTotalSize?: number }) => {
      const alg = opts.alg.toLowerCase();
      if (!isDigestName(alg)) throw new KimgError(ErrorCode.USAGE, `--alg ${opts.alg}: use one of ${Object.keys(DIGEST_ALGORITHMS).join(", ")}`);
      if (opts.all && opts.layer) throw new KimgError(ErrorCode.USAGE, "--all and --layer exclude each other");
      const bytes = await readInput(file);
      const { peLayers, selectPeLayer } = await import("../signatures/verify.js");
      const load = (shallow: boolean): ReturnType<typeof analyse> =>
        analyse(bytes, {
          name: basename(file),
          codecs: NODE_CODECS,
          shallow,
          ...sizeLimits(opts),
          onProgress: progressReporter(true),
        });
      const choose = (tree: Tree): PeLayer[] => (opts.all ? peLayers(tree) : opts.layer === undefined ? peLayers(tree).slice(0, 1) : [selectPeLayer(tree, opts.layer)]);
      // The outer PE needs no decompression; only go deeper when it is not there (a gzip-compressed Image).
      let chosen: PeLayer[] = [];
      if (!opts.all) chosen = await load(true).then((a) => choose(a.tree)).catch(() => []);
      if (chosen.length === 0) chosen = choose((await load(false)).tree);
      if (chosen.length === 0) throw new KimgError(ErrorCode.NO_SUCH_LAYER, `${file} holds no PE/COFF image to hash`, { structure: "layer tree" });
      for (const pe of chosen) {
        const value = await authenticodeDigest(pe.bytes, pe.layer.pe, alg, { trim: opts.trim, ...(opts.maxSize ? { maxHashedBytes: opts.maxSize } : {}) });
        await writeStdout(opts.all ? `${value}  ${pe.layer.path}\n` : `${value}\n`);
      }
    });
}
