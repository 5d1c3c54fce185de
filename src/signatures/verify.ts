/**
 * Verifies every Authenticode signature of every PE image in the layer tree: the outer EFI
 * program (zboot, UKI) that firmware checks, and the inner kernel Image that KEXEC_SIG checks.
 */
import type { Tree } from "../analysis/tree.js";
import { ErrorCode, asKimgError } from "../io/errors.js";
import { BOOTABLE_FORMATS } from "../formats/registry.js";
import { hex } from "../io/layout.js";
import { resolveLimits, type Limits } from "../io/limits.js";
import type { Diagnostic, Report, Severity } from "../model/report.js";
import type { ReportCode } from "../model/codes.js";
import { authenticodeLayout, digestHex, hashedBytes, isDigestName, type DigestName } from "./authenticode.js";
import { nameToString, readCertificates } from "./certificates.js";
import { checkChain, checkSignature, parseAuthenticode, type AuthenticodeSignature } from "./pkcs7.js";
import type { Certificate } from "pkijs";
import type { VerifyLayer, VerifyReport, VerifySignature, VerifyVerdict } from "./types.js";
import { peLayers, selectPeLayer, type PeLayer } from "./pe-layers.js";
import { certificateTypeName, readCertificateTable, WIN_CERT_TYPE_PKCS_SIGNED_DATA, type CertificateTable } from "./wincert.js";
import { hasSecureBootPolicy, secureBootVerdict, type SecureBootPolicyOptions } from "./policy.js";

export { peLayers, selectPeLayer, type PeLayer } from "./pe-layers.js";
export { signatureSummary } from "./signature-summary.js";

/** What `verifyTree` checks; `verifyImage` (src/api) adds the analysis options. */
export interface VerifyTreeOptions extends SecureBootPolicyOptions {
  limits?: Partial<Limits>;
  /** Certificate files (DER, or PEM with any number of certificates) a signer's chain must reach. */
  trustedCertificates?: readonly Uint8Array[];
  /** Only these layers (PE layer paths, or an image whose "pe" view is meant); default: every PE layer. */
  layers?: readonly string[];
  /**
   * Accept intact signatures without a trust anchor (`accepted` true for the verdict "intact").
   * The report still says that no chain was checked: `verified` stays false.
   */
  integrityOnly?: boolean;
  /** The input as the report names it (default: no name, the root layer's size). */
  input?: Report["input"];
}

/** One WIN_CERTIFICATE entry's signatures, or why it has none. */
interface EntrySignatures {
  entryIndex: number;
  entryOffset: number;
  signatures: AuthenticodeSignature[];
}

class LayerVerifier {
  readonly diagnostics: Diagnostic[] = [];
  /** Problems that mean not everything asked about was verified. */
  failed = false;

  constructor(
    private readonly pe: PeLayer,
    private readonly limits: Limits,
    private readonly trusted: readonly Certificate[],
  ) {}

  private diagnose(code: ReportCode, severity: Severity, message: string, offset: number | null): void {
    this.diagnostics.push({ code, severity, message, offset, layer: this.pe.layer.path });
    if (severity === "error") this.failed = true;
  }

  private readSignatures(table: CertificateTable): EntrySignatures[] {
    const out: EntrySignatures[] = [];
    let count = 0;
    for (const entry of table.entries) {
      const base = { entryIndex: entry.index, entryOffset: entry.offset };
      if (entry.wCertificateType !== WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
        this.diagnose(
          "CERT_ENTRY_NOT_PKCS7",
          "error",
          `WIN_CERTIFICATE ${entry.index} at ${hex(entry.offset)} is ${certificateTypeName(entry.wCertificateType)}, not PKCS_SIGNED_DATA; it cannot be verified`,
          entry.offset,
        );
        continue;
      }
      if (count >= this.limits.maxSignatureCount) {
        this.diagnose(
          ErrorCode.LIMIT,
          "error",
          `more than maxSignatureCount (${this.limits.maxSignatureCount}) signatures; the rest were not read`,
          entry.offset,
        );
        break;
      }
      try {
        const parsed = parseAuthenticode(entry.content, { maxSignatures: this.limits.maxSignatureCount - count });
        if (parsed.truncated)
          this.diagnose(
            ErrorCode.LIMIT,
            "error",
            `more than maxSignatureCount (${this.limits.maxSignatureCount}) signatures; the rest were not read`,
            entry.offset,
          );
        count += parsed.signatures.length;
        out.push({ ...base, signatures: parsed.signatures });
      } catch (error) {
        const e = asKimgError(error, ErrorCode.BAD_SIGNATURE);
        this.diagnose(e.code, "error", `WIN_CERTIFICATE ${entry.index} at ${hex(entry.offset)}: ${e.message}`, entry.offset);
      }
    }
    return out;
  }

