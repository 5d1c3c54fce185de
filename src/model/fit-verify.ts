/**
 * The FIT part of the signature report (`VerifyReport.fit`): every hash node and every signature
 * node of every U-Boot FIT in the file, with its verdict, and the public keys it was checked
 * against. Plain JSON values only; offsets are in the space of the FIT layer (`layer`), as its
 * fields are (the layer's own offset included: file offsets for a FIT file).
 */
import type { DiagnosticCode } from "./codes.js";

/** One public key given with `--cert`: a /signature key node of a U-Boot control DTB, a PEM or DER public key or certificate. */
export type FitKeyReport = {
  /** "key-dev" (the control DTB's node name), or the file's name and position for a PEM/DER key. */
  name: string;
  /** What a signature's key-name-hint is compared with: the key node's `key-name-hint`, or its name without "key-"; for a PEM/DER file its base name without extension (mkimage's keydir names keys <hint>.crt). */
  hint: string;
  /** "RSA 2048", "RSA 4096", "EC P-256", "EC P-384". */
  key: string;
  /** The key node's `algo` ("sha256,rsa2048"), null when absent. */
  algo: string | null;
  /** The key node's `required`: U-Boot refuses an image ("image") or configuration ("conf") this key did not verify. null: optional. */
  required: "image" | "conf" | null;
  /** Where the key came from: "control DTB /signature/key-dev", "PEM public key", "PEM certificate CN=...". */
  source: string;
  /** The signature nodes this key verified, as "/images/kernel-1/signature-1". */
  verified: string[];
  /** For a required key: whether U-Boot's rule holds (every image, or the default configuration, verified by it); null for an optional key. */
  requirementMet: boolean | null;
};

/** A hash node's verdict (boot/image-fit.c fit_image_check_hash). */
export type FitHashVerdict = {
  /** "/images/kernel-1/hash-1". */
  path: string;
  algo: string | null;
  /** The node's value, lowercase hex. */
  value: string | null;
  /** What kimg computed over the image data, lowercase hex; null when not computed. */
  computed: string | null;
  /** Offset of the `value` property in the FIT layer, null when absent. */
  offset: number | null;
  /** "ok", or "failed" (a mismatch, an unknown algorithm, no value, the data not in the file), as U-Boot refuses the image. */
  status: "ok" | "failed";
  /** Why it failed. */
  reason: string | null;
  code: DiagnosticCode | null;
};

/** A signature node's verdict (boot/image-fit-sig.c fit_image_check_sig, fit_config_check_sig). */
export type FitSignatureVerdict = {
  /** "/images/kernel-1/signature-1" or "/configurations/conf-1/signature-1". */
  path: string;
  /** What it signs: the image's data, or the configuration's regions of the tree. */
  kind: "image" | "configuration";
  /** The image or configuration node name. */
  node: string;
  /** `algo`: "sha256,rsa2048", "sha384,ecdsa384" ... */
  algo: string | null;
  /** `padding`: "pkcs-1.5" (the default for RSA when absent) or "pss"; null for ECDSA. */
  padding: string | null;
  keyNameHint: string | null;
  /** Length of `value` in bytes, and its offset in the FIT layer. */
  valueLength: number;
  valueOffset: number | null;
  /** For a configuration: the regions hashed, as [offset, size] pairs in the FIT layer (U-Boot's fdt_find_regions plus the hashed-strings region). */
  regions: Array<[number, number]>;
  /** Bytes covered by the signature (the image data, or the sum of the regions). */
  signedBytes: number;
  /** The key that verified it (a FitKeyReport name), null when none did. */
  key: string | null;
  /**
   * "verified" (a given key verifies it); "failed" (the key its key-name-hint names, or every given key, does not verify
   * it, or it cannot be checked); "no-key" (no key given, or none named by its key-name-hint and none verifies it).
   */
  status: "verified" | "failed" | "no-key";
  /** Why it is not verified, one line per key tried or the node's problem. */
  reasons: string[];
  /** The coded reason when not verified. */
  code: DiagnosticCode | null;
};

/** One FIT in the file, verified. */
export type FitVerification = {
  /** Path of the FIT layer ("/" for an .itb). */
  layer: string;
  /** The default configuration (`/configurations/default`), null when none. */
  defaultConfiguration: string | null;
  hashes: FitHashVerdict[];
  signatures: FitSignatureVerdict[];
  /** "verified": a given key verified a signature and nothing failed; "intact": every hash matches, nothing verified with a key; "failed"; "unsigned": no hash and no signature node. */
  verdict: "verified" | "intact" | "failed" | "unsigned";
};

/** The FIT part of `kimg verify`'s report. */
export type FitVerifyReport = {
  /** The public keys given (`--cert`), with what each verified. */
  keys: FitKeyReport[];
  fits: FitVerification[];
};
