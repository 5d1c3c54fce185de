/**
 * Hostile cpio archives (issue 16): every malformed header is a coded error at its offset, and
 * extraction never writes outside its folder, never through a link, creates no device node,
 * masks permissions and stops at the named limits. Archives are built field by field
 * (support/builders/cpio.ts), as no real tool writes these.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type ArchivePlan, planArchive } from "../src/analysis/archive-plan.js";
import { archives } from "../src/api/archive.js";
import { inspect } from "../src/api/inspect.js";
import { readCpio } from "../src/formats/cpio.js";
import { DEFAULT_LIMITS } from "../src/io/limits.js";
import { KimgError } from "../src/io/errors.js";
import { writeArchive } from "../src/node/archive-writer.js";
import { buildArm64Image } from "../support/builders/images.js";
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK, cpioArchive, cpioEntry } from "../support/builders/cpio.js";

const work = mkdtempSync(join(tmpdir(), "kimg-cpio-hostile-"));
let serial = 0;

/** Extracts every archive of `bytes` into a fresh folder inside a fresh parent; returns the folder, the parent and the skips. */
async function extract(bytes: Uint8Array): Promise<{ dir: string; parent: string; skipped: Array<[string, string, number]> }> {
  const parent = join(work, `case-${serial++}`);
  mkdirSync(parent);
  const { archives: found } = await archives(bytes);
  assert.equal(found.length, 1);
  const a = found[0] as (typeof found)[number];
  const dir = join(parent, "out");
  writeArchive(dir, a.plan, a.data);
  return { dir, parent, skipped: a.plan.skipped.map((s) => [s.code, s.name, s.offset]) };
}

function offsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const text = Buffer.from(bytes).toString("latin1");
  for (let i = text.indexOf("0707"); i >= 0; i = text.indexOf("0707", i + 1)) if (i % 4 === 0) out.push(i);
  return out;
}

test("names with .., absolute names, names with a NUL and empty names are listed and never written", async () => {
  const bytes = cpioArchive([
    { name: "ok", mode: S_IFREG | 0o644, data: "fine\n" },
    { name: "../escape", mode: S_IFREG | 0o644, data: "x" },
    { name: "a/../../escape2", mode: S_IFREG | 0o644, data: "x" },
    { name: "/etc/escape3", mode: S_IFREG | 0o644, data: "x" },
    { name: new Uint8Array([0x61, 0x00, 0x62]), mode: S_IFREG | 0o644, data: "x" },
    { name: "", mode: S_IFREG | 0o644, data: "x" },
  ]);
  const report = await inspect(bytes);
  assert.deepEqual(
    report.root.archive?.entries.map((e) => e.name),
    ["ok", "../escape", "a/../../escape2", "/etc/escape3", "a\uFFFDb", ""],
  );
  const at = offsets(bytes);
  const { dir, parent, skipped } = await extract(bytes);
  assert.deepEqual(skipped, [
    ["ARCHIVE_UNSAFE_NAME", "../escape", at[1]],
    ["ARCHIVE_UNSAFE_NAME", "a/../../escape2", at[2]],
    ["ARCHIVE_UNSAFE_NAME", "/etc/escape3", at[3]],
    ["ARCHIVE_UNSAFE_NAME", "a\uFFFDb", at[4]],
    ["ARCHIVE_UNSAFE_NAME", "", at[5]],
  ]);
  assert.deepEqual(readdirSync(dir), ["ok"]);
  assert.deepEqual(readdirSync(parent), ["out"]);
  assert.equal(existsSync("/etc/escape3"), false);
});

test("a symlink, then a file written through it: the link is made last, the file is refused (ARCHIVE_THROUGH_LINK)", async () => {
  const outside = join(work, "outside");
  mkdirSync(outside);
  const bytes = cpioArchive([
    { name: "link", mode: S_IFLNK | 0o777, data: outside },
    { name: "link/owned", mode: S_IFREG | 0o644, data: "through the link\n" },
    { name: "up", mode: S_IFLNK | 0o777, data: ".." },
    { name: "up/owned2", mode: S_IFREG | 0o644, data: "x" },
    { name: "file", mode: S_IFREG | 0o644, data: "x" },
    { name: "file/below", mode: S_IFREG | 0o644, data: "x" },
  ]);
  const at = offsets(bytes);
  const { dir, parent, skipped } = await extract(bytes);
  assert.deepEqual(skipped, [
    ["ARCHIVE_THROUGH_LINK", "link/owned", at[1]],
    ["ARCHIVE_THROUGH_LINK", "up/owned2", at[3]],
    ["ARCHIVE_THROUGH_LINK", "file/below", at[5]],
  ]);
  assert.deepEqual(readdirSync(outside), []);
  assert.deepEqual(readdirSync(parent), ["out"]);
  assert.equal(readlinkSync(join(dir, "link")), outside);
  assert.equal(readlinkSync(join(dir, "up")), "..");
  assert.equal(readFileSync(join(dir, "file"), "utf8"), "x");
});

