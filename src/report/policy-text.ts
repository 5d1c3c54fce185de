/** The text view of the Secure Boot verdict (issue 17): the policies read, the firmware's and shim's decisions, the verdict line. */
import { hex } from "../io/layout.js";
import type { PolicyFileFacts, SecureBootVerdict, SignatureDatabaseFacts } from "../model/secure-boot.js";

function fileLine(f: PolicyFileFacts): string {
  const kind =
    f.kind === "efivarfs"
      ? `efivarfs dump (attributes ${hex(f.attributes ?? 0)})`
      : f.kind === "authenticated-variable"
        ? `signed update (EFI_VARIABLE_AUTHENTICATION_2, ${f.auth?.timestamp ?? "?"}${f.auth?.signers.length ? `, signed by ${f.auth.signers.join("; ")}` : ""}; signature not verified)`
        : f.kind === "shim"
          ? "shim binary"
          : f.kind.replace(/-/g, " ");
  const lists = f.lists.map((l) => `${l.typeName ?? l.type} x${l.count}${l.used ? "" : " (ignored)"} at ${hex(l.offset)}`).join(", ");
  return `${f.name}: ${kind}, ${f.size} bytes${lists ? `; ${lists}` : ""}`;
}

function databaseLines(name: string, db: SignatureDatabaseFacts | null): string[] {
  if (!db) return [];
  const lines = [
    `  ${name}: ${db.certificates.length} certificate${db.certificates.length === 1 ? "" : "s"}, ${db.hashes.length} SHA-256 hash${db.hashes.length === 1 ? "" : "es"}`,
  ];
  for (const f of db.files) lines.push(`    ${fileLine(f)}`);
  for (const c of db.certificates) lines.push(`    certificate at ${hex(c.offset)}: ${c.subject} (serial ${c.serial})`);
  return lines;
}

/** The Secure Boot section of `kimg verify`'s text view; its last line is the verdict. */
export function renderSecureBootText(v: SecureBootVerdict): string[] {
  const lines: string[] = [`secure boot policy for ${v.layer}${v.sha256 ? ` (Authenticode sha256 ${v.sha256})` : ""}:`];
  lines.push(...databaseLines("db", v.db), ...databaseLines("dbx", v.dbx));
  if (v.sbatLevel) {
    const p = v.sbatLevel.policy;
    lines.push(
      `  SbatLevel: ${fileLine(v.sbatLevel.file)}; ${v.sbatLevel.which === "variable" ? "the policy as given" : `shim's ${v.sbatLevel.which} policy`}: ${p.entries.map((e) => `${e.component},${e.generation}${e.datestamp ? `,${e.datestamp}` : ""}`).join(" ")}`,
    );
  }
  if (v.hashInDbx) lines.push(`  the image hash is in dbx (entry at ${hex(v.hashInDbx.offset)})`);
  if (v.hashInDb) lines.push(`  the image hash is in db (entry at ${hex(v.hashInDb.offset)})`);
  for (const s of v.signatures) {
    const parts = [
      s.digestMatches ? "digest matches" : "digest does NOT match",
      s.dbxChain ? `chains to dbx: ${s.dbxChain.join(", issued by ")}` : null,
      s.dbChain ? `chains to db: ${s.dbChain.join(", issued by ")}` : v.db ? "no chain to db" : null,
    ].filter(Boolean);
    lines.push(`  signature #${s.index}: ${parts.join("; ")}`);
  }
  if (v.firmware) lines.push(`  firmware (db/dbx): ${v.firmware}`);
  for (const s of v.sbat) lines.push(`  SBAT ${s.layer}: ${s.status} - ${s.message}`);
  lines.push(v.verdictLine);
  return lines;
}
