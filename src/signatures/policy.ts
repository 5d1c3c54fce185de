/**
 * "Would this image boot under Secure Boot with these policies?" (issue 17): the firmware's db
 * and dbx decision, as EDK2's DxeImageVerificationLib takes it (DxeImageVerificationHandler), and
 * shim's SBAT decision (sbat.c verify_sbat), combined into one verdict.
 *
 * Firmware, for the image it loads (the outermost PE):
 *   - unsigned: refused when its SHA-256 Authenticode hash is in dbx, allowed when it is in db;
 *   - for each WIN_CERTIFICATE's top-level signature (nested ones are not read): refused when the
 *     signature verifies against a dbx certificate (the signer or a certificate of its chain is in
 *     dbx: IsForbiddenByDbx), or when the image hash is in dbx; allowed when it verifies against
 *     a db certificate (IsAllowedByDb: digest, signature and chain) or when the hash is in db;
 *   - otherwise refused.
 * shim, for each image it loads: refused when an SBAT component's generation is below the
 * SbatLevel's, or when the `.sbat` section cannot be parsed (with a non-empty SbatLevel).
 */
import type { Tree } from "../analysis/tree.js";
import { hex } from "../io/layout.js";
import type { Diagnostic } from "../model/report.js";
import type { FirmwareSignatureVerdict, PolicyFileFacts, SbatPolicy, SbatVerdict, SecureBootReason, SecureBootVerdict } from "../model/secure-boot.js";
import { findPeSection } from "../formats/pe-secure-boot.js";
import { MAX_SBAT_BYTES, parseSbatLevel, parseSbatPolicy, SbatLevelError, sbatRevocation } from "../formats/sbat.js";
import { readSignatureDatabase, type PolicyFile, type SignatureDatabase } from "./efi-sig-list.js";
import { checkChain, checkSignature, parseAuthenticode } from "./pkcs7.js";
import { peLayers } from "./pe-layers.js";
import type { VerifyReport } from "./types.js";
import { readCertificateTable, WIN_CERT_TYPE_PKCS_SIGNED_DATA } from "./wincert.js";
import { resolveLimits, type Limits } from "../io/limits.js";
import { u32 } from "../io/layout.js";

export type { PolicyFile } from "./efi-sig-list.js";

/** The policies `verifyImage` checks the image against (`kimg verify --db --dbx --sbat-level`). */
export interface SecureBootPolicyOptions {
  /** The allowed signature database: EFI signature lists (raw, efivarfs, .auth), certificates, or a shim (its vendor certificate). */
  db?: readonly PolicyFile[];
  /** The forbidden signature database, in the same forms (a shim: its vendor_dbx). */
  dbx?: readonly PolicyFile[];
  /** The SBAT revocation policy: a shim binary (its `.sbatlevel`), a policy text, or an `SbatLevel` variable dump. */
  sbatLevel?: PolicyFile;
  /** Which of a shim's two policies: "automatic" (shim's default, the previous one) or "latest" (SbatPolicy=latest). */
  sbatPolicy?: "automatic" | "latest";
}

/** True when any policy was given. */
export function hasSecureBootPolicy(options: SecureBootPolicyOptions): boolean {
  return (options.db?.length ?? 0) > 0 || (options.dbx?.length ?? 0) > 0 || options.sbatLevel !== undefined;
}

function diag(code: Diagnostic["code"], message: string, offset: number | null): Diagnostic {
  return { code, severity: "error", message, offset, layer: "/" };
}

