/**
 * Android boot images, the rest of issue 15: the v0-v2 `id` checked the way Debian's mkbootimg
 * computes it (SHA-1 over each part and its size), the recovery DTBO of a v1/v2 image read as an
 * AOSP DT table (dt_table_header, entries, each device tree as a layer, byte-exact as
 * unpack_bootimg extracts it), and the v4 boot signature read as an AVB VBMeta header.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { unpackLayers } from "../src/api/index.js";
import { MAX_DT_TABLE_ENTRIES } from "../src/formats/android-dtbo.js";
import { factsOf } from "../src/model/facts.js";
import { buildBootV4, buildDtbo, buildNewcCpio } from "../support/builders/android.js";
import { FIT_BOARD_DTS } from "../support/builders/fit.js";
import { buildArm64Image } from "../support/builders/images.js";
import type { Field, Layer } from "../src/model/report.js";
import { analyse, codes, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

/** A field by name in any of the layer's structures. */
function field(layer: Layer, name: string): Field {
  const f = layer.structures.flatMap((s) => s.fields).find((x) => x.name === name);
  assert.ok(f, `no field ${name} in ${layer.path}`);
  return f;
}

const work = mkdtempSync(join(tmpdir(), "kimg-android-extras-"));

function file(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

/** Debian's mkbootimg with its Python 3 division bug on --recovery_dtbo fixed ("//", as AOSP has it); see android-boot.test.ts. */
function mkbootimg(): string {
  const path = join(work, "mkbootimg.py");
  const source = readFileSync(execFileSync("sh", ["-c", "command -v mkbootimg"], { encoding: "utf8" }).trim(), "utf8");
  writeFileSync(path, source.replace("return (image_size + page_size - 1) / page_size", "return (image_size + page_size - 1) // page_size"));
  return path;
}

function dtc(source: string): Uint8Array {
  return new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: source }));
}

/** mkbootimg.py's id, computed here independently: sha1 over each part then its size (le32). */
function expectedId(parts: Uint8Array[]): string {
  const sha = createHash("sha1");
  for (const p of parts) {
    sha.update(p);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(p.length);
    sha.update(size);
  }
  return sha.digest("hex") + "0".repeat(24);
}

const KERNEL = buildArm64Image({ codeSize: 0x2000 });
const RAMDISK = buildNewcCpio([{ name: "init", data: new TextEncoder().encode("#!/bin/sh\n") }]);

test("boot.img v0, v1, v2 from mkbootimg: the id is the SHA-1 mkbootimg computes; a changed kernel byte is ANDROID_ID_MISMATCH at 0x240", {
  skip: needs("mkbootimg", "dtc"),
}, async () => {
  const dtb = dtc(FIT_BOARD_DTS);
  const dtbo = buildDtbo([{ dtb, id: 0x1234 }]);
  for (const version of [0, 1, 2]) {
    const out = join(work, `v${version}.img`);
    const args = ["--kernel", file("kernel", KERNEL), "--ramdisk", file("ramdisk", RAMDISK), "--second", file("second", new Uint8Array([1, 2, 3]))];
    if (version >= 1) args.push("--recovery_dtbo", file("dtbo", dtbo));
    if (version >= 2) args.push("--dtb", file("dtb", dtb));
    execFileSync("python3", [mkbootimg(), ...args, "--header_version", String(version), "-o", out]);
    const bytes = new Uint8Array(readFileSync(out));
    const parts = [KERNEL, RAMDISK, new Uint8Array([1, 2, 3]), ...(version >= 1 ? [dtbo] : []), ...(version >= 2 ? [dtb] : [])];
    const id = expectedId(parts);
    assert.equal(Buffer.from(bytes.subarray(576, 608)).toString("hex"), id, "mkbootimg wrote the id computed here");
    const { report } = await analyse(bytes);
    assert.deepEqual(report.root.info.id, {
      algorithm: "sha1",
      stored: id,
      computed: id,
      ok: true,
      hashed: ["kernel", "ramdisk", "second", "recovery_dtbo", "dtb"].slice(0, 3 + version).join(", "),
    });
    assert.match(field(report.root, "id").meaning ?? "", /^SHA-1 over kernel, ramdisk, second.* as mkbootimg computes it: matches$/);
    assert.ok(!codes(report).includes("ANDROID_ID_MISMATCH"));

    const changed = bytes.slice();
    changed[2048 + 100] = (changed[2048 + 100] ?? 0) ^ 0x01; // a kernel byte (the kernel starts on the second 2048-byte page)
    const damaged = (await analyse(changed)).report;
    const d = damaged.diagnostics.find((x) => x.code === "ANDROID_ID_MISMATCH");
    assert.equal(d?.offset, 0x240);
    assert.equal(d?.severity, "warning");
    assert.equal((damaged.root.info.id as { ok: boolean }).ok, false);
  }
});