  async run(): Promise<{ layer: VerifyLayer; signatures: VerifySignature[] }> {
    const { layer, bytes, format } = this.pe;
    const pe = layer.pe;
    let table: CertificateTable | null = null;
    try {
      table = readCertificateTable(bytes, pe, this.limits);
    } catch (error) {
      const e = asKimgError(error, ErrorCode.BAD_SIGNATURE);
      this.diagnose(e.code, "error", e.message, e.offset ?? pe.certificateTable?.entryOffset ?? null);
    }
    for (const p of table?.problems ?? []) this.diagnose(p.code, p.severity, p.message, p.offset);
    const entries = table ? this.readSignatures(table) : [];
    const flat = entries.flatMap((e) => e.signatures.map((s) => ({ entry: e, s })));

    const algorithms = new Set<DigestName>(["sha256"]);
    for (const { s } of flat) if (s.digestAlgorithm && isDigestName(s.digestAlgorithm)) algorithms.add(s.digestAlgorithm);
    const digest: Partial<Record<DigestName, string>> = {};
    let trimmed = false;
    let paddingNote: string | undefined;
    try {
      const layout = authenticodeLayout(bytes, pe, { maxHashedBytes: this.limits.maxOutputBytes });
      const data = hashedBytes(bytes, layout);
      for (const alg of algorithms) digest[alg] = await digestHex(data, alg);
      trimmed = layout.trimmedZeroBytes > 0;
      if (trimmed && pe.certificateTable)
        paddingNote = await this.paddingNote(
          layout.imageLength,
          digest.sha256 ?? "",
          flat.map((f) => f.s),
        );
    } catch (error) {
      const e = asKimgError(error, ErrorCode.BAD_FIELD);
      this.diagnose(e.code, "error", `Authenticode digest: ${e.message}`, e.offset ?? null);
    }

    const signatures: VerifySignature[] = [];
    let entryStart = 0;
    for (const entry of entries) {
      for (const s of entry.signatures) {
        const parent = s.parent === null ? null : entryStart + s.parent;
        signatures.push(await this.verifySignature(signatures.length, entry, s, parent, digest));
      }
      entryStart += entry.signatures.length;
    }
    if (pe.certificateTable && signatures.length === 0) {
      this.diagnose(
        "NO_READABLE_SIGNATURE",
        "error",
        "the image has a certificate table but no signature in it could be read",
        pe.certificateTable.entryOffset,
      );
    }
    if (table && !table.kernel.accepted && BOOTABLE_FORMATS.has(format) /* what kexec hands to the kernel, whose signature KEXEC_SIG checks */) {
      this.diagnose(
        "KEXEC_SIG_WOULD_REJECT",
        "warning",
        `Linux's KEXEC_SIG check (verify_pefile.c) would reject this image: ${table.kernel.reason}`,
        table.offset,
      );
    }
    return {
      layer: {
        path: layer.path,
        format,
        digest,
        signed: pe.certificateTable !== null,
        signatureCount: signatures.length,
        certificateTable: table ? { offset: table.offset, size: table.size } : null,
        trailingZeroBytes: pe.trailingZeroBytes,
        trimmed,
        ...(paddingNote ? { paddingNote } : {}),
        kernel: table ? table.kernel : null,
      },
      signatures,
    };
  }

