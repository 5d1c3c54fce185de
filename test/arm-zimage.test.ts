/**
 * The 32-bit Arm zImage (issue 15): header fields and typed facts, the compressed Image between
 * input_data and input_data_end found and decompressed in every codec arch/arm/boot/compressed
 * builds (payloads made by the real tools with the kernel's flags, support/builders), the raw
 * Image inside with its banner, `extract` giving it, `plan` giving the Arm boot protocol
 * (Documentation/arch/arm/booting.rst), hostile variants, and Debian's real armhf kernel from
 * the cache scripts/fetch-debian-kernels.sh fills (skipped without it unless KIMG_REQUIRE_TOOLS=1).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { plan, unpack } from "../src/api/index.js";
import { KimgError } from "../src/io/errors.js";
import { factsOf } from "../src/model/facts.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import type { Tool } from "../support/builders/compress.js";
import { buildArmZImage, rawKernel } from "../support/builders/self-decompressing.js";
import { analyse, codes, field, inspect, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

const KERNEL = rawKernel("6.1.0-kimg-armmp");

/** The native decoder of each payload, reading stdin: what a user would run on the carved bytes. */
const NATIVE: Record<string, string[]> = {
  xz: ["xz", "-dc"],
  gzip: ["gzip", "-dc"],
  lzma: ["xz", "--format=lzma", "-dc"],
  lzo: ["lzop", "-dc"],
  lz4: ["lz4", "-dc"],
};

function native(codec: string, bytes: Uint8Array): Uint8Array {
  const [cmd = "", ...args] = NATIVE[codec] ?? [];
  return new Uint8Array(execFileSync(cmd, args, { input: bytes, maxBuffer: 1 << 28 }));
}

const CODECS: ReadonlyArray<[Tool, string]> = [
  ["xz", "xz"],
  ["xz-arm", "xz"],
  ["gzip", "gzip"],
  ["lzma", "lzma"],
  ["lzo", "lzo"],
  ["lz4", "lz4"],
];

