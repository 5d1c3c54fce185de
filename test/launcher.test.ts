/**
 * The CLI's launcher (src/cli/launcher.ts): the bundle's chunks run as scripts whose V8 code
 * caches are written after a command's first run and used by the next ones, in a private folder
 * per user under TMPDIR, per build and per command. Each run here has a TMPDIR of its own, and
 * KIMG_DEBUG_CACHE=1 has the launcher say what it did with each chunk.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const dir = mkdtempSync(join(tmpdir(), "kimg-launcher-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const bundle = join(dir, "bundle");
const built = spawnSync(process.execPath, ["scripts/bundle-cli.mjs", bundle], { encoding: "utf8" });
const SAMPLE = "samples/arm64-zboot-gzip.efi";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The launcher's KIMG_DEBUG_CACHE lines, without their prefix. */
  cache: string[];
}

function launch(temp: string, args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [join(bundle, "launch.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, TMPDIR: temp, KIMG_DEBUG_CACHE: "1", ...env },
  });
  const lines = r.stderr.split("\n");
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: lines.filter((l) => !l.startsWith("kimg code cache: ")).join("\n"),
    cache: lines.filter((l) => l.startsWith("kimg code cache: ")).map((l) => l.slice("kimg code cache: ".length)),
  };
}

/** What the sources say for the same arguments (tsx, no bundle, no launcher). */
function fromSources(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout };
}

const freshTemp = (): string => mkdtempSync(join(dir, "tmp-"));
const uid = process.getuid?.() ?? -1;
/** The folder of this build's caches for `command` under `temp`. */
function commandFolder(temp: string, command: string): string {
  const root = join(temp, `kimg-code-cache-${uid}`, `${process.version}-${process.arch}`);
  const [build] = readdirSync(root);
  return join(root, build ?? "", command);
}

test("first run writes a code cache per chunk it ran, after the run; the next run uses them all; the output is the sources'", { skip: uid < 0 }, () => {
  assert.equal(built.status, 0, built.stderr);
  const temp = freshTemp();
  const args = ["inspect", "--json", SAMPLE];
  const want = fromSources(args);
  assert.equal(want.status, 0);

  const first = launch(temp, args);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout, want.stdout);
  const loaded = first.cache.filter((l) => l.endsWith(": no cache")).map((l) => l.split(":")[0]);
  const wrote = first.cache.filter((l) => / wrote \d+ bytes$/.test(l)).map((l) => l.split(": wrote")[0]);
  assert.ok(loaded.some((n) => /^run-\w+\.js$/.test(n ?? "")) && loaded.some((n) => /^inspect-\w+\.js$/.test(n ?? "")), loaded.join(" "));
  assert.deepEqual(wrote, loaded, "every chunk run gets a cache, written at exit");
  // The folder is private to this user, and named after the command.
  const root = join(temp, `kimg-code-cache-${uid}`);
  assert.equal(statSync(root).mode & 0o777, 0o700);
  const folder = commandFolder(temp, "inspect");
  // Each named by its chunk, and the chunk file's size and modification time.
  assert.deepEqual(
    readdirSync(folder)
      .map((f) => {
        const [, chunk, size] = /^(.+\.js)\.(\d+)-\d+\.cache$/.exec(f) ?? [];
        assert.equal(Number(size), statSync(join(bundle, chunk ?? "")).size, f);
        return chunk;
      })
      .sort(),
    [...loaded].sort(),
  );
  for (const name of readdirSync(folder)) assert.equal(statSync(join(folder, name)).mode & 0o077, 0, name);

  const second = launch(temp, args);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, want.stdout);
  assert.deepEqual(
    second.cache,
    loaded.map((n) => `${n}: cache used`),
  );
});

