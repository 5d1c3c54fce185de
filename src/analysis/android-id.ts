/**
 * The `id` of an Android boot image header v0-v2 (issue 15), checked the way AOSP's
 * mkbootimg.py computes it (write_header, update_sha):
 *
 *   sha = sha1()
 *   update_sha(sha, args.kernel)          # the part's bytes, then pack('I', its size)
 *   update_sha(sha, args.ramdisk)         # an absent part: pack('I', 0) only
 *   update_sha(sha, args.second)
 *   if args.header_version > 0: update_sha(sha, args.recovery_dtbo)
 *   if args.header_version > 1: update_sha(sha, args.dtb)
 *   img_id = pack('32s', sha.digest())    # 20 bytes of SHA-1, 12 zero bytes
 *
 * Some vendor tools (osm0sis' mkbootimg --hashtype sha256) fill all 32 bytes with SHA-256 of
 * the same input; that is recognised too. Bootloaders do not check `id`: a mismatch says the
 * image was changed after mkbootimg (or made by another tool), so it is a warning. Web Crypto
 * is async, hence a step after the walk, as for the FIT hash nodes.
 */
import { factsOf } from "../model/facts.js";
import { allLayers, type Tree } from "./tree.js";

const ID_OFFSET = 576;
const ID_SIZE = 32;

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bytes mkbootimg hashes: each part then its size as a little-endian u32. */
function hashedInput(bytes: Uint8Array, parts: ReadonlyArray<{ offset: number; size: number } | null>): Uint8Array | null {
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    const size = p?.size ?? 0;
    if (p && p.offset + p.size > bytes.length) return null;
    if (p) chunks.push(bytes.subarray(p.offset, p.offset + p.size));
    const le = new Uint8Array(4);
    new DataView(le.buffer).setUint32(0, size, true);
    chunks.push(le);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Checks the `id` of every Android boot v0-v2 layer; records the verdict in `info.id` and on the header's id field. */
export async function checkAndroidIds(tree: Tree): Promise<void> {
  for (const layer of allLayers(tree.root)) {
    if (layer.format !== "android-boot") continue;
    // Read only here: Node loads its Web Crypto on the first touch of globalThis.crypto (~10 ms).
    const subtle = globalThis.crypto?.subtle;
    const facts = factsOf(tree.facts, layer.path, "android-boot");
    const bytes = tree.bytes.get(layer.path);
    if (!facts || !bytes || facts.headerVersion > 2 || bytes.length < ID_OFFSET + ID_SIZE) continue;
    const part = (name: string): { offset: number; size: number } | null => facts.parts.find((p) => p.name === name) ?? null;
    const names = ["kernel", "ramdisk", "second", ...(facts.headerVersion > 0 ? ["recovery_dtbo"] : []), ...(facts.headerVersion > 1 ? ["dtb"] : [])];
    const input = hashedInput(bytes, names.map(part));
    const stored = bytes.subarray(ID_OFFSET, ID_OFFSET + ID_SIZE);
    const field = layer.structures[0]?.fields.find((f) => f.name === "id");
    if (!input || !subtle) {
      const why = input ? "Web Crypto (crypto.subtle) is not available here" : "a part runs past the end of the image";
      layer.info.id = { algorithm: null, stored: toHex(stored), ok: null, reason: why };
      if (field) field.meaning = `not checked: ${why}`;
      continue;
    }
    const sha1 = new Uint8Array(ID_SIZE);
    sha1.set(new Uint8Array(await subtle.digest("SHA-1", input as Uint8Array<ArrayBuffer>)));
    const sha256 = new Uint8Array(await subtle.digest("SHA-256", input as Uint8Array<ArrayBuffer>));
    const same = (a: Uint8Array): boolean => a.every((b, i) => b === stored[i]);
    const algorithm = same(sha1) ? "sha1" : same(sha256) ? "sha256" : null;
    const hashed = names.join(", ");
    layer.info.id = {
      algorithm: algorithm ?? "sha1",
      stored: toHex(stored),
      computed: toHex(algorithm === "sha256" ? sha256 : sha1),
      ok: algorithm !== null,
      hashed,
    };
    if (field)
      field.meaning = algorithm
        ? `${algorithm === "sha1" ? "SHA-1" : "SHA-256"} over ${hashed} (each with its size), as mkbootimg computes it: matches`
        : `not the SHA-1 mkbootimg computes over ${hashed} (${toHex(sha1.subarray(0, 20))})`;
    if (!algorithm) {
      tree.diagnostics.push({
        code: "ANDROID_ID_MISMATCH",
        severity: "warning",
        message: `id is not the SHA-1 mkbootimg computes over ${hashed} with their sizes (${toHex(sha1.subarray(0, 20))}): the image was changed after mkbootimg, or made by another tool`,
        offset: layer.offset + ID_OFFSET,
        layer: layer.path,
      });
    }
  }
}
