/**
 * The measured-boot report: what `kimg pcr --json` prints and `measureImage()` returns. The PCR 11
 * values a systemd-stub UKI produces (per profile and boot phase, in every bank), its `.pcrsig`
 * entries checked against them, its `.pcrpkey`, the PCR 12 digests of UKI add-ons, and the PCR 4
 * digest of every PE image (its Authenticode hash). Offsets are in the space of the layer named.
 */
import type { Diagnostic } from "../model/report.js";

/** A TPM PCR bank: the hash a PCR is extended with (what `systemd-measure --bank=` takes). */
export type PcrBank = "sha1" | "sha256" | "sha384" | "sha512";

/** One value per bank, lower-case hex. */
export type BankValues = Partial<Record<PcrBank, string>>;

/** A UKI section the stub measures into PCR 11: its name, then its contents. */
export interface MeasuredSection {
  /** The section name as the stub measures it (".linux"), NUL-terminated in the measurement. */
  name: string;
  /** Offset of its 40-byte section header, in the UKI layer's space. */
  headerOffset: number;
  /** Offset of its data (PointerToRawData), in the UKI layer's space. */
  offset: number;
  /** Bytes measured: VirtualSize, as the stub measures the section in memory. */
  size: number;
  /** Bytes of those taken from the file: min(VirtualSize, SizeOfRawData). */
  fileBytes: number;
  /** Zero bytes after the file data (VirtualSize > SizeOfRawData: uninitialised memory the loader zeroes). */
  zeroFill: number;
  /** The profile whose section this is (null: a base section, before the first `.profile`). */
  fromProfile: number | null;
  /** The digest of the contents, per bank (the second extend of the section). */
  digest: BankValues;
}

/** The PCR 11 value after one boot phase (cumulative, as `systemd-measure calculate --phase=` takes it). */
export interface PhaseValue {
  /** The phase as `systemd-measure --phase=` names it: the words measured so far, joined by ":" ("enter-initrd:leave-initrd"). */
  phase: string;
  /** PCR 11 after the sections and these words, per bank. */
  values: BankValues;
}

/** The PCR 11 prediction of one profile of a UKI (or of the UKI, when it has no `.profile`). */
export interface ProfileMeasurement {
  /** The profile number (`@0`, `@1` ... on the stub's command line); null for a UKI without `.profile` sections. */
  profile: number | null;
  /** The `ID=` of the profile's `.profile` text, null when none. */
  profileId: string | null;
  /** The sections measured, in the order the stub measures them (systemd's unified_sections[] order). */
  sections: MeasuredSection[];
  /** PCR 11 after the sections, before any boot phase. */
  afterSections: BankValues;
  /** PCR 11 after each boot phase systemd-pcrphase measures. */
  phases: PhaseValue[];
  /**
   * The same values in the shape `systemd-measure calculate --json` prints: per bank, one
   * `{ phase, pcr: 11, hash }` per phase (no `phase` for the empty phase, as systemd-measure).
   */
  calculate: Partial<Record<PcrBank, Array<{ phase?: string; pcr: number; hash: string }>>>;
  /** The profile's own `.pcrsig` (a multi-profile UKI may sign each profile apart), matched against this profile's phases; null when it has none of its own. */
  pcrsig: PcrSignatureSection | null;
}

/** One entry of the `.pcrsig` JSON (`systemd-measure sign`), checked against the prediction. */
export interface PcrSignatureEntry {
  /** The bank it is listed under. */
  bank: string;
  /** Index in that bank's array. */
  index: number;
  /** The PCRs of its policy (`pcrs`). */
  pcrs: number[];
  /** SHA-256 fingerprint of the signing public key (`pkfp`), null when absent. */
  pkfp: string | null;
  /** The TPM2 PolicyPCR digest that is signed (`pol`). */
  pol: string | null;
  /** Bytes of the signature (`sig`, base64), null when absent. */
  signatureBytes: number | null;
  /** The profile and phase whose predicted PolicyPCR digest equals `pol`; null when none does (or it was not compared). */
  matches: { profile: number | null; phase: string } | null;
  /** Whether `pkfp` equals the fingerprint of `.pcrpkey`; null when either is missing. */
  pkfpMatches: boolean | null;
}