test("a cache V8 refuses (damaged, or made by another Node) is replaced, and the output does not change", { skip: uid < 0 }, () => {
  assert.equal(built.status, 0, built.stderr);
  const temp = freshTemp();
  const args = ["inspect", "--json", SAMPLE];
  const first = launch(temp, args);
  assert.equal(first.status, 0, first.stderr);
  const folder = commandFolder(temp, "inspect");
  const entry = readdirSync(folder).find((n) => n.startsWith("run-")) as string;
  const good = readFileSync(join(folder, entry));
  const damaged = Uint8Array.from(good);
  for (let i = 0; i < 64; i++) damaged[i] = (damaged[i] as number) ^ 0xff;
  writeFileSync(join(folder, entry), damaged);

  const second = launch(temp, args);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  const name = entry.slice(0, entry.indexOf(".js.") + 3);
  assert.ok(second.cache.includes(`${name}: cache refused`), second.cache.join("\n"));
  assert.ok(
    second.cache.some((l) => l.startsWith(`${name}: wrote `)),
    "rewritten",
  );
  assert.equal(second.cache.filter((l) => l.includes("wrote")).length, 1, "only the refused one is written again");
  assert.ok(launch(temp, args).cache.includes(`${name}: cache used`));
});

test("a chunk file that changed (its modification time, whatever its length) gets a cache of its own", { skip: uid < 0 }, () => {
  assert.equal(built.status, 0, built.stderr);
  const temp = freshTemp();
  const args = ["inspect", "--json", SAMPLE];
  assert.equal(launch(temp, args).status, 0);
  // The same bytes written again: V8 would take the old cache (it checks the length), the launcher does not offer it.
  const chunk = readdirSync(bundle).find((n) => /^inspect-\w+\.js$/.test(n)) as string;
  const file = join(bundle, chunk);
  const text = readFileSync(file);
  writeFileSync(file, text);
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const again = launch(temp, args);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(again.cache.includes(`${chunk}: no cache`), again.cache.join("\n"));
  assert.equal(again.cache.filter((l) => l.endsWith(": no cache")).length, 1, "only that chunk");
  // Its old cache is gone: one cache per chunk, however often the bundle is rebuilt.
  const folder = commandFolder(temp, "inspect");
  assert.equal(readdirSync(folder).filter((f) => f.startsWith(`${chunk}.`)).length, 1);
});

test("other builds' and Node versions' folders with no cache written for two weeks are removed when caches are written, not before", { skip: uid < 0 }, () => {
  assert.equal(built.status, 0, built.stderr);
  const temp = freshTemp();
  const args = ["inspect", "--json", SAMPLE];
  const root = join(temp, `kimg-code-cache-${uid}`);
  const node = join(root, `${process.version}-${process.arch}`);
  // Made as the launcher makes them, before this build's first run: an old build, a recent one, an old Node's.
  const days = (n: number): Date => new Date(Date.now() - n * 86_400_000);
  const folders = {
    oldBuild: join(node, "run-OLDBUILD", "inspect"),
    recentBuild: join(node, "run-RECENT", "inspect"),
    oldNode: join(root, "v0.0.1-x64", "run-X", "other"),
  };
  for (const folder of Object.values(folders)) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    writeFileSync(join(folder, "chunk-A.js.1-1.cache"), "stale");
  }
  chmodSync(root, 0o700);
  utimesSync(join(node, "run-OLDBUILD"), days(15), days(15));
  utimesSync(join(node, "run-RECENT"), days(13), days(13));
  utimesSync(join(root, "v0.0.1-x64"), days(30), days(30));

  const first = launch(temp, args);
  assert.equal(first.status, 0, first.stderr);
  assert.ok(
    first.cache.some((l) => / wrote \d+ bytes$/.test(l)),
    first.cache.join("\n"),
  );
  assert.equal(existsSync(join(node, "run-OLDBUILD")), false, "15 days without a write: removed");
  assert.equal(existsSync(join(root, "v0.0.1-x64")), false, "another Node's, 30 days: removed");
  assert.equal(existsSync(folders.recentBuild), true, "13 days: kept");
  assert.ok(first.cache.includes("run-OLDBUILD: removed, no cache written there for 14 days"), first.cache.join("\n"));
  // This build's folder is marked as used now.
  const build = join(node, readdirSync(node).find((n) => n !== "run-RECENT") as string);
  assert.ok(Date.now() - statSync(build).mtimeMs < 60_000);

  // A run that writes nothing removes nothing.
  mkdirSync(folders.oldBuild, { recursive: true });
  utimesSync(join(node, "run-OLDBUILD"), days(15), days(15));
  const second = launch(temp, args);
  assert.equal(second.status, 0, second.stderr);
  assert.ok(!second.cache.some((l) => / wrote /.test(l)), second.cache.join("\n"));
  assert.equal(existsSync(folders.oldBuild), true);
});

