/**
 * The signature report: what `verifyImage` returns and `kimg verify --json` prints. Plain JSON
 * values only, like the inspect report. Offsets are in the layer space of the PE they concern.
 */
import type { Diagnostic, LayerFormat } from "../model/report.js";
import type { DigestName } from "./authenticode.js";
import type { CertificateFacts } from "./certificates.js";
import type { KernelTableCheck } from "./wincert.js";
import type { FitVerifyReport } from "../model/fit-verify.js";
import type { SecureBootVerdict } from "../model/secure-boot.js";

export type { CertificateFacts, DigestName, KernelTableCheck };

/** One PE image of the layer tree: the outer EFI program (zboot, UKI), an inner Image, a UKI's .linux. */
export type VerifyLayer = {
  /** Path of the PE layer ("/pe", "/payload/decompressed/pe", "/.linux/pe", or "/" for a plain PE file). */
  path: string;
  /** Format of the image this PE header belongs to: zboot, arm64-image, uki, bzimage ...; "pe" for a plain PE file. */
  format: LayerFormat;
  /** Authenticode digests, lowercase hex: always sha256, plus every algorithm a signature here uses. */
  digest: Partial<Record<DigestName, string>>;
  signed: boolean;
  /** Signatures read from this layer, nested ones included. */
  signatureCount: number;
  /** Where the certificate table is (layer space), or null. */
  certificateTable: { offset: number; size: number } | null;
  /** Zero bytes after the certificate table (v6.4+ zboot pads the inner Image to image_size). */
  trailingZeroBytes: number;
  /** True when the digest was computed over the image cut at the end of its certificate table. */
  trimmed: boolean;
  /** Why the padding matters and what a check that does not trim would compute. */
  paddingNote?: string;
  /** Would Linux's KEXEC_SIG check (verify_pefile.c) accept this certificate table? null when unsigned. */
  kernel: KernelTableCheck | null;
};

/** One signature: a signer of a WIN_CERTIFICATE's SignedData, or one nested in it. */
export type VerifySignature = {
  /** Path of the PE layer. */
  layer: string;
  /** Position among this layer's signatures (WIN_CERTIFICATE order, nested ones after their parent). */
  index: number;
  /** Layer-space offset of the WIN_CERTIFICATE entry holding this signature. */
  entryOffset: number;
  /** Position of that entry in the certificate table. */
  entryIndex: number;
  nested: boolean;
  /** 0 for the entry's own signature, 1 for one nested in it ... */
  depth: number;
  /** `index` of the signature this one is nested in. */
  parent: number | null;
  /** "sha256", "sha1" ..., the OID when unknown, null when unreadable. */
  digestAlgorithm: string | null;
  /** The image digest inside the signature (SpcIndirectDataContent), lowercase hex. */
  digest: string | null;
  /** The digest inside the signature equals kimg's Authenticode digest of the image. */
  digestMatches: boolean;
  /** The signature verifies with the signer certificate's key over the signed content. */
  signatureValid: boolean;
  /** With trusted certificates: the signer's chain reaches one of them; null when none were given. */
  chainValid: boolean | null;
  /** Subjects from the signer to the trusted certificate, when the chain was checked and found. */
  chainPath: string[];
  /** The digest matches and the signature is valid: the image is as the signer signed it. Says nothing about who the signer is. */
  intact: boolean;
  /** Intact, and the chain to a given certificate was checked and found. Without trusted certificates this is never true. */
  verified: boolean;
  /** "verified" (intact, chain to a given certificate), "intact" (chain not checked), "failed". */
  status: SignatureStatus;
  /** Why not verified, one line per reason. */
  reasons: string[];
  signer: CertificateFacts | null;
  /** Every certificate the SignedData carries. */
  certificates: CertificateFacts[];
  signingTime: string | null;
  /** An RFC 3161 timestamp or countersignature is attached (reported, not verified). */
  timestamped: boolean;
};

export type SignatureStatus = "verified" | "intact" | "failed";

/**
 * The overall verdict of `kimg verify`:
 * - "verified": every signature is intact and chains to a given trusted certificate;
 * - "intact": every signature is intact, but no trusted certificate was given, so who signed is not established;
 * - "failed": a signature is broken, does not chain, or could not be read;
 * - "unsigned": nothing carries a signature.
 */
export type VerifyVerdict = "verified" | "intact" | "failed" | "unsigned";

/** What `verifyImage` returns and `kimg verify --json` prints (schema: docs/verify-report.schema.json). */
export type VerifyReport = {
  tool: "kimg";
  input: { name: string | null; size: number };
  verdict: VerifyVerdict;
  /** True only for the verdict "verified": signatures intact and chained to a certificate the caller trusts. */
  verified: boolean;
  /**
   * Whether the verdict passes what was asked: "verified" always; "intact" only when the caller
   * asked for an integrity-only check (`integrityOnly`, `kimg verify --integrity-only`).
   */
  accepted: boolean;
  /** True when the caller asked for an integrity-only check (no trust anchor). */
  integrityOnly: boolean;
  /** The verdict in one sentence, as every front end prints it. */
  verdictLine: string;
  /** Subjects of the certificates given to check chains against (empty: chains not checked). */
  trusted: string[];
  layers: VerifyLayer[];
  signatures: VerifySignature[];
  diagnostics: Diagnostic[];
  /** The U-Boot FITs of the file: every hash and signature node checked, the keys given (absent when the file holds no FIT). */
  fit?: FitVerifyReport;
  /**
   * With db, dbx or an SbatLevel policy (`kimg verify --db --dbx --sbat-level`): would the image
   * boot under Secure Boot, and if not, the first reason. `accepted` is then its `boots`.
   */
  secureBoot?: SecureBootVerdict;
};

/** What `kimg inspect` shows per PE layer; cheap and synchronous (no hashing). */
export type SignatureSummary = {
  signed: boolean;
  /** Signatures found, nested ones included. */
  signatureCount: number;
  /** Digest algorithm of the first signature. */
  digestAlgorithm: string | null;
  /** Subject of the first signature's signer. */
  signerSubject: string | null;
  /** Why the signature could not be read, when it could not. */
  problem: string | null;
};