/** The `.pcrsig` section: the signed PCR 11 policies. */
export interface PcrSignatureSection {
  /** Offset of its data in the UKI layer's space. */
  offset: number;
  size: number;
  /** Every entry read, bank by bank. */
  entries: PcrSignatureEntry[];
  /** Entries whose `pol` matched no predicted phase (listed also in diagnostics). */
  unmatched: number;
}

/** The `.pcrpkey` section: the PEM public key the `.pcrsig` signatures verify with. */
export interface PcrPublicKey {
  offset: number;
  size: number;
  /** The key type read from its SubjectPublicKeyInfo ("rsaEncryption", "id-ecPublicKey", or the OID). */
  algorithm: string;
  /** SHA-256 of the key as i2d_PublicKey encodes it (an RSAPublicKey, an EC point: the SPKI's BIT STRING): the `pkfp` systemd-measure writes. */
  fingerprint: string;
  /** The PEM text as in the section. */
  pem: string;
}

/** A UKI add-on's measurement: what systemd-stub extends into PCR 12 when it loads the add-on. */
export interface AddonMeasurement {
  /** The section (".cmdline", ".dtb", ".initrd", ".ucode", ".dtbauto"). */
  section: string;
  /** Offset of its data in the add-on layer's space. */
  offset: number;
  size: number;
  /** What is measured: the command line as UTF-16 with its NUL (after the stub's whitespace mangling), or the section's bytes. */
  measured: "utf16-cmdline" | "bytes";
  /** The command line the stub appends (".cmdline" only). */
  text: string | null;
  /** The event digest extended into PCR 12, per bank. */
  digest: BankValues;
}

/** The measured boot of one UKI or UKI add-on layer. */
export interface MeasuredImage {
  /** The UKI's layer path. */
  layer: string;
  kind: "uki" | "uki-addon";
  /** The stub's `.sdmagic` ("#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####"), null when absent. */
  loaderInfo: string | null;
  /** The systemd major version read from it, null when unknown. */
  stubVersion: number | null;
  /** The systemd version whose list of measured sections was applied (the stub's, or the newest kimg knows). */
  sectionsOf: number;
  /** PCR 11 predictions: one per profile (one with `profile: null` for a UKI without profiles); empty for an add-on. */
  profiles: ProfileMeasurement[];
  /** UKI sections present but not measured by this stub version (".uname" before v254 ...). */
  notMeasured: string[];
  /** The base `.pcrsig` JSON (before the first `.profile`), matched against every profile's phases; null when absent. */
  pcrsig: PcrSignatureSection | null;
  /** The `.pcrpkey`, null when absent or unreadable. */
  pcrpkey: PcrPublicKey | null;
  /** For an add-on: the PCR 12 events of its sections, in the order the stub measures them. */
  addon: AddonMeasurement[];
}

/** The digest the firmware extends into PCR 4 when it loads a PE image (EV_EFI_BOOT_SERVICES_APPLICATION). */
export interface Pcr4Digest {
  /** The PE layer. */
  layer: string;
  /** Format of the image the PE view belongs to ("uki", "zboot", "pe" ...). */
  format: string;
  /** Its Authenticode hash, sha256 (what firmware measures in the SHA-256 bank). */
  sha256: string | null;
  /** Why it could not be computed, null when it was. */
  problem: string | null;
  /** Whether firmware loads this image itself (the outermost PE); inner images are loaded by the stub or kernel and measured only if they go through LoadImage. */
  loadedByFirmware: boolean;
}

/** What `kimg pcr --json` prints and `measureImage()` returns. */
export interface MeasureReport {
  tool: "kimg";
  schema: 1;
  input: { name: string | null; size: number };
  /** The banks computed. */
  banks: PcrBank[];
  /** Every UKI and UKI add-on layer, outermost first. */
  images: MeasuredImage[];
  /** PCR 4: every PE image's Authenticode sha256, outermost first. */
  pcr4: Pcr4Digest[];
  /** Problems found (malformed `.pcrsig`, a huge section, ...), with the analysis's own diagnostics. */
  diagnostics: Diagnostic[];
}