for (const [tool, codec] of CODECS) {
  test(`Arm zImage, ${tool} payload: fields, facts, the raw Image inside, extract and the Arm boot plan`, { skip: needs(tool) }, async () => {
    const z = buildArmZImage({ tool, kernel: KERNEL });
    const { report: r, tree } = await analyse(z.bytes);
    assert.deepEqual(
      {
        format: r.summary.format,
        arch: r.summary.arch,
        compression: r.summary.compression,
        kernelFormat: r.summary.kernelFormat,
        kernelPath: r.summary.kernelPath,
      },
      { format: "arm-zimage", arch: "arm", compression: codec, kernelFormat: "raw-kernel", kernelPath: "/payload/decompressed" },
    );
    assert.match(r.summary.linuxVersion ?? "", /^Linux version 6\.1\.0-kimg-armmp \(/);
    const root = layerAt(r, "/");
    assert.equal(root.title, `32-bit Arm zImage: little-endian, ${codec} payload`);
    assert.equal(field(root, "Arm zImage header", "magic").offset, 0x24);
    assert.equal(field(root, "Arm zImage header", "start").offset, 0x28);
    assert.equal(field(root, "Arm zImage header", "end").value, z.bytes.length);
    assert.equal(field(root, "Arm zImage header", "endian").meaning, "little-endian");
    assert.equal(field(root, "zImage kernel size tag", "size_ptr").offset, z.tableOffset + 8);
    assert.deepEqual(
      [root.info.start, root.info.end, root.info.bigEndian, root.info.efiStub, root.info.payloadCodec, root.info.declaredSize],
      [0, z.bytes.length, false, false, codec, KERNEL.length],
    );
    const facts = factsOf(tree.facts, "/", "arm-zimage");
    assert.ok(facts);
    assert.deepEqual(
      { ...facts, sizePtr: null },
      {
        kind: "arm-zimage",
        start: 0,
        end: z.bytes.length,
        endianWord: 0x04030201,
        endianness: "little",
        extensionTable: true,
        sizePtr: null,
        bssSize: 0x39000,
        efiStub: false,
        payload: { offset: z.payloadOffset, length: z.payloadLength, codec },
        declaredSize: KERNEL.length,
      },
    );
    // Past the decoy magic in the decompressor, exactly the stream: the native tool decodes it to the same bytes.
    const payload = layerAt(r, "/payload");
    assert.deepEqual([payload.offset, payload.size, payload.info.expectedSize], [z.payloadOffset, z.payloadLength, KERNEL.length]);
    assert.deepEqual(tree.bytes.get("/payload/decompressed"), KERNEL);
    assert.deepEqual(native(codec, z.bytes.subarray(z.payloadOffset, z.payloadOffset + z.payloadLength)), KERNEL);
    assert.equal(layerAt(r, "/payload/decompressed").format, "raw-kernel");
    assert.deepEqual(codes(r), []);

    // extract: the decompressed Image; what a loader boots is the zImage itself.
    const u = await unpack(z.bytes);
    assert.deepEqual([u.path, u.format], ["/payload/decompressed", "raw-kernel"]);
    assert.deepEqual(u.data, KERNEL);
    assert.deepEqual([u.bootable?.path, u.bootable?.format], ["/", "arm-zimage"]);

    // plan: entered at the start, r0 = 0, r1 = ~0, r2 = DTB, 32 MiB into RAM, DTB above 128 MiB.
    const { plan: p } = await plan(z.bytes);
    assert.equal(p.arch, "arm");
    assert.deepEqual([p.kernel.path, p.kernel.format], ["/", "arm-zimage"]);
    assert.deepEqual([p.entry.offset, p.entry.address, p.entry.branchTarget], [0, "0x42000000", 0x3c]);
    assert.deepEqual(
      p.entry.instructions.map((i) => i.text),
      [...Array(8).fill("mov r0, r0"), "b 0x3c"],
    );
    const dtb = p.segments.find((s) => s.name === "dtb");
    assert.deepEqual([dtb?.address, dtb?.alignment], ["0x48000000", 8]);
    assert.deepEqual(
      p.registers.map((reg) => [reg.name, reg.value]),
      [
        ["r0", "0x0"],
        ["r1", "0xffffffff"],
        ["r2", "0x48000000"],
      ],
    );
    assert.ok(p.cpuState.some((s) => /MMU off, data cache off/.test(s)));
    assert.ok(p.cpuState.some((s) => /SVC mode, or HYP mode/.test(s)));
    assert.deepEqual(
      p.checks.filter((c) => !c.ok).map((c) => c.id),
      [],
    );
    assert.deepEqual(
      p.checks.map((c) => c.id),
      ["pe-header", "entry-first-instruction", "entry-branch", "arm-placement", "arm-endianness"],
    );
    assert.equal(r.plan?.kernel.format, "arm-zimage");
  });
}

test("Arm zImage plan: an initrd goes just above the DTB; a RAM base moves everything", { skip: needs("xz") }, async () => {
  const z = buildArmZImage({ tool: "xz", kernel: KERNEL });
  const { plan: p } = await plan(z.bytes, { initrdSize: 0x100000, dtbSize: 0x8000, ramBase: 0x80000000n });
  assert.deepEqual(
    p.segments.map((s) => [s.name, s.address]),
    [
      ["kernel", "0x82000000"],
      ["dtb", "0x88000000"],
      ["initrd", "0x88008000"],
    ],
  );
  assert.equal(p.registers[2]?.value, "0x88000000");
});

test("Arm zImage with the EFI stub: a zImage with a PE view, planned at its start, not at the EFI entry", { skip: needs("xz") }, async () => {
  const z = buildArmZImage({ tool: "xz", kernel: KERNEL, efi: true });
  const { report: r, tree } = await analyse(z.bytes);
  assert.equal(r.summary.format, "arm-zimage");
  assert.equal(layerAt(r, "/").info.efiStub, true);
  assert.equal(factsOf(tree.facts, "/", "arm-zimage")?.efiStub, true);
  assert.match(layerAt(r, "/").title, /EFI stub/);
  assert.equal(layerAt(r, "/pe").format, "pe");
  assert.equal(layerAt(r, "/pe").pe?.machineName, "THUMB");
  assert.equal(layerAt(r, "/payload").offset, z.payloadOffset);
  assert.equal(r.summary.kernelFormat, "raw-kernel");
  const { plan: p } = await plan(z.bytes);
  assert.equal(p.entry.offset, 0);
  assert.ok(p.entry.efiEntry, "the EFI entry is named as the one not to use");
  assert.ok(p.regions.some((g) => g.layer === "/pe"));
});

test("Arm zImage: BE8 endianness word; an old header without the table still finds an xz payload by its footer", { skip: needs("xz") }, async () => {
  const be8 = await analyse(buildArmZImage({ tool: "xz", kernel: KERNEL, be8: true }).bytes);
  assert.equal(layerAt(be8.report, "/").info.bigEndian, true);
  assert.equal(factsOf(be8.tree.facts, "/", "arm-zimage")?.endianness, "big");
  assert.match(layerAt(be8.report, "/").title, /big-endian \(BE8\)/);
  assert.match(be8.report.plan?.checks.find((c) => c.id === "arm-endianness")?.message ?? "", /BE8/);
  const old = buildArmZImage({ tool: "xz", kernel: KERNEL, table: false });
  const { report: r, tree } = await analyse(old.bytes);
  assert.equal(field(layerAt(r, "/"), "Arm zImage header", "magic2").meaning, "absent (older kernel)");
  assert.equal(layerAt(r, "/payload").offset, old.payloadOffset);
  assert.equal(layerAt(r, "/payload").size, old.payloadLength);
  assert.equal(r.summary.compression, "xz");
  // Without size_ptr, the size word after the stream's footer.
  assert.equal(factsOf(tree.facts, "/", "arm-zimage")?.declaredSize, KERNEL.length);
  assert.deepEqual(codes(r), []);
  assert.deepEqual((await unpack(old.bytes)).data, KERNEL);
});

test("Arm zImage, hostile: tag offsets and sizes out of range, end beyond the file, a wrong endianness word", { skip: needs("xz") }, async () => {
  const far = await inspect(buildArmZImage({ tool: "xz", kernel: KERNEL, tagOffset: 0xfffffff0 }).bytes);
  assert.equal(far.summary.format, "arm-zimage");
  assert.equal(far.summary.compression, "xz", "found by scanning when the table is unreadable");
  const huge = await inspect(buildArmZImage({ tool: "xz", kernel: KERNEL, tagWords: 0x40000000 }).bytes);
  assert.ok(codes(huge).includes("ZIMAGE_BAD_TAG"));

  const beyond = await inspect(buildArmZImage({ tool: "xz", kernel: KERNEL, end: 0x7fffffff }).bytes);
  assert.deepEqual(codes(beyond), ["ZIMAGE_TRUNCATED"]);
  assert.deepEqual([beyond.diagnostics[0]?.severity, beyond.diagnostics[0]?.offset], ["error", 0x2c]);
  assert.equal(beyond.summary.kernelFormat, "raw-kernel", "the payload is still found and decoded");
  const beyondBytes = buildArmZImage({ tool: "xz", kernel: KERNEL, end: 0x7fffffff }).bytes;
  await assert.rejects(unpack(beyondBytes), (e: unknown) => e instanceof KimgError && e.code === "E_TRUNCATED");
  await assert.rejects(plan(beyondBytes), (e: unknown) => e instanceof KimgError && e.code === "E_TRUNCATED");
  assert.deepEqual((await unpack(beyondBytes, { layer: "/payload/decompressed" })).data, KERNEL, "a chosen layer is still handed out");
  const backwards = await inspect(buildArmZImage({ tool: "xz", kernel: KERNEL, end: 0 }).bytes);
  assert.ok(codes(backwards).length === 0 || codes(backwards).includes("ZIMAGE_TRUNCATED"));

  const wrong = buildArmZImage({ tool: "xz", kernel: KERNEL, endianWord: 0xdeadbeef });
  const { report: w, tree } = await analyse(wrong.bytes);
  assert.deepEqual(codes(w), ["ZIMAGE_BAD_ENDIAN"]);
  assert.equal(w.diagnostics[0]?.offset, 0x30);
  assert.equal(field(layerAt(w, "/"), "Arm zImage header", "endian").meaning, "not an endianness word");
  assert.equal(factsOf(tree.facts, "/", "arm-zimage")?.endianness, null);
  const check = w.plan?.checks.find((c) => c.id === "arm-endianness");
  assert.equal(check?.ok, false);
  assert.match(check?.message ?? "", /0xdeadbeef names no byte order/);
});

test("Arm zImage, hostile: no payload, or a payload cut short, is refused by extract and plan", { skip: needs("xz") }, async () => {
  const z = buildArmZImage({ tool: "xz", kernel: KERNEL });
  const empty = z.bytes.slice(0, z.payloadOffset);
  const r = await inspect(empty);
  assert.equal(r.summary.format, "arm-zimage");
  assert.deepEqual(codes(r).sort(), ["ZIMAGE_PAYLOAD_NOT_FOUND", "ZIMAGE_TRUNCATED"]);
  assert.equal(r.summary.kernelFormat, "arm-zimage");
  await assert.rejects(unpack(empty), KimgError);
  await assert.rejects(plan(empty), KimgError);

  const cut = z.bytes.slice(0, z.payloadOffset + (z.payloadLength >> 1));
  const c = await inspect(cut);
  assert.equal(c.summary.format, "arm-zimage");
  assert.ok(codes(c).includes("ZIMAGE_TRUNCATED"));
  assert.ok(
    c.diagnostics.some((d) => d.severity === "error"),
    JSON.stringify(c.diagnostics),
  );
  await assert.rejects(unpack(cut), KimgError);
  await assert.rejects(plan(cut), KimgError);
});

// Debian's armhf kernels (linux-image-*-armmp), cached by scripts/fetch-debian-kernels.sh.
const CACHE = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
const REQUIRED = process.env.KIMG_REQUIRE_TOOLS === "1";
const ARMMP = ["bookworm/armhf-armmp/vmlinuz-6.1.0-50-armmp", "trixie/armhf-armmp/vmlinuz-6.12.117+deb13-armmp"]
  .map((p) => join(CACHE, p))
  .concat(
    existsSync(join(CACHE, "manifest.tsv"))
      ? readFileSync(join(CACHE, "manifest.tsv"), "utf8")
          .split("\n")
          .map((l) => l.split("\t"))
          .filter((f) => f[0] === "armhf" && f[1] === "armmp")
          .map((f) => join(CACHE, f[4] ?? "", "armhf-armmp", f[5] ?? ""))
      : [],
  )
  .filter((p, i, all) => all.indexOf(p) === i && existsSync(p));
const debianSkip =
  ARMMP.length === 0 && !REQUIRED
    ? `no Debian armhf armmp kernel in ${CACHE}: run scripts/fetch-debian-kernels.sh (KIMG_DEBIAN_CACHE to put it elsewhere)`
    : needs("xz");

test("Debian's armhf armmp zImage: the raw kernel with its banner, extract equals xz -dc on the payload, the Arm plan", { skip: debianSkip }, async () => {
  assert.ok(ARMMP.length > 0, `no Debian armhf armmp kernel in ${CACHE}`);
  for (const path of ARMMP) {
    const bytes = new Uint8Array(readFileSync(path));
    const { report: r, tree } = await analyse(bytes, { codecs: NODE_CODECS });
    const release = /vmlinuz-(.*)$/.exec(path)?.[1] ?? "";
    assert.equal(r.summary.format, "arm-zimage", path);
    assert.equal(r.summary.kernelFormat, "raw-kernel");
    assert.equal(r.summary.compression, "xz");
    assert.ok(r.summary.linuxVersion?.startsWith(`Linux version ${release} (debian-kernel@lists.debian.org)`), r.summary.linuxVersion ?? "");
    assert.deepEqual(codes(r), []);
    const facts = factsOf(tree.facts, "/", "arm-zimage");
    assert.ok(facts?.payload);
    assert.deepEqual([facts.start, facts.end, facts.endianness, facts.efiStub, facts.extensionTable], [0, bytes.length, "little", true, true]);
    assert.equal(layerAt(r, "/pe").pe?.machineName, "THUMB");
    // The payload ends where size_ptr's word starts; the word is the decompressed size.
    assert.equal(facts.payload.offset + facts.payload.length, facts.sizePtr);
    const carved = bytes.subarray(facts.payload.offset, facts.payload.offset + facts.payload.length);
    const expected = native("xz", carved);
    assert.equal(facts.declaredSize, expected.length);
    const u = await unpack(bytes, { codecs: NODE_CODECS });
    assert.equal(u.path, "/payload/decompressed");
    assert.ok(Buffer.from(u.data).equals(expected), "kimg's decompressed kernel equals xz -dc on the payload");
    const { plan: p } = await plan(bytes, { codecs: NODE_CODECS });
    assert.deepEqual([p.arch, p.kernel.format, p.entry.offset], ["arm", "arm-zimage", 0]);
    assert.deepEqual(
      p.checks.filter((c) => !c.ok).map((c) => c.id),
      [],
    );
  }
  // The CLI as a user runs it.
  const kimg = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  const path = ARMMP[0] ?? "";
  const planned = kimg("plan", path);
  assert.equal(planned.status, 0, planned.stderr);
  assert.match(planned.stdout, /^boot plan for \/ \(arm-zimage, arm, \d+ bytes\)/);
  assert.match(planned.stdout, /r0 += 0x0 +must be 0/);
  assert.match(planned.stdout, /r1 += 0xffffffff +machine type number; ~0/);
  assert.match(planned.stdout, /r2 += 0x48000000 +physical address of the device tree/);
  assert.match(planned.stdout, /MMU off, data cache off/);
  const out = join(mkdtempSync(join(tmpdir(), "kimg-zimage-")), "Image");
  const extracted = kimg("extract", path, "-o", out);
  assert.equal(extracted.status, 0, extracted.stderr);
  assert.match(
    readFileSync(out)
      .subarray(0, 1 << 25)
      .toString("latin1"),
    /Linux version /,
  );
});
