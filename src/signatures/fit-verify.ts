/**
 * `kimg verify` for U-Boot FITs: every hash node of every image (boot/image-fit.c
 * fit_image_check_hash), every signature node of every image (boot/image-fit-sig.c
 * fit_image_check_sig: the signature covers the image's data, embedded or external, exactly)
 * and of every configuration (fit_config_check_sig: the regions of the tree fdt_find_regions
 * selects for `hashed-nodes`, without the data properties, plus the strings block as far as
 * `hashed-strings` says), against the public keys given with `--cert`; and U-Boot's rule for
 * required keys (fit_image_verify_required_sigs, fit_config_verify_required_keys): a key marked
 * `required = "image"` must verify every image, one marked `required = "conf"` the default
 * configuration (all such keys, or one with /signature `required-mode = "any"`).
 */
import { digest } from "../analysis/fit-hashes.js";
import { allLayers, type Tree } from "../analysis/tree.js";
import { ErrorCode } from "../io/errors.js";
import { findNode, parseFdt, stringListProperty, stringProperty } from "../io/fdt.js";
import { FIT_MAX_SIGNATURE_NODES } from "../io/limits.js";
import type { FdtNode } from "../io/fdt.js";
import type { DiagnosticCode } from "../model/codes.js";
import type { FitFacts, FitSignatureFacts } from "../model/facts.js";
import type { FitHashVerdict, FitSignatureVerdict, FitVerification, FitVerifyReport } from "../model/fit-verify.js";
import type { Diagnostic, Layer } from "../model/report.js";
import { parseFitAlgo, signatureLength, verifyFitSignature } from "./fit-crypto.js";
import { readCertificates } from "./certificates.js";
import { isDeviceTree, readFitKeys, type FitPublicKey } from "./fit-keys.js";
import { configurationRegions, regionBytes, type FitRegion } from "./fit-regions.js";
import type { VerifyReport, VerifyVerdict } from "./types.js";

/** A `--cert` file meant for FIT signatures, with the name the report gives it. */
export interface FitKeyFile {
  data: Uint8Array;
  source: string;
}

/** U-Boot's IMAGE_MAX_HASHED_NODES (boot/image-fit-sig.c). */
const MAX_HASHED_NODES = 100;

/** The configuration properties that do not name images (fit_config_get_signed_nodes, U-Boot v2026.04). */
const NOT_IMAGE_REFERENCES = new Set(["description", "compatible", "default"]);

const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function isHashNode(node: FdtNode): boolean {
  return node.name === "hash" || node.name.startsWith("hash-") || node.name.startsWith("hash@");
}

