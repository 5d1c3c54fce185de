/**
 * kexec's source seam reads files with the core's parsers: the format probes pick a plain kernel,
 * and the PE parser (or the unpack report) says whether the kernel is Authenticode-signed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, KimgError } from "../src/io/errors.js";
import { coreUnpacker, isAuthenticodeSigned, plainKernelUnpacker } from "../src/kexec/source.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildBzImage, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";

/** The Image with a certificate table of `size` bytes appended and its data directory 4 entry set. */
function signed(image: Uint8Array, size = 0x100): Uint8Array {
  const out = new Uint8Array(image.length + size);
  out.set(image);
  out.fill(0x30, image.length);
  const view = new DataView(out.buffer);
  const pe = view.getUint32(0x3c, true);
  // PE32+: the data directories follow the 112-byte optional header; entry 4 is the certificate table.
  view.setUint32(pe + 24 + 112 + 4 * 8, image.length, true);
  view.setUint32(pe + 24 + 112 + 4 * 8 + 4, size, true);
  return out;
}

function zbootAround(image: Uint8Array): Uint8Array {
  const { toCompress, trailer } = zbootInputs(image, "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  return buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload), nxCompat: true }).bytes;
}

describe("kexec source", () => {
  it("takes a plain arm64 Image or bzImage by the core's probes, and nothing else", async () => {
    const arm64 = await plainKernelUnpacker(buildArm64Image());
    assert.deepEqual([arm64.kernelFormat, arm64.arch, arm64.format, arm64.signed], ["arm64-image", "arm64", "arm64-image", false]);
    const bz = await plainKernelUnpacker(buildBzImage({ payload: new Uint8Array(64) }));
    assert.deepEqual([bz.kernelFormat, bz.arch], ["bzimage", "x86_64"]);
    await assert.rejects(plainKernelUnpacker(new Uint8Array(0x400)), (e: unknown) => e instanceof KimgError && e.code === ErrorCode.UNKNOWN_FORMAT);
    // A zboot image needs unpacking: the plain unpacker refuses it.
    await assert.rejects(plainKernelUnpacker(zbootAround(buildArm64Image())), (e: unknown) => e instanceof KimgError && e.code === ErrorCode.UNKNOWN_FORMAT);
  });

  it("reads the signature from the PE parser: plain and inside a zboot image", async () => {
    const image = buildArm64Image();
    assert.equal(isAuthenticodeSigned(image), false);
    assert.equal(isAuthenticodeSigned(signed(image)), true);
    assert.equal(isAuthenticodeSigned(new Uint8Array(0x40)), false);
    assert.equal((await plainKernelUnpacker(signed(image))).signed, true);
    const inner = await coreUnpacker(zbootAround(signed(image)));
    assert.equal(inner.kernelFormat, "arm64-image");
    assert.equal(inner.signed, true);
    assert.equal((await coreUnpacker(zbootAround(image))).signed, false);
  });
});
