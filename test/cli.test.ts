/** The CLI as a user runs it: outputs, JSON keys scripts rely on, and exit codes. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-cli-"));
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

function kimg(...args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const image = buildArm64Image({ codeSize: 0x20000 });
const { toCompress, trailer } = zbootInputs(image, "v6.4", "xzkern");
const skip = needs("xz");
const payload = skip ? new Uint8Array(0) : compressWith("xz-arm64", toCompress);
const zboot = join(dir, "vmlinuz.efi");
if (!skip) writeFileSync(zboot, buildZboot({ machine: MACHINE.ARM64, compType: "xzkern", payload, trailer: trailer(payload) }).bytes);

test("inspect --json: the summary keys scripts rely on", { skip }, () => {
  const r = kimg("inspect", zboot, "--json");
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.toString());
  assert.deepEqual(
    { format: report.summary.format, arch: report.summary.arch, compression: report.summary.compression, kernelFormat: report.summary.kernelFormat },
    { format: "zboot", arch: "arm64", compression: "xz", kernelFormat: "arm64-image" },
  );
  assert.equal(report.root.info.compType, "xzkern");
  assert.deepEqual(report.diagnostics, []);
  assert.equal(report.plan.entry.offset, 0);
});

test("inspect text view names the layers and fields with offsets", { skip }, () => {
  const r = kimg("inspect", zboot);
  assert.equal(r.status, 0);
  const text = r.stdout.toString();
  assert.match(text, /format {7}zboot/);
  assert.match(text, /0x000018 {2}comp_type +"xzkern" +codec xz/);
  assert.match(text, /\/payload\/decompressed {2}arm64 Image/);
});

test("extract -o writes the inner Image byte-exact; -o - writes it to stdout; an existing output is kept", { skip }, () => {
  const out = join(dir, "Image");
  let r = kimg("extract", zboot, "-o", out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sha(readFileSync(out)), sha(toCompress));
  r = kimg("extract", zboot, "-o", "-");
  assert.equal(r.status, 0);
  assert.equal(sha(r.stdout), sha(toCompress));
  r = kimg("extract", zboot, "-o", out);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /E_OUTPUT_EXISTS/);
  r = kimg("extract", zboot, "-o", out, "--force");
  assert.equal(r.status, 0);
});

test("extract --all writes every layer under predictable names", { skip }, () => {
  const all = join(dir, "all");
  const r = kimg("extract", zboot, "--all", all, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(all).sort(), ["payload.decompressed.Image", "payload.xz"]);
  assert.equal(sha(readFileSync(join(all, "payload.xz"))), sha(payload));
  const written = JSON.parse(r.stdout.toString()).written as Array<{ layer: string }>;
  assert.deepEqual(written.map((w) => w.layer).sort(), ["/payload", "/payload/decompressed"]);
});

test("plan --json keeps the exact keys; --strict exits 6 when a check fails", { skip }, () => {
  let r = kimg("plan", zboot, "--json", "--ram-base", "0x80000000");
  assert.equal(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout.toString());
  assert.equal(p.entry.offset, 0);
  assert.equal(typeof p.entry.branchTarget, "number");
  assert.ok(p.regions.every((x: { perms: string }) => /^[r-][w-][x-]$/.test(x.perms)));
  assert.ok(p.checks.some((c: { id: string; ok: boolean }) => c.id === "w^x" && c.ok));
  assert.equal(p.load.kernelAddress, "0x80000000");
  // A missing NX_COMPAT is reported, not a failure: the image boots as documented.
  const noNx = join(dir, "nonx.efi");
  writeFileSync(noNx, buildArm64Image({ nxCompat: false }));
  r = kimg("plan", noNx, "--strict");
  assert.equal(r.status, 0, r.stdout.toString());
  assert.match(r.stdout.toString(), /info nx-compat +NX_COMPAT is clear: firmware maps the image RWX/);
  // A writable code section is a real risk for firmware mapping by section flags: --strict fails.
  const wx = buildArm64Image();
  const flagsAt = 0x40 + 24 + 112 + 6 * 8 + 36;
  new DataView(wx.buffer).setUint32(flagsAt, (new DataView(wx.buffer).getUint32(flagsAt, true) | 0x80000000) >>> 0, true);
  const wxFile = join(dir, "wx.efi");
  writeFileSync(wxFile, wx);
  r = kimg("plan", wxFile, "--strict");
  assert.equal(r.status, 6);
  assert.match(r.stdout.toString(), /FAIL w\^x +writable and executable: \.text: firmware that maps sections/);
});

test("exit codes: bad input 3, usage 2, unreadable file 4", () => {
  const junk = join(dir, "junk");
  writeFileSync(junk, "not a kernel");
  let r = kimg("inspect", junk);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /^kimg: E_UNKNOWN_FORMAT at 0x0: /);
  r = kimg("inspect");
  assert.equal(r.status, 2);
  r = kimg("inspect", join(dir, "missing"));
  assert.equal(r.status, 4);
  assert.match(r.stderr, /E_IO/);
  r = kimg("extract", zboot);
  assert.equal(r.status, 2);
});

test("--version prints the version package.json declares", () => {
  const r = kimg("--version");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), `${JSON.parse(readFileSync("package.json", "utf8")).version}\n`);
});
