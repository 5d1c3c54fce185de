/**
 * node/prefault.ts: the pages of a large output buffer populated on another thread while it is
 * written, without a byte changed (issue 14). Linux 5.14+ with koffi; the CLI's extract loads
 * koffi for its writes, which is when the decoders' outputs get this, and the CLI (which guards
 * its standard streams against koffi's exit fsync) loads it for outputs of 24 MiB and more.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { loadKoffi } from "../src/node/koffi.js";
import { hugePagesFree, prefaultPages } from "../src/node/prefault.js";
import { codeLike } from "../support/builders/bytes.js";
import { needs } from "./helpers/tools.js";

const MiB = 1024 * 1024;

function rssBytes(): number {
  const line = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return Number(line?.[1] ?? 0) * 1024;
}

/** The VmFlags line of the mapping that holds `address`, from /proc/self/smaps. */
function vmFlagsAt(address: bigint): string {
  let inside = false;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) inside = BigInt(`0x${range[1]}`) <= address && address < BigInt(`0x${range[2]}`);
    else if (inside && line.startsWith("VmFlags:")) return line;
  }
  return "";
}

function linuxRelease(): [number, number] {
  const [major = 0, minor = 0] = readFileSync("/proc/sys/kernel/osrelease", "utf8")
    .split(".")
    .map((n) => Number.parseInt(n, 10));
  return [major, minor];
}

test("prefaultPages: a fresh 64 MiB buffer's pages are populated, and bytes written meanwhile stay as written", async (t) => {
  const [major, minor] = linuxRelease();
  if (process.platform !== "linux" || major < 5 || (major === 5 && minor < 14)) return t.skip("MADV_POPULATE_WRITE needs Linux 5.14");
  // Without koffi loaded it does nothing (a library call must not load it).
  assert.equal(await prefaultPages(new Uint8Array(8 * MiB)), false);
  loadKoffi();
  assert.equal(await prefaultPages(new Uint8Array(MiB)), false, "small buffers are left alone");

  const bytes = new Uint8Array(64 * MiB);
  const before = rssBytes();
  const done = prefaultPages(bytes);
  // Written while the other thread populates: a byte of each page of the first 4 MiB. The rest
  // is not touched here, so only the populating can have brought it into memory.
  const written = 4 * MiB;
  for (let i = 0; i < written; i += 4096) bytes[i] = (i >>> 12) & 0xff || 1;
  assert.equal(await done, true);
  assert.ok(rssBytes() - before >= 60 * MiB, `RSS grew by ${((rssBytes() - before) / MiB).toFixed(1)} MiB`);
  // The buffer's 2 MiB-aligned part was marked for transparent huge pages (VmFlags "hg"), where
  // the kernel has them and enough 2 MiB blocks free.
  if (existsSync("/sys/kernel/mm/transparent_hugepage") && hugePagesFree(64 * MiB)) {
    const address = loadKoffi().address(bytes);
    const firstHuge = (address + 2n * BigInt(MiB) - 1n) & ~(2n * BigInt(MiB) - 1n);
    assert.match(vmFlagsAt(firstHuge), /\bhg\b/, "MADV_HUGEPAGE on the output buffer");
  }
  for (let i = 0; i < bytes.length; i++) {
    const want = i < written && i % 4096 === 0 ? (i >>> 12) & 0xff || 1 : 0;
    if (bytes[i] !== want) assert.fail(`byte ${i} is ${bytes[i]}, not ${want}`);
  }
  // An unaligned view of a buffer: the aligned pages inside it, nothing outside.
  const outer = new Uint8Array(16 * MiB);
  outer.fill(7);
  assert.equal(await prefaultPages(outer.subarray(12345, outer.length - 6789)), true);
  assert.ok(outer.every((b) => b === 7));
});