test("each command has its caches; help, --version and unknown names share 'other'", { skip: uid < 0 }, () => {
  assert.equal(built.status, 0, built.stderr);
  const temp = freshTemp();
  assert.equal(launch(temp, ["inspect", SAMPLE]).status, 0);
  assert.equal(launch(temp, ["extract", SAMPLE, "-o", join(temp, "Image")]).status, 0);
  const version = launch(temp, ["--version"]);
  assert.equal(version.status, 0);
  assert.equal(version.stdout, `${JSON.parse(readFileSync("package.json", "utf8")).version}\n`);
  const typo = launch(temp, ["inspekt", SAMPLE]);
  assert.equal(typo.status, fromSources(["inspekt", SAMPLE]).status);
  assert.notEqual(typo.status, 0);
  const build = join(temp, `kimg-code-cache-${uid}`, `${process.version}-${process.arch}`);
  const [folder] = readdirSync(build);
  assert.match(folder ?? "", /^run-\w+$/, "the build is named by its entry chunk");
  assert.deepEqual(readdirSync(join(build, folder ?? "")).sort(), ["extract", "inspect", "other"]);
  // The typo ran after --version: its chunks had caches already.
  assert.ok(
    typo.cache.every((l) => l.endsWith(": cache used")),
    typo.cache.join("\n"),
  );
});

test("exit codes and error output are the sources' (a missing file, a wrong option)", () => {
  assert.equal(built.status, 0, built.stderr);
  const temp = freshTemp();
  for (const args of [["inspect", join(temp, "missing")], ["inspect", "--no-such-option", SAMPLE], []]) {
    const r = launch(temp, args);
    const want = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8" });
    assert.equal(r.status, want.status, args.join(" "));
    assert.equal(r.stderr.trim(), want.stderr.trim(), args.join(" "));
  }
});

test("no cache where the folder is not private to this user, in a temp folder others can change, or with NODE_DISABLE_COMPILE_CACHE", { skip: uid < 0 }, () => {
  assert.equal(built.status, 0, built.stderr);
  const want = fromSources(["inspect", "--json", SAMPLE]);

  const open = freshTemp();
  const root = join(open, `kimg-code-cache-${uid}`);
  mkdirSync(root);
  chmodSync(root, 0o777);
  const r = launch(open, ["inspect", "--json", SAMPLE]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, want.stdout);
  assert.deepEqual(r.cache, [`${root} is not a private folder of uid ${uid}: not used`]);
  assert.deepEqual(readdirSync(root), []);

  if (uid === 0) {
    // Someone else's folder, however private.
    const other = freshTemp();
    const theirs = join(other, "kimg-code-cache-0");
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    const o = launch(other, ["inspect", "--json", SAMPLE]);
    assert.equal(o.stdout, want.stdout);
    assert.deepEqual(o.cache, [`${theirs} is not a private folder of uid 0: not used`]);
  }

  // A temp folder anyone may rename entries in, unless sticky as /tmp is.
  const shared = freshTemp();
  chmodSync(shared, 0o777);
  const s = launch(shared, ["inspect", "--json", SAMPLE]);
  assert.equal(s.stdout, want.stdout);
  assert.deepEqual(s.cache, [`${shared} is neither this user's nor root's, or others may rename its entries: not used`]);
  assert.equal(existsSync(join(shared, `kimg-code-cache-${uid}`)), false);
  chmodSync(shared, 0o1777);
  assert.ok(launch(shared, ["inspect", "--json", SAMPLE]).cache.some((l) => l.endsWith(": no cache")));

  // A temp folder that is not there: no cache, the same output.
  const missing = join(freshTemp(), "gone");
  const m = launch(missing, ["inspect", "--json", SAMPLE]);
  assert.equal(m.stdout, want.stdout);
  assert.equal(m.cache.length, 1);
  assert.match(m.cache[0] ?? "", /^cannot use .*gone.*ENOENT.*: not used$/);

  const off = freshTemp();
  const d = launch(off, ["inspect", "--json", SAMPLE], { NODE_DISABLE_COMPILE_CACHE: "1" });
  assert.equal(d.stdout, want.stdout);
  assert.deepEqual(d.cache, []);
  assert.equal(existsSync(join(off, `kimg-code-cache-${uid}`)), false);
});
