/**
 * Initramfs archives (issue 16) against the real tools: images made by Debian's mkinitramfs
 * (initramfs-tools) and dracut, with an early microcode cpio made by `cpio -o -H newc` in front,
 * as the tools lay it out. kimg's listing must equal lsinitramfs (per segment), its extraction
 * must give the same files as unmkinitramfs (content, type, masked mode, link targets).
 *
 * The two real images take ~10 s (mkinitramfs) and ~30 s (dracut) to build on a busy 2-core
 * machine, so they are built once and kept in $KIMG_INITRAMFS_CACHE (default
 * /var/cache/kimg-initramfs), keyed by the tools' package versions; a repeat reads them (< 1 s).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ARCHIVE_MODE_MASK } from "../src/analysis/archive-plan.js";
import { archives } from "../src/api/archive.js";
import { inspect } from "../src/api/inspect.js";
import { allLayers } from "../src/analysis/tree.js";
import { writeArchive } from "../src/node/archive-writer.js";
import { initrdSummary } from "../src/report/initramfs-summary.js";
import { compressWith, type Tool } from "../support/builders/compress.js";
import { needs } from "./helpers/tools.js";

const CACHE = process.env.KIMG_INITRAMFS_CACHE ?? "/var/cache/kimg-initramfs";
const KVER = "0.0.0-kimg";
const skip = needs("mkinitramfs", "lsinitramfs", "unmkinitramfs", "dracut", "unshare", "cpio", "zstd", "gzip");

function run(cmd: string, args: string[], options: { cwd?: string; input?: Uint8Array; env?: NodeJS.ProcessEnv } = {}): Buffer {
  return execFileSync(cmd, args, { ...options, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "pipe"] });
}

function packageVersion(pkg: string): string {
  try {
    return run("dpkg-query", ["-W", "-f", "$" + "{Version}", pkg])
      .toString()
      .trim();
  } catch {
    return "unknown";
  }
}

/** A cache directory we may write, or a temp one. */
function cacheDir(): string {
  try {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(join(CACHE, ".probe"), "");
    return CACHE;
  } catch {
    return mkdtempSync(join(tmpdir(), "kimg-initramfs-cache-"));
  }
}

