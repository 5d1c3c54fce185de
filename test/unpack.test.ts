/**
 * Unpack: every zboot codec and trailer generation round-trips byte-exact through the real
 * compressors with the kernel's flags; bzImage payloads in every codec; layers, trimming,
 * streaming; node:zlib cross-check.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as zlibModule from "node:zlib";
import { gunzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { analyse, digestImage, unpack, unpackLayers } from "../src/api/index.js";
import { authenticodeDigest } from "../src/signatures/authenticode.js";
import { decodeGzip } from "../src/codecs/gzip.js";
import { NODE_CODECS, nodeZstdDecoders, streamedZstdDecoder } from "../src/node/codecs.js";
import { loadKoffi } from "../src/node/koffi.js";
import { unpackStream } from "../src/node/stream.js";
import { ByteWriter, concat } from "../support/builders/bytes.js";
import { compressWith, type Tool } from "../support/builders/compress.js";
import {
  buildArm64Image,
  buildBzImage,
  buildElf,
  buildLoongArchImage,
  buildRiscvImage,
  buildZboot,
  zbootInputs,
  type ZbootGeneration,
} from "../support/builders/images.js";
import { buildPe, DATA_FLAGS, MACHINE, TEXT_FLAGS } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

const ARCHES = [
  { machine: MACHINE.ARM64, build: () => buildArm64Image({ codeSize: 0x30000 }), format: "arm64-image" },
  { machine: MACHINE.RISCV64, build: () => buildRiscvImage({ codeSize: 0x30000 }), format: "riscv-image" },
  { machine: MACHINE.LOONGARCH64, build: () => buildLoongArchImage({ codeSize: 0x30000 }), format: "loongarch-image" },
] as const;

const CODECS: ReadonlyArray<[string, Tool, string]> = [
  ["gzip", "gzip", "gzip"],
  ["zstd22", "zstd", "zstd"],
  ["zstd", "zstd", "zstd"],
  ["xzkern", "xz-arm64", "xz"],
  ["lzma", "lzma", "lzma"],
  ["lz4", "lz4", "lz4"],
  ["lzo", "lzo", "lzo"],
];

const GENERATIONS: ReadonlyArray<[ZbootGeneration, string]> = [
  ["v6.1", "v6.1"],
  ["v6.2", "v6.2-v6.3"],
  ["v6.4", "v6.4+"],
];

for (const [compType, tool, codec] of CODECS) {
  test(`zboot ${compType}: every trailer generation unpacks byte-exact`, { skip: needs(tool) }, async () => {
    for (const [i, [generation, rule]] of GENERATIONS.entries()) {
      const arch = ARCHES[(i + CODECS.findIndex((c) => c[0] === compType)) % ARCHES.length]!;
      const image = arch.build();
      const { toCompress, trailer } = zbootInputs(image, generation, compType);
      const payload = compressWith(tool, toCompress);
      const z = buildZboot({ machine: arch.machine, compType, payload, trailer: trailer(payload), linuxPeMagic: generation !== "v6.1" });
      const result = await unpack(z.bytes, { codecs: NODE_CODECS });
      const where = `${compType} ${generation} ${arch.format}`;
      assert.equal(result.format, arch.format, where);
      assert.equal(result.path, "/payload/decompressed", where);
      assert.equal(sha(result.data), sha(toCompress), where);
      assert.equal(result.report.summary.compression, codec, where);
      assert.equal(result.report.root.info.sizeRule, rule, where);
      assert.deepEqual(result.report.diagnostics, [], where);
      const portable = await unpack(z.bytes);
      assert.equal(sha(portable.data), sha(toCompress), `${where} without node:zlib`);
    }
  });
}

test("bzImage payloads in every codec the kernel offers for x86 unpack to the exact vmlinux", {
  skip: needs("gzip", "bzip2", "lzma", "xz-x86", "lzo", "lz4", "zstd"),
}, async () => {
  const vmlinux = buildElf({ machine: 62 });
  const tools: ReadonlyArray<[Tool, string]> = [
    ["gzip", "gzip"],
    ["bzip2", "bzip2"],
    ["lzma", "lzma"],
    ["xz-x86", "xz"],
    ["lzo", "lzo"],
    ["lz4", "lz4"],
    ["zstd", "zstd"],
  ];
  for (const [tool, codec] of tools) {
    const stream = compressWith(tool, vmlinux);
    const payload = codec === "gzip" ? stream : concat(stream, new ByteWriter(4).u32(0, vmlinux.length).bytes);
    const result = await unpack(buildBzImage({ payload }), { codecs: NODE_CODECS });
    assert.equal(result.format, "elf", codec);
    assert.equal(sha(result.data), sha(vmlinux), codec);
    assert.equal(result.report.summary.compression, codec);
    assert.equal(result.bootable?.format, "bzimage");
  }
});

test("the portable gzip decoder agrees with node:zlib", { skip: needs("gzip") }, async () => {
  const data = concat(buildArm64Image({ codeSize: 0x40000 }), new Uint8Array(300000));
  const gz = compressWith("gzip", data);
  const ours = await decodeGzip(gz, { maxOutputBytes: 1 << 30 });
  assert.equal(sha(ours), sha(new Uint8Array(gunzipSync(gz))));
  assert.equal(sha(ours), sha(data));
});

test("--layer picks any layer: the compressed payload, the zboot PE view", { skip: needs("zstd") }, async () => {
  const image = buildArm64Image();
  const { toCompress, trailer } = zbootInputs(image, "v6.4", "zstd");
  const payload = compressWith("zstd", toCompress);
  const z = buildZboot({ machine: MACHINE.ARM64, compType: "zstd", payload, trailer: trailer(payload) });
  const p = await unpack(z.bytes, { layer: "/payload" });
  assert.equal(sha(p.data), sha(payload));
  assert.equal(p.format, "compressed");
  const pe = await unpack(z.bytes, { layer: "pe" });
  assert.equal(pe.data.length, z.bytes.length);
  await assert.rejects(unpack(z.bytes, { layer: "/nope" }), (e: { code?: string }) => e.code === "E_NO_SUCH_LAYER");
});

test("--trim cuts a signed inner image after its certificate table; the report says padding exists", { skip: needs("gzip") }, async () => {
  const body = buildPe({
    machine: MACHINE.ARM64,
    sections: [
      { name: ".text", data: new Uint8Array(0x800).fill(0x11), characteristics: TEXT_FLAGS },
      { name: ".data", data: new Uint8Array(0x200).fill(0x22), characteristics: DATA_FLAGS },
    ],
  });
  const cert = new ByteWriter(0x40).u32(0, 0x40).u16(4, 0x0200).u16(6, 0x0002).bytes;
  const signed = concat(body.bytes, cert);
  new DataView(signed.buffer).setUint32(body.certificateEntryOffset, body.bytes.length, true);
  new DataView(signed.buffer).setUint32(body.certificateEntryOffset + 4, cert.length, true);
  const padded = concat(signed, new Uint8Array(0x3000));
  const gz = compressWith("gzip", padded);
  const full = await unpack(gz, { layer: "/decompressed" });
  assert.equal(full.data.length, padded.length);
  assert.ok(full.report.diagnostics.some((d) => d.code === "PE_PADDING_AFTER_CERT_TABLE" && d.offset === signed.length));
  const trimmed = await unpack(gz, { layer: "/decompressed", trim: true });
  assert.equal(sha(trimmed.data), sha(signed));
  assert.equal(trimmed.trimmedBytes, 0x3000);
});

test("a UKI hands over its kernel, initrd and command line", { skip: needs("gzip") }, async () => {
  const { buildUki } = await import("../support/builders/images.js");
  const linux = buildArm64Image();
  const initrd = compressWith("gzip", new TextEncoder().encode("070701" + "0".repeat(500)));
  const r = await unpack(buildUki({ machine: MACHINE.ARM64, linux, initrd, cmdline: "console=ttyAMA0 quiet\0" }));
  assert.equal(r.path, "/.linux");
  assert.equal(sha(r.data), sha(linux));
  assert.equal(sha(r.initrd ?? new Uint8Array(0)), sha(initrd));
  assert.equal(r.cmdline, "console=ttyAMA0 quiet");
});

test("unpackLayers: every layer of data, no view of the same bytes; a plain Image is its own one layer", async () => {
  const { buildUki } = await import("../support/builders/images.js");
  const linux = buildArm64Image();
  const { layers } = await unpackLayers(buildUki({ machine: MACHINE.ARM64, linux }));
  assert.deepEqual(
    layers.map((l) => [l.layer.path, l.layer.format]),
    [
      ["/.osrel", "text"],
      ["/.cmdline", "text"],
      ["/.linux", "arm64-image"],
    ],
  );
  assert.equal(sha(layers[2]?.data ?? new Uint8Array(0)), sha(linux));
  const plain = await unpackLayers(linux);
  assert.deepEqual(
    plain.layers.map((l) => [l.layer.path, l.data.length, l.trimmedBytes]),
    [["/", linux.length, 0]],
  );
});

test("digestImage: the outermost PE by default, a chosen layer, or every PE layer", async () => {
  const { buildUki } = await import("../support/builders/images.js");
  const linux = buildArm64Image();
  const uki = buildUki({ machine: MACHINE.ARM64, linux });
  const collect = async (it: AsyncIterable<{ path: string; digest: string }>): Promise<Array<[string, string]>> => {
    const out: Array<[string, string]> = [];
    for await (const d of it) out.push([d.path, d.digest]);
    return out;
  };
  const { analyse } = await import("../src/api/index.js");
  const { tree } = await analyse(uki);
  const outer = tree.root.children.find((c) => c.path === "/pe")?.pe;
  const inner = tree.root.children.find((c) => c.path === "/.linux")?.children.find((c) => c.path === "/.linux/pe")?.pe;
  assert.ok(outer && inner);
  const outerDigest = await authenticodeDigest(uki, outer);
  const innerDigest = await authenticodeDigest(linux, inner);
  assert.deepEqual(await collect(digestImage(uki)), [["/pe", outerDigest]]);
  assert.deepEqual(await collect(digestImage(uki, { layer: "/.linux" })), [["/.linux/pe", innerDigest]]);
  assert.deepEqual(await collect(digestImage(uki, { all: true })), [
    ["/pe", outerDigest],
    ["/.linux/pe", innerDigest],
  ]);
  assert.deepEqual(await collect(digestImage(buildElf())), []);
  await assert.rejects(collect(digestImage(uki, { layer: "/.osrel" })), { code: "E_NO_SUCH_LAYER" });
});

test("unpackStream: image bytes in, the inner image out in chunks", { skip: needs("gzip") }, async () => {
  const image = buildRiscvImage({ codeSize: 0x180000 });
  const { toCompress, trailer } = zbootInputs(image, "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  const z = buildZboot({ machine: MACHINE.RISCV64, compType: "gzip", payload, trailer: trailer(payload) });
  const out: Buffer[] = [];
  let meta: { path: string } | undefined;
  await pipeline(
    Readable.from([z.bytes.subarray(0, 1000), z.bytes.subarray(1000)]),
    unpackStream({ onResult: (m) => (meta = m) }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  assert.ok(out.length >= 2, "more than one output chunk");
  assert.equal(sha(Buffer.concat(out)), sha(toCompress));
  assert.equal(meta?.path, "/payload/decompressed");
});

// libzstd in steps (what the CLI decodes zstd with, once koffi is loaded): the same checks.
loadKoffi();
const streamed = needs("libzstd") === false ? streamedZstdDecoder() : null;
for (const { name, decode: zstd, skip } of [
  ...nodeZstdDecoders().map((d) => ({ ...d, skip: needs("zstd") })),
  {
    name: "libzstd in steps",
    decode:
      streamed ??
      ((): never => {
        throw new Error("libzstd.so.1 is installed but could not be bound (koffi, libzstd < 1.5)");
      }),
    skip: needs("zstd", "libzstd"),
  },
]) {
  test(`Node's zstd through ${name}: exact output, a wrong size hint, corrupt input, the limit`, { skip }, async () => {
    const data = concat(buildArm64Image({ codeSize: 0x40000 }), new Uint8Array(100000));
    const z = compressWith("zstd", data);
    assert.equal(sha(await zstd(z, { maxOutputBytes: 1 << 30 })), sha(data));
    assert.equal(sha(await zstd(z, { maxOutputBytes: 1 << 30, expectedSize: data.length })), sha(data), "the right hint");
    assert.equal(sha(await zstd(z, { maxOutputBytes: 1 << 30, expectedSize: 1000 })), sha(data), "too small a hint");
    assert.equal(sha(await zstd(z, { maxOutputBytes: 1 << 30, expectedSize: data.length * 3 })), sha(data), "too large a hint");
    await assert.rejects(
      async () => zstd(z.subarray(0, z.length - 50), { maxOutputBytes: 1 << 30 }),
      (e: { code?: string }) => e.code === "E_CORRUPT_STREAM",
    );
    await assert.rejects(
      async () => zstd(z, { maxOutputBytes: 1000 }),
      (e: { code?: string }) => e.code === "E_LIMIT",
    );
    // A 256 MiB window (beyond libzstd's default streaming limit) still decodes.
    const long = new Uint8Array(execFileSync("zstd", ["-q", "-c", "--long=28", "--no-content-size"], { input: data }));
    assert.equal(sha(await zstd(long, { maxOutputBytes: 1 << 30, expectedSize: data.length })), sha(data), "--long=28");
  });
}

test("Node's zstd for a program using the library: node:zlib where this Node has it, else WASM; the CLI's is libzstd through koffi", {
  skip: needs("zstd", "libzstd"),
}, async (t) => {
  const names = nodeZstdDecoders().map((d) => d.name);
  assert.equal(names.at(-1), "wasm");
  if (typeof (zlibModule as { zstdDecompressSync?: unknown }).zstdDecompressSync === "function") assert.deepEqual(names, ["node:zlib", "wasm"]);
  else {
    assert.deepEqual(names, ["wasm"]);
    t.diagnostic(`Node ${process.version} has no zlib zstd`);
  }
  // The one a library call uses is the first of them.
  assert.deepEqual(
    nodeZstdDecoders(true).map((d) => d.name),
    names.slice(0, 1),
  );
  // In a fresh process with the CLI's guard (koffi may load), NODE_CODECS.zstd loads koffi and
  // decodes through libzstd; without it (a library call) koffi stays unloaded.
  const { spawnSync } = await import("node:child_process");
  const stream = execFileSync("zstd", ["-q", "-c"], { input: Buffer.alloc(1 << 20, 0x61) });
  const code = (guard: boolean): string =>
    [
      `import { NODE_CODECS } from ${JSON.stringify(new URL("../src/node/codecs.ts", import.meta.url).href)};`,
      `import { guardStandardStreamsAtExit, koffiIfLoaded } from ${JSON.stringify(new URL("../src/node/koffi.ts", import.meta.url).href)};`,
      `import { libzstdAvailable } from ${JSON.stringify(new URL("../src/node/libzstd.ts", import.meta.url).href)};`,
      guard ? "guardStandardStreamsAtExit();" : "",
      `const out = await NODE_CODECS.zstd(new Uint8Array(Buffer.from(${JSON.stringify(stream.toString("base64"))}, "base64")), { maxOutputBytes: 1 << 24 });`,
      `console.log(out.length, out.every((b) => b === 0x61), koffiIfLoaded() !== undefined, libzstdAvailable());`,
    ].join("\n");
  for (const [guard, want] of [
    [true, `${1 << 20} true true true`],
    [false, `${1 << 20} true false false`],
  ] as const) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code(guard)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), want, guard ? "the CLI" : "a library call");
  }
});

test("reportDetails: false (what `kimg extract` passes) computes neither a bzImage's CRC-32 nor the boot plan; the kernel is the same", {
  skip: needs("gzip"),
}, async () => {
  const vmlinux = buildElf({ machine: 62 });
  const bz = buildBzImage({ payload: compressWith("gzip", vmlinux) });
  const full = await analyse(bz);
  const bare = await analyse(bz, { reportDetails: false });
  assert.equal(full.report.root.info.crc32, "matches");
  assert.equal(bare.report.root.info.crc32, "not checked (reportDetails: false)");
  assert.notEqual(full.report.plan, null);
  assert.equal(bare.report.plan, null);
  // Damage after the build is a warning of the full report only; what extract writes is the same.
  const changed = bz.slice();
  changed[changed.length - 1] = (changed[changed.length - 1] as number) ^ 1;
  assert.ok((await analyse(changed)).report.diagnostics.some((d) => d.code === "BZIMAGE_CRC_MISMATCH"));
  assert.ok(!(await analyse(changed, { reportDetails: false })).report.diagnostics.some((d) => d.code === "BZIMAGE_CRC_MISMATCH"));
  for (const input of [bz, changed]) {
    const a = await unpack(input);
    const b = await unpack(input, { reportDetails: false });
    assert.equal(b.path, a.path);
    assert.ok(Buffer.from(b.data).equals(a.data));
    assert.ok(Buffer.from(b.data).equals(vmlinux));
  }
});
