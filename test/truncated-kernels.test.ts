/**
 * Kernels that cannot be whole (issue 12 item 9): an Image cut short, an ELF whose PT_LOAD lies
 * past the end (by 2^64-sized values), a bzImage with no payload. Each is an error diagnostic with
 * a stable code in the report, and unpack, plan and kexec's unpacker refuse it with a coded error.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { plan, unpack } from "../src/api/index.js";
import { ErrorCode, KimgError } from "../src/io/errors.js";
import { coreUnpacker } from "../src/kexec/source.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildBzImage, buildElf, buildRiscvImage } from "../support/builders/images.js";
import { inspect } from "./helpers/report.js";

function refused(code: string, diagnostic: string, offset?: number): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof KimgError, `not a KimgError: ${String(e)}`);
    assert.equal(e.code, code, e.describe());
    assert.equal(e.data.diagnostic, diagnostic, e.describe());
    if (offset !== undefined) assert.equal(e.offset, offset, e.describe());
    return true;
  };
}

/** The error diagnostics of a report as [code, layer, offset]. */
async function errors(bytes: Uint8Array): Promise<Array<[string, string, number | null]>> {
  const report = await inspect(bytes);
  return report.diagnostics.filter((d) => d.severity === "error").map((d) => [d.code, d.layer, d.offset]);
}

async function assertRefused(bytes: Uint8Array, code: string, diagnostic: string, offset?: number): Promise<void> {
  await assert.rejects(unpack(bytes), refused(code, diagnostic, offset), "unpack");
  await assert.rejects(plan(bytes), refused(code, diagnostic, offset), "plan");
  await assert.rejects(coreUnpacker(bytes), refused(code, diagnostic, offset), "kexec");
}

// Before: the first 64 bytes of an arm64 Image extracted with exit 0 as a 64-byte "arm64-image",
// and the Image cut in half gave a full boot plan (sections past the end were only warnings).
test("an arm64 Image cut to its 64-byte header or in half: KERNEL_TRUNCATED, refused by unpack, plan and kexec", async () => {
  const image = buildArm64Image();
  const whole = await unpack(image);
  assert.deepEqual([whole.format, whole.data.length], ["arm64-image", image.length]);
  assert.deepEqual(await errors(image), []);

  const header = image.slice(0, 64);
  assert.deepEqual(await errors(header), [["KERNEL_TRUNCATED", "/", 64]]);
  await assertRefused(header, ErrorCode.TRUNCATED, "KERNEL_TRUNCATED", 64);

  const half = image.slice(0, image.length >> 1);
  const report = await inspect(half);
  const d = report.diagnostics.find((x) => x.code === "KERNEL_TRUNCATED");
  assert.equal(d?.severity, "error");
  assert.equal(d?.offset, half.length);
  assert.match(d?.message ?? "", new RegExp(`reaches 0x${image.length.toString(16)}`));
  assert.equal(report.plan, null, "no boot plan in the report for a kernel that cannot be whole");
  await assertRefused(half, ErrorCode.TRUNCATED, "KERNEL_TRUNCATED", half.length);
});

test("image_size counts BSS: an Image shorter than image_size but holding all its sections is whole", async () => {
  const image = buildArm64Image({ bssSize: 0x100000 });
  const imageSize = Number(new DataView(image.buffer).getBigUint64(0x10, true));
  assert.ok(imageSize > image.length + 0xf0000);
  assert.deepEqual(await errors(image), []);
  assert.equal((await plan(image)).plan.kernel.size, image.length);
});

test("an arm64 Image without a PE header must reach the code its branch enters", async () => {
  const image = buildArm64Image({ code0: "nop" });
  assert.deepEqual(await errors(image), []);
  assert.equal((await unpack(image)).data.length, image.length);
  const header = image.slice(0, 0x40);
  assert.deepEqual(await errors(header), [["KERNEL_TRUNCATED", "/", 0x40]]);
  await assertRefused(header, ErrorCode.TRUNCATED, "KERNEL_TRUNCATED", 0x40);
});

test("a RISC-V Image cut in half: KERNEL_TRUNCATED, refused", async () => {
  const image = buildRiscvImage();
  assert.deepEqual(await errors(image), []);
  const half = image.slice(0, image.length >> 1);
  assert.deepEqual(await errors(half), [["KERNEL_TRUNCATED", "/", half.length]]);
  await assertRefused(half, ErrorCode.TRUNCATED, "KERNEL_TRUNCATED", half.length);
});

// Before: a 176-byte ELF whose PT_LOAD p_offset and p_filesz are near 2^64 planned with exit 0
// and no diagnostic, its offsets rounded through doubles.
test("an ELF whose PT_LOAD lies past the end by 2^64-sized values: KERNEL_TRUNCATED and ELF_VALUE_TOO_LARGE, exact in the message", async () => {
  const elf = buildElf().slice(0, 176);
  const v = new DataView(elf.buffer);
  v.setBigUint64(64 + 8, 0xfffffffffffff001n, true); // p_offset of program header 0
  v.setBigUint64(64 + 32, 0xfffn, true); // p_filesz: offset + size = 2^64 exactly
  const report = await inspect(elf);
  const errs = report.diagnostics.filter((d) => d.severity === "error");
  assert.deepEqual(
    errs.map((d) => [d.code, d.offset]),
    [
      ["KERNEL_TRUNCATED", 176],
      ["ELF_VALUE_TOO_LARGE", 64 + 8],
      // program header 1 (the data segment) starts at 0x1000 + 0x2000, far past 176 bytes.
      ["KERNEL_TRUNCATED", 176],
    ],
  );
  assert.match(errs[0]?.message ?? "", /\[0xfffffffffffff001, \+0xfff\) ends at 0x10000000000000000 but the file ends at 0xb0/);
  assert.match(errs[1]?.message ?? "", /p_offset 0xfffffffffffff001 is past 2\^53/);
  await assert.rejects(unpack(elf), refused(ErrorCode.TRUNCATED, "KERNEL_TRUNCATED", 176));
  await assert.rejects(plan(elf), refused(ErrorCode.TRUNCATED, "KERNEL_TRUNCATED", 176));
  // A whole ELF is unaffected.
  assert.deepEqual(await errors(buildElf()), []);
});

// Before: a bzImage with payload_length 0 extracted the bzImage itself as the kernel.
test("a bzImage with payload_length 0 or its payload past the end is refused, never returned as its own kernel", async () => {
  const payload = compressWith("gzip", buildElf());
  const bz = buildBzImage({ payload });
  const whole = await unpack(bz);
  assert.equal(whole.format, "elf");
  assert.deepEqual(await errors(bz), []);

  const empty = bz.slice();
  new DataView(empty.buffer).setUint32(0x24c, 0, true);
  assert.deepEqual(await errors(empty), [["BZIMAGE_NO_PAYLOAD", "/", 0x24c]]);
  await assertRefused(empty, ErrorCode.BAD_FIELD, "BZIMAGE_NO_PAYLOAD", 0x24c);

  const cut = bz.slice(0, bz.length - 0x400 - payload.length / 2);
  assert.deepEqual(
    (await errors(cut)).map((e) => e[0]),
    ["BZIMAGE_PAYLOAD_OUTSIDE"],
  );
  await assertRefused(cut, ErrorCode.TRUNCATED, "BZIMAGE_PAYLOAD_OUTSIDE");
});
