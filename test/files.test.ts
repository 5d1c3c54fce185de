/**
 * The CLI's write path in-process (src/node/files.ts): both temp-file kinds (Linux O_TMPFILE and
 * the named fallback), long names near NAME_MAX, a disk that fails part way through a set,
 * --force undone when a later file of the set cannot be placed, and files streamed while decoded.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, test } from "node:test";
import { OutputSet, outputIo, temporaryName, writeAtomic } from "../src/node/files.js";
import { buildArm64Image } from "../support/builders/images.js";
import { needs } from "./helpers/tools.js";

const sandbox = mkdtempSync(join(tmpdir(), "kimg-files-"));
after(() => rmSync(sandbox, { recursive: true, force: true }));
const realWrite = outputIo.write;
afterEach(() => {
  outputIo.unnamedTemps = true;
  outputIo.write = realWrite;
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const fresh = (): string => mkdtempSync(join(sandbox, "case-"));

for (const unnamed of [true, false]) {
  const kind = unnamed ? "unnamed (O_TMPFILE)" : "named";

  test(`${kind} temp files: a 250-byte output name is written, and nothing else is left`, async () => {
    outputIo.unnamedTemps = unnamed;
    const dir = fresh();
    const name = "é".repeat(125); // 250 bytes in UTF-8, a legal name
    await writeAtomic(join(dir, name), bytes("data"));
    assert.deepEqual(readdirSync(dir), [name]);
    assert.equal(readFileSync(join(dir, name), "utf8"), "data");
    // --force over it uses a second temp name beside it: still within NAME_MAX.
    await writeAtomic(join(dir, name), bytes("new"), { force: true });
    assert.deepEqual(readdirSync(dir), [name]);
    assert.equal(readFileSync(join(dir, name), "utf8"), "new");
  });

  test(`${kind} temp files: a disk failing part way through a set leaves none of it`, async () => {
    outputIo.unnamedTemps = unnamed;
    const dir = fresh();
    writeFileSync(join(dir, "old"), "mine");
    let calls = 0;
    let seen: string[] = [];
    outputIo.write = async (handle, data) => {
      if (++calls === 1) seen = readdirSync(dir);
      if (calls === 2) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      await realWrite(handle, data);
    };
    const set = await OutputSet.open(join(dir, "out"), { createDir: true });
    try {
      await set.add("a", bytes("a"));
      await assert.rejects(set.add("b", bytes("b")), (e: Error & { code?: string }) => e.code === "E_IO" && /cannot write .*out\/b: ENOSPC/.test(e.message));
    } finally {
      await set.dispose();
    }
    assert.deepEqual(readdirSync(dir), ["old"]);
    // While written, an unnamed temp file is in no folder; a named one is a hidden file beside "out".
    if (unnamed) assert.deepEqual(seen, ["old"]);
    else assert.match(seen.filter((n) => n !== "old").join(), /^\.a\.kimg-[0-9a-f]{12}\.tmp$/);
  });

  test(`${kind} temp files: --force is undone when a later file of the set cannot be placed`, async () => {
    outputIo.unnamedTemps = unnamed;
    const dir = fresh();
    writeFileSync(join(dir, "a"), "old a");
    const set = await OutputSet.open(dir, { force: true });
    try {
      await set.add("a", bytes("new a"));
      await set.add("b", bytes("new b"));
      // Between writing and placing, "b" becomes a FIFO: it must not be replaced, and "a" goes back.
      execFileSync("mkfifo", [join(dir, "b")]);
      assert.throws(
        () => set.commit(),
        (e: Error & { code?: string }) => e.code === "E_IO" && /b is a FIFO/.test(e.message),
      );
    } finally {
      await set.dispose();
    }
    assert.equal(readFileSync(join(dir, "a"), "utf8"), "old a");
    assert.ok(lstatSync(join(dir, "b")).isFIFO());
    assert.deepEqual(readdirSync(dir).sort(), ["a", "b"]);
  });

  test(`${kind} temp files: a file created by someone else before the link wins (no --force)`, async () => {
    outputIo.unnamedTemps = unnamed;
    const dir = fresh();
    const set = await OutputSet.open(join(dir, "new"), { createDir: true });
    try {
      await set.add("a", bytes("ours a"));
      await set.add("b", bytes("ours b"));
      execFileSync("mkdir", [join(dir, "new")]);
      writeFileSync(join(dir, "new", "b"), "theirs");
      assert.throws(
        () => set.commit(),
        (e: Error & { code?: string }) => e.code === "E_OUTPUT_EXISTS",
      );
    } finally {
      await set.dispose();
    }
    assert.deepEqual(readdirSync(join(dir, "new")), ["b"]);
    assert.equal(readFileSync(join(dir, "new", "b"), "utf8"), "theirs");
  });

  test(`${kind} temp files: a streamed file holds what was offered and the rest, or is written over, or cut, or left nowhere`, async () => {
    outputIo.unnamedTemps = unnamed;
    const dir = fresh();
    const data = new Uint8Array(9 * 1024 * 1024).map((_, i) => (i * 7 + (i >> 13)) & 0xff);
    const write = async (name: string, how: (file: Awaited<ReturnType<OutputSet["addStreamed"]>>) => Promise<void>) => {
      const set = await OutputSet.open(dir);
      try {
        const file = await set.addStreamed(name);
        await how(file);
        set.commit();
      } finally {
        await set.dispose();
      }
    };
    // Offered in three parts (the same buffer growing, as a decoder's), then completed.
    await write("offered", async (file) => {
      for (const upTo of [1 << 20, 1 << 20, 5 << 20, 8 << 20]) file.offer(data, upTo);
      await file.complete(data, true);
    });
    assert.ok(readFileSync(join(dir, "offered")).equals(data));
    // Cut shorter than what was offered (--trim).
    await write("trimmed", async (file) => {
      file.offer(data, 8 << 20);
      await file.complete(data.subarray(0, 3 << 20), true);
    });
    assert.ok(readFileSync(join(dir, "trimmed")).equals(data.subarray(0, 3 << 20)));
    // Another layer was offered than the one written: written over, and cut to its length.
    const other = data.slice(0, 100_000).reverse();
    await write("other", async (file) => {
      file.offer(data, 8 << 20);
      await file.complete(other, false);
    });
    assert.ok(readFileSync(join(dir, "other")).equals(other));
    // Never completed (the decode failed): nothing is left, once the writes in flight are done.
    const set = await OutputSet.open(dir);
    const file = await set.addStreamed("failed");
    file.offer(data, data.length);
    await set.dispose();
    assert.deepEqual(readdirSync(dir).sort(), ["offered", "other", "trimmed"]);
  });

  test(`${kind} temp files: a streamed write that fails is the error of complete, and leaves nothing`, async () => {
    outputIo.unnamedTemps = unnamed;
    const dir = fresh();
    outputIo.write = async (handle, data, from, to) => {
      if ((from ?? 0) > 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      await realWrite(handle, data, from, to);
    };
    const data = new Uint8Array(3 << 20).fill(7);
    const set = await OutputSet.open(dir);
    try {
      const file = await set.addStreamed("out");
      file.offer(data, 1 << 20);
      file.offer(data, 2 << 20);
      await assert.rejects(file.complete(data, true), (e: Error & { code?: string }) => e.code === "E_IO" && /cannot write .*out: ENOSPC/.test(e.message));
    } finally {
      await set.dispose();
    }
    assert.deepEqual(readdirSync(dir), []);
  });
}

test("temporaryName: hidden, unique, and within NAME_MAX whatever the output name", () => {
  for (const base of ["Image", "x".repeat(200), "x".repeat(250), "é".repeat(127)]) {
    const name = temporaryName(base);
    assert.ok(name.startsWith("."), name);
    assert.ok(Buffer.byteLength(name) <= 255, `${Buffer.byteLength(name)} bytes for a ${Buffer.byteLength(base)}-byte name`);
    assert.notEqual(temporaryName(base), name);
  }
  assert.match(temporaryName("Image"), /^\.Image\.kimg-[0-9a-f]{12}\.tmp$/);
});

/** FileHandle's prototype (the class is not exported), to watch its sync and write calls. */
type Patchable = {
  sync: (this: unknown) => Promise<void>;
  write: (this: unknown, data: unknown, offset: number, length: number, position: number) => Promise<unknown>;
};
async function fileHandleProto(dir: string): Promise<Patchable> {
  const { open } = await import("node:fs/promises");
  const h = await open(join(dir, ".probe"), "w");
  await h.close();
  rmSync(join(dir, ".probe"));
  return Object.getPrototypeOf(h);
}

