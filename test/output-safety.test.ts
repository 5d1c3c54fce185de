/**
 * What the CLI writes, and what it never touches: a failing or interrupted extract leaves no
 * output file; the input is the same (sha256) after every command; `--all` writes only inside
 * its folder whatever the section names say; `-o` onto the input is refused; an existing output
 * stays unless --force. Runs the CLI from source as a child process (src/cli/run.ts).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { safeLayerFileName } from "../src/node/files.js";
import { ByteWriter, concat, text } from "./builders/bytes.js";
import { compressWith } from "./builders/compress.js";
import { buildArm64Image, buildUki, buildZboot, zbootInputs } from "./builders/images.js";
import { MACHINE, RODATA_FLAGS } from "./builders/pe.js";
import { inspect, layerAt } from "./helpers.js";
import { needs } from "./helpers/tools.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "src/cli/run.ts");
/** tsx by URL: the CLI runs with its cwd in a scratch folder, where a bare "tsx" does not resolve. */
const TSX = import.meta.resolve("tsx");

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function kimg(args: string[], cwd: string): Run {
  const r = spawnSync(process.execPath, ["--import", TSX, CLI, ...args], { cwd, maxBuffer: 1 << 30, env: { ...process.env, NODE_OPTIONS: "" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Every file and folder under `dir`, relative to it. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p) + (e.isDirectory() ? "/" : ""));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

let sandbox: string;
let image: Uint8Array;
let zboot: { bytes: Uint8Array; payloadOffset: number };

before(() => {
  sandbox = mkdtempSync(join(tmpdir(), "kimg-output-safety-"));
  image = buildArm64Image({ codeSize: 0x4000, dataSize: 0x1000, bssSize: 0x10000 });
  if (needs("gzip")) return; // the tests are skipped
  const { toCompress, trailer } = zbootInputs(image, "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  zboot = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) });
});

after(() => rmSync(sandbox, { recursive: true, force: true }));

/** A fresh folder holding `name` with `bytes`; returns the folder and the file's path. */
function place(name: string, bytes: Uint8Array): { dir: string; file: string } {
  const dir = mkdtempSync(join(sandbox, "case-"));
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return { dir, file };
}

test("a failing extract (corrupt payload) exits 3 and leaves no output and no temp file", { skip: needs("gzip") }, () => {
  const bad = zboot.bytes.slice();
  bad.fill(0x55, zboot.payloadOffset + 40, zboot.payloadOffset + 80);
  const { dir, file } = place("vmlinuz.efi", bad);
  const before = sha256(file);
  const r = kimg(["extract", "vmlinuz.efi", "-o", "Image"], dir);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^kimg: E_CORRUPT_STREAM/);
  assert.deepEqual(tree(dir), ["vmlinuz.efi"]);
  assert.equal(sha256(file), before);
});

test("a failing extract (E_LIMIT from --max-size) exits 3 and leaves no output and no temp file", { skip: needs("gzip") }, () => {
  const { dir, file } = place("vmlinuz.efi", zboot.bytes);
  const r = kimg(["extract", "vmlinuz.efi", "-o", "Image", "--max-size", "16K"], dir);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^kimg: E_LIMIT/);
  assert.deepEqual(tree(dir), ["vmlinuz.efi"]);
  const ok = kimg(["extract", "vmlinuz.efi", "-o", "Image"], dir);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "Image"))), paddedImage());
  assert.equal(readFileSync(file).length, zboot.bytes.length);
});

/** The Image the zboot holds, as the v6.4+ rule pads it (to image_size). */
function paddedImage(): Uint8Array {
  return zbootInputs(image, "v6.4", "gzip").toCompress;
}

test("an extract killed while writing never leaves a partial file under the output name", { skip: needs("gzip") }, async () => {
  const { dir, sawTemp } = await interruptExtract("SIGKILL");
  assert.ok(sawTemp, "the write was not caught in progress");
  assert.ok(!existsSync(join(dir, "Image")), "a partial Image exists");
  // What a kill -9 leaves is the hidden temp file, never the output name.
  assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith(".Image.kimg-")).sort(), ["big.efi"]);
});

