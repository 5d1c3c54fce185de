/**
 * The Secure Boot policy facts of a report (issue 17): a PE image's SBAT entries and control-flow
 * flags, what `inspect` shows, and the policy verdict `kimg verify --db --dbx --sbat-level` adds
 * to the signature report. Plain JSON values; every offset is in the layer space of the PE it
 * belongs to, or in the policy file for policy entries.
 */

/** One entry of a `.sbat` section (shim's SBAT.md: one CSV line of six fields). */
export interface SbatEntry {
  /** component_name: "shim", "grub", "grub.debian", "systemd-boot", "sbat". */
  component: string;
  /** component_generation as written. */
  generation: string;
  /** The generation as shim compares it: its decimal digits (atoi) stored in a UINT16. */
  generationNumber: number;
  /** vendor_name: "Debian", "The systemd Developers". */
  vendorName: string;
  /** vendor_package_name. */
  vendorPackage: string;
  /** vendor_version. */
  vendorVersion: string;
  /** vendor_url. */
  vendorUrl: string;
  /** Offset of the line's first byte. */
  offset: number;
  /** Line number, from 1. */
  line: number;
}

/** A `.sbat` section read as shim reads it (verify.c, sbat.c, csv.c). */
export interface SbatSection {
  /** Offset of the section's data. */
  offset: number;
  /** Bytes shim reads: SizeOfRawData (it ignores a section whose SizeOfRawData is below its VirtualSize). */
  size: number;
  entries: SbatEntry[];
  /**
   * Whether shim can use the section: false when a line has fewer than six fields or an empty
   * one, when there are two `.sbat` sections, or when the section runs past the file; shim then
   * refuses the image whenever an SbatLevel is set. The diagnostics say why.
   */
  valid: boolean;
  /** Why not valid, one line per problem. */
  problems: string[];
}

/** One entry of an SBAT revocation policy (the `SbatLevel` variable, a `.sbatlevel` payload). */
export interface SbatPolicyEntry {
  component: string;
  generation: string;
  /** As shim compares it (atoi into a UINT16). */
  generationNumber: number;
  /** The third field, on the "sbat,1,DATE" line only. */
  datestamp: string | null;
  /** Offset of the line in its source. */
  offset: number;
}

/** One revocation policy: the lines of an SbatLevel value. */
export interface SbatPolicy {
  /** The version on the "sbat,VERSION,DATE" line ("1"), null when the policy has no such line. */
  version: string | null;
  /** Its datestamp ("2025051000"): shim keeps the policy in place when its own is not newer. */
  datestamp: string | null;
  entries: SbatPolicyEntry[];
  /** Offset of the policy text in its source. */
  offset: number;
  /** The text as it is, for people. */
  text: string;
}

/** shim's `.sbatlevel` section (sbat_var.S): a format version, then two offsets and two policies. */
export interface SbatLevelSection {
  /** Offset of the section's data. */
  offset: number;
  /** The leading format version (0). */
  formatVersion: number;
  /** The policy shim applies by default (SbatPolicy unset or "automatic"): the "previous" one. */
  automatic: SbatPolicy;
  /** The policy shim applies with SbatPolicy set to "latest". */
  latest: SbatPolicy;
}

/** The debug directory's IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS entry (PE spec, "Debug Type"; include/linux/pe.h). */
export interface ExDllCharacteristics {
  /** Offset of the debug directory entry (IMAGE_DEBUG_DIRECTORY, 28 bytes) of type 20. */
  entryOffset: number;
  /** Offset of the 4-byte flags it points at (PointerToRawData). */
  offset: number;
  /** The flags as read. */
  value: number;
  /** Flag names: "CET_COMPAT", "FORWARD_CFI_COMPAT" ..., hex for unknown bits. */
  flags: string[];
  /** IMAGE_DLLCHARACTERISTICS_EX_CET_COMPAT (0x1): the image supports Intel CET shadow stacks. */
  cetCompat: boolean;
  /** IMAGE_DLLCHARACTERISTICS_EX_FORWARD_CFI_COMPAT (0x40): code carries forward-edge CFI landing pads (x86 IBT ENDBR, arm64 BTI). */
  forwardCfiCompat: boolean;
}

/** What a policy file turned out to be. */
export type PolicyFileKind = "efi-signature-list" | "efivarfs" | "authenticated-variable" | "certificate" | "shim" | "sbatlevel-text" | "sbatlevel-variable";

/** One EFI_SIGNATURE_LIST of a db or dbx file (UEFI spec 32.4.1). */
export interface SignatureListFacts {
  /** Offset of the list header in the file. */
  offset: number;
  /** SignatureType GUID, lower-case text form. */
  type: string;
  /** "EFI_CERT_X509_GUID", "EFI_CERT_SHA256_GUID" ..., or null when unknown. */
  typeName: string | null;
  signatureListSize: number;
  signatureHeaderSize: number;
  signatureSize: number;
  /** Signatures in the list. */
  count: number;
  /** True when kimg uses the list (X.509 certificates and SHA-256 hashes); other types are listed and ignored. */
  used: boolean;
}