class FitVerifier {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly layer: Layer,
    private readonly facts: FitFacts,
    private readonly bytes: Uint8Array,
    private readonly keys: readonly FitPublicKey[],
  ) {}

  /** Signature nodes met so far, against FIT_MAX_SIGNATURE_NODES. */
  private signatureCount = 0;
  private overLimit = false;

  private diagnose(code: DiagnosticCode | typeof ErrorCode.LIMIT, severity: Diagnostic["severity"], message: string, offset: number | null): void {
    this.diagnostics.push({ code, severity, message, offset: offset === null ? null : this.layer.offset + offset, layer: this.layer.path });
  }

  async run(): Promise<FitVerification> {
    const fdt = parseFdt(this.bytes, { maxBytes: this.bytes.length, views: true });
    const imageNodes = findNode(fdt, "/images")?.children ?? [];
    const hashes: FitHashVerdict[] = [];
    const signatures: FitSignatureVerdict[] = [];
    for (const [index, image] of this.facts.images.entries()) {
      const node = imageNodes[index];
      const inside = image.dataOffset !== null && image.dataSize !== null && image.dataOffset + image.dataSize <= this.bytes.length;
      const data = inside ? this.bytes.subarray(image.dataOffset ?? 0, (image.dataOffset ?? 0) + (image.dataSize ?? 0)) : null;
      for (const h of node?.children.filter(isHashNode) ?? []) hashes.push(await this.hash(`/images/${image.name}/${h.name}`, h, data));
      for (const s of image.signatures) {
        const verdict = await this.signature("image", image.name, s, data === null ? null : { data, offset: image.dataOffset ?? 0 });
        if (verdict) signatures.push(verdict);
      }
    }
    const configsNode = findNode(fdt, "/configurations");
    for (const config of this.facts.configurations) {
      const node = configsNode?.children.find((c) => c.name === config.name);
      for (const s of config.signatures) {
        const verdict = await this.signature("configuration", config.name, s, null, node);
        if (verdict) signatures.push(verdict);
      }
    }
    const failed = this.overLimit || hashes.some((h) => h.status === "failed") || signatures.some((s) => s.status === "failed");
    const verdict: FitVerification["verdict"] = failed
      ? "failed"
      : signatures.some((s) => s.status === "verified")
        ? "verified"
        : hashes.length > 0 || signatures.length > 0
          ? "intact"
          : "unsigned";
    if (signatures.length === 0)
      this.diagnose(
        "FIT_NOT_SIGNED",
        hashes.length ? "warning" : "error",
        `the FIT has no signature node: ${hashes.length} hash nodes show integrity, not who made it`,
        null,
      );
    return { layer: this.layer.path, defaultConfiguration: this.facts.defaultConfiguration, hashes, signatures, verdict };
  }

  private async hash(path: string, node: FdtNode, data: Uint8Array | null): Promise<FitHashVerdict> {
    const valueProp = node.properties.find((p) => p.name === "value");
    const algo = stringProperty(node, "algo") ?? null;
    const value = valueProp ? toHex(valueProp.value) : null;
    const local = valueProp?.offset ?? null;
    const offset = local === null ? null : this.layer.offset + local;
    const verdict: FitHashVerdict = { path, algo, value, computed: null, offset, status: "failed", reason: null, code: null };
    const fail = (code: DiagnosticCode, reason: string): FitHashVerdict => {
      this.diagnose(code, "error", `${path}: ${reason}`, local);
      return { ...verdict, reason, code };
    };
    if (algo === null || value === null) return fail("FIT_HASH_UNCHECKED", `no ${algo === null ? "algo" : "value"} property: U-Boot refuses the image`);
    if (data === null) return fail("FIT_DATA_OUTSIDE", "the image data is not in the file");
    const computed = await digest(algo, data);
    if (typeof computed !== "string") return fail("FIT_HASH_UNCHECKED", `${computed.unchecked}: U-Boot refuses the image`);
    if (computed !== value) {
      // The analysis already reported FIT_HASH_MISMATCH for this node; the verdict carries it, no second diagnostic.
      return { ...verdict, computed, reason: `${algo} of the data is ${computed}, the node says ${value}`, code: "FIT_HASH_MISMATCH" };
    }
    return { ...verdict, computed, status: "ok" };
  }

  private async signature(
    kind: FitSignatureVerdict["kind"],
    owner: string,
    s: FitSignatureFacts,
    image: { data: Uint8Array; offset: number } | null,
    configNode?: FdtNode,
  ): Promise<FitSignatureVerdict | null> {
    const path = `/${kind === "image" ? "images" : "configurations"}/${owner}/${s.node}`;
    if (++this.signatureCount > FIT_MAX_SIGNATURE_NODES) {
      if (!this.overLimit)
        this.diagnose(ErrorCode.LIMIT, "error", `more than ${FIT_MAX_SIGNATURE_NODES} signature nodes; ${path} and the rest were not verified`, s.valueOffset);
      this.overLimit = true;
      return null;
    }
    const padding = s.padding ?? "pkcs-1.5";
    const verdict: FitSignatureVerdict = {
      path,
      kind,
      node: owner,
      algo: s.algo,
      padding: s.padding ?? (s.algo?.includes(",rsa") ? "pkcs-1.5" : null),
      keyNameHint: s.keyNameHint,
      valueLength: s.valueLength,
      valueOffset: s.valueOffset === null ? null : this.layer.offset + s.valueOffset,
      regions: [],
      signedBytes: 0,
      key: null,
      status: "failed",
      reasons: [],
      code: null,
    };
    const fail = (code: DiagnosticCode, reasons: string[]): FitSignatureVerdict => {
      this.diagnose(code, "error", `${path}: ${reasons.join("; ")}`, s.valueOffset);
      return { ...verdict, reasons, code };
    };
    const algo = s.algo === null ? null : parseFitAlgo(s.algo);
    if (s.algo === null) return fail("FIT_SIGNATURE_UNKNOWN_ALGO", ["no algo property (Can't get hash algo property)"]);
    if (algo === null) return fail("FIT_SIGNATURE_UNKNOWN_ALGO", [`algo "${s.algo}" is not one U-Boot knows (Unknown signature algorithm)`]);
    if (padding !== "pkcs-1.5" && padding !== "pss") return fail("FIT_SIGNATURE_UNKNOWN_ALGO", [`padding "${padding}" is neither pkcs-1.5 nor pss`]);
    if (algo.kind === "ecdsa" && s.padding !== null) return fail("FIT_SIGNATURE_UNKNOWN_ALGO", [`padding "${padding}" on an ECDSA signature`]);
    if (s.valueOffset === null) return fail("FIT_SIGNATURE_UNKNOWN_ALGO", ["no value property (Can't get hash value property)"]);
    const expected = signatureLength(algo);
    if (s.valueLength !== expected)
      return fail("FIT_SIGNATURE_BAD_LENGTH", [
        `the value has ${s.valueLength} bytes, a ${s.algo} signature has ${expected} (Signature is of incorrect length)`,
      ]);
    const signature = this.bytes.subarray(s.valueOffset, s.valueOffset + s.valueLength);

    let message: Uint8Array;
    let regions: FitRegion[];
    if (kind === "image") {
      if (image === null) return fail("FIT_DATA_OUTSIDE", ["the image data is not in the file"]);
      message = image.data;
      regions = [[this.layer.offset + image.offset, image.data.length]];
    } else {
      const computed = this.configurationRegions(owner, s, configNode);
      if (typeof computed === "string") return fail("FIT_SIGNATURE_REGIONS", [computed]);
      message = regionBytes(this.bytes, computed);
      regions = computed.map(([offset, size]): FitRegion => [this.layer.offset + offset, size]);
    }
    const signed = { ...verdict, regions, signedBytes: message.length };
    if (this.keys.length === 0) {
      this.diagnose("FIT_SIGNATURE_NO_KEY", "info", `${path}: not checked, no public key given (--cert)`, s.valueOffset);
      return {
        ...signed,
        status: "no-key",
        reasons: ["no public key given (--cert the control DTB mkimage -K wrote, or the public key)"],
        code: "FIT_SIGNATURE_NO_KEY",
      };
    }
    // rsa_verify / ecdsa_verify: the key named key-<key-name-hint> first, then every other key.
    const hint = s.keyNameHint;
    const ordered = [...this.keys].sort((a, b) => Number(b.report.hint === hint) - Number(a.report.hint === hint));
    const fitting = ordered.filter((k) => k.kind === algo.kind);
    // A signature by a key that was not given (its key-name-hint names none of them, and none verifies it) is not
    // checked, not failed: a FIT may carry signatures by several keys (U-Boot needs only the required ones).
    const named = hint !== null && this.keys.some((k) => k.report.hint === hint);
    const notGiven = (reasons: string[]): FitSignatureVerdict => {
      this.diagnose("FIT_SIGNATURE_NO_KEY", "warning", `${path}: not checked, no key named "${hint}" given (--cert)`, s.valueOffset);
      return { ...signed, status: "no-key", reasons: [`no key named "${hint}" (its key-name-hint) was given`, ...reasons], code: "FIT_SIGNATURE_NO_KEY" };
    };
    if (fitting.length === 0) {
      if (hint !== null && !named) return notGiven([]);
      return fail("FIT_SIGNATURE_NO_MATCHING_KEY", [`no ${algo.kind === "rsa" ? "RSA" : "ECDSA"} key among the ${this.keys.length} given`]);
    }
    const reasons: string[] = [];
    for (const key of fitting) {
      const why = await verifyFitSignature(key, algo, padding, message, signature);
      if (why === null) {
        key.report.verified.push(path);
        return { ...signed, key: key.report.name, status: "verified", reasons: [] };
      }
      reasons.push(`${key.report.name}: ${why}`);
    }
    if (hint !== null && !named) return notGiven(reasons);
    const sizeOnly = fitting.every((k) =>
      k.kind === "rsa" && algo.kind === "rsa" ? k.bits !== algo.bits : k.kind === "ecdsa" && algo.kind === "ecdsa" && k.curve !== algo.curve,
    );
    return { ...fail(sizeOnly ? "FIT_SIGNATURE_NO_MATCHING_KEY" : "FIT_SIGNATURE_INVALID", reasons), regions, signedBytes: message.length };
  }

  /** The regions a configuration signature covers (hashed-nodes, as U-Boot 2023.01 computes them), or why none. */
  private configurationRegions(config: string, s: FitSignatureFacts, node: FdtNode | undefined): FitRegion[] | string {
    const hashed = s.hashedNodes;
    if (hashed === null || hashed.length === 0) return "no hashed-nodes property (Can't get hashed-nodes property)";
    if (hashed.length > MAX_HASHED_NODES)
      return `${hashed.length} hashed nodes, more than U-Boot's ${MAX_HASHED_NODES} (Number of hashed nodes exceeds maximum)`;
    if (!hashed.includes(`/configurations/${config}`)) return `hashed-nodes does not list /configurations/${config} (Selected config not in hashed nodes)`;
    const result = configurationRegions(this.bytes, hashed, s.hashedStrings);
    if (!result.ok) return result.reason;
    const derived = node ? this.derivedNodes(config, node) : null;
    const differ = derived !== null && (derived.length !== new Set(hashed).size || derived.some((p) => !hashed.includes(p)));
    if (differ)
      this.diagnose(
        "FIT_HASHED_NODES_DIFFER",
        "warning",
        `/configurations/${config}/${s.node}: hashed-nodes lists ${hashed.join(", ")}; U-Boot v2026.04 and later ignore it and hash ${derived?.join(", ")}, so they would compute other regions`,
        s.valueOffset,
      );
    return result.regions;
  }

  /** The nodes U-Boot v2026.04+ hashes for a configuration (fit_config_get_signed_nodes): root, the configuration, each image it names with its hash, cipher and dm-verity nodes. */
  private derivedNodes(config: string, node: FdtNode): string[] {
    const images = new Map(this.facts.images.map((i) => [i.name, i]));
    const out = new Set(["/", `/configurations/${config}`]);
    const imageNodes = new Map((this.imagesNode()?.children ?? []).map((c) => [c.name, c]));
    for (const p of node.properties) {
      if (NOT_IMAGE_REFERENCES.has(p.name)) continue;
      for (const name of stringListProperty(node, p.name) ?? []) {
        const image = imageNodes.get(name);
        if (!image || !images.has(name)) continue;
        out.add(`/images/${name}`);
        for (const c of image.children) if (c.name.startsWith("hash") || c.name === "cipher" || c.name === "dm-verity") out.add(`/images/${name}/${c.name}`);
      }
    }
    return [...out];
  }

  private imagesNodeCache: FdtNode | undefined;

  private imagesNode(): FdtNode | undefined {
    this.imagesNodeCache ??= findNode(parseFdt(this.bytes, { maxBytes: this.bytes.length, views: true }), "/images");
    return this.imagesNodeCache;
  }
}