test("boot.img v1 recovery DTBO from mkbootimg: a DT table with its entries, each device tree a layer, byte-exact as unpack_bootimg writes it", {
  skip: needs("mkbootimg", "unpack_bootimg", "dtc"),
}, async () => {
  const board = dtc(FIT_BOARD_DTS);
  const overlay = dtc('/dts-v1/;\n/ { model = "kimg overlay"; compatible = "kimg,overlay"; };\n');
  const dtbo = buildDtbo([
    { dtb: board, id: 0x1234, rev: 1 },
    { dtb: overlay, id: 0x5678, rev: 2, custom: [7, 0, 0, 9] },
  ]);
  const out = join(work, "dtbo-v1.img");
  execFileSync("python3", [mkbootimg(), "--kernel", file("k1", KERNEL), "--recovery_dtbo", file("r.dtbo", dtbo), "--header_version", "1", "-o", out]);
  const unpacked = join(work, "unpacked");
  execFileSync("unpack_bootimg", ["--boot_img", out, "--out", unpacked], { stdio: "pipe" });
  const bytes = new Uint8Array(readFileSync(out));
  const { report, tree } = await analyse(bytes);
  const table = layerAt(report, "/recovery_dtbo");
  assert.equal(table.format, "android-dtbo");
  assert.equal(table.title, "Android DT table (DTBO) image v0: 2 device trees");
  const facts = factsOf(tree.facts, "/recovery_dtbo", "android-dtbo");
  assert.deepEqual(
    facts?.entries.map((e) => [e.index, e.size, e.offset, e.id, e.rev, e.custom, e.compression]),
    [
      [0, board.length, 96, 0x1234, 1, [0, 0, 0, 0], "none"],
      [1, overlay.length, 96 + board.length, 0x5678, 2, [7, 0, 0, 9], "none"],
    ],
  );
  // Every field at its offset in the file: the table starts where recovery_dtbo_offset says.
  const at = Number(new DataView(bytes.buffer).getBigUint64(1636, true));
  assert.equal(field(table, "magic").offset, at);
  assert.equal(field(table, "dt_entry_count").value, 2);
  assert.equal(table.structures[2]?.name, "dt_table_entry 1");
  assert.equal(table.structures[2]?.fields.find((f) => f.name === "id")?.offset, at + 32 + 32 + 8);
  assert.equal(layerAt(report, "/recovery_dtbo/dt1").info.model, "kimg overlay");
  const layers = new Map((await unpackLayers(bytes)).layers.map((l) => [l.layer.path, l.data]));
  assert.deepEqual(layers.get("/recovery_dtbo"), new Uint8Array(readFileSync(join(unpacked, "recovery_dtbo"))));
  assert.deepEqual(layers.get("/recovery_dtbo/dt0"), board);
  assert.deepEqual(layers.get("/recovery_dtbo/dt1"), overlay);
});