  /** Explains the v6.4+ zboot padding: what hashing the untrimmed data gives, and why it fails. */
  private async paddingNote(imageLength: number, trimmedSha256: string, signatures: AuthenticodeSignature[]): Promise<string> {
    const { bytes, layer } = this.pe;
    const naive = await digestHex(
      hashedBytes(bytes, authenticodeLayout(bytes, layer.pe, { trim: false, maxHashedBytes: this.limits.maxOutputBytes })),
      "sha256",
    );
    const signedSha256 = signatures.find((s) => s.digestAlgorithm === "sha256")?.digest ?? null;
    const base = layer.offset;
    const verdict =
      signedSha256 === null
        ? ""
        : naive === signedSha256
          ? " It matches the signature all the same."
          : " It does not match the signature, so such a check reports the image as tampered.";
    return (
      `${layer.pe.trailingZeroBytes} zero bytes follow the certificate table (zboot v6.4+ pads the Image to image_size). ` +
      `kimg hashed the image cut at ${hex(base + imageLength)}, the end of the certificate table, as kexec-tools does before kexec_file_load (commit 6aecc32); ` +
      `this gives ${trimmedSha256}. Hashing the padded data as it is (the kernel's verify_pefile.c, pesign -h, sbverify on the untrimmed file) ` +
      `counts the bytes up to length - certificate table size as trailing data and gives ${naive}.${verdict} ` +
      `\`kimg extract --trim\` writes the cut image.`
    );
  }

  private async verifySignature(
    index: number,
    entry: EntrySignatures,
    s: AuthenticodeSignature,
    parent: number | null,
    digest: Partial<Record<DigestName, string>>,
  ): Promise<VerifySignature> {
    const reasons: string[] = [];
    if (s.error) reasons.push(s.error);
    const ours = s.digestAlgorithm && isDigestName(s.digestAlgorithm) ? digest[s.digestAlgorithm] : undefined;
    if (s.digestAlgorithm && !isDigestName(s.digestAlgorithm)) reasons.push(`digest algorithm ${s.digestAlgorithm} is not supported`);
    const digestMatches = ours !== undefined && s.digest === ours;
    if (!digestMatches && ours !== undefined && s.digest !== null)
      reasons.push(`the signed digest ${s.digest} differs from the image's ${s.digestAlgorithm} ${ours}: the image was changed after signing`);
    const sig = await checkSignature(s);
    if (!sig.valid && !s.error) reasons.push(`signature: ${sig.reason}`);
    let chainValid: boolean | null = null;
    let chainPath: string[] = [];
    if (this.trusted.length > 0) {
      const chain = await checkChain(s, this.trusted);
      chainValid = chain.valid;
      chainPath = chain.path;
      if (!chain.valid && !s.error) reasons.push(`chain: ${chain.reason}`);
    }
    const intact = s.error === null && digestMatches && sig.valid;
    const verified = intact && chainValid === true;
    const status = !intact || chainValid === false ? "failed" : verified ? "verified" : "intact";
    if (status === "failed") this.failed = true;
    return {
      layer: this.pe.layer.path,
      index,
      entryOffset: entry.entryOffset,
      entryIndex: entry.entryIndex,
      nested: s.depth > 0,
      depth: s.depth,
      parent,
      digestAlgorithm: s.digestAlgorithm,
      digest: s.digest,
      digestMatches,
      signatureValid: sig.valid,
      chainValid,
      chainPath,
      intact,
      verified,
      status,
      reasons,
      signer: s.signer,
      certificates: s.certificates,
      signingTime: s.signingTime,
      timestamped: s.timestamped,
    };
  }
}

/**
 * Computes the Authenticode digest of every PE image of an analysed tree and verifies every
 * signature: the digest inside it against the image, the signature against the signer
 * certificate, and, with `trustedCertificates`, the chain to one of them. The tree's error
 * diagnostics are carried into the report.
 */