test("the writer refuses a plan that writes through a symlink, even one not made by the planner", () => {
  const outside = join(work, "outside-2");
  mkdirSync(outside);
  const data = new TextEncoder().encode("x");
  const plan: ArchivePlan = {
    ops: [
      { kind: "symlink", path: "l", target: outside, mtime: 0, entryOffset: 0 },
      { kind: "file", path: "l/f", mode: 0o644, mtime: 0, entryOffset: 0, dataOffset: 0, size: 1 },
    ],
    skipped: [],
    totalBytes: 1,
  };
  const dir = join(work, "writer-refuses");
  assert.throws(
    () => writeArchive(dir, plan, data),
    (e: unknown) => e instanceof KimgError && e.code === "E_IO" && /l is not a directory made by this extraction/.test(e.message),
  );
  assert.deepEqual(readdirSync(outside), []);
});

test("device nodes, FIFOs and sockets are listed with their numbers and skipped (ARCHIVE_SPECIAL_SKIPPED); nothing but the file is made", async () => {
  const bytes = cpioArchive([
    { name: "dev", mode: S_IFDIR | 0o755 },
    { name: "dev/console", mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: "dev/sda", mode: S_IFBLK | 0o660, rdevMajor: 8, rdevMinor: 0 },
    { name: "dev/fifo", mode: S_IFIFO | 0o644 },
    { name: "dev/sock", mode: S_IFSOCK | 0o755 },
    { name: "dev/file", mode: S_IFREG | 0o644, data: "x" },
  ]);
  const report = await inspect(bytes);
  const entries = report.root.archive?.entries ?? [];
  assert.deepEqual(
    entries.map((e) => [e.type, e.modeText, e.rdevMajor, e.rdevMinor]),
    [
      ["dir", "drwxr-xr-x", 0, 0],
      ["char", "crw-------", 5, 1],
      ["block", "brw-rw----", 8, 0],
      ["fifo", "prw-r--r--", 0, 0],
      ["socket", "srwxr-xr-x", 0, 0],
      ["file", "-rw-r--r--", 0, 0],
    ],
  );
  const at = offsets(bytes);
  const { dir, skipped } = await extract(bytes);
  assert.deepEqual(skipped, [
    ["ARCHIVE_SPECIAL_SKIPPED", "dev/console", at[1]],
    ["ARCHIVE_SPECIAL_SKIPPED", "dev/sda", at[2]],
    ["ARCHIVE_SPECIAL_SKIPPED", "dev/fifo", at[3]],
    ["ARCHIVE_SPECIAL_SKIPPED", "dev/sock", at[4]],
  ]);
  assert.deepEqual(readdirSync(join(dir, "dev")), ["file"]);
});

test("permissions are masked: no setuid, setgid or sticky bit, no group or other write (ARCHIVE_MODE_MASKED)", async () => {
  const bytes = cpioArchive([
    { name: "suid", mode: S_IFREG | 0o4755, data: "x" },
    { name: "world", mode: S_IFREG | 0o666, data: "x" },
    { name: "tmp", mode: S_IFDIR | 0o1777 },
    { name: "plain", mode: S_IFREG | 0o640, data: "x" },
  ]);
  const at = offsets(bytes);
  const { dir, skipped } = await extract(bytes);
  assert.deepEqual(skipped, [
    ["ARCHIVE_MODE_MASKED", "suid", at[0]],
    ["ARCHIVE_MODE_MASKED", "world", at[1]],
    ["ARCHIVE_MODE_MASKED", "tmp", at[2]],
  ]);
  const mode = (p: string): number => lstatSync(join(dir, p)).mode & 0o7777;
  assert.deepEqual([mode("suid"), mode("world"), mode("tmp"), mode("plain")], [0o755, 0o644, 0o755, 0o640]);
});

