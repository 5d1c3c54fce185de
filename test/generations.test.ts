/**
 * Every header generation of docs/formats.md, built by our builders, is recognised and reported
 * with the generation its header shows: arm64 Image before and after v3.17, RISC-V header 0.1 and
 * 0.2, zboot v6.1 / v6.2-v6.3 / v6.4+ / "zstd" / .sbat, bzImage boot protocols 2.00-2.15 and the
 * boot-protocol CRC-32 of unsigned, damaged and sbsign-signed images.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { crc32 as zlibCrc32 } from "node:zlib";
import { join } from "node:path";
import { after, test } from "node:test";
import { ByteWriter, concat } from "../support/builders/bytes.js";
import { compressWith, type Tool } from "../support/builders/compress.js";
import { buildArm64Image, buildBzImage, buildElf, buildRiscvImage, buildZboot, zbootInputs, type ZbootGeneration } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { codes, field, inspect, layerAt } from "./helpers/report.js";

test("arm64 Image: each header generation, from the pre-v3.17 header to the ccmp pseudo-NOP", async () => {
  const cases: Array<[string, Parameters<typeof buildArm64Image>[0], string]> = [
    ["pre-v3.17, no EFI", { imageSizeZero: true, code0: "nop" }, "before v3.17"],
    ["v3.16 EFI stub (add pseudo-NOP)", { imageSizeZero: true, code0: "add" }, "v3.16 to before v3.17"],
    ["v3.17-v4.5", { textOffset: 0x80000, placeAnywhere: false, code0: "add" }, "v3.17 to before v5.8"],
    ["v4.6-v5.7", { textOffset: 0x80000, placeAnywhere: true, code0: "add" }, "v4.6 to before v5.8"],
    ["v5.8-v5.10 (text_offset 0, add pseudo-NOP)", { code0: "add" }, "v5.8 to before v6.1"],
    ["v5.11+ (ccmp pseudo-NOP)", {}, "v5.11+"],
  ];
  for (const [what, spec, generation] of cases) {
    const r = await inspect(buildArm64Image(spec));
    const img = layerAt(r, "/");
    assert.equal(r.summary.format, "arm64-image", what);
    assert.equal(img.info.generation, generation, `${what}: ${JSON.stringify(img.info.generationEvidence)}`);
    assert.ok(Array.isArray(img.info.generationEvidence) && img.info.generationEvidence.length > 0, what);
  }
});

test("arm64 Image before v3.17: text_offset in the kernel's endianness, 0x80000 assumed with a diagnostic", async () => {
  for (const bigEndian of [false, true]) {
    const r = await inspect(buildArm64Image({ imageSizeZero: true, bigEndian, code0: "add" }));
    const img = layerAt(r, "/");
    // The field shows the bytes as they are; a big-endian kernel's 0x80000 reads 0x0000080000000000 as LE.
    assert.equal(field(img, "arm64 Image header", "text_offset").hex, bigEndian ? "0x80000000000" : "0x80000");
    assert.equal(img.info.textOffset, 0x80000, `bigEndian ${bigEndian}`);
    assert.equal(img.info.textOffsetAssumed, true);
    assert.equal(img.info.generation, "v3.16 to before v3.17");
    assert.ok(codes(r).includes("ARM64_IMAGE_SIZE_ZERO"));
    assert.ok(!codes(r).includes("ARM64_RESERVED_FLAGS"));
  }
  const current = layerAt(await inspect(buildArm64Image()), "/");
  assert.equal(current.info.textOffsetAssumed, undefined);
  assert.equal(current.info.textOffset, 0);
});

test('RISC-V Image header 0.1: "RISCV" at 0x30 without magic2 is recognised and reported as 0.1', async () => {
  // res3 at 0x38: v0.1's head.S left 0x3a-0x3b to .balign fill, e.g. a c.nop (01 00).
  for (const res3 of [0, 0x00010000]) {
    const bytes = buildRiscvImage({ version: 1, res3 });
    assert.notEqual(new DataView(bytes.buffer).getUint32(0x38, true), 0x05435352, "no magic2 in the fixture");
    const r = await inspect(bytes);
    const img = layerAt(r, "/");
    assert.equal(r.summary.format, "riscv-image");
    assert.equal(r.summary.arch, "riscv64");
    assert.equal(img.info.version, "0.1");
    assert.equal(img.info.generation, "header 0.1 (v5.3 to before v5.4)");
    assert.match(String(field(img, "RISC-V Image header", "magic2").meaning), /header 0\.1/);
    assert.match((img.info.generationEvidence as string[]).join("\n"), res3 ? /holds 0x10000/ : /res3 is 0/);
    assert.deepEqual(codes(r), []);
  }
  const v2 = layerAt(await inspect(buildRiscvImage()), "/");
  assert.equal(v2.info.generation, "header 0.2 (v5.4+)");
  // Without either magic, the same bytes are not a RISC-V Image.
  const neither = buildRiscvImage({ version: 1 });
  neither.fill(0, 0x30, 0x38);
  assert.notEqual((await inspect(neither)).summary.format, "riscv-image");
});

function zboot(generation: ZbootGeneration, compType: string, tool: Tool, options: { linuxPeMagic?: boolean; nxCompat?: boolean; sbat?: string } = {}) {
  const { toCompress, trailer } = zbootInputs(buildArm64Image(), generation, compType);
  const payload = compressWith(tool, toCompress);
  return buildZboot({ machine: MACHINE.ARM64, compType, payload, trailer: trailer(payload), linuxPeMagic: generation !== "v6.1", ...options }).bytes;
}

test("EFI zboot: every generation is told from its header, trailer, padding, codec id, NX_COMPAT and .sbat", async () => {
  const cases: Array<[string, Uint8Array, string, RegExp]> = [
    ["v6.1 zstd22", zboot("v6.1", "zstd22", "zstd"), "before v6.2", /no LINUX_PE_MAGIC/],
    ["v6.1 gzip", zboot("v6.1", "gzip", "gzip"), "before v6.2", /without BSS padding/],
    ["v6.2 gzip", zboot("v6.2", "gzip", "gzip", { nxCompat: false }), "v6.2 to before v6.3", /12-byte/],
    ["v6.3 zstd22", zboot("v6.2", "zstd22", "zstd", { nxCompat: true }), "v6.2 to before v6.4", /NX_COMPAT: v6\.3\+/],
    ["v6.4-v6.12 xzkern", zboot("v6.4", "xzkern", "xz-arm64"), "v6.4 to before v6.13", /"xzkern": before v6\.13/],
    ["v6.13+ zstd", zboot("v6.4", "zstd", "zstd"), "v6.4+", /"zstd": v6\.13\+/],
    [
      "v6.16+ .sbat",
      zboot("v6.4", "gzip", "gzip", { sbat: "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" }),
      "v6.16+",
      /\.sbat section/,
    ],
  ];
  for (const [what, bytes, generation, clue] of cases) {
    const r = await inspect(bytes);
    const root = layerAt(r, "/");
    assert.equal(r.summary.kernelFormat, "arm64-image", what);
    assert.equal(root.info.generation, generation, `${what}: ${JSON.stringify(root.info.generationEvidence)}`);
    assert.match((root.info.generationEvidence as string[]).join("\n"), clue, what);
    assert.deepEqual(codes(r), [], what);
  }
});

test("EFI zboot: clues that contradict each other are reported, not forced into one generation", async () => {
  // v6.4+ padding and NX_COMPAT, but no LINUX_PE_MAGIC: a hand-edited or rebuilt header.
  const r = await inspect(zboot("v6.4", "gzip", "gzip", { linuxPeMagic: false, nxCompat: true }));
  assert.match(String(layerAt(r, "/").info.generation), /^inconsistent/);
  assert.ok(codes(r).includes("ZBOOT_GENERATION_INCONSISTENT"));
});

test("EFI zboot --shallow: the generation comes from the header alone", async () => {
  const r = await inspect(zboot("v6.1", "gzip", "gzip"), { shallow: true });
  const root = layerAt(r, "/");
  assert.equal(root.info.generation, "before v6.2");
  assert.doesNotMatch(JSON.stringify(root.info.generationEvidence), /padding/);
});

/** boot.rst's "Proto" column: the fields each protocol added. */
const PROTOCOL_FIELDS: Array<[number, string[]]> = [
  [
    0x200,
    [
      "jump",
      "header",
      "version",
      "realmode_swtch",
      "start_sys_seg",
      "kernel_version",
      "type_of_loader",
      "loadflags",
      "setup_move_size",
      "code32_start",
      "ramdisk_image",
      "ramdisk_size",
      "bootsect_kludge",
    ],
  ],
  [0x201, ["heap_end_ptr"]],
  [0x202, ["ext_loader_ver", "ext_loader_type", "cmd_line_ptr"]],
  [0x203, ["initrd_addr_max"]],
  [0x205, ["kernel_alignment", "relocatable_kernel"]],
  [0x206, ["cmdline_size"]],
  [0x207, ["hardware_subarch", "hardware_subarch_data"]],
  [0x208, ["payload_offset", "payload_length"]],
  [0x209, ["setup_data"]],
  [0x20a, ["min_alignment", "pref_address", "init_size"]],
  [0x20b, ["handover_offset"]],
  [0x20c, ["xloadflags"]],
  [0x20f, ["kernel_info_offset"]],
];