/** Reads an --sbat-level file: a PE with `.sbatlevel` (shim), an SbatLevel dump (with or without efivarfs attributes) or a policy text. */
export function readSbatLevelFile(
  file: PolicyFile,
  which: "automatic" | "latest",
): { facts: PolicyFileFacts; policy: SbatPolicy | null; which: "automatic" | "latest" | "variable"; diagnostics: Diagnostic[] } {
  const { name, data } = file;
  const facts: PolicyFileFacts = { name, kind: "sbatlevel-text", size: data.length, attributes: null, auth: null, lists: [] };
  const diagnostics: Diagnostic[] = [];
  const lfanew = u32(data, 0x3c);
  if (data[0] === 0x4d && data[1] === 0x5a && lfanew !== undefined && u32(data, lfanew) === 0x4550) {
    facts.kind = "shim";
    const section = findPeSection(data, ".sbatlevel");
    if (section) {
      const raw = section.pointerToRawData;
      const bytes = data.subarray(
        Math.min(raw, data.length),
        Math.min(data.length, raw + Math.min(section.virtualSize || section.sizeOfRawData, section.sizeOfRawData)),
      );
      try {
        const parsed = parseSbatLevel(bytes, raw);
        for (const p of parsed.problems) diagnostics.push(diag("SBAT_POLICY_UNREADABLE", `--sbat-level ${name}: ${p.message}`, p.offset));
        return { facts, policy: which === "latest" ? parsed.level.latest : parsed.level.automatic, which, diagnostics };
      } catch (error) {
        if (!(error instanceof SbatLevelError)) throw error;
        diagnostics.push(diag("SBAT_POLICY_UNREADABLE", `--sbat-level ${name}: ${error.message}`, error.offset));
        return { facts, policy: null, which, diagnostics };
      }
    }
    diagnostics.push(diag("SBAT_POLICY_UNREADABLE", `--sbat-level ${name}: a PE image without a .sbatlevel section`, null));
    return { facts, policy: null, which, diagnostics };
  }
  // An efivarfs dump starts with 4 attribute bytes (NV|BS|RT = 7 or so), then "sbat,".
  const text = (at: number): boolean => data[at] === 0x73 && data[at + 1] === 0x62 && data[at + 2] === 0x61 && data[at + 3] === 0x74 && data[at + 4] === 0x2c;
  let start = 0;
  if (!text(0) && text(4) && (u32(data, 0) ?? 0x100) <= 0x7f) {
    facts.kind = "sbatlevel-variable";
    facts.attributes = u32(data, 0) ?? null;
    start = 4;
  } else if (!text(0)) {
    diagnostics.push(diag("SBAT_POLICY_UNREADABLE", `--sbat-level ${name}: neither a shim with .sbatlevel nor an SbatLevel text starting "sbat,"`, 0));
    return { facts, policy: null, which: "variable", diagnostics };
  }
  if (data.length - start > MAX_SBAT_BYTES)
    diagnostics.push(diag("SBAT_TOO_LARGE", `--sbat-level ${name}: ${data.length} bytes, more than MAX_SBAT_BYTES (${MAX_SBAT_BYTES}); not read`, 0));
  const parsed = parseSbatPolicy(data.subarray(start), start);
  for (const p of parsed.problems) diagnostics.push(diag(p.code, `--sbat-level ${name}: ${p.message}`, p.offset));
  return { facts, policy: parsed.problems.length ? null : parsed.policy, which: "variable", diagnostics };
}

const REASON_TEXT: Readonly<Record<SecureBootReason, string>> = {
  "dbx-hash": "its Authenticode hash is in dbx",
  "dbx-certificate": "a certificate of its signing chain is in dbx (revoked signer)",
  "sbat-revoked": "SBAT generation too low",
  "sbat-invalid": "its .sbat section cannot be parsed, which shim refuses",
  "digest-mismatch": "the signed digest does not match the image (changed after signing)",
  "no-db-chain": "no signature chains to a db certificate and its hash is not in db",
};

/**
 * The Secure Boot verdict for an analysed image and its signature report. Loads nothing new:
 * the signature stack is already loaded by `verifyTree`.
 */