test("hard links: newc c_nlink 2 with the data on the last name gives one file with two names; a duplicate name: the later entry wins", async () => {
  const bytes = cpioArchive([
    { name: "bin", mode: S_IFDIR | 0o755 },
    { name: "bin/a", mode: S_IFREG | 0o755, ino: 42, nlink: 2, data: "" },
    { name: "bin/b", mode: S_IFREG | 0o755, ino: 42, nlink: 2, data: "shared data\n" },
    { name: "dup", mode: S_IFREG | 0o644, data: "first" },
    { name: "dup", mode: S_IFREG | 0o644, data: "second" },
  ]);
  const at = offsets(bytes);
  const { dir, skipped } = await extract(bytes);
  assert.deepEqual(skipped, [["ARCHIVE_DUPLICATE_NAME", "dup", at[3]]]);
  const a = lstatSync(join(dir, "bin/a"));
  const b = lstatSync(join(dir, "bin/b"));
  assert.equal(a.ino, b.ino);
  assert.equal(a.nlink, 2);
  assert.equal(readFileSync(join(dir, "bin/a"), "utf8"), "shared data\n");
  assert.equal(readFileSync(join(dir, "dup"), "utf8"), "second");
});

test("extraction goes into a new folder only: an existing one is E_OUTPUT_EXISTS", async () => {
  const bytes = cpioArchive([{ name: "f", mode: S_IFREG | 0o644, data: "x" }]);
  const { archives: found } = await archives(bytes);
  const a = found[0];
  assert.ok(a);
  const dir = join(work, "exists");
  mkdirSync(dir);
  assert.throws(
    () => writeArchive(dir, a.plan, a.data),
    (e: unknown) => e instanceof KimgError && e.code === "E_OUTPUT_EXISTS",
  );
});

test("limits: maxArchiveEntries stops the listing at the entry past it, maxArchiveNameBytes at c_namesize, maxArchiveBytes and maxArchivePathDepth in the plan", async () => {
  const many = cpioArchive(Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, mode: S_IFREG | 0o644, data: "x" })));
  const at = offsets(many);
  const report = await inspect(many, { limits: { maxArchiveEntries: 5 } });
  assert.equal(report.root.archive?.entries.length, 5);
  assert.equal(report.root.archive?.incomplete, true);
  assert.deepEqual(
    report.diagnostics.map((d) => [d.code, d.offset]),
    [["E_LIMIT", at[5]]],
  );
  const long = cpioArchive([{ name: "n".repeat(300), mode: S_IFREG | 0o644, data: "x" }]);
  const r2 = await inspect(long, { limits: { maxArchiveNameBytes: 255 } });
  assert.deepEqual(
    r2.diagnostics.map((d) => [d.code, d.offset]),
    [["E_LIMIT", 94]],
  );
  const read = readCpio(many, { base: 0, limits: DEFAULT_LIMITS });
  assert.throws(
    () => planArchive(read, { ...DEFAULT_LIMITS, maxArchiveBytes: 7 }, (e) => e.dataOffset),
    (e: unknown) => e instanceof KimgError && e.code === "E_LIMIT" && e.offset === at[7] && e.data.limit === "maxArchiveBytes",
  );
  const deep = cpioArchive([{ name: "a/".repeat(10) + "f", mode: S_IFREG | 0o644, data: "x" }]);
  const plan = planArchive(readCpio(deep, { base: 0, limits: DEFAULT_LIMITS }), { ...DEFAULT_LIMITS, maxArchivePathDepth: 8 }, (e) => e.dataOffset);
  assert.deepEqual(
    plan.skipped.map((s) => s.code),
    ["ARCHIVE_UNSAFE_NAME"],
  );
  assert.deepEqual(plan.ops, []);
});

test("a million entries are refused at maxArchiveEntries without reading them all", async () => {
  const one = cpioEntry({ name: "x", mode: S_IFREG | 0o644, data: "" });
  const count = 1_000_001;
  const bytes = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) bytes.set(one, i * one.length);
  const started = performance.now();
  const report = await inspect(bytes, { limits: { maxArchiveEntries: 1000 } });
  assert.ok(performance.now() - started < 5000);
  assert.deepEqual(
    report.diagnostics.map((d) => [d.code, d.offset]),
    [["E_LIMIT", 1000 * one.length]],
  );
});