export async function verifyTree(tree: Tree, options: VerifyTreeOptions = {}): Promise<VerifyReport> {
  const limits = resolveLimits(options.limits);
  const trusted = (options.trustedCertificates ?? []).flatMap((file, i) => readCertificates(file, `trusted certificate file ${i + 1}`));
  const selected = options.layers?.length ? options.layers.map((p) => selectPeLayer(tree, p)) : peLayers(tree);
  const diagnostics: Diagnostic[] = tree.diagnostics.filter((d) => d.severity === "error");
  const layers: VerifyLayer[] = [];
  const signatures: VerifySignature[] = [];
  let failed = false;
  for (const pe of selected) {
    const verifier = new LayerVerifier(pe, limits, trusted);
    const result = await verifier.run();
    layers.push(result.layer);
    signatures.push(...result.signatures);
    diagnostics.push(...verifier.diagnostics);
    failed ||= verifier.failed;
  }
  if (selected.length === 0) {
    diagnostics.push({
      code: "NO_PE_IMAGE",
      severity: "error",
      message: "no PE/COFF image in this file, so nothing carries an Authenticode signature",
      offset: null,
      layer: "/",
    });
  } else if (signatures.length === 0) {
    diagnostics.push({
      code: "NOT_SIGNED",
      severity: "error",
      message: `no signature in ${selected.map((p) => p.layer.path).join(", ")}: nothing was verified`,
      offset: null,
      layer: selected[0]?.layer.path ?? "/",
    });
  }
  const verdict: VerifyVerdict = signatures.length === 0 ? (failed ? "failed" : "unsigned") : failed ? "failed" : trusted.length > 0 ? "verified" : "intact";
  const integrityOnly = options.integrityOnly ?? false;
  const trustedSubjects = trusted.map((c) => nameToString(c.subject));
  const report: VerifyReport = {
    tool: "kimg",
    input: options.input ?? { name: null, size: tree.root.size },
    verdict,
    verified: verdict === "verified",
    accepted: verdict === "verified" || (verdict === "intact" && integrityOnly),
    integrityOnly,
    verdictLine: verdictLine(verdict, signatures, trustedSubjects, integrityOnly, selected.length),
    trusted: trustedSubjects,
    layers,
    signatures,
    diagnostics,
  };
  // Issue 17: with --db/--dbx/--sbat-level, the Secure Boot verdict decides acceptance.
  if (hasSecureBootPolicy(options)) {
    const policy = await secureBootVerdict(tree, report, options, options.limits);
    report.secureBoot = policy.verdict;
    report.diagnostics.push(...policy.diagnostics);
    report.accepted = policy.verdict.boots;
  }
  return report;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The verdict in one sentence: what was proven, and what was not. */
export function verdictLine(
  verdict: VerifyVerdict,
  signatures: readonly VerifySignature[],
  trusted: readonly string[],
  integrityOnly: boolean,
  peCount: number,
): string {
  const signers = [...new Set(signatures.map((s) => s.signer?.subject).filter((s): s is string => s !== undefined))];
  const by = signers.length ? `; signed by ${signers.join(", ")}` : "";
  switch (verdict) {
    case "verified":
      return `verified: yes - ${plural(signatures.length, "signature")} intact (digest matches, signature valid)${by}; chain checked against ${trusted.join("; ")}`;
    case "intact":
      return integrityOnly
        ? `integrity: intact - ${plural(signatures.length, "signature")} intact (digest matches, signature valid)${by}; trust not checked (--integrity-only): anyone can make such a signature`
        : `verified: no - ${plural(signatures.length, "signature")} intact (digest matches, signature valid)${by}, but not checked against any trusted certificate; give --cert to check the chain, or --integrity-only to accept an intact signature from anyone`;
    case "unsigned":
      return peCount === 0 ? "verified: no - no PE/COFF image in this file, so nothing carries a signature" : "verified: no - not signed";
    case "failed": {
      const failed = signatures.filter((s) => s.status === "failed").length;
      if (signatures.length === 0) return "verified: no - the signature could not be read (see the errors above)";
      return failed > 0
        ? `verified: no - ${failed} of ${plural(signatures.length, "signature")} failed`
        : `verified: no - ${plural(signatures.length, "signature")} read, but the check is incomplete (see the errors above)`;
    }
  }
}
