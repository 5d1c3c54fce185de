/**
 * gzip through the system's zlib in steps (src/node/libz.ts), which `kimg extract` uses to write a
 * gzip kernel while it inflates: the bytes are `gzip -dc`'s, the outcome of every odd stream is
 * node:zlib's (the decoder the rest of kimg uses in Node), what it hands out early is final, and
 * damage ends in an error with its offset, never a loop.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import type { DecodeOptions } from "../src/codecs/types.js";
import { KimgError } from "../src/io/errors.js";
import { loadKoffi } from "../src/node/koffi.js";
import { gunzipInSteps, libzAvailable } from "../src/node/libz.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { MiB, concat, realBinary, run } from "./helpers/codec-testing.js";
import { needs } from "./helpers/tools.js";

const skip = needs("gzip", "libz");
loadKoffi();

/** What a decode ends in: its bytes, or the error's code. */
async function outcome(decode: () => Promise<Uint8Array>): Promise<Uint8Array | string> {
  try {
    return await decode();
  } catch (error) {
    return error instanceof KimgError ? error.code : `not a KimgError: ${(error as Error).message}`;
  }
}

/** node:zlib's answer for the same stream, as node/codecs.ts maps it: bytes, E_CORRUPT_STREAM or E_LIMIT. */
function nodeOutcome(input: Uint8Array, maxOutputBytes = 256 * MiB): Uint8Array | string {
  try {
    return new Uint8Array(gunzipSync(input, { maxOutputLength: maxOutputBytes }));
  } catch (error) {
    return (error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" ? "E_LIMIT" : "E_CORRUPT_STREAM";
  }
}

const steps = (input: Uint8Array, options: Partial<DecodeOptions> = {}): Promise<Uint8Array> => gunzipInSteps(input, { maxOutputBytes: 256 * MiB, ...options });

async function assertSameOutcome(input: Uint8Array, what: string, options: Partial<DecodeOptions> = {}): Promise<void> {
  const ours = await outcome(() => steps(input, options));
  const node = nodeOutcome(input, options.maxOutputBytes);
  if (typeof node === "string" || typeof ours === "string") assert.equal(ours, node, what);
  else assert.ok(Buffer.from(ours).equals(node), `${what}: bytes`);
}

test("libz binds where koffi is loaded", { skip }, () => {
  assert.equal(libzAvailable(), true);
});

test("the bytes of gzip -dc, with any size hint; each bytes[0, upTo) handed out is final", { skip }, async () => {
  const data = concat(realBinary(18 * MiB, 2 * MiB), new Uint8Array(2 * MiB));
  const z = run("gzip", ["-n", "-9", "-c"], data);
  assert.ok(Buffer.from(run("gzip", ["-dc"], z)).equals(data));
  for (const expectedSize of [undefined, data.length, 1000, data.length * 2]) {
    const seen: Array<{ upTo: number; copy: Uint8Array; view: Uint8Array }> = [];
    const out = await steps(z, { expectedSize, onOutput: (bytes, upTo) => seen.push({ upTo, copy: bytes.slice(0, upTo), view: bytes.subarray(0, upTo) }) });
    assert.ok(Buffer.from(out).equals(data), `hint ${expectedSize}`);
    assert.ok(seen.length >= 3, `hint ${expectedSize}: ${seen.length} calls`);
    let last = 0;
    for (const { upTo, copy, view } of seen) {
      assert.ok(upTo > last && upTo <= data.length, `${upTo} after ${last}`);
      last = upTo;
      assert.ok(Buffer.from(copy).equals(data.subarray(0, upTo)), `hint ${expectedSize}: at ${upTo}`);
      assert.ok(Buffer.from(view).equals(copy), `hint ${expectedSize}: changed after ${upTo}`);
    }
  }
  // NODE_CODECS takes this path when the caller takes the output as it comes (node:zlib never calls onOutput).
  let calls = 0;
  const viaCodecs = await (NODE_CODECS.gzip as (i: Uint8Array, o: DecodeOptions) => Promise<Uint8Array>)(z, {
    maxOutputBytes: 64 * MiB,
    onOutput: () => void calls++,
  });
  assert.ok(Buffer.from(viaCodecs).equals(data));
  assert.ok(calls >= 3, `${calls} onOutput calls through NODE_CODECS`);
});

test("what follows a member, damage, a cut, the limit: the outcome node:zlib gives", { skip }, async () => {
  const a = realBinary(1 * MiB, 1 * MiB);
  const b = realBinary(MiB / 2, 5 * MiB);
  const za = run("gzip", ["-n", "-9", "-c"], a);
  const zb = run("gzip", ["-n", "-1", "-c"], b);
  await assertSameOutcome(concat(za, zb), "two members");
  await assertSameOutcome(concat(za, new Uint8Array(4096)), "zero padding after the member");
  await assertSameOutcome(concat(za, new Uint8Array([0x55, 1, 2, 3])), "garbage after the member");
  await assertSameOutcome(concat(za, new Uint8Array([0x1f, 0x8b])), "the start of a second header only");
  for (const cut of [5, 20, za.length >> 1, za.length - 4, za.length - 1]) await assertSameOutcome(za.subarray(0, cut), `cut at ${cut}`);
  const crc = Uint8Array.from(za);
  crc[za.length - 6] = (crc[za.length - 6] as number) ^ 1;
  await assertSameOutcome(crc, "a wrong CRC-32");
  const size = Uint8Array.from(za);
  size[za.length - 1] = (size[za.length - 1] as number) ^ 1;
  await assertSameOutcome(size, "a wrong ISIZE");
  const body = Uint8Array.from(za);
  for (let i = 200; i < 260; i++) body[i] = (body[i] as number) ^ 0xa5;
  await assertSameOutcome(body, "a damaged block");
  await assertSameOutcome(new Uint8Array(0), "nothing");
  await assertSameOutcome(za, "over the limit", { maxOutputBytes: a.length - 1 });
  await assertSameOutcome(za, "exactly the limit", { maxOutputBytes: a.length });
  // The error says where inflate was.
  const error = await steps(body).then(
    () => null,
    (e: unknown) => e as KimgError,
  );
  assert.ok(error instanceof KimgError && typeof error.offset === "number" && error.offset >= 0 && error.offset <= body.length, String(error?.offset));
});

test("a bomb stops at maxOutputBytes: E_LIMIT with about the cap allocated", { skip }, async () => {
  const z = run("gzip", ["-n", "-9", "-c"], new Uint8Array(64 * MiB));
  assert.equal(await outcome(() => steps(z, { maxOutputBytes: 8 * MiB })), "E_LIMIT");
});

test("many inflates, then exit: the heap is intact (Node's zlib and the system's never mixed)", { skip }, () => {
  // Binding the system's libz.so.1 beside Node's exported zlib corrupted the heap: this loop then
  // ended in SIGSEGV or SIGABRT in most runs, usually at exit (node/c-library.ts, nodeOrSystemLibrary).
  const libz = new URL("../src/node/libz.ts", import.meta.url).href;
  const koffi = new URL("../src/node/koffi.ts", import.meta.url).href;
  const script = `
    import { execFileSync } from "node:child_process";
    import { readFileSync } from "node:fs";
    import { loadKoffi } from ${JSON.stringify(koffi)};
    import { gunzipInSteps } from ${JSON.stringify(libz)};
    loadKoffi();
    const data = readFileSync(process.execPath).subarray(1 << 20, 2 << 20);
    const z = new Uint8Array(execFileSync("gzip", ["-n", "-9", "-c"], { input: data }));
    for (let i = 0; i < 40; i++) {
      if (!Buffer.from(await gunzipInSteps(z, { maxOutputBytes: 1 << 28 })).equals(data)) throw new Error("bytes differ");
      globalThis.gc();
    }
    console.log("inflated 40 times");`;
  const child = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(child.signal, null, `ended by ${child.signal}: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), "inflated 40 times");
});