for (const unnamed of [true, false]) {
  const kind = unnamed ? "unnamed (O_TMPFILE)" : "named";
  test(`${kind} temp files: each file is fsynced only with sync, and a write cut short by the kernel is continued`, async () => {
    outputIo.unnamedTemps = unnamed;
    const dir = fresh();
    const proto = await fileHandleProto(dir);
    const { sync, write } = proto;
    let syncs = 0;
    let writes = 0;
    proto.sync = async function (this: unknown) {
      syncs++;
      return sync.call(this);
    };
    // At most 100 kB per write(2), as a kernel may do on a signal or a full pipe.
    proto.write = async function (this: unknown, data: unknown, offset: number, length: number, position: number) {
      writes++;
      return write.call(this, data, offset, Math.min(length, 100_000), position);
    };
    try {
      const data = new Uint8Array(1_000_003).map((_, i) => (i * 7919) & 0xff);
      await writeAtomic(join(dir, "plain"), data);
      assert.equal(syncs, 0);
      assert.equal(writes, 11);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, "plain"))), data);
      await writeAtomic(join(dir, "durable"), data, { sync: true });
      assert.equal(syncs, 1);
      const set = await OutputSet.open(join(dir, "set"), { createDir: true, sync: true });
      try {
        await set.add("a", bytes("a"));
        await set.add("b", bytes("b"));
        set.commit();
      } finally {
        await set.dispose();
      }
      assert.equal(syncs, 3);
      assert.deepEqual(readdirSync(join(dir, "set")).sort(), ["a", "b"]);
    } finally {
      proto.sync = sync;
      proto.write = write;
    }
  });
}

