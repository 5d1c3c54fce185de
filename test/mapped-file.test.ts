/**
 * node/mapped-file.ts: the CLI maps a large input under a read lease instead of reading it (issue
 * 14), byte-exact; while it runs, another process's truncation waits for it (no SIGBUS); where
 * the lease is refused (the file is open for writing) the file is read as before. Linux only.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { codeLike } from "../support/builders/bytes.js";

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "kimg-map-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const linux = process.platform === "linux" && ["x64", "arm64", "riscv64", "loong64", "ppc64", "s390x"].includes(process.arch);

/**
 * Node running `body` as the CLI would read FILE (readInput with map, streams guarded so koffi
 * may load); `mapped()` tells whether FILE is among the process's mappings.
 */
function childCode(file: string, body: string): string {
  return [
    `import { readInput } from ${JSON.stringify(new URL("../src/node/files.ts", import.meta.url).href)};`,
    `import { guardStandardStreamsAtExit } from ${JSON.stringify(new URL("../src/node/koffi.ts", import.meta.url).href)};`,
    `import { createHash } from "node:crypto"; import { readFileSync } from "node:fs";`,
    `guardStandardStreamsAtExit();`,
    `const file = ${JSON.stringify(file)};`,
    `const mapped = () => readFileSync("/proc/self/maps", "utf8").includes(file);`,
    `const sha = (b) => createHash("sha256").update(b).digest("hex");`,
    body,
  ].join("\n");
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

test("a large input is mapped, not read, and comes back byte-exact; a small one is read", { skip: !linux && "Linux" }, () => {
  const data = codeLike(6 * MiB + 123);
  const file = join(dir, "large.bin");
  writeFileSync(file, data);
  const small = join(dir, "small.bin");
  writeFileSync(small, data.subarray(0, MiB));
  const body = `const a = await readInput(file, { map: true });
const wasMapped = mapped();
const b = await readInput(${JSON.stringify(small)}, { map: true });
const c = await readInput(file, { map: true, maxBytes: 1024 }).then(() => "read", (e) => e.code);
console.log(JSON.stringify({ a: sha(a), length: a.length, wasMapped, b: sha(b), smallMapped: readFileSync("/proc/self/maps", "utf8").includes(${JSON.stringify(small)}), c }));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", childCode(file, body)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.deepEqual(got, { a: sha256(data), length: data.length, wasMapped: true, b: sha256(data.subarray(0, MiB)), smallMapped: false, c: "E_LIMIT" });
});

test("while kimg has a file mapped, another process's truncation of it waits until kimg ends", { skip: !linux && "Linux" }, async () => {
  const data = codeLike(8 * MiB);
  const file = join(dir, "leased.bin");
  writeFileSync(file, data);
  // Maps the file, says so, then reads all of it again and again for a second before it hashes it.
  const body = `const a = await readInput(file, { map: true });
console.log("mapped " + mapped());
const until = Date.now() + 1000; let sum = 0;
while (Date.now() < until) for (let i = 0; i < a.length; i += 4096) sum += a[i];
console.log("done " + Date.now() + " " + sha(a));`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", childCode(file, body)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("mapped")) resolve();
    });
    child.on("close", () => reject(new Error(`child ended first: ${out} ${err}`)));
  });
  assert.match(out, /mapped true/);
  // truncate(2) by path, as a process that replaces the file would: it must wait for the lease.
  const truncator = spawnSync(process.execPath, ["-e", `require("fs").truncateSync(${JSON.stringify(file)}, 0); console.log(Date.now())`], {
    encoding: "utf8",
  });
  assert.equal(truncator.status, 0, truncator.stderr);
  assert.equal(await exited, 0, err);
  const done = /done (\d+) ([0-9a-f]+)/.exec(out);
  assert.ok(done, out);
  assert.equal(done[2], sha256(data), "the whole file as it was");
  assert.ok(Number(truncator.stdout.trim()) >= Number(done[1]), "the truncation waited for kimg");
  assert.equal(statSync(file).size, 0);
});

test("a file open for writing elsewhere gets no lease and is read as before", { skip: !linux && "Linux" }, () => {
  const data = codeLike(5 * MiB);
  const file = join(dir, "written.bin");
  writeFileSync(file, data);
  const writer = openSync(file, "r+");
  try {
    const body = `const a = await readInput(file, { map: true }); console.log(JSON.stringify({ a: sha(a), mapped: mapped() }));`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", childCode(file, body)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { a: sha256(data), mapped: false });
  } finally {
    closeSync(writer);
  }
  // A library call (no map asked) never maps.
  assert.deepEqual(readFileSync(file), Buffer.from(data));
});

test("only files on local disk file systems are mapped: not /proc, not a network or FUSE file system", { skip: !linux && "Linux" }, async () => {
  const { isLocalFileSystem } = await import("../src/node/mapped-file.js");
  assert.equal(isLocalFileSystem(statfsSync(dir).type), true, `the test folder's file system (0x${statfsSync(dir).type.toString(16)})`);
  assert.equal(isLocalFileSystem(statfsSync("/proc/self/status").type), false, "procfs");
  // NFS, SMB2, FUSE (virtiofs, sshfs), 9p.
  for (const type of [0x6969, 0xfe534d42, 0x65735546, 0x01021997]) assert.equal(isLocalFileSystem(type), false, `0x${type.toString(16)}`);
});
