/** `kimg verify FILE [--cert CERT ...] [--layer PATH ...] [--json]` and `kimg digest FILE [--alg ALG] [--layer PATH | --all]`. */
import type { Command } from "commander";
import type { DigestFlags, VerifyFlags } from "./actions/verify.js";
import { imageOptions } from "./options.js";
import { addPolicyOptions } from "./policy-options.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerSignatureCommands(program: Command): void {
  // The actions and what they need (the signature stack, the digests) load only when a command runs.
  const actions = async () => (await import("./actions/verify.js")).actions;
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
  imageOptions(verifyCommand).action(async (file: string, opts: VerifyFlags) => (await actions()).verify(file, opts));

  const digestCommand = program
    .command("digest")
    .description("print the Authenticode digest of the outermost PE image (like pesign -h)")
    .argument("<file>", "kernel image or PE file")
    .option("--alg <name>", "sha256, sha1, sha384 or sha512", "sha256")
    .option("--layer <path>", "the PE layer to hash (see `kimg inspect`); default: the outermost")
    .option("--all", "one line per PE layer: digest and layer path")
    .option("--no-trim", "hash zero padding after the certificate table as data (what an untrimmed check sees)");
  imageOptions(digestCommand).action(async (file: string, opts: DigestFlags) => (await actions()).digest(file, opts));
}