/** Runs `body` (ES module code with prefaultPages, koffiIfLoaded and guardStandardStreamsAtExit in scope) in a fresh Node. */
function fresh(body: string): string {
  const code = [
    `import { prefaultPages } from ${JSON.stringify(new URL("../src/node/prefault.ts", import.meta.url).href)};`,
    `import { koffiIfLoaded, guardStandardStreamsAtExit } from ${JSON.stringify(new URL("../src/node/koffi.ts", import.meta.url).href)};`,
    body,
  ].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test("prefaultPages loads koffi for a large output only where the CLI has guarded its streams, never for a library call", (t) => {
  const [major, minor] = linuxRelease();
  if (process.platform !== "linux" || major < 5 || (major === 5 && minor < 14)) return t.skip("MADV_POPULATE_WRITE needs Linux 5.14");
  const MiB24 = 24 * MiB;
  // A library call: nothing loaded, whatever the size.
  assert.equal(fresh(`console.log(await prefaultPages(new Uint8Array(${MiB24 + MiB})), koffiIfLoaded() === undefined);`), "false true");
  // The CLI: from 24 MiB on koffi is loaded and the pages populated; below, neither.
  assert.equal(
    fresh(`guardStandardStreamsAtExit(); console.log(await prefaultPages(new Uint8Array(${MiB24 - MiB})), koffiIfLoaded() === undefined);`),
    "false true",
  );
  assert.equal(
    fresh(`guardStandardStreamsAtExit(); console.log(await prefaultPages(new Uint8Array(${MiB24 + MiB})), koffiIfLoaded() !== undefined);`),
    "true true",
  );
});

test("prepareOutput is given at most PREPARE_OUTPUT_MAX_RATIO times the input, however large the size a stream or its container claims", {
  skip: needs("gzip", "zstd"),
}, async () => {
  const { PREPARE_OUTPUT_MAX_RATIO } = await import("../src/codecs/output.js");
  const { decodeGzip } = await import("../src/codecs/gzip.js");
  const { streamedZstdDecoder } = await import("../src/node/codecs.js");
  loadKoffi();
  const libzstd = streamedZstdDecoder();
  const { compressWith } = await import("../support/builders/compress.js");
  // Code-like data that compresses about 3 times, as a kernel does.
  const data = codeLike(4 * MiB);
  for (const [name, stream, decode] of [
    ["gzip", compressWith("gzip", data), decodeGzip],
    ...(libzstd ? [["libzstd", compressWith("zstd", data), libzstd] as const] : []),
  ] as const) {
    const seen: number[] = [];
    const prepareOutput = (bytes: Uint8Array): void => void seen.push(bytes.length);
    // The real size expected: all of the buffer, as long as it is within the ratio.
    const out = await decode(stream, { maxOutputBytes: 512 * MiB, expectedSize: data.length, prepareOutput });
    assert.ok(Buffer.from(out).equals(data), name);
    assert.ok(data.length <= PREPARE_OUTPUT_MAX_RATIO * stream.length, `${name}: ratio ${data.length / stream.length}`);
    assert.equal(seen[0], data.length, `${name}: the whole buffer`);
    // A container that claims 500 MiB: the buffer may be large, what is prepared is not.
    seen.length = 0;
    await Promise.resolve()
      .then(() => decode(stream, { maxOutputBytes: 512 * MiB, expectedSize: 500 * MiB, prepareOutput }))
      .catch(() => undefined);
    assert.ok(seen.length > 0, name);
    for (const n of seen) assert.ok(n <= PREPARE_OUTPUT_MAX_RATIO * stream.length, `${name}: ${n} bytes prepared from ${stream.length}`);
  }
});

test("hugePagesFree reads the kernel's free 2 MiB blocks", { skip: process.platform !== "linux" && "Linux" }, (t) => {
  if (!existsSync("/proc/buddyinfo") || !existsSync("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")) return t.skip("no buddyinfo or THP");
  let blocks = 0;
  for (const line of readFileSync("/proc/buddyinfo", "utf8").trim().split("\n")) {
    const counts = line.trim().split(/\s+/).slice(4).map(Number);
    for (let order = 9; order < counts.length; order++) blocks += (counts[order] as number) * 2 ** (order - 9);
  }
  // Far from the edge either way, so that the free lists moving meanwhile do not change the answer.
  assert.equal(hugePagesFree(1), blocks > 0);
  assert.equal(hugePagesFree(blocks * 2 * MiB * 4), false, "more than the free blocks hold");
});