test("a DT table past MAX_DT_TABLE_ENTRIES or with a blob past its end is ANDROID_DTBO_BAD, not a crash", { skip: needs("dtc") }, async () => {
  const dtbo = buildDtbo([{ dtb: dtc(FIT_BOARD_DTS) }]);
  const many = dtbo.slice();
  new DataView(many.buffer).setUint32(16, MAX_DT_TABLE_ENTRIES + 1);
  const a = (await analyse(many)).report;
  assert.equal(a.root.format, "android-dtbo");
  assert.match(a.diagnostics.find((d) => d.code === "ANDROID_DTBO_BAD")?.message ?? "", /exceeds MAX_DT_TABLE_ENTRIES \(1024\)/);
  const past = dtbo.slice();
  new DataView(past.buffer).setUint32(32 + 4, 0x7ffffff0);
  const b = (await analyse(past)).report;
  assert.equal(b.diagnostics.find((d) => d.code === "ANDROID_DTBO_BAD")?.offset, 32);
  assert.equal(b.root.children.length, 0);
});

/** A VBMeta image as avbtool make_vbmeta_image lays it out: header, authentication block (hash, signature), auxiliary block (descriptors, key). */
function vbmeta(): Uint8Array {
  const auth = 576; // SHA256_RSA4096: 32-byte hash + 512-byte signature, rounded up to 64
  const aux = 1152; // 64 bytes of descriptors, then the 1032-byte RSA-4096 key (avbtool encoding), rounded up to 64
  const out = new Uint8Array(256 + auth + aux);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode("AVB0"), 0);
  v.setUint32(4, 1);
  v.setUint32(8, 0);
  v.setBigUint64(12, BigInt(auth));
  v.setBigUint64(20, BigInt(aux));
  v.setUint32(28, 2); // SHA256_RSA4096
  v.setBigUint64(32, 0n);
  v.setBigUint64(40, 32n);
  v.setBigUint64(48, 32n);
  v.setBigUint64(56, 512n);
  v.setBigUint64(64, 64n);
  v.setBigUint64(72, 1032n);
  v.setBigUint64(96, 0n);
  v.setBigUint64(104, 64n);
  v.setBigUint64(112, 5n);
  out.set(new TextEncoder().encode("avbtool 1.3.0"), 128);
  return out;
}

test("boot.img v4: the boot signature read as an AVB VBMeta header, its blocks located; blocks past the area are ANDROID_BOOT_SIGNATURE_BAD", async () => {
  const signature = new Uint8Array(4096);
  signature.set(vbmeta());
  const bytes = buildBootV4({ kernel: KERNEL, ramdisk: RAMDISK, signature });
  const { report } = await analyse(bytes);
  const s = report.root.structures.find((x) => x.name === "boot signature (AvbVBMetaImageHeader)");
  assert.ok(s, report.root.structures.map((x) => x.name).join(", "));
  const at = 4096 + Math.ceil(KERNEL.length / 4096) * 4096 + Math.ceil(RAMDISK.length / 4096) * 4096;
  const f = (name: string) => s.fields.find((x) => x.name === name);
  assert.equal(s.offset, at);
  assert.equal(f("magic")?.value, "AVB0");
  assert.equal(f("algorithm_type")?.offset, at + 28);
  assert.equal(f("algorithm_type")?.meaning, "SHA256_RSA4096");
  assert.equal(f("release_string")?.value, "avbtool 1.3.0");
  assert.equal(f("signature_offset")?.meaning, `the signature at 0x${(at + 256 + 32).toString(16)}`);
  assert.equal(f("public_key_offset")?.meaning, `the public key at 0x${(at + 256 + 576 + 64).toString(16)}`);
  assert.deepEqual(codes(report), []);

  const bad = signature.slice();
  new DataView(bad.buffer).setBigUint64(20, 0xffffffffn);
  const damaged = (await analyse(buildBootV4({ kernel: KERNEL, ramdisk: RAMDISK, signature: bad }))).report;
  assert.equal(damaged.diagnostics.find((d) => d.code === "ANDROID_BOOT_SIGNATURE_BAD")?.offset, at + 12);

  const unsigned = (await analyse(buildBootV4({ kernel: KERNEL, ramdisk: RAMDISK }))).report;
  assert.equal(unsigned.root.structures.find((x) => x.name === "boot signature")?.fields[0]?.value, "4096 bytes of zeros (not signed)");
});
