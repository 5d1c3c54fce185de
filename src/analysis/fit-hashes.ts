/**
 * The hash nodes of a FIT's images (`hash-1 { algo = "sha256"; value = <...>; }`), checked
 * against the image data as U-Boot's fit_image_check_hash (boot/image-fit.c) does: the digest of
 * the data as stored (compressed or not). crc32 is stored big-endian (4 bytes). crc32 uses kimg's
 * own CRC, md5 kimg's own MD5 (codecs/md5.ts: Web Crypto has none); sha1/sha256/sha384/sha512 use
 * Web Crypto, hence an async step after the tree is read.
 */
import { crc32 } from "../codecs/checksums.js";
import { md5 } from "../codecs/md5.js";
import type { FitFacts } from "../model/facts.js";
import type { JsonValue } from "../model/report.js";
import { allLayers, type Tree } from "./tree.js";

const WEB_CRYPTO: Readonly<Record<string, string>> = { sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };

/** One hash node's verdict, as the FIT layer's `info.images[].hashes[]` shows it. */
export interface FitHashResult {
  node: string;
  algo: string | null;
  value: string | null;
  /** True when the digest was computed and compared. */
  checked: boolean;
  /** The comparison, null when not checked. */
  ok: boolean | null;
  /** Why it was not checked, or the digest computed when it differs. */
  reason: string | null;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function digest(algo: string, data: Uint8Array): Promise<string | { unchecked: string }> {
  if (algo === "crc32") return (crc32(data) >>> 0).toString(16).padStart(8, "0");
  if (algo === "md5") return toHex(md5(data));
  const name = WEB_CRYPTO[algo];
  if (name === undefined) return { unchecked: `unknown algo "${algo}"` };
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return { unchecked: "Web Crypto (crypto.subtle) is not available here" };
  return toHex(new Uint8Array(await subtle.digest(name, data as Uint8Array<ArrayBuffer>)));
}

/** Checks every hash node of every FIT layer of the tree; records the verdicts in `info` and mismatches as diagnostics. */
export async function checkFitHashes(tree: Tree): Promise<void> {
  for (const layer of allLayers(tree.root)) {
    if (layer.format !== "fit") continue;
    const facts = tree.facts.get(layer.path);
    const bytes = tree.bytes.get(layer.path);
    if (facts?.kind !== "fit" || !bytes) continue;
    const results = await checkFit(facts, bytes);
    const shown = Array.isArray(layer.info.images) ? layer.info.images : [];
    facts.images.forEach((image, index) => {
      const verdicts = results[index] ?? [];
      const entry = shown[index];
      if (entry && typeof entry === "object" && !Array.isArray(entry)) entry.hashes = verdicts.map((v): JsonValue => ({ ...v }));
      for (const v of verdicts) {
        const at = image.dataOffset === null ? null : layer.offset + image.dataOffset;
        if (v.checked && v.ok === false)
          tree.diagnostics.push({
            code: "FIT_HASH_MISMATCH",
            severity: "error",
            message: `image ${image.name} ${v.node}: ${v.algo} is ${v.reason}, the node says ${v.value}`,
            offset: at,
            layer: layer.path,
          });
        else if (!v.checked)
          tree.diagnostics.push({
            code: "FIT_HASH_UNCHECKED",
            severity: "info",
            message: `image ${image.name} ${v.node}: ${v.reason}`,
            offset: at,
            layer: layer.path,
          });
      }
    });
  }
}

/** The verdicts per image (in `facts.images` order), per hash node. */
export async function checkFit(facts: FitFacts, bytes: Uint8Array): Promise<FitHashResult[][]> {
  const out: FitHashResult[][] = [];
  for (const image of facts.images) {
    const verdicts: FitHashResult[] = [];
    const inside = image.dataOffset !== null && image.dataSize !== null && image.dataOffset + image.dataSize <= bytes.length;
    const data = inside ? bytes.subarray(image.dataOffset ?? 0, (image.dataOffset ?? 0) + (image.dataSize ?? 0)) : null;
    for (const h of image.hashes) {
      const base = { node: h.node, algo: h.algo, value: h.value };
      if (h.algo === null || h.value === null) {
        verdicts.push({ ...base, checked: false, ok: null, reason: `no ${h.algo === null ? "algo" : "value"} property` });
        continue;
      }
      if (data === null) {
        verdicts.push({ ...base, checked: false, ok: null, reason: "the image data is not in the file" });
        continue;
      }
      const d = await digest(h.algo, data);
      if (typeof d !== "string") verdicts.push({ ...base, checked: false, ok: null, reason: d.unchecked });
      else verdicts.push({ ...base, checked: true, ok: d === h.value, reason: d === h.value ? null : d });
    }
    out.push(verdicts);
  }
  return out;
}
