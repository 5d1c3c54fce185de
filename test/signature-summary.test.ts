/**
 * inspect's signature summary without the PKI library (quick-summary.ts) against the one pkijs
 * gives (signatureSummary): the same answer wherever the quick reader answers, an answer on what
 * real kernels carry (sbsign with UTF-8 and printable names, a second signature, an osslsigncode
 * nested one, Debian's signed kernels when cached), and no answer (so pkijs decides) on damage.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { analyse } from "../src/api/index.js";
import { allLayers } from "../src/analysis/tree.js";
import { quickSignatureSummary } from "../src/signatures/quick-summary.js";
import { signatureSummary } from "../src/signatures/verify.js";
import type { Layer } from "../src/model/report.js";
import { buildArm64Image } from "../support/builders/images.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-summary-"));
const path = (name: string): string => join(dir, name);
const run = (cmd: string, args: string[]): void => void execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

function signer(name: string, subject: string, utf8 = false): void {
  run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    ...(utf8 ? ["-utf8"] : []),
    "-keyout",
    path(`${name}.key`),
    "-out",
    path(`${name}.pem`),
    "-subj",
    subject,
    "-days",
    "30",
  ]);
}

async function signedLayers(bytes: Uint8Array): Promise<Array<{ layer: Layer; bytes: Uint8Array }>> {
  const { tree } = await analyse(bytes, { shallow: true });
  return [...allLayers(tree.root)].filter((l) => l.pe?.certificateTable).map((layer) => ({ layer, bytes: tree.bytes.get(layer.path) as Uint8Array }));
}

async function assertAgree(bytes: Uint8Array, what: string, mustAnswer: boolean): Promise<number> {
  const layers = await signedLayers(bytes);
  for (const { layer, bytes: b } of layers) {
    const pe = layer.pe as NonNullable<Layer["pe"]>;
    const quick = quickSignatureSummary(b, pe);
    if (mustAnswer) assert.notEqual(quick, null, `${what} ${layer.path}: the quick reader answers`);
    if (quick) assert.deepEqual(quick, signatureSummary(b, pe), `${what} ${layer.path}`);
  }
  return layers.length;
}

const image = path("Image");
writeFileSync(image, buildArm64Image({ codeSize: 0x8000 }));
signer("a", "/CN=kimg signer \u00e9t\u00e9/O=kimg/C=DE", true);
signer("b", "/CN=second signer/OU=tests/emailAddress=kimg@example.org");
run("sbsign", ["--key", path("a.key"), "--cert", path("a.pem"), "--output", path("one.efi"), image]);
run("sbsign", ["--key", path("b.key"), "--cert", path("b.pem"), "--output", path("two.efi"), path("one.efi")]);
run("osslsigncode", ["sign", "-certs", path("b.pem"), "-key", path("b.key"), "-h", "sha1", "-nest", "-in", path("one.efi"), "-out", path("nested.efi")]);

test("sbsign, a second signature and an osslsigncode nested one: the quick reader answers as pkijs does", async () => {
  for (const name of ["one.efi", "two.efi", "nested.efi"]) assert.ok((await assertAgree(new Uint8Array(readFileSync(path(name))), name, true)) > 0, name);
  const nested = (await signedLayers(new Uint8Array(readFileSync(path("nested.efi")))))[0];
  assert.ok(nested);
  assert.deepEqual(quickSignatureSummary(nested.bytes, nested.layer.pe as NonNullable<Layer["pe"]>), {
    signed: true,
    signatureCount: 2,
    digestAlgorithm: "sha256",
    signerSubject: "CN=kimg signer \u00e9t\u00e9, O=kimg, C=DE",
    problem: null,
  });
});

test("damaged signatures: the quick reader gives no answer, or pkijs's", async () => {
  const signed = new Uint8Array(readFileSync(path("two.efi")));
  const [first] = await signedLayers(signed);
  assert.ok(first?.layer.pe?.certificateTable);
  const table = first.layer.pe.certificateTable;
  // Every byte of the first WIN_CERTIFICATE, changed one at a time.
  let declined = 0;
  const end = table.offset + new DataView(signed.buffer).getUint32(table.offset, true);
  for (let at = table.offset + 8; at < end; at++) {
    const damaged = signed.slice();
    damaged[at] = (damaged[at] as number) ^ 0x55;
    const pe: NonNullable<Layer["pe"]> = first.layer.pe;
    const quick = quickSignatureSummary(damaged, pe);
    if (quick === null) declined++;
    else assert.deepEqual(quick, signatureSummary(damaged, pe), `byte ${at - table.offset - 8} of the DER`);
  }
  assert.ok(declined > 0, "some damage is left to pkijs");
});

test("Debian's signed kernels, when cached: the quick reader answers as pkijs does", async (t) => {
  const cache = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
  const images = existsSync(cache)
    ? readdirSync(cache, { recursive: true, encoding: "utf8" })
        .filter((p) => /(^|\/)(amd64|arm64)-[^/]+\/vmlinuz-/.test(p))
        .map((p) => join(cache, p))
    : [];
  if (images.length === 0) return t.skip(`no Debian kernels in ${cache} (scripts/fetch-debian-kernels.sh)`);
  for (const file of images) assert.ok((await assertAgree(new Uint8Array(readFileSync(file)), file, true)) > 0, `${file} is signed`);
});

test("reportDetails: false (what `kimg extract` passes) makes no signature summary; the bytes handed out are the same", async () => {
  const signed = new Uint8Array(readFileSync(path("two.efi")));
  const full = await analyse(signed);
  const bare = await analyse(signed, { reportDetails: false });
  const signedLayer = (root: Layer): Layer | undefined => [...allLayers(root)].find((l) => l.pe?.certificateTable);
  assert.equal(signedLayer(full.report.root)?.info.signatureCount, 2);
  assert.equal(signedLayer(full.report.root)?.info.signerSubject, "CN=kimg signer \u00e9t\u00e9, O=kimg, C=DE");
  const layer = signedLayer(bare.report.root);
  assert.ok(layer, "the signed layer and its certificate table are still read");
  for (const key of ["signatureCount", "digestAlgorithm", "signerSubject"]) assert.equal(key in layer.info, false, key);
  assert.equal(bare.report.plan, null);
  assert.notEqual(full.report.plan, null);
  assert.deepEqual([...bare.tree.bytes.keys()], [...full.tree.bytes.keys()]);
  for (const [p, b] of full.tree.bytes) assert.ok(Buffer.from(b).equals(bare.tree.bytes.get(p) as Uint8Array), p);
});
