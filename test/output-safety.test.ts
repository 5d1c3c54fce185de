/**
 * What the CLI writes, and what it never touches: a failing or interrupted extract leaves no
 * output file; the input is the same (sha256) after every command; `--all` writes only inside
 * its folder whatever the section names say; `-o` onto the input is refused; an existing output
 * stays unless --force. Runs the CLI from source as a child process (src/cli/run.ts).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { safeLayerFileName } from "../src/node/files.js";
import { ByteWriter, concat, randomBytes, text } from "../support/builders/bytes.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildUki, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE, RODATA_FLAGS } from "../support/builders/pe.js";
import { inspect, layerAt } from "./helpers/report.js";
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

test("an extract killed with SIGKILL while writing leaves nothing at all (Linux: the temp file has no name)", { skip: needs("gzip") }, async () => {
  const { dir, sawWrite } = await interruptExtract("SIGKILL", ["-o", "Image"]);
  assert.ok(sawWrite, "the write was not caught in progress");
  assert.deepEqual(readdirSync(dir), ["big.efi"]);
});

/** The big image of the interrupt tests: zero padding (v6.4+ pads the Image to image_size) makes a write long enough to interrupt. */
function bigZboot(): Uint8Array {
  const big = buildArm64Image({ codeSize: 0x4000, bssSize: 192 * 1024 * 1024 });
  const { toCompress, trailer } = zbootInputs(big, "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  return buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes;
}

let bigZbootBytes: Uint8Array | undefined;

/** Files a process has open under `dir` (a named temp file, or an unnamed one: "DIR/#123 (deleted)"), except `except`. */
function openFilesUnder(pid: number, dir: string, except: string): string[] {
  const out: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith(dir + "/") && target !== except) out.push(target);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // the process is gone
  }
  return out;
}

