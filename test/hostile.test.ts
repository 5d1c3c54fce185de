/** Bad input: truncations, offsets past the end, absurd counts, corrupt streams, unknown data. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KimgError } from "../src/io/errors.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildUki, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { codes, inspect, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

function zbootGzip(): { bytes: Uint8Array; payloadOffset: number; payloadLength: number } {
  const { toCompress, trailer } = zbootInputs(buildArm64Image(), "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  const z = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) });
  return { ...z, payloadLength: payload.length };
}

test("unknown data is a fatal E_UNKNOWN_FORMAT at offset 0", async () => {
  await assert.rejects(
    inspect(new TextEncoder().encode("hello, not a kernel")),
    (e: unknown) => e instanceof KimgError && e.code === "E_UNKNOWN_FORMAT" && e.offset === 0,
  );
  await assert.rejects(inspect(new Uint8Array(0)), (e: unknown) => e instanceof KimgError && e.code === "E_UNKNOWN_FORMAT");
});

test("zboot payload past the end of the file: E_BAD_OFFSET at the payload_offset field, the header still reported", { skip: needs("gzip") }, async () => {
  const z = zbootGzip();
  const bad = z.bytes.slice();
  new DataView(bad.buffer).setUint32(12, 0xfffffff0, true);
  const r = await inspect(bad);
  const d = r.diagnostics.find((x) => x.code === "E_BAD_OFFSET");
  assert.ok(d, JSON.stringify(r.diagnostics));
  assert.equal(d.offset, 8);
  assert.equal(d.severity, "error");
  assert.equal(layerAt(r, "/").structures[0]?.name, "zboot header");
  assert.equal(r.summary.kernelFormat, null);
});

test("offset + size that would wrap in 32 bits is caught", { skip: needs("gzip") }, async () => {
  const z = zbootGzip();
  const bad = z.bytes.slice();
  const v = new DataView(bad.buffer);
  v.setUint32(8, 0xffffff00, true);
  v.setUint32(12, 0x200, true);
  const r = await inspect(bad);
  assert.ok(codes(r).includes("E_BAD_OFFSET"));
});

test("truncated at every header boundary: a report or a coded error, never anything else", { skip: needs("gzip") }, async () => {
  const z = zbootGzip();
  for (const cut of [
    1,
    2,
    4,
    8,
    0x18,
    0x38,
    0x3c,
    0x40,
    0x44,
    0x58,
    0x98,
    0xc8,
    0xf8,
    0x120,
    0x148,
    z.payloadOffset,
    z.payloadOffset + 10,
    z.bytes.length - 1,
  ]) {
    try {
      const r = await inspect(z.bytes.subarray(0, cut));
      assert.ok(r.diagnostics.length > 0, `cut at ${cut} reported nothing odd`);
      for (const d of r.diagnostics) assert.match(d.code, /^[A-Z0-9_]+$/);
    } catch (e) {
      assert.ok(e instanceof KimgError, `cut at ${cut}: ${String(e)}`);
    }
  }
});

test("e_lfanew pointing past the end is E_BAD_OFFSET on the PE layer", async () => {
  const image = buildArm64Image();
  const bad = image.slice();
  new DataView(bad.buffer).setUint32(0x3c, 0x7fffffff, true);
  const r = await inspect(bad);
  assert.equal(r.summary.format, "arm64-image");
  assert.ok(codes(r).includes("IMAGE_PE_OFFSET_INVALID"));
});

test("an absurd section count is refused by maxSectionCount", async () => {
  const image = buildArm64Image();
  const bad = image.slice();
  new DataView(bad.buffer).setUint16(0x46, 0xffff, true);
  const r = await inspect(bad);
  const d = r.diagnostics.find((x) => x.code === "E_LIMIT");
  assert.ok(d, JSON.stringify(r.diagnostics));
  assert.equal(d.offset, 0x46);
  assert.equal(d.layer, "/pe");
});

test("a corrupt gzip payload is E_CORRUPT_STREAM on the payload layer", { skip: needs("gzip") }, async () => {
  const z = zbootGzip();
  const bad = z.bytes.slice();
  for (let i = 100; i < 400; i++) bad[z.payloadOffset + i] = (bad[z.payloadOffset + i] ?? 0) ^ 0x5a;
  const r = await inspect(bad);
  const d = r.diagnostics.find((x) => x.layer === "/payload" && x.severity === "error");
  assert.ok(d, JSON.stringify(r.diagnostics));
  assert.equal(d.code, "E_CORRUPT_STREAM");
  assert.equal(r.summary.kernelFormat, null);
});

test("a truncated zstd payload is reported, never a partial inner image", { skip: needs("zstd") }, async () => {
  const { toCompress, trailer } = zbootInputs(buildArm64Image(), "v6.4", "zstd22");
  const payload = compressWith("zstd", toCompress);
  const cut = payload.subarray(0, payload.length - 100);
  const z = buildZboot({ machine: MACHINE.ARM64, compType: "zstd22", payload: cut, trailer: trailer(payload) });
  const r = await inspect(z.bytes);
  assert.ok(
    r.diagnostics.some((d) => d.layer === "/payload" && d.code === "E_CORRUPT_STREAM"),
    JSON.stringify(r.diagnostics),
  );
  assert.equal(layerAt(r, "/payload").children.length, 0);
});

test("decompression bomb: maxOutputBytes stops the decoder with E_LIMIT", { skip: needs("gzip") }, async () => {
  const zeros = new Uint8Array(8 * 1024 * 1024);
  const bomb = compressWith("gzip", zeros);
  for (const gzipOverride of [undefined, (await import("../src/node/codecs.js")).NODE_CODECS]) {
    const r = await inspect(bomb, { limits: { maxOutputBytes: 1024 * 1024 }, ...(gzipOverride ? { codecs: gzipOverride } : {}) });
    assert.ok(codes(r).includes("E_LIMIT"), JSON.stringify(r.diagnostics));
  }
});

test("nesting depth is bounded by maxNestingDepth", { skip: needs("gzip") }, async () => {
  let data = buildArm64Image();
  for (let i = 0; i < 5; i++) data = compressWith("gzip", data);
  const r = await inspect(data, { limits: { maxNestingDepth: 3 } });
  assert.ok(codes(r).includes("E_LIMIT"));
  const full = await inspect(data);
  assert.equal(full.summary.kernelFormat, "arm64-image");
});

test("a UKI section running past the end of the file is an error diagnostic, other sections still read", async () => {
  const uki = buildUki({ linux: buildArm64Image(), machine: MACHINE.ARM64 });
  const cut = uki.subarray(0, uki.length - 0x400);
  const r = await inspect(cut);
  assert.equal(r.summary.format, "uki");
  assert.ok(codes(r).includes("UKI_SECTION_OUTSIDE") || codes(r).includes("PE_SECTION_BEYOND_FILE"), JSON.stringify(r.diagnostics));
  assert.equal(layerAt(r, "/.cmdline").format, "text");
});
