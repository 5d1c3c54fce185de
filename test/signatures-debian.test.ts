/**
 * Real distro kernels, as a new user would try them: Debian bookworm's signed
 * linux-image-*-amd64 (bzImage) and linux-image-*-arm64 (Image) packages, and Microsoft-signed
 * shim, whose .vendor_cert section holds the Debian Secure Boot CA. The packages are fetched
 * with apt-get through a private configuration (the host's apt state is untouched) into
 * kernels/signatures-test/ (git-ignored) and reused on later runs.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { before, describe, it } from "node:test";
import { analyse, verifyImage } from "../src/api/index.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { authenticodeDigest } from "../src/signatures/authenticode.js";
import { peLayers } from "../src/signatures/verify.js";
import { needs } from "./helpers/tools.js";

const CACHE = resolve("kernels/signatures-test");
/** apt fetches the packages (with Debian's archive key); the others are the reference verdicts. */
const skip = needs("apt-get", "dpkg-deb", "debian-archive-keyring", "openssl", "pesign", "osslsigncode", "sbverify");

function tool(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", cwd, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 });
}

function aptOptions(arch: string): string[] {
  const root = join(CACHE, "apt", arch);
  for (const d of ["lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/preferences.d"]) mkdirSync(join(root, d), { recursive: true });
  const sources = join(root, "etc/sources.list");
  writeFileSync(sources, `deb [arch=${arch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n`);
  return [
    "-o",
    `APT::Architecture=${arch}`,
    "-o",
    `APT::Architectures::=${arch}`,
    "-o",
    `Dir::Etc::SourceList=${sources}`,
    "-o",
    `Dir::Etc::SourceParts=${join(root, "etc/sources.list.d")}`,
    "-o",
    `Dir::Etc::Preferences=${join(root, "etc/preferences")}`,
    "-o",
    `Dir::Etc::PreferencesParts=${join(root, "etc/preferences.d")}`,
    "-o",
    `Dir::State::Lists=${join(root, "lists")}`,
    "-o",
    `Dir::Cache=${join(root, "cache")}`,
    "-o",
    "Debug::NoLocking=1",
  ];
}

const updated = new Set<string>();