test("bzImage boot protocols 2.00-2.15: each field present from its protocol on, listed as not present before", async () => {
  const vmlinux = buildElf({ machine: 62 });
  const payload = compressWith("gzip", vmlinux);
  for (let protocol = 0x200; protocol <= 0x20f; protocol++) {
    const r = await inspect(buildBzImage({ payload, protocol }));
    const l = layerAt(r, "/");
    const name = `2.${(protocol & 0xff).toString().padStart(2, "0")}`;
    assert.equal(l.info.protocol, name);
    for (const [since, names] of PROTOCOL_FIELDS) {
      for (const n of names) {
        const f = field(l, "setup header", n);
        if (since <= protocol) assert.notEqual(f.value, null, `${n} in ${name}`);
        else {
          assert.equal(f.value, null, `${n} in ${name}`);
          assert.match(f.meaning ?? "", /^not present: a boot protocol 2\.\d\d\+ field/, `${n} in ${name}`);
        }
      }
    }
    // payload_offset/payload_length (2.08+) are what lead to the compressed vmlinux.
    assert.equal(
      l.children.some((c) => c.path === "/payload"),
      protocol >= 0x208,
      name,
    );
    // syssize exists in every version; before 2.04 only its low two bytes count.
    assert.notEqual(field(l, "setup header", "syssize").value, null);
    assert.equal(/low two bytes/.test(field(l, "setup header", "syssize").meaning ?? ""), protocol < 0x204, name);
    assert.equal(l.info.crc32, protocol >= 0x208 ? "matches" : `not applicable: boot protocol ${name} (the CRC-32 came with 2.08)`);
    // The builder writes LINUX_PE_MAGIC (v6.2+) only for 2.15; boot.rst gives 2.11+ a 3.x release.
    const since: Record<number, string> = { 0x20b: "v3.6 to ", 0x20c: "v3.8 to ", 0x20d: "v3.14 to ", 0x20e: "v3.14 to " };
    assert.equal(l.info.generation, protocol === 0x20f ? "v6.2 to before v6.15" : `${since[protocol] ?? ""}before v6.2`, name);
    assert.deepEqual(codes(r), [], name);
  }
});