// koffi (loaded to name O_TMPFILE outputs) fsyncs stdout and stderr at exit from a static hook;
// on a regular file that is a journal commit per run. The CLI points them at /dev/null once all is
// written (src/node/koffi.ts), so the hook's fsync fails at once and the text is still all there.
test("the CLI's stdout and stderr redirected to files are not fsynced at exit, and keep what was written", { skip: needs("strace") }, () => {
  const dir = fresh();
  const image = join(dir, "Image");
  writeFileSync(image, buildArm64Image());
  for (const extra of [[], ["--json"]]) {
    const out = join(dir, `out${extra.length}`);
    const trace = join(dir, `trace${extra.length}`);
    const stdout = openSync(join(dir, `stdout${extra.length}`), "w");
    const stderr = openSync(join(dir, `stderr${extra.length}`), "w");
    const r = spawnSync(
      "strace",
      ["-f", "-e", "trace=fsync,fdatasync,dup2", "-o", trace, process.execPath, "--import", "tsx", "src/cli/run.ts", "extract", image, "-o", out, ...extra],
      {
        stdio: ["ignore", stdout, stderr],
      },
    );
    closeSync(stdout);
    closeSync(stderr);
    assert.equal(r.status, 0, readFileSync(join(dir, `stderr${extra.length}`), "utf8"));
    assert.deepEqual(readFileSync(out), readFileSync(image));
    const text = readFileSync(join(dir, extra.length ? `stdout${extra.length}` : `stderr${extra.length}`), "utf8");
    assert.match(text, extra.length ? /"layer": "\/",\n\s*"format": "arm64-image"/ : /^wrote .*out0: \/ \(arm64-image\)/);
    const calls = readFileSync(trace, "utf8");
    // The guard ran (a positive control: koffi was loaded, and these are regular files)...
    assert.match(calls, /dup2\(\d+, 1\)\s+= 1/);
    assert.match(calls, /dup2\(\d+, 2\)\s+= 2/);
    // ...and no fsync of fd 1 or 2 succeeded (nor any other: no --sync).
    assert.doesNotMatch(calls, /f(data)?sync\(\d+\)\s+= 0/);
  }
});
