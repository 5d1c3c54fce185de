/** `kimg verify`'s Secure Boot policy options (issue 17): --db, --dbx, --sbat-level, --sbat-latest. */
import type { Command } from "commander";
import type { PolicyFile, SecureBootPolicyOptions } from "../signatures/policy.js";
import { readInput } from "../node/files.js";

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

async function read(path: string, what: string): Promise<PolicyFile> {
  return { name: path, data: await readInput(path, { what }) };
}

/** Reads the policy files named on the command line (`opts` of a command given addPolicyOptions). */
export async function readPolicyFiles(opts: object): Promise<SecureBootPolicyOptions> {
  const flags = opts as Partial<PolicyFlags>;
  const out: SecureBootPolicyOptions = {};
  if (flags.db?.length) out.db = await Promise.all(flags.db.map((p) => read(p, "--db")));
  if (flags.dbx?.length) out.dbx = await Promise.all(flags.dbx.map((p) => read(p, "--dbx")));
  if (flags.sbatLevel) out.sbatLevel = await read(flags.sbatLevel, "--sbat-level");
  if (flags.sbatLatest) out.sbatPolicy = "latest";
  return out;
}