test("bzImage CRC-32: a changed byte or appended data is reported; zero padding keeps the register at 0", async () => {
  const vmlinux = buildElf({ machine: 62 });
  const bz = buildBzImage({ payload: compressWith("gzip", vmlinux) });
  assert.equal(layerAt(await inspect(bz), "/").info.crc32, "matches");
  const changed = bz.slice();
  changed[0x400] = (changed[0x400] ?? 0) ^ 1; // inside the version string
  const r = await inspect(changed);
  assert.equal(layerAt(r, "/").info.crc32, "does not match");
  assert.deepEqual(codes(r), ["BZIMAGE_CRC_MISMATCH"]);
  const crcField = field(layerAt(r, "/"), "boot protocol CRC-32", "crc32");
  assert.equal(crcField.offset, changed.length - 4);
  // build.c's CRC makes the register 0 after the stored value, and zero bytes keep it 0.
  assert.equal(layerAt(await inspect(concat(bz, new Uint8Array(16))), "/").info.crc32, "matches");
  assert.equal(layerAt(await inspect(concat(bz, new Uint8Array(16).fill(0xff))), "/").info.crc32, "does not match");
});

test("bzImage from v6.15 on: no CRC-32, the last 4 bytes zero; reported as absent and as a v6.15+ clue", async () => {
  const vmlinux = buildElf({ machine: 62 });
  const r = await inspect(buildBzImage({ payload: compressWith("gzip", vmlinux), crc: "zero" }));
  const l = layerAt(r, "/");
  assert.match(String(l.info.crc32), /^absent: kernels from v6\.15 no longer append the CRC-32/);
  assert.equal(l.info.generation, "v6.15+");
  assert.match((l.info.generationEvidence as string[]).join("\n"), /4 zero bytes instead of a CRC-32: v6\.15\+ \(9c54baab4401/);
  assert.deepEqual(codes(r), []);
});

const dir = mkdtempSync(join(tmpdir(), "kimg-generations-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("bzImage signed by sbsign: CRC-32 not applicable, and the image as built (signature removed) still matches", async () => {
  const vmlinux = buildElf({ machine: 62 });
  const z = compressWith("zstd", vmlinux);
  const bz = buildBzImage({ payload: concat(z, new ByteWriter(4).u32(0, vmlinux.length).bytes) });
  const key = join(dir, "k.key");
  const cert = join(dir, "k.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=kimg generations test", "-days", "30"],
    { stdio: "ignore" },
  );
  writeFileSync(join(dir, "bz"), bz);
  execFileSync("sbsign", ["--key", key, "--cert", cert, "--output", join(dir, "bz.signed"), join(dir, "bz")], { stdio: "ignore" });
  const signed = new Uint8Array(readFileSync(join(dir, "bz.signed")));
  const r = await inspect(signed);
  const l = layerAt(r, "/");
  assert.equal(
    l.info.crc32,
    "not applicable: signed (signing set CheckSum and the certificate entry and appended the certificate table); the image as built, without them, matches",
  );
  assert.ok(!codes(r).includes("BZIMAGE_CRC_MISMATCH"));
  // With the platform's CRC-32 (Node's zlib.crc32, as the CLI passes it): the same report, and
  // the file is gone through once, not once per padding length the table's start allows.
  let crcBytes = 0;
  const counted = (data: Uint8Array, initial?: number): number => {
    crcBytes += data.length;
    return zlibCrc32(data, initial);
  };
  assert.deepEqual(await inspect(signed, { crc32: counted }), r);
  assert.ok(crcBytes > 0.9 * signed.length && crcBytes < 1.1 * signed.length, `${crcBytes} bytes through the CRC for a ${signed.length}-byte file`);
  // An image as built that does not end at a multiple of 8: sbsign pads it with zeros before the
  // table, and the CRC-32 is found behind the padding, still in one pass over the file.
  const odd = concat(bz.subarray(0, bz.length - 4), Uint8Array.of(1, 2, 3), new Uint8Array(4));
  new DataView(odd.buffer).setUint32(odd.length - 4, ~zlibCrc32(odd.subarray(0, odd.length - 4)) >>> 0, true);
  writeFileSync(join(dir, "odd"), odd);
  execFileSync("sbsign", ["--key", key, "--cert", cert, "--output", join(dir, "odd.signed"), join(dir, "odd")], { stdio: "ignore" });
  const oddSigned = new Uint8Array(readFileSync(join(dir, "odd.signed")));
  assert.equal(oddSigned[odd.length], 0, "sbsign padded the image");
  crcBytes = 0;
  assert.match(String(layerAt(await inspect(oddSigned, { crc32: counted }), "/").info.crc32), /the image as built, without them, matches$/);
  assert.ok(crcBytes < 1.1 * oddSigned.length, `${crcBytes} bytes through the CRC for a ${oddSigned.length}-byte file`);
  // A signed image whose bytes changed after the build: its as-built CRC-32 no longer matches.
  writeFileSync(
    join(dir, "bz2"),
    (() => {
      const c = bz.slice();
      c[0x400] = (c[0x400] ?? 0) ^ 1;
      return c;
    })(),
  );
  execFileSync("sbsign", ["--key", key, "--cert", cert, "--output", join(dir, "bz2.signed"), join(dir, "bz2")], { stdio: "ignore" });
  const l2 = layerAt(await inspect(new Uint8Array(readFileSync(join(dir, "bz2.signed")))), "/");
  assert.match(String(l2.info.crc32), /does not match either$/);
});

test("the text report lists each generation clue on its own line, whole", async () => {
  const { renderText } = await import("../src/report/text.js");
  const text = renderText(await inspect(zboot("v6.1", "zstd22", "zstd")));
  assert.match(text, /\n {2}generation: before v6\.2\n {2}generationEvidence:\n {4}- 0x38 is 0, no LINUX_PE_MAGIC: v6\.1 \(29636a5ce87b added it in v6\.2\)\n/);
  assert.match(text, /\n {4}- stub not marked NX_COMPAT: before v6\.3 \(6\.1\.y still writes 0\)\n/);
});