/**
 * Verifies every FIT layer of the tree against the keys of `keyFiles`; null when the tree holds
 * no FIT. Throws a KimgError naming the file when a key file holds no usable key.
 */
export async function verifyFitLayers(tree: Tree, keyFiles: readonly FitKeyFile[]): Promise<{ report: FitVerifyReport; diagnostics: Diagnostic[] } | null> {
  const layers = [...allLayers(tree.root)].filter((l) => l.format === "fit");
  if (layers.length === 0) return null;
  const sets = keyFiles.map((f) => readFitKeys(f.data, f.source));
  const keys = sets.flatMap((s) => s.keys);
  const requiredMode = sets.some((s) => s.requiredMode === "any") ? "any" : "all";
  const diagnostics: Diagnostic[] = [];
  for (const problem of sets.flatMap((s) => s.problems))
    diagnostics.push({ code: "FIT_KEY_UNREADABLE", severity: "warning", message: problem, offset: null, layer: "/" });
  const fits: FitVerification[] = [];
  for (const layer of layers) {
    const facts = tree.facts.get(layer.path);
    const bytes = tree.bytes.get(layer.path);
    if (facts?.kind !== "fit" || !bytes) continue;
    const verifier = new FitVerifier(layer, facts, bytes, keys);
    const fit = await verifier.run();
    fits.push(fit);
    diagnostics.push(...verifier.diagnostics);
    requiredKeys(fit, facts, keys, requiredMode, diagnostics);
  }
  return { report: { keys: keys.map((k) => k.report), fits }, diagnostics };
}