/** One certificate of a db or dbx. */
export interface PolicyCertificate {
  /** Offset of its EFI_SIGNATURE_DATA (owner GUID, then the DER) in the file. */
  offset: number;
  /** SignatureOwner GUID. */
  owner: string | null;
  subject: string;
  issuer: string;
  serial: string;
}

/** One SHA-256 hash of a db or dbx. */
export interface PolicyHash {
  offset: number;
  owner: string | null;
  /** Lower-case hex. */
  sha256: string;
}

/** The EFI_VARIABLE_AUTHENTICATION_2 header of a signed `.auth` update, described, not verified. */
export interface AuthenticationHeaderFacts {
  /** Its EFI_TIME, ISO 8601 ("2026-12-07T01:02:03Z"). */
  timestamp: string;
  /** WIN_CERTIFICATE.dwLength. */
  length: number;
  /** CertType GUID (EFI_CERT_TYPE_PKCS7_GUID for time-based updates). */
  certType: string;
  /** Subjects of the certificates carried by the PKCS#7 signature. */
  signers: string[];
  /** Offset of the signature list data after the header. */
  dataOffset: number;
}

/** A db, dbx or SbatLevel file as read. */
export interface PolicyFileFacts {
  /** The file's name as given. */
  name: string;
  kind: PolicyFileKind;
  size: number;
  /** The efivarfs attributes prefix (EFI_VARIABLE_*), when there is one. */
  attributes: number | null;
  auth: AuthenticationHeaderFacts | null;
  lists: SignatureListFacts[];
}

/** A signature database (db or dbx): every file given, with what kimg uses from them. */
export interface SignatureDatabaseFacts {
  files: PolicyFileFacts[];
  certificates: PolicyCertificate[];
  hashes: PolicyHash[];
}

/** What shim decides for one PE image's SBAT under the policy given. */
export interface SbatVerdict {
  /** The PE layer. */
  layer: string;
  /**
   * "pass": no listed component is below the policy; "revoked": one is; "invalid": shim cannot
   * parse the section and refuses the image; "absent": no `.sbat` section (shim refuses it as a
   * stage it loads itself, accepts it through its protocol, e.g. a kernel GRUB loads).
   */
  status: "pass" | "revoked" | "invalid" | "absent";
  /** The first revoked entry, with the policy entry that revokes it. */
  revoked: { component: string; generation: number; policyGeneration: number; offset: number; policyOffset: number } | null;
  /** One sentence. */
  message: string;
}

/** Why Secure Boot would refuse the image: the first reason found, in this order. */
export type SecureBootReason = "dbx-hash" | "dbx-certificate" | "sbat-revoked" | "sbat-invalid" | "digest-mismatch" | "no-db-chain";

/** What the firmware (EDK2's DxeImageVerificationLib) decides for one signature of the image it loads. */
export interface FirmwareSignatureVerdict {
  /** Index in the signature report (`signatures[].index` of the layer). */
  index: number;
  /** The Authenticode digest inside the signature equals the image's. */
  digestMatches: boolean;
  /** The signer's chain reaches a dbx certificate (or the signer is one): subjects from the signer up. */
  dbxChain: string[] | null;
  /** The signer's chain reaches a db certificate: subjects from the signer up. */
  dbChain: string[] | null;
}

/** The policy verdict `kimg verify --db --dbx --sbat-level` adds to the signature report. */
export interface SecureBootVerdict {
  /** The PE layer the firmware (or shim) loads: the outermost. */
  layer: string;
  /** Its Authenticode SHA-256, as db and dbx hashes name it. */
  sha256: string | null;
  db: SignatureDatabaseFacts | null;
  dbx: SignatureDatabaseFacts | null;
  /** The SbatLevel policy applied, with the file it came from. */
  sbatLevel: { file: PolicyFileFacts; policy: SbatPolicy; which: "automatic" | "latest" | "variable" } | null;
  /** Top-level signatures only: the firmware ignores nested ones. */
  signatures: FirmwareSignatureVerdict[];
  /** The hash is in dbx / db (offset of the entry in the list file). */
  hashInDbx: PolicyHash | null;
  hashInDb: PolicyHash | null;
  /** The firmware's decision with the db and dbx given; null when neither was given. */
  firmware: "allowed" | "refused" | null;
  /** shim's SBAT decision per PE layer with the policy given; empty without --sbat-level. */
  sbat: SbatVerdict[];
  /** Would the image boot under Secure Boot with these policies. */
  boots: boolean;
  /** The first reason it would not; null when it boots. */
  reason: SecureBootReason | null;
  /** One line, as every front end prints it last. */
  verdictLine: string;
}