export async function secureBootVerdict(
  tree: Tree,
  report: VerifyReport,
  options: SecureBootPolicyOptions,
  limitsIn?: Partial<Limits>,
): Promise<{ verdict: SecureBootVerdict; diagnostics: Diagnostic[] }> {
  const limits = resolveLimits(limitsIn);
  const diagnostics: Diagnostic[] = [];
  const db: SignatureDatabase | null = options.db?.length ? readSignatureDatabase(options.db, "db") : null;
  const dbx: SignatureDatabase | null = options.dbx?.length ? readSignatureDatabase(options.dbx, "dbx") : null;
  diagnostics.push(...(db?.diagnostics ?? []), ...(dbx?.diagnostics ?? []));
  const level = options.sbatLevel ? readSbatLevelFile(options.sbatLevel, options.sbatPolicy ?? "automatic") : null;
  diagnostics.push(...(level?.diagnostics ?? []));

  const pes = peLayers(tree);
  const outer = pes[0] ?? null;
  const layerPath = outer?.layer.path ?? "/";
  const sha256 = report.layers.find((l) => l.path === layerPath)?.digest.sha256 ?? null;

  // Firmware: db and dbx.
  const signatures: FirmwareSignatureVerdict[] = [];
  const hashInDbx = sha256 && dbx ? (dbx.facts.hashes.find((h) => h.sha256 === sha256) ?? null) : null;
  const hashInDb = sha256 && db ? (db.facts.hashes.find((h) => h.sha256 === sha256) ?? null) : null;
  let firmware: SecureBootVerdict["firmware"] = null;
  let firmwareReason: SecureBootReason | null = null;
  if (db || dbx) {
    let allowed = false;
    let forbidden: SecureBootReason | null = hashInDbx ? "dbx-hash" : null;
    let mismatch = false;
    if (outer?.layer.pe.certificateTable) {
      let table = null;
      try {
        table = readCertificateTable(outer.bytes, outer.layer.pe, limits);
      } catch {
        // verifyTree reported it; an unreadable table verifies nothing.
      }
      let index = 0;
      for (const entry of table?.entries ?? []) {
        if (entry.wCertificateType !== WIN_CERT_TYPE_PKCS_SIGNED_DATA) continue;
        let parsed: ReturnType<typeof parseAuthenticode> | null = null;
        try {
          parsed = parseAuthenticode(entry.content, { maxSignatures: limits.maxSignatureCount });
        } catch {
          // reported by verifyTree
        }
        for (const s of parsed?.signatures ?? []) {
          const myIndex = index++;
          if (s.depth > 0) continue; // EDK2 verifies the outer SignedData of each WIN_CERTIFICATE only
          const reported = report.signatures.find((r) => r.layer === layerPath && r.index === myIndex);
          const digestMatches = reported?.digestMatches ?? false;
          const intact = digestMatches && (await checkSignature(s)).valid;
          const dbxChain = dbx?.certificates.length && intact ? await checkChain(s, dbx.certificates) : null;
          const dbChain = db?.certificates.length && intact ? await checkChain(s, db.certificates) : null;
          signatures.push({
            index: myIndex,
            digestMatches,
            dbxChain: dbxChain?.valid ? dbxChain.path : null,
            dbChain: dbChain?.valid ? dbChain.path : null,
          });
          if (!digestMatches) mismatch = true;
          if (dbxChain?.valid) forbidden ??= "dbx-certificate";
          if (dbChain?.valid) allowed = true;
        }
      }
    }
    if (hashInDb) allowed = true;
    firmware = forbidden === null && allowed ? "allowed" : "refused";
    firmwareReason = forbidden ?? (allowed ? null : mismatch ? "digest-mismatch" : "no-db-chain");
  }

  // shim: SBAT of every PE layer.
  const sbat: SbatVerdict[] = [];
  if (level?.policy) {
    for (const pe of pes) {
      const section = pe.layer.pe.sbat;
      const path = pe.layer.path;
      if (!section || section.size === 0) {
        sbat.push({
          layer: path,
          status: "absent",
          revoked: null,
          message: "no .sbat section: shim refuses it as a stage it loads itself, accepts it through its protocol (a kernel GRUB loads)",
        });
      } else if (!section.valid && level.policy.entries.length > 0) {
        sbat.push({ layer: path, status: "invalid", revoked: null, message: `shim cannot use its .sbat section: ${section.problems[0] ?? "malformed"}` });
      } else {
        const hit = sbatRevocation(section.entries, level.policy);
        sbat.push(
          hit
            ? {
                layer: path,
                status: "revoked",
                revoked: {
                  component: hit.entry.component,
                  generation: hit.entry.generationNumber,
                  policyGeneration: hit.rule.generationNumber,
                  offset: hit.entry.offset,
                  policyOffset: hit.rule.offset,
                },
                message: `${hit.entry.component} generation ${hit.entry.generationNumber} (at ${hex(hit.entry.offset)}) is below the policy's ${hit.rule.generationNumber}: revoked`,
              }
            : {
                layer: path,
                status: "pass",
                revoked: null,
                message: `${section.entries.length} SBAT entries, none below the policy (${section.entries.map((e) => `${e.component} ${e.generationNumber}`).join(", ")})`,
              },
        );
      }
    }
  }
  const outerSbat = sbat.find((s) => s.layer === layerPath);
  const sbatReason: SecureBootReason | null = outerSbat?.status === "revoked" ? "sbat-revoked" : outerSbat?.status === "invalid" ? "sbat-invalid" : null;
  const policyBroken = (level !== null && level.policy === null) || diagnostics.some((d) => d.severity === "error");
  const reason: SecureBootReason | null =
    firmwareReason === "dbx-hash" || firmwareReason === "dbx-certificate" ? firmwareReason : (sbatReason ?? firmwareReason);
  const boots = reason === null && !policyBroken && outer !== null;

  const checked = [
    db || dbx ? "db/dbx" : null,
    level?.policy
      ? `SbatLevel ${level.policy.datestamp ?? "(undated)"}${level.which !== "variable" ? ` (shim's ${level.which === "automatic" ? "automatic/previous" : "latest"} policy)` : ""}`
      : null,
  ]
    .filter(Boolean)
    .join(" and ");
  let verdictLine: string;
  if (outer === null) verdictLine = "secure boot: no - no PE/COFF image in this file";
  else if (reason) {
    const detail =
      reason === "sbat-revoked" && outerSbat?.revoked
        ? `: ${outerSbat.revoked.component} generation ${outerSbat.revoked.generation} < ${outerSbat.revoked.policyGeneration}`
        : reason === "dbx-hash"
          ? ` (sha256 ${sha256})`
          : reason === "dbx-certificate"
            ? `: ${signatures.find((s) => s.dbxChain)?.dbxChain?.join(", issued by ") ?? ""}`
            : "";
    verdictLine = `secure boot: no - ${layerPath} would be refused: ${REASON_TEXT[reason]}${detail} (checked ${checked})`;
  } else if (policyBroken) verdictLine = `secure boot: no - a policy file could not be read (see the errors above)`;
  else {
    const why = [
      firmware === "allowed"
        ? hashInDb
          ? "its hash is in db"
          : `signed by a chain to db (${signatures.find((s) => s.dbChain)?.dbChain?.join(", issued by ") ?? ""})`
        : null,
      outerSbat ? (outerSbat.status === "absent" ? "no .sbat (only through shim's protocol)" : "SBAT passes") : null,
    ]
      .filter(Boolean)
      .join("; ");
    verdictLine = `secure boot: yes - ${layerPath} would boot: ${why} (checked ${checked})`;
  }
  return {
    verdict: {
      layer: layerPath,
      sha256,
      db: db?.facts ?? null,
      dbx: dbx?.facts ?? null,
      sbatLevel: level?.policy ? { file: level.facts, policy: level.policy, which: level.which } : null,
      signatures,
      hashInDbx,
      hashInDb,
      firmware,
      sbat,
      boots,
      reason,
      verdictLine,
    },
    diagnostics,
  };
}