/** Starts `kimg extract big.efi -o Image` on a 192 MiB Image and sends `signal` once the temp file appears. */
async function interruptExtract(signal: NodeJS.Signals): Promise<{ dir: string; sawTemp: boolean }> {
  // Zero padding (v6.4+ pads the Image to image_size) makes a write long enough to interrupt.
  const big = buildArm64Image({ codeSize: 0x4000, bssSize: 192 * 1024 * 1024 });
  const { toCompress, trailer } = zbootInputs(big, "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  const { dir } = place("big.efi", buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes);
  const child = spawn(process.execPath, ["--import", TSX, CLI, "extract", "big.efi", "-o", "Image"], { cwd: dir, stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  let sawTemp = false;
  for (let i = 0; i < 30_000 && child.exitCode === null; i++) {
    if (readdirSync(dir).some((n) => n.startsWith(".Image.kimg-") && n.endsWith(".tmp"))) {
      sawTemp = true;
      child.kill(signal);
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await exited;
  return { dir, sawTemp };
}

test("Ctrl-C or SIGTERM during an extract removes the temp file too", { skip: needs("gzip") }, async () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const { dir, sawTemp } = await interruptExtract(signal);
    assert.ok(sawTemp, "the write was not caught in progress");
    assert.deepEqual(readdirSync(dir), ["big.efi"], signal);
  }
});

test("the input's sha256 is unchanged after every command, failing ones included", { skip: needs("gzip") }, () => {
  const { dir, file } = place("vmlinuz.efi", zboot.bytes);
  const before = sha256(file);
  const commands: Array<[string[], number]> = [
    [["inspect", "vmlinuz.efi"], 0],
    [["inspect", "vmlinuz.efi", "--json"], 0],
    [["inspect", "vmlinuz.efi", "--shallow", "--brief"], 0],
    [["extract", "vmlinuz.efi", "-o", "Image"], 0],
    [["extract", "vmlinuz.efi", "-o", "Image"], 4],
    [["extract", "vmlinuz.efi", "-o", "Image", "--force", "--trim"], 0],
    [["extract", "vmlinuz.efi", "--layer", "/payload", "-o", "payload.gz"], 0],
    [["extract", "vmlinuz.efi", "--all", "layers"], 0],
    [["extract", "vmlinuz.efi", "-o", "-"], 0],
    [["extract", "vmlinuz.efi", "-o", "vmlinuz.efi", "--force"], 4],
    [["extract", "vmlinuz.efi", "--layer", "/nope", "-o", "x"], 3],
    [["plan", "vmlinuz.efi"], 0],
    [["plan", "vmlinuz.efi", "--json"], 0],
    [["verify", "vmlinuz.efi"], 5],
    [["digest", "vmlinuz.efi"], 0],
  ];
  for (const [args, status] of commands) {
    const r = kimg(args, dir);
    assert.equal(r.status, status, `kimg ${args.join(" ")}: ${r.stderr}`);
    assert.equal(sha256(file), before, `kimg ${args.join(" ")} changed the input`);
  }
  assert.equal(statSync(file).size, zboot.bytes.length);
});

test("-o onto the input is refused (same path, another spelling, a hard link, a symlink) even with --force", { skip: needs("gzip") }, () => {
  const { dir, file } = place("vmlinuz.efi", zboot.bytes);
  const before = sha256(file);
  mkdirSync(join(dir, "sub"));
  linkSync(file, join(dir, "hard.efi"));
  symlinkSync(file, join(dir, "soft.efi"));
  for (const out of ["vmlinuz.efi", "./sub/../vmlinuz.efi", file, "hard.efi", "soft.efi"]) {
    const r = kimg(["extract", "vmlinuz.efi", "-o", out, "--force"], dir);
    assert.equal(r.status, 4, `-o ${out}: ${r.stderr}`);
    assert.match(r.stderr, /E_OUTPUT_EXISTS.*refusing to write over the input/, out);
    assert.equal(sha256(file), before, out);
  }
  assert.deepEqual(tree(dir), ["hard.efi", "soft.efi", "sub/", "vmlinuz.efi"]);
});

test("an existing output is kept without --force and replaced with it", { skip: needs("gzip") }, () => {
  const { dir } = place("vmlinuz.efi", zboot.bytes);
  writeFileSync(join(dir, "Image"), "keep me");
  const r = kimg(["extract", "vmlinuz.efi", "-o", "Image"], dir);
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /^kimg: E_OUTPUT_EXISTS: Image exists; use --force/);
  assert.equal(readFileSync(join(dir, "Image"), "utf8"), "keep me");
  assert.deepEqual(tree(dir), ["Image", "vmlinuz.efi"]);
  const forced = kimg(["extract", "vmlinuz.efi", "-o", "Image", "--force"], dir);
  assert.equal(forced.status, 0, forced.stderr);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "Image"))), paddedImage());
});

/** A UKI whose section names try to leave the output folder: "../../x", "/abs", "..", and a long "/4" name from the COFF string table. */
function hostileUki(): Uint8Array {
  const escape = "../../../../../../../tmp/kimg-escape";
  const strings = concat(new ByteWriter(4).u32(0, 4 + escape.length + 1).bytes, text(`${escape}\0`));
  const ro = (name: string, data: Uint8Array): { name: string; data: Uint8Array; characteristics: number } => ({ name, data, characteristics: RODATA_FLAGS });
  const uki = buildUki({
    machine: MACHINE.ARM64,
    linux: zboot.bytes,
    initrd: text("initrd"),
    extra: [ro("../../x", text("dots")), ro("/abs", text("absolute")), ro("..", text("dotdot")), ro("/4", strings), ro(".linux", image)],
  });
  // Point PointerToSymbolTable at the "/4" section's data, so its name resolves to the long one.
  const sections = sectionTable(uki);
  const stringsSection = sections.find((s) => s.name === "/4");
  assert.ok(stringsSection);
  const w = new ByteWriter(uki.length).set(0, uki);
  const peOffset = new DataView(uki.buffer, uki.byteOffset).getUint32(0x3c, true);
  w.u32(peOffset + 4 + 8, stringsSection.pointerToRawData).u32(peOffset + 4 + 12, 0);
  return w.bytes;
}