/** Downloads the newest package matching `pattern` for `arch` and unpacks only `member` of it (not 400 MB of modules). */
function fetchPackage(arch: string, pattern: RegExp, name: string, member: string): string {
  const out = join(CACHE, arch, name);
  if (existsSync(join(out, ".done"))) return out;
  const opts = aptOptions(arch);
  if (!updated.has(arch)) tool("apt-get", [...opts, "update", "-qq"]);
  updated.add(arch);
  const candidates = tool("apt-cache", [...opts, "search", "--names-only", pattern.source])
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((p) => pattern.test(p));
  const pkg = candidates.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).at(-1);
  assert.ok(pkg, `no ${pattern} package for ${arch} in bookworm`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  tool("apt-get", [...opts, "download", "-q", `${pkg}:${arch}`], out);
  const deb = readdirSync(out).find((f) => f.endsWith(".deb"));
  assert.ok(deb, `apt-get download ${pkg} wrote no .deb`);
  mkdirSync(join(out, "root"));
  tool("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "$3"', "sh", join(out, deb), join(out, "root"), member]);
  rmSync(join(out, deb));
  writeFileSync(join(out, ".done"), `${pkg}\n`);
  return out;
}

function kernelOf(arch: string): { path: string; bytes: Uint8Array; pkg: string } {
  const dir = fetchPackage(arch, new RegExp(`^linux-image-[0-9.]+-[0-9]+-${arch}$`), "kernel", "./boot");
  const boot = join(dir, "root/boot");
  const name = readdirSync(boot).find((f) => f.startsWith("vmlinuz-"));
  assert.ok(name, `no /boot/vmlinuz-* in ${dir}`);
  return { path: join(boot, name), bytes: new Uint8Array(readFileSync(join(boot, name))), pkg: readFileSync(join(dir, ".done"), "utf8").trim() };
}

let caDer = "";
let caPem = "";

/** The Debian Secure Boot CA, read by kimg from shim's .vendor_cert (struct { u32 authorized_size, deauthorized_size, authorized_offset, deauthorized_offset }). */
before(async () => {
  if (skip) return;
  const dir = fetchPackage("amd64", /^shim-signed$/, "shim", "./usr/lib/shim");
  const shim = new Uint8Array(readFileSync(join(dir, "root/usr/lib/shim/shimx64.efi.signed")));
  const { tree } = await analyse(shim, { shallow: true });
  const pe = peLayers(tree)[0];
  assert.ok(pe);
  const section = pe.layer.pe.sections.find((s) => s.name === ".vendor_cert");
  assert.ok(section, "shim has no .vendor_cert section");
  const view = new DataView(shim.buffer, shim.byteOffset + section.pointerToRawData, 16);
  const size = view.getUint32(0, true);
  const offset = view.getUint32(8, true);
  caDer = join(CACHE, "debian-secure-boot-ca.der");
  caPem = join(CACHE, "debian-secure-boot-ca.pem");
  writeFileSync(caDer, shim.subarray(section.pointerToRawData + offset, section.pointerToRawData + offset + size));
  tool("openssl", ["x509", "-inform", "der", "-in", caDer, "-out", caPem]);
  assert.match(tool("openssl", ["x509", "-in", caPem, "-noout", "-subject"]), /CN ?= ?Debian Secure Boot CA/);
  copyFileSync(join(dir, "root/usr/lib/shim/shimx64.efi.signed"), join(CACHE, "shimx64.efi.signed"));
});

function osslsigncodeDigests(path: string): Array<{ current: string; calculated: string }> {
  const r = spawnSync("osslsigncode", ["verify", "-in", path], { encoding: "utf8" });
  if (r.error) throw r.error;
  const current = [...r.stdout.matchAll(/Current message digest\s*:\s*([0-9A-F]+)/g)].map((m) => (m[1] ?? "").toLowerCase());
  const calculated = [...r.stdout.matchAll(/Calculated message digest\s*:\s*([0-9A-F]+)/g)].map((m) => (m[1] ?? "").toLowerCase());
  return current.map((c, i) => ({ current: c, calculated: calculated[i] ?? "" }));
}

for (const arch of ["amd64", "arm64"] as const) {
  describe(`Debian bookworm signed kernel (${arch})`, { skip }, () => {
    it("kimg's digest equals the one inside the Debian signature, pesign -h and osslsigncode; the chain reaches the Debian CA", async () => {
      const kernel = kernelOf(arch);
      const report = await verifyImage(kernel.bytes, { codecs: NODE_CODECS, trustedCertificates: [new Uint8Array(readFileSync(caDer))] });
      const outer = report.layers[0];
      assert.ok(outer, `${kernel.pkg}: no PE layer`);
      assert.equal(outer.path, "/pe");
      assert.equal(outer.format, arch === "amd64" ? "bzimage" : "arm64-image");
      assert.equal(outer.signed, true);
      const signatures = report.signatures.filter((s) => s.layer === "/pe");
      assert.equal(signatures.length, 1);
      const s = signatures[0];
      assert.ok(s);
      const pesign = /^hash: ([0-9a-f]+)$/m.exec(tool("pesign", ["-h", "-i", kernel.path]))?.[1];
      const [ossl] = osslsigncodeDigests(kernel.path);
      assert.equal(outer.digest.sha256, pesign);
      assert.equal(outer.digest.sha256, ossl?.calculated);
      assert.equal(s.digest, ossl?.current);
      assert.equal(s.digest, outer.digest.sha256);
      assert.equal(s.digestMatches, true);
      assert.equal(s.signatureValid, true);
      assert.equal(s.chainValid, true);
      assert.match(s.signer?.subject ?? "", /^CN=Debian Secure Boot Signer \d{4} - linux$/);
      assert.equal(s.signer?.issuer, "CN=Debian Secure Boot CA");
      assert.equal(s.chainPath.at(-1), "CN=Debian Secure Boot CA");
      assert.deepEqual(outer.kernel, { accepted: true, reason: null });
      assert.equal(report.verified, true, JSON.stringify(report.diagnostics));
      assert.equal(spawnSync("sbverify", ["--cert", caPem, kernel.path], { stdio: "ignore" }).status, 0, "sbverify rejects the kernel");

      const { tree } = await analyse(kernel.bytes, { shallow: true });
      const pe = peLayers(tree)[0];
      assert.ok(pe);
      assert.equal(await authenticodeDigest(pe.bytes, pe.layer.pe), pesign);
      assert.equal(
        await authenticodeDigest(pe.bytes, pe.layer.pe, "sha1"),
        /^hash: ([0-9a-f]+)$/m.exec(tool("pesign", ["-h", "-d", "sha1", "-i", kernel.path]))?.[1],
      );
    });
  });
}

describe("Debian shim-signed (signed by Microsoft)", { skip }, () => {
  // osslsigncode 2.9 refuses shim ("Corrupted attribute certificate table": it takes only one
  // WIN_CERTIFICATE); pesign -h and sbverify --list read it.
  it("two WIN_CERTIFICATE entries: digests equal pesign -h, signatures valid, no chain to the Debian CA", async () => {
    const path = join(CACHE, "shimx64.efi.signed");
    const bytes = new Uint8Array(readFileSync(path));
    const plain = await verifyImage(bytes);
    assert.equal(plain.verdict, "intact");
    const pesign = /^hash: ([0-9a-f]+)$/m.exec(tool("pesign", ["-h", "-i", path]))?.[1];
    assert.equal(plain.layers[0]?.digest.sha256, pesign);
    const listed = tool("sbverify", ["--list", path]);
    const subjects = [...listed.matchAll(/^ - subject: (.*)$/gm)].map((m) => m[1] ?? "");
    assert.equal(plain.signatures.length, (listed.match(/^signature \d+$/gm) ?? []).length);
    assert.equal(plain.signatures.length, 2);
    for (const [i, s] of plain.signatures.entries()) {
      assert.equal(s.entryIndex, i);
      assert.equal(s.digest, pesign);
      assert.equal(s.digestMatches, true);
      assert.equal(s.signatureValid, true);
      const cn = /CN=([^,]+)$/.exec(s.signer?.subject ?? "")?.[1] ?? "";
      assert.ok(cn.startsWith("Microsoft") && subjects.some((line) => line.endsWith(`/CN=${cn}`)), `${cn} not in sbverify --list:\n${listed}`);
    }
    assert.equal(plain.layers[0]?.kernel?.accepted, false);
    const debian = await verifyImage(bytes, { trustedCertificates: [new Uint8Array(readFileSync(caDer))] });
    assert.equal(debian.verified, false);
    assert.ok(debian.signatures.every((s) => s.chainValid === false));
  });
});