/** Builds `name` once with `build(out, work)` and keeps it in the cache. */
function cached(name: string, build: (out: string, work: string) => void): Uint8Array {
  const dir = cacheDir();
  const path = join(dir, name);
  if (!existsSync(path)) {
    const work = mkdtempSync(join(tmpdir(), "kimg-initramfs-build-"));
    try {
      const out = join(work, "out.img");
      build(out, work);
      renameSync(out, `${path}.new`);
      renameSync(`${path}.new`, path);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return new Uint8Array(readFileSync(path));
}

/**
 * mkinitramfs for a kernel version that has no modules: MODULES=list with an empty list, and a
 * /boot/config and /lib/modules/<ver> that exist only in a private mount namespace (unshare -m),
 * so the host's /boot and /lib/modules are never touched.
 */
function buildMkinitramfs(out: string, work: string): void {
  const conf = join(work, "conf");
  run("cp", ["-r", "/etc/initramfs-tools", conf]);
  const confFile = join(conf, "initramfs.conf");
  writeFileSync(
    confFile,
    readFileSync(confFile, "utf8")
      .replace(/^MODULES=.*$/m, "MODULES=list")
      .replace(/^COMPRESS=.*$/m, "COMPRESS=zstd"),
  );
  writeFileSync(join(conf, "modules"), "");
  mkdirSync(join(work, "boot"));
  writeFileSync(join(work, "boot", `config-${KVER}`), "CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\n");
  mkdirSync(join(work, "modules", KVER), { recursive: true });
  writeFileSync(join(work, "modules", KVER, "modules.order"), "");
  writeFileSync(join(work, "modules", KVER, "modules.builtin"), "");
  const script = `mount --bind "${work}/boot" /boot && mkdir -p /lib/modules && mount --bind "${work}/modules" /lib/modules && mkinitramfs -d "${conf}" -o "${out}" ${KVER}`;
  run("unshare", ["-m", "sh", "-c", script], { env: { ...process.env, TMPDIR: work } });
}

/** dracut without a kernel: --no-kernel, an empty --kmoddir, the base module only, gzip. */
function buildDracut(out: string, work: string): void {
  const kmod = join(work, "lib", "modules", KVER);
  mkdirSync(kmod, { recursive: true });
  run(
    "dracut",
    ["--no-kernel", "--kver", KVER, "--kmoddir", kmod, "--no-hostonly", "--no-early-microcode", "-m", "base", "--gzip", "--force", "--tmpdir", work, out],
    { env: { ...process.env, DRACUT_KMODDIR_OVERRIDE: "1" } },
  );
}

/** The early microcode archive as the distributions' hooks lay it out: kernel/x86/microcode/GenuineIntel.bin, uncompressed newc. */
function earlyCpio(work: string, format: "newc" | "crc" = "newc"): Uint8Array {
  const root = join(work, `early-${format}`);
  mkdirSync(join(root, "kernel", "x86", "microcode"), { recursive: true });
  const blob = createHash("sha512").update("kimg microcode").digest();
  writeFileSync(join(root, "kernel", "x86", "microcode", "GenuineIntel.bin"), Buffer.concat(Array.from({ length: 40 }, () => blob)));
  const list = run("find", [".", "-print"], { cwd: root }).toString().split("\n").filter(Boolean).sort().join("\n") + "\n";
  return new Uint8Array(run("cpio", ["-o", "-H", format, "--quiet", "-R", "0:0"], { cwd: root, input: Buffer.from(list) }));
}

/** Where a cpio archive made by GNU cpio ends: after the TRAILER!!! entry, 4-aligned (cpio then pads to 512-byte blocks with zeros). */
function trailerEnd(archive: Uint8Array): number {
  const at = Buffer.from(archive).lastIndexOf("TRAILER!!!\0");
  assert.ok(at > 0);
  return (at + 11 + 3) & ~3;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The names lsinitramfs prints, in its order (early archives first, then the main one). */
function lsinitramfs(path: string): string[] {
  return run("lsinitramfs", [path])
    .toString()
    .split("\n")
    .filter((l) => l.length > 0);
}

/** The names kimg lists, archive by archive in layer order. */
async function kimgNames(bytes: Uint8Array): Promise<string[]> {
  const report = await inspect(bytes);
  const errors = report.diagnostics.filter((d) => d.severity === "error");
  assert.deepEqual(errors, []);
  return [...allLayers(report.root)].flatMap((l) => (l.archive ? l.archive.entries.map((e) => e.name) : []));
}

interface Node {
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  digest?: string;
  target?: string;
  ino?: number;
}

/** Every path below `dir` with its type, masked mode, content digest and link target. */
function tree(dir: string, prefix = ""): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    const info = lstatSync(full);
    const mode = info.mode & ARCHIVE_MODE_MASK;
    if (info.isSymbolicLink()) out.set(rel, { type: "symlink", mode: 0, target: readlinkSync(full) });
    else if (info.isDirectory()) {
      out.set(rel, { type: "dir", mode: mode | 0o700 });
      for (const [k, v] of tree(full, rel)) out.set(k, v);
    } else if (info.isFile()) out.set(rel, { type: "file", mode, digest: createHash("sha256").update(readFileSync(full)).digest("hex"), ino: info.ino });
    else out.set(rel, { type: "other", mode });
  }
  return out;
}

/** Hard-link groups as sets of names, from inode numbers. */
function linkGroups(t: Map<string, Node>): string[][] {
  const byIno = new Map<number, string[]>();
  for (const [k, v] of t) if (v.ino !== undefined) byIno.set(v.ino, [...(byIno.get(v.ino) ?? []), k]);
  return [...byIno.values()].filter((g) => g.length > 1).map((g) => g.sort());
}

function withoutIno(t: Map<string, Node>): Map<string, Node> {
  return new Map([...t].map(([k, { ino: _ino, ...rest }]) => [k, rest]));
}

/** kimg's extraction of every archive of `bytes` into `dir`, one folder per archive, named as `extract --all` names them. */
async function kimgExtract(bytes: Uint8Array, dir: string): Promise<string[]> {
  const { archives: found } = await archives(bytes);
  mkdirSync(dir, { recursive: true });
  for (const a of found) writeArchive(join(dir, a.dirName), a.plan, a.data);
  return found.map((a) => a.dirName);
}

describe("initramfs images made by mkinitramfs and dracut", { skip }, () => {
  let work: string;
  let mk: Uint8Array;
  let dracut: Uint8Array;
  let early: Uint8Array;

  before(() => {
    const versions = `${packageVersion("initramfs-tools-core")}-${packageVersion("dracut-core")}`.replace(/[^A-Za-z0-9.+-]/g, "_");
    mk = cached(`mkinitramfs-${versions}-zstd.img`, buildMkinitramfs);
    dracut = cached(`dracut-${versions}-gzip.img`, buildDracut);
    work = mkdtempSync(join(tmpdir(), "kimg-initramfs-"));
    early = earlyCpio(work);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const which of ["mkinitramfs", "dracut"] as const) {
    test(`${which}: early microcode cpio + compressed main archive: segments, listing = lsinitramfs, extraction = unmkinitramfs`, async () => {
      const main = which === "mkinitramfs" ? mk : dracut;
      const image = concat(early, main);
      const path = join(work, `${which}.img`);
      writeFileSync(path, image);
      const report = await inspect(image);
      assert.equal(report.root.format, "initramfs");
      const segments = report.root.info.segments as Array<{ kind: string; offset: number; size: number; paddingBytes: number }>;
      assert.deepEqual(
        segments.map((s) => [s.kind, s.offset, s.size, s.paddingBytes]),
        [
          ["cpio", 0, trailerEnd(early), early.length - trailerEnd(early)],
          [which === "mkinitramfs" ? "zstd" : "gzip", early.length, main.length, 0],
        ],
      );
      assert.deepEqual(await kimgNames(image), lsinitramfs(path));
      // What kexec load prints for this initrd (report/initramfs-summary.ts)
      const entries = (p: string): number => [...allLayers(report.root)].find((l) => l.path === p)?.archive?.entries.length ?? -1;
      assert.deepEqual(
        initrdSummary(report).segments.map((s) => [s.path, s.kind, s.offset, s.size, s.archive?.entries]),
        [
          ["/segment-0", "cpio", 0, trailerEnd(early), 5],
          ["/segment-1", which === "mkinitramfs" ? "zstd" : "gzip", early.length, main.length, entries("/segment-1/decompressed")],
        ],
      );
      assert.equal(entries("/segment-1/decompressed"), lsinitramfs(path).length - 5);

      const ours = join(work, `${which}-kimg`);
      const theirs = join(work, `${which}-unmk`);
      assert.deepEqual(await kimgExtract(image, ours), ["segment-0", "segment-1.decompressed"]);
      run("unmkinitramfs", [path, theirs]);
      const a = tree(join(ours, "segment-0"));
      const b = tree(join(theirs, "early"));
      assert.deepEqual(withoutIno(a), withoutIno(b));
      const mainOurs = tree(join(ours, "segment-1.decompressed"));
      const mainTheirs = tree(join(theirs, "main"));
      assert.ok(mainOurs.size > 100, `${mainOurs.size} paths`);
      assert.deepEqual(withoutIno(mainOurs), withoutIno(mainTheirs));
      assert.deepEqual(linkGroups(mainOurs), linkGroups(mainTheirs));
    });
  }

  test("a main archive compressed with every codec kimg has, after the early cpio and zero padding: listing = lsinitramfs, extraction = unmkinitramfs", async () => {
    // A small tree (what the codec is wrapped around matters, not its size): files, a symlink, a hard link.
    const root = join(work, "small");
    mkdirSync(join(root, "usr", "bin"), { recursive: true });
    writeFileSync(join(root, "init"), "#!/bin/sh\nexec /usr/bin/kimg\n".repeat(200), { mode: 0o755 });
    writeFileSync(join(root, "usr", "bin", "kimg"), createHash("sha512").update("kimg").digest().toString("hex").repeat(500));
    run("ln", ["-s", "usr/bin", join(root, "bin")]);
    run("ln", [join(root, "usr", "bin", "kimg"), join(root, "usr", "bin", "kimg2")]);
    const list = run("find", [".", "-print"], { cwd: root }).toString().split("\n").filter(Boolean).sort().join("\n") + "\n";
    const plain = new Uint8Array(run("cpio", ["-o", "-H", "newc", "--quiet", "-R", "0:0"], { cwd: root, input: Buffer.from(list) }));
    const tools: Tool[] = ["gzip", "zstd", "xz", "lzma", "lz4", "lzo", "bzip2"];
    for (const tool of tools) {
      if (needs(tool)) continue;
      // Extra zero padding once (lsinitramfs reads padding with one dd per 4 bytes: slow).
      const padding = tool === "gzip" ? 512 : 0;
      const image = concat(early, new Uint8Array(padding), compressWith(tool, plain));
      const path = join(work, `small-${tool}.img`);
      writeFileSync(path, image);
      const report = await inspect(image);
      const segments = report.root.info.segments as Array<{ kind: string; paddingBytes: number }>;
      assert.deepEqual(
        segments.map((s) => [s.kind, s.paddingBytes]),
        [
          ["cpio", early.length - trailerEnd(early) + padding],
          [tool, 0],
        ],
        tool,
      );
      assert.deepEqual(await kimgNames(image), lsinitramfs(path), tool);
      const ours = join(work, `small-${tool}-kimg`);
      const theirs = join(work, `small-${tool}-unmk`);
      await kimgExtract(image, ours);
      run("unmkinitramfs", [path, theirs]);
      const a = tree(join(ours, "segment-1.decompressed"));
      assert.deepEqual(withoutIno(a), withoutIno(tree(join(theirs, "main"))), tool);
      assert.deepEqual(linkGroups(a), [["usr/bin/kimg", "usr/bin/kimg2"]], tool);
    }
  });

  test("a crc (070702) early archive made by cpio -H crc: every checksum checked, a changed byte is CPIO_CHECKSUM_MISMATCH at its entry", async () => {
    const crc = earlyCpio(work, "crc");
    const image = concat(crc, mk);
    const report = await inspect(image);
    const seg = report.root.children[0];
    assert.equal(seg?.archive?.format, "crc");
    assert.deepEqual(
      report.diagnostics.filter((d) => d.severity !== "info"),
      [],
    );
    const entry = seg?.archive?.entries.find((e) => e.name.endsWith("GenuineIntel.bin"));
    assert.ok(entry);
    const bad = image.slice();
    bad[entry.dataOffset + 7] = (bad[entry.dataOffset + 7] ?? 0) ^ 0x55;
    const damaged = await inspect(bad);
    assert.deepEqual(
      damaged.diagnostics.map((d) => [d.code, d.offset, d.layer]),
      [["CPIO_CHECKSUM_MISMATCH", entry.offset, "/segment-0"]],
    );
    const path = join(work, "crc.img");
    writeFileSync(path, image);
    assert.deepEqual(await kimgNames(image), lsinitramfs(path));
  });
});