/** Section names and raw offsets, read straight from the section table (before the names are resolved). */
function sectionTable(pe: Uint8Array): Array<{ name: string; pointerToRawData: number }> {
  const v = new DataView(pe.buffer, pe.byteOffset, pe.byteLength);
  const peOffset = v.getUint32(0x3c, true);
  const count = v.getUint16(peOffset + 6, true);
  const table = peOffset + 24 + v.getUint16(peOffset + 20, true);
  const out = [];
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    const name = new TextDecoder().decode(pe.subarray(at, at + 8)).replace(/\0+$/, "");
    out.push({ name, pointerToRawData: v.getUint32(at + 20, true) });
  }
  return out;
}

test("--all writes only plain files inside DIR, whatever the section names say", { skip: needs("gzip") }, async () => {
  const uki = hostileUki();
  const names = layerAt(await inspect(uki), "/pe").pe?.sections.map((s) => s.name);
  assert.ok(names?.includes("../../../../../../../tmp/kimg-escape"), String(names));
  assert.ok(names?.includes("../../x") && names.includes("/abs") && names.includes(".."));
  const { dir, file } = place("uki.efi", uki);
  const before = sha256(file);
  const sandboxBefore = tree(sandbox).filter((p) => !p.startsWith(relative(sandbox, dir)));
  const r = kimg(["extract", "uki.efi", "--all", "out/layers", "--json"], dir);
  assert.equal(r.status, 0, r.stderr);
  const written = (JSON.parse(r.stdout.toString()) as { written: Array<{ layer: string; path: string }> }).written;
  assert.ok(written.length >= 5, JSON.stringify(written));
  const files = tree(join(dir, "out/layers"));
  for (const f of files) {
    assert.match(f, /^[A-Za-z0-9_#-][A-Za-z0-9._#-]*$/, `unsafe name ${f}`);
    assert.ok(lstatSync(join(dir, "out/layers", f)).isFile(), f);
  }
  assert.deepEqual(
    written.map((w) => w.path),
    files.map((f) => join("out/layers", f)).sort((a, b) => written.findIndex((w) => w.path === a) - written.findIndex((w) => w.path === b)),
  );
  assert.deepEqual(files, ["cmdline.txt", "initrd.txt", "linux#2.efi", "linux#2.payload.decompressed.Image", "linux#2.payload.gz", "linux.Image", "osrel.txt"]);
  assert.deepEqual(tree(dir), ["out/", "out/layers/", ...files.map((f) => `out/layers/${f}`), "uki.efi"].sort());
  assert.deepEqual(tree(sandbox).filter((p) => !p.startsWith(relative(sandbox, dir))), sandboxBefore);
  assert.ok(!existsSync("/tmp/kimg-escape"));
  assert.equal(sha256(file), before);
});

test("--all --force replaces a planted symlink, never the file it points to", { skip: needs("gzip") }, () => {
  const { dir } = place("uki.efi", hostileUki());
  mkdirSync(join(dir, "layers"));
  writeFileSync(join(dir, "outside"), "precious");
  symlinkSync(join(dir, "outside"), join(dir, "layers", "linux.Image"));
  const refused = kimg(["extract", "uki.efi", "--all", "layers"], dir);
  assert.equal(refused.status, 4, refused.stderr);
  const r = kimg(["extract", "uki.efi", "--all", "layers", "--force"], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(dir, "outside"), "utf8"), "precious");
  assert.ok(lstatSync(join(dir, "layers", "linux.Image")).isFile());
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "layers", "linux.Image"))), image);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "layers", "linux#2.efi"))), zboot.bytes);
});

test("safeLayerFileName: traversal and absolute segments collapse into one plain name", () => {
  assert.equal(safeLayerFileName("/../../x", ".bin"), "x.bin");
  assert.equal(safeLayerFileName("/../../../tmp/kimg-escape/decompressed", ".bin"), "tmp.kimg-escape.decompressed.bin");
  assert.equal(safeLayerFileName("//etc/passwd", ".txt"), "etc.passwd.txt");
  assert.equal(safeLayerFileName("/..", ".bin"), "root.bin");
  assert.equal(safeLayerFileName("/.linux/payload/decompressed", ".Image"), "linux.payload.decompressed.Image");
  assert.equal(safeLayerFileName("/a\\b\0c d", ".bin"), "a_b_c_d.bin");
});