test("every malformed header is a coded error at its offset; the entries before it stay listed", async () => {
  const good = cpioEntry({ name: "good", mode: S_IFREG | 0o644, data: "x" });
  const cases: Array<[string, Uint8Array, string, number]> = [];
  // A bad magic in the middle
  const badMagic = cpioEntry({ name: "b", mode: S_IFREG | 0o644, data: "y" });
  badMagic.set(new TextEncoder().encode("070799"), 0);
  cases.push(["bad magic", Buffer.concat([good, badMagic]), "E_BAD_MAGIC", good.length]);
  // A field that is not hex (c_uid)
  const notHex = cpioEntry({ name: "b", mode: S_IFREG | 0o644, data: "y" });
  notHex.set(new TextEncoder().encode("0000zz00"), 22);
  cases.push(["c_uid not hex", Buffer.concat([good, notHex]), "E_BAD_FIELD", good.length + 22]);
  // c_filesize past the end
  const big = cpioEntry({ name: "b", mode: S_IFREG | 0o644, data: "y", fileSize: 0x7fffffff });
  cases.push(["c_filesize past the end", Buffer.concat([good, big]), "E_TRUNCATED", good.length + 54]);
  // The name without its NUL
  const noNul = cpioEntry({ name: "abc", mode: S_IFREG | 0o644, data: "y", noNul: true, nameSize: 3 });
  cases.push(["name without NUL", Buffer.concat([good, noNul]), "E_BAD_FIELD", good.length + 110 + 2]);
  // c_namesize 0
  const zeroName = cpioEntry({ name: "", mode: S_IFREG | 0o644, nameSize: 0 });
  cases.push(["c_namesize 0", Buffer.concat([good, zeroName]), "E_BAD_FIELD", good.length + 94]);
  // No trailer
  cases.push(["no TRAILER!!!", Buffer.concat([good, good]), "E_TRUNCATED", 2 * good.length]);
  // A header cut short
  cases.push(["header cut short", Buffer.concat([good, good.subarray(0, 50)]), "E_TRUNCATED", good.length]);
  // A crc header inside a newc archive
  const crcInside = cpioEntry({ name: "b", mode: S_IFREG | 0o644, data: "y", magic: "070702" });
  cases.push(["crc inside newc", Buffer.concat([good, crcInside]), "E_BAD_MAGIC", good.length]);
  // A symlink target over PATH_MAX
  const longLink = cpioEntry({ name: "l", mode: S_IFLNK | 0o777, data: "t".repeat(5000) });
  cases.push(["symlink over PATH_MAX", Buffer.concat([good, longLink]), "E_BAD_FIELD", good.length + 54]);
  for (const [what, bytes, code, offset] of cases) {
    const report = await inspect(new Uint8Array(bytes));
    assert.deepEqual(
      report.diagnostics.map((d) => [d.code, d.offset, d.layer]),
      [[code, offset, "/"]],
      what,
    );
    assert.deepEqual(
      report.root.archive?.entries.map((e) => e.name),
      what === "no TRAILER!!!" ? ["good", "good"] : ["good"],
      what,
    );
  }
});

test("kimg extract --all on a cpio archive: the archive layer's files in DIR/root, the skipped entries on stderr with their codes", () => {
  const input = join(work, "cli.cpio");
  writeFileSync(
    input,
    cpioArchive([
      { name: "init", mode: S_IFREG | 0o755, data: "#!/bin/sh\n" },
      { name: "dev/console", mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    ]),
  );
  const out = join(work, "cli-out");
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", "extract", input, "--all", out]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.match(r.stderr.toString(), /ARCHIVE_SPECIAL_SKIPPED/);
  assert.deepEqual(readdirSync(out).sort(), ["root", "root.cpio"]);
  assert.equal(readFileSync(join(out, "root", "init"), "utf8"), "#!/bin/sh\n");
  // dev/ is not made: nothing extracted lies in it.
  assert.deepEqual(readdirSync(join(out, "root")), ["init"]);
});

test("a raw kernel image full of chained cpio headers without a trailer: the built-in search reads it about once, and finds nothing", async () => {
  const image = buildArm64Image({ codeSize: 0x800000 });
  const one = cpioEntry({ name: "x", mode: S_IFREG | 0o644, data: "" });
  for (let at = 0x10000; at + one.length <= image.length - 0x1000; at += one.length) image.set(one, at);
  const started = performance.now();
  const report = await inspect(image);
  assert.ok(performance.now() - started < 10_000, `${performance.now() - started} ms`);
  assert.equal(report.root.info.builtinInitramfs, undefined);
  assert.equal(
    report.root.children.some((c) => c.path === "/initramfs"),
    false,
  );
});
