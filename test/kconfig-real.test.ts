/**
 * The embedded .config of a real kernel, and real configurations compared (issue 16).
 *
 * - test/fixtures/kernels/arm64-6.1-zboot-ikconfig.efi: an arm64 tinyconfig + CONFIG_IKCONFIG
 *   kernel built from Debian's linux-source-6.1 (scripts/build-test-kernels.sh
 *   6.1:arm64:gzip+ikconfig), with the build's own .config beside it. kimg must print that
 *   .config byte for byte from the zboot image and from the raw Image inside it, and agree with
 *   the kernel's scripts/extract-ikconfig on both.
 * - Debian's bookworm amd64 and arm64 configs (/boot/config-*, kept by
 *   scripts/fetch-debian-kernels.sh): `kimg config A B` must print what the kernel's
 *   scripts/diffconfig prints, in both styles. The two scripts come from linux-source-6.1, taken
 *   once into $KIMG_DEBIAN_CACHE/kconfig-tools by the same fetch script.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { compareConfigs, kernelConfig, unpack } from "../src/api/index.js";
import { renderConfigDiff } from "../src/report/config-text.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { needs } from "./helpers/tools.js";

const FIXTURE = "test/fixtures/kernels/arm64-6.1-zboot-ikconfig";
const CACHE = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
const TOOLS = join(CACHE, "kconfig-tools");
const dir = mkdtempSync(join(tmpdir(), "kimg-kconfig-real-"));
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

interface Facts {
  zboot: { sha256: string };
  inner: { sha256: string; size: number };
  config: string[];
}
const facts = JSON.parse(readFileSync(`${FIXTURE}.json`, "utf8")) as Facts;
const zboot = new Uint8Array(readFileSync(`${FIXTURE}.efi`));
const built = new Uint8Array(readFileSync(`${FIXTURE}.config`));

function kimg(...args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** The raw Image inside the zboot, as `kimg extract` writes it; its hash is the build's. */
async function rawImage(): Promise<Uint8Array> {
  const { data, path } = await unpack(zboot, { codecs: NODE_CODECS });
  assert.equal(path, "/payload/decompressed");
  assert.equal(sha256(data), facts.inner.sha256);
  return data;
}

test("a real arm64 kernel (zboot, gzip): kimg finds the .config the build embedded, byte for byte", async () => {
  assert.equal(sha256(zboot), facts.zboot.sha256);
  assert.ok(facts.config.includes("CONFIG_IKCONFIG=y"));
  const r = await kernelConfig(zboot, { codecs: NODE_CODECS });
  assert.equal(r.source, "kernel");
  assert.deepEqual(r.config, built);
  const k = r.location;
  assert.ok(k?.present);
  assert.equal(k.layer, "/payload/decompressed");
  assert.equal(k.size, built.length);
  // The stream between the markers is kernel/config_data.gz: gzip -n -9 of the .config.
  assert.ok(k.compressedSize !== null && k.compressedSize < built.length / 2);
  assert.deepEqual(r.report?.diagnostics, []);
});

test("the raw Image inside it: the same .config, found in the layer /", async () => {
  const r = await kernelConfig(await rawImage());
  assert.deepEqual(r.config, built);
  assert.equal(r.location?.layer, "/");
  assert.ok((r.location?.startMarkerOffset ?? 0) > 0 && (r.location?.endMarkerOffset ?? 0) < facts.inner.size);
});

test("kimg config equals the kernel's scripts/extract-ikconfig on the zboot image and on the raw Image", {
  skip: needs({ command: join(TOOLS, "extract-ikconfig"), package: "linux-source-6.1 (scripts/fetch-debian-kernels.sh keeps the script)" }, "gzip"),
}, async () => {
  const image = join(dir, "Image");
  writeFileSync(image, await rawImage());
  // The zboot through the CLI (what a user runs), the raw Image through the library.
  const fromZboot = execFileSync(join(TOOLS, "extract-ikconfig"), [`${FIXTURE}.efi`], { maxBuffer: 1 << 26 });
  const got = kimg("config", `${FIXTURE}.efi`);
  assert.equal(got.status, 0, got.stderr);
  assert.deepEqual(new Uint8Array(got.stdout), new Uint8Array(fromZboot));
  const fromImage = execFileSync(join(TOOLS, "extract-ikconfig"), [image], { maxBuffer: 1 << 26 });
  assert.deepEqual((await kernelConfig(new Uint8Array(readFileSync(image)))).config, new Uint8Array(fromImage));
  assert.deepEqual(new Uint8Array(fromZboot), built);
  assert.deepEqual(new Uint8Array(fromImage), built);
});

/** Debian's bookworm configs in the cache: /boot/config-* kept beside each image. */
function debianConfig(arch: string): string | null {
  const d = join(CACHE, "bookworm", `${arch}-${arch}`);
  if (!existsSync(d)) return null;
  const name = readdirSync(d).find((f) => f.startsWith("config-"));
  return name ? join(d, name) : null;
}
const amd64 = debianConfig("amd64");
const arm64 = debianConfig("arm64");
const diffconfigNeed = { command: join(TOOLS, "diffconfig"), package: "linux-source-6.1 (scripts/fetch-debian-kernels.sh keeps the script)" };
const debianSkip =
  amd64 && arm64
    ? needs(diffconfigNeed, "python3")
    : process.env.KIMG_REQUIRE_TOOLS === "1"
      ? (() => {
          throw new Error(`KIMG_REQUIRE_TOOLS=1, but no Debian bookworm amd64 and arm64 configs in ${CACHE}: run scripts/fetch-debian-kernels.sh`);
        })()
      : `no Debian configs in ${CACHE}: run scripts/fetch-debian-kernels.sh`;

function diffconfig(...args: string[]): string {
  return execFileSync("python3", [join(TOOLS, "diffconfig"), ...args], { maxBuffer: 1 << 26 }).toString();
}

test("kimg config A B prints what scripts/diffconfig prints: Debian's amd64 and arm64 configs, both ways, and -m", { skip: debianSkip }, async () => {
  const [a, b] = [amd64 as string, arm64 as string];
  // The CLI once, the library for the other direction and the merge style.
  const expected = diffconfig(a, b);
  assert.ok(expected.split("\n").length > 500, "two real configurations differ in hundreds of options");
  const cli = kimg("config", a, b);
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout.toString(), expected);
  const back = (await compareConfigs(readFileSync(b), readFileSync(a))).diff;
  assert.equal(renderConfigDiff(back), diffconfig(b, a));
  assert.equal(renderConfigDiff(back, { merge: true }), diffconfig("-m", b, a));
});

test("a real kernel against Debian's arm64 config: compareConfigs(zboot, config) = diffconfig of the extracted .config", { skip: debianSkip }, async () => {
  const extracted = join(dir, "tiny.config");
  writeFileSync(extracted, built);
  const { diff, a } = await compareConfigs(zboot, readFileSync(arm64 as string), { a: { codecs: NODE_CODECS } });
  assert.equal(a.source, "kernel");
  const expected = diffconfig(extracted, arm64 as string);
  assert.equal(renderConfigDiff(diff), expected);
  assert.equal(diff.removed.length + diff.changed.length + diff.added.length, expected.split("\n").filter(Boolean).length);
});
