/**
 * `kimg verify`'s Secure Boot policy options (issue 17): --db, --dbx, --sbat-level, --sbat-latest.
 * `actions/verify.ts` reads the files they name.
 */
import type { Command } from "commander";

export interface PolicyFlags {
  db: string[];
  dbx: string[];
  sbatLevel?: string;
  sbatLatest?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function addPolicyOptions(command: Command): Command {
  return command
    .option(
      "--db <file>",
      "allowed signatures: an EFI signature list (efi-readvar dump, efivarfs file, signed .auth), a certificate, or a shim (its vendor certificate); repeatable",
      collect,
      [],
    )
    .option("--dbx <file>", "forbidden signatures, in the same forms (a shim: its vendor_dbx); repeatable", collect, [])
    .option("--sbat-level <file>", "the SBAT revocation policy: a shim binary (its .sbatlevel), an SbatLevel text, or a dump of the SbatLevel variable")
    .option("--sbat-latest", "with a shim as --sbat-level, apply its latest policy instead of the automatic (previous) one shim applies by default");
}