/** Starts `kimg extract big.efi ARGS` on a 192 MiB Image and sends `signal` once it has an output file open. */
async function interruptExtract(signal: NodeJS.Signals, args: string[]): Promise<{ dir: string; sawWrite: boolean }> {
  bigZbootBytes ??= bigZboot();
  const { dir, file } = place("big.efi", bigZbootBytes);
  const child = spawn(process.execPath, ["--import", TSX, CLI, "extract", "big.efi", ...args], { cwd: dir, stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  let sawWrite = false;
  for (let i = 0; i < 30_000 && child.exitCode === null; i++) {
    if (child.pid !== undefined && openFilesUnder(child.pid, dir, file).length > 0) {
      sawWrite = true;
      child.kill(signal);
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await exited;
  return { dir, sawWrite };
}

test("Ctrl-C or SIGTERM during an extract removes the temp file too", { skip: needs("gzip") }, async () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const { dir, sawWrite } = await interruptExtract(signal, ["-o", "Image"]);
    assert.ok(sawWrite, "the write was not caught in progress");
    assert.deepEqual(readdirSync(dir), ["big.efi"], signal);
  }
});

test("extract --all interrupted (SIGKILL, SIGTERM, SIGINT) while writing leaves nothing: no file, no folder", { skip: needs("gzip") }, async () => {
  for (const signal of ["SIGKILL", "SIGTERM", "SIGINT"] as const) {
    const { dir, sawWrite } = await interruptExtract(signal, ["--all", "out/layers"]);
    assert.ok(sawWrite, "the write was not caught in progress");
    assert.deepEqual(tree(dir), ["big.efi"], signal);
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
  const escapePath = "../../../../../../../tmp/kimg-escape";
  const strings = concat(new ByteWriter(4).u32(0, 4 + escapePath.length + 1).bytes, text(`${escapePath}\0`));
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
  assert.deepEqual(
    tree(sandbox).filter((p) => !p.startsWith(relative(sandbox, dir))),
    sandboxBefore,
  );
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

test("extract --all fails as a set: an existing file part way keeps it and writes none of the others", { skip: needs("gzip") }, () => {
  const { dir } = place("vmlinuz.efi", zboot.bytes);
  mkdirSync(join(dir, "layers"));
  // The layers are written in tree order: payload.gz first, then payload.decompressed.Image.
  writeFileSync(join(dir, "layers", "payload.decompressed.Image"), "keep me");
  const r = kimg(["extract", "vmlinuz.efi", "--all", "layers"], dir);
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /^kimg: E_OUTPUT_EXISTS: layers\/payload\.decompressed\.Image exists; use --force/);
  assert.deepEqual(tree(dir), ["layers/", "layers/payload.decompressed.Image", "vmlinuz.efi"]);
  assert.equal(readFileSync(join(dir, "layers", "payload.decompressed.Image"), "utf8"), "keep me");
  // A FIFO there is refused even with --force, and still nothing else is written.
  rmSync(join(dir, "layers", "payload.decompressed.Image"));
  spawnSync("mkfifo", [join(dir, "layers", "payload.decompressed.Image")]);
  const forced = kimg(["extract", "vmlinuz.efi", "--all", "layers", "--force"], dir);
  assert.equal(forced.status, 4, forced.stderr);
  assert.match(forced.stderr, /^kimg: E_IO: layers\/payload\.decompressed\.Image is a FIFO, not a regular file/);
  assert.doesNotMatch(forced.stderr, /--force/);
  assert.deepEqual(tree(dir), ["layers/", "layers/payload.decompressed.Image", "vmlinuz.efi"]);
  assert.ok(lstatSync(join(dir, "layers", "payload.decompressed.Image")).isFIFO());
});

test("extract --all into a folder that cannot be made or written is E_IO, exit 4, and writes nothing", { skip: needs("gzip") }, () => {
  const { dir } = place("vmlinuz.efi", zboot.bytes);
  writeFileSync(join(dir, "afile"), "x");
  for (const target of ["afile", "afile/sub"]) {
    const r = kimg(["extract", "vmlinuz.efi", "--all", target], dir);
    assert.equal(r.status, 4, `${target}: ${r.stderr}`);
    assert.match(r.stderr, /^kimg: E_IO: cannot (write into|create) afile/, target);
  }
  assert.deepEqual(tree(dir), ["afile", "vmlinuz.efi"]);
});

const root = process.getuid?.() === 0;

test("extract --all without permission (as nobody) or on a read-only file system: E_IO, exit 4", {
  skip: needs("gzip") || (!root && "needs root (runs as nobody, mounts tmpfs)"),
}, () => {
  const { dir } = place("vmlinuz.efi", zboot.bytes);
  chmodSync(sandbox, 0o755);
  chmodSync(dir, 0o755);
  const asNobody = spawnSync(process.execPath, ["--import", TSX, CLI, "extract", "vmlinuz.efi", "--all", "out"], {
    cwd: dir,
    uid: 65534,
    gid: 65534,
    env: { ...process.env, NODE_OPTIONS: "", HOME: "/tmp" },
  });
  assert.equal(asNobody.status, 4, asNobody.stderr.toString());
  assert.match(asNobody.stderr.toString(), /^kimg: E_IO: cannot create out: EACCES/);
  mkdirSync(join(dir, "ro"));
  spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", join(dir, "ro")]);
  try {
    for (const args of [
      ["--all", "ro/out"],
      ["--all", "ro"],
      ["-o", "ro/Image"],
    ]) {
      const r = kimg(["extract", "vmlinuz.efi", ...args], dir);
      assert.equal(r.status, 4, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^kimg: E_IO: .*EROFS/, args.join(" "));
    }
    assert.deepEqual(readdirSync(join(dir, "ro")), []);
  } finally {
    spawnSync("umount", [join(dir, "ro")]);
  }
  assert.deepEqual(tree(dir), ["ro/", "vmlinuz.efi"]);
});

test("extract --all on a full disk: E_IO, exit 4, and neither the layers written before nor the folder remain", {
  skip: needs("gzip") || (!root && "needs root (mounts a small tmpfs)"),
}, () => {
  // A 1 MiB Image of mostly zeros: its gzip payload fits a 256 KiB disk, the Image does not.
  const big = buildArm64Image({ codeSize: 0x4000, bssSize: 1024 * 1024 });
  const { toCompress, trailer } = zbootInputs(big, "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  const { dir } = place("vmlinuz.efi", buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes);
  mkdirSync(join(dir, "disk"));
  spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", join(dir, "disk")]);
  try {
    for (const args of [
      ["--all", "disk/layers"],
      ["--all", "disk"],
      ["-o", "disk/Image"],
    ]) {
      const r = kimg(["extract", "vmlinuz.efi", ...args], dir);
      assert.equal(r.status, 4, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^kimg: E_IO: cannot write disk\/.*ENOSPC/, args.join(" "));
      assert.deepEqual(readdirSync(join(dir, "disk")), [], args.join(" "));
    }
    // The payload alone fits: the same disk takes it.
    const ok = kimg(["extract", "vmlinuz.efi", "--layer", "/payload", "-o", "disk/payload.gz"], dir);
    assert.equal(ok.status, 0, ok.stderr);
  } finally {
    spawnSync("umount", [join(dir, "disk")]);
  }
});

test("extract --all on a plain Image writes the Image itself (it is the only layer)", { skip: needs("gzip") }, () => {
  const { dir } = place("Image", image);
  const r = kimg(["extract", "Image", "--all", "out", "--json"], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(tree(join(dir, "out")), ["root.Image"]);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "out", "root.Image"))), image);
  assert.deepEqual(JSON.parse(r.stdout.toString()).written, [{ layer: "/", format: "arm64-image", path: "out/root.Image", bytes: image.length }]);
});

test("concurrent extracts of two images to one output without --force: exactly one wins and its bytes stay", { skip: needs("gzip") }, async () => {
  const images = [0x4000, 0x8000].map((codeSize) => buildArm64Image({ codeSize, bssSize: 48 * 1024 * 1024 }));
  const dir = mkdtempSync(join(sandbox, "race-"));
  images.forEach((img, i) => {
    const { toCompress, trailer } = zbootInputs(img, "v6.4", "gzip");
    const payload = compressWith("gzip", toCompress);
    writeFileSync(join(dir, `${i}.efi`), buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes);
  });
  const runs = await Promise.all(
    Array.from({ length: 10 }, (_, i) => {
      const child = spawn(process.execPath, ["--import", TSX, CLI, "extract", `${i % 2}.efi`, "-o", "Image"], {
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      return new Promise<{ which: number; status: number | null; stderr: string }>((resolve) =>
        child.on("close", (status) => resolve({ which: i % 2, status, stderr })),
      );
    }),
  );
  const winners = runs.filter((r) => r.status === 0);
  assert.equal(winners.length, 1, JSON.stringify(runs.map((r) => [r.status, r.stderr.trim()])));
  for (const r of runs) if (r.status !== 0) assert.match(r.stderr, /^kimg: E_OUTPUT_EXISTS: Image exists/);
  const winner = winners[0]?.which as number;
  const expected = zbootInputs(images[winner] as Uint8Array, "v6.4", "gzip").toCompress;
  assert.ok(Buffer.compare(readFileSync(join(dir, "Image")), expected) === 0, "the output is not the winner's image");
  assert.deepEqual(readdirSync(dir).sort(), ["0.efi", "1.efi", "Image"]);
});

test("device nodes, FIFOs and folders are never replaced, --force or not, and the message does not suggest --force", {
  skip: needs("gzip") || (!root && "needs root (mknod)"),
}, () => {
  const { dir } = place("vmlinuz.efi", zboot.bytes);
  spawnSync("mknod", [join(dir, "null"), "c", "1", "3"]);
  spawnSync("mkfifo", [join(dir, "fifo")]);
  mkdirSync(join(dir, "folder"));
  // /dev/null itself only without --force: should this ever regress, the test must not replace the machine's /dev/null.
  for (const [out, kind] of [
    ["null", "a character device"],
    ["fifo", "a FIFO"],
    ["folder", "a directory"],
    ["/dev/null", "a character device"],
  ] as const) {
    for (const force of out === "/dev/null" ? [[]] : [[], ["--force"]]) {
      const r = kimg(["extract", "vmlinuz.efi", "-o", out, ...force], dir);
      assert.equal(r.status, 4, `${out} ${force.join("")}: ${r.stderr}`);
      assert.equal(r.stderr, `kimg: E_IO: ${out} is ${kind}, not a regular file: kimg only writes regular files\n`);
    }
  }
  assert.ok(lstatSync(join(dir, "null")).isCharacterDevice());
  assert.ok(lstatSync(join(dir, "fifo")).isFIFO());
  assert.ok(lstatSync("/dev/null").isCharacterDevice());
  assert.deepEqual(tree(dir), ["fifo", "folder/", "null", "vmlinuz.efi"]);
});

describe("extract of an lz4 zboot, written while it decodes", { skip: needs("lz4") }, () => {
  // Two 8 MiB lz4 legacy chunks and more: the output file is written while later chunks decode.
  let lz4Image: Uint8Array;
  let lz4Zboot: { bytes: Uint8Array; payloadOffset: number };
  let payload: Uint8Array;
  before(() => {
    const big = buildArm64Image({ codeSize: 0x4000, dataSize: 0x1000, bssSize: 0x10000 });
    lz4Image = concat(
      big,
      randomBytes(3 << 20, 0x5eed),
      new Uint8Array(14 << 20).map((_, i) => (i >> 9) & 0xff),
    );
    const inputs = zbootInputs(lz4Image, "v6.4", "lz4");
    payload = compressWith("lz4", inputs.toCompress);
    lz4Zboot = buildZboot({ machine: MACHINE.ARM64, compType: "lz4", payload, trailer: inputs.trailer(payload) });
    lz4Image = inputs.toCompress;
  });

  test("the kernel comes out byte-exact, and the payload with --layer", () => {
    const { dir } = place("vmlinuz.efi", lz4Zboot.bytes);
    const r = kimg(["extract", "vmlinuz.efi", "-o", "Image"], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(join(dir, "Image")).equals(lz4Image));
    const p = kimg(["extract", "vmlinuz.efi", "--layer", "/payload", "-o", "payload.lz4"], dir);
    assert.equal(p.status, 0, p.stderr);
    assert.ok(readFileSync(join(dir, "payload.lz4")).equals(payload));
    assert.deepEqual(tree(dir), ["Image", "payload.lz4", "vmlinuz.efi"]);
  });

  test("in a UKI, the kernel comes out byte-exact whether a compressed .initrd decodes before it or after", { skip: needs("gzip") }, () => {
    const initrd = compressWith("gzip", randomBytes(6 << 20, 0x1717));
    for (const [name, uki] of [
      [
        "initrd-first.efi",
        buildUki({ machine: MACHINE.ARM64, linux: lz4Zboot.bytes, extra: [{ name: ".initrd", data: initrd, characteristics: RODATA_FLAGS }] }),
      ],
      ["initrd-last.efi", buildUki({ machine: MACHINE.ARM64, linux: lz4Zboot.bytes, initrd })],
    ] as const) {
      const { dir } = place(name, uki);
      const r = kimg(["extract", name, "-o", "Image"], dir);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(join(dir, "Image")).equals(lz4Image), name);
    }
  });

  test("a chunk damaged after the first was written: exit 3, no output, no temp file", () => {
    const bad = lz4Zboot.bytes.slice();
    // The second legacy chunk: magic (4), first chunk's size (4) and data, then its own size.
    const first = new DataView(bad.buffer).getUint32(lz4Zboot.payloadOffset + 4, true);
    const second = lz4Zboot.payloadOffset + 8 + first;
    // (lz4's legacy format has no checksums: a chunk that claims more than the stream holds.)
    new DataView(bad.buffer).setUint32(second, 8_400_000, true);
    const { dir, file } = place("vmlinuz.efi", bad);
    const r = kimg(["extract", "vmlinuz.efi", "-o", "Image"], dir);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /^kimg: E_CORRUPT_STREAM/);
    assert.deepEqual(tree(dir), ["vmlinuz.efi"]);
    assert.equal(readFileSync(file).length, bad.length);
  });
});