/** U-Boot's rule for keys marked required: recorded on each key, and a failure on the FIT when it does not hold. */
function requiredKeys(fit: FitVerification, facts: FitFacts, keys: readonly FitPublicKey[], mode: "all" | "any", diagnostics: Diagnostic[]): void {
  const fail = (message: string): void => {
    diagnostics.push({ code: "FIT_REQUIRED_KEY_UNUSED", severity: "error", message, offset: null, layer: fit.layer });
    fit.verdict = "failed";
  };
  const verifiedBy = (key: FitPublicKey, path: string): boolean =>
    fit.signatures.some((s) => s.status === "verified" && s.key === key.report.name && s.path.startsWith(`${path}/`));
  // fit_image_verify_required_sigs: with a key marked required = "image", every image loaded needs a signature that
  // verifies (fit_image_verify_sig tries every key of the DTB, not only the required one); and a required key that
  // verified nothing at all is reported too.
  const imageKeys = keys.filter((k) => k.report.required === "image");
  const unsigned = imageKeys.length
    ? facts.images.filter((i) => !fit.signatures.some((s) => s.status === "verified" && s.kind === "image" && s.node === i.name)).map((i) => i.name)
    : [];
  for (const key of imageKeys) {
    const signedSomething = fit.signatures.some((s) => s.status === "verified" && s.kind === "image" && s.key === key.report.name);
    key.report.requirementMet = unsigned.length === 0 && signedSomething;
    if (!signedSomething) fail(`${key.report.name} is marked required for images ("required = image") but verified no image signature`);
  }
  if (unsigned.length)
    fail(`a key is marked required for images ("required = image"), but ${unsigned.join(", ")} carry no signature that verifies: U-Boot refuses to load them`);
  const confKeys = keys.filter((k) => k.report.required === "conf");
  if (confKeys.length === 0) return;
  const targets = facts.defaultConfiguration !== null ? [facts.defaultConfiguration] : facts.configurations.map((c) => c.name);
  for (const key of confKeys) key.report.requirementMet = targets.every((t) => verifiedBy(key, `/configurations/${t}`));
  for (const target of targets) {
    const verified = confKeys.filter((k) => verifiedBy(k, `/configurations/${target}`));
    if (mode === "any" ? verified.length === 0 : verified.length < confKeys.length) {
      const missing = confKeys.filter((k) => !verified.includes(k)).map((k) => k.report.name);
      fail(
        mode === "any"
          ? `configuration ${target}: none of the keys ${missing.join(", ")} marked required ("required = conf", required-mode "any") verified it: U-Boot refuses to boot it`
          : `configuration ${target}: ${missing.join(", ")} marked required ("required = conf") did not verify it: U-Boot refuses to boot it`,
      );
    }
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The FIT verdict in one sentence. */
export function fitVerdictLine(report: FitVerifyReport, verdict: VerifyVerdict, integrityOnly: boolean): string {
  const hashes = report.fits.flatMap((f) => f.hashes);
  const signatures = report.fits.flatMap((f) => f.signatures);
  const verified = signatures.filter((s) => s.status === "verified");
  const hashText = `${plural(hashes.length, "hash node")} ${hashes.every((h) => h.status === "ok") ? "match" : `checked, ${hashes.filter((h) => h.status !== "ok").length} failed`}`;
  const keyNames = [...new Set(verified.map((s) => s.key))].join(", ");
  switch (verdict) {
    case "verified":
      return `verified: yes - FIT: ${verified.length} of ${plural(signatures.length, "signature")} verified with ${keyNames}, ${hashText}`;
    case "intact":
      if (signatures.length === 0)
        return integrityOnly
          ? `integrity: intact - FIT: ${hashText}; not signed, so anyone can make such an image (--integrity-only)`
          : `verified: no - FIT: ${hashText}, but the FIT is not signed; give --integrity-only to accept matching hashes alone`;
      return integrityOnly
        ? `integrity: intact - FIT: ${hashText}; ${plural(signatures.length, "signature")} not checked (no key given, --integrity-only)`
        : `verified: no - FIT: ${hashText}, ${plural(signatures.length, "signature")} not checked: give --cert with the control DTB (mkimage -K) or the public key`;
    case "unsigned":
      return "verified: no - FIT: no hash node and no signature node";
    case "failed": {
      const failedSigs = signatures.filter((s) => s.status === "failed").length;
      const failedHashes = hashes.filter((h) => h.status === "failed").length;
      const parts = [
        failedSigs ? `${failedSigs} of ${plural(signatures.length, "signature")} failed` : "",
        failedHashes ? `${failedHashes} of ${plural(hashes.length, "hash node")} failed` : "",
        report.keys.some((k) => k.requirementMet === false) ? "a key marked required did not verify what U-Boot requires" : "",
      ].filter((p) => p !== "");
      return `verified: no - FIT: ${parts.join(", ") || "the check is incomplete (see the errors above)"}`;
    }
  }
}

const RANK: Readonly<Record<VerifyVerdict, number>> = { failed: 0, unsigned: 1, intact: 2, verified: 3 };

/**
 * The Authenticode report with the FIT verification in it: when the file holds a FIT, the FIT's
 * verdict decides; PE signatures inside it (a signed EFI kernel) count too when there are any,
 * and an unsigned PE inside a FIT is not a failure of its own.
 */
export function mergeFitVerification(base: VerifyReport, fit: { report: FitVerifyReport; diagnostics: Diagnostic[] }): VerifyReport {
  const fitVerdict = fit.report.fits.reduce<VerifyVerdict>(
    (worst, f) => (RANK[f.verdict] < RANK[worst] ? f.verdict : worst),
    fit.report.fits.length ? "verified" : "unsigned",
  );
  const peSigned = base.signatures.length > 0;
  const verdict: VerifyVerdict = peSigned && RANK[base.verdict] < RANK[fitVerdict] ? base.verdict : fitVerdict;
  const fitLine = fitVerdictLine(fit.report, fitVerdict, base.integrityOnly);
  const diagnostics = [...base.diagnostics.filter((d) => peSigned || (d.code !== "NOT_SIGNED" && d.code !== "NO_PE_IMAGE")), ...fit.diagnostics];
  return {
    ...base,
    verdict,
    verified: verdict === "verified",
    accepted: verdict === "verified" || (verdict === "intact" && base.integrityOnly),
    verdictLine: peSigned ? `${fitLine}; PE/COFF: ${base.verdictLine}` : fitLine,
    diagnostics,
    fit: fit.report,
  };
}

/**
 * Sorts the `--cert` files of a verification that concerns a FIT: every file is a FIT key file
 * (a control DTB, a public key, a certificate whose key is used); the certificates among them
 * also stay trusted certificates for the Authenticode signatures.
 */
export function splitTrustFiles(files: readonly Uint8Array[], names: readonly string[] = []): { certificates: Uint8Array[]; fitKeys: FitKeyFile[] } {
  const certificates: Uint8Array[] = [];
  const fitKeys: FitKeyFile[] = [];
  for (const [i, data] of files.entries()) {
    fitKeys.push({ data, source: names[i] ?? `key file ${i + 1}` });
    if (isDeviceTree(data)) continue;
    try {
      readCertificates(data);
      certificates.push(data);
    } catch {
      // A public key, not a certificate: for the FIT only.
    }
  }
  return { certificates, fitKeys };
}
