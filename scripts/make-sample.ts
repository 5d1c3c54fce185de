/**
 * Builds the bundled sample: an arm64 EFI zboot image (v6.4+ layout, gzip) around an Image
 * written by our fixture builder. `npm start` inspects it. Run: npm run sample
 */
import { gzipSync } from "node:zlib";
import { writeFileSync } from "node:fs";
import { buildArm64Image, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";

const image = buildArm64Image({
  codeSize: 0x20000,
  dataSize: 0x4000,
  bssSize: 0x8000,
  banner: "Linux version 6.12.9-kimg-sample (sample@kimg) (gcc 12.2.0) #1 SMP PREEMPT",
});
const { toCompress, trailer } = zbootInputs(image, "v6.4", "gzip");
// gzip -n: no name, no mtime, as the v6.15+ stub requires.
const payload = new Uint8Array(gzipSync(toCompress, { level: 9 }));
const zboot = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) });
writeFileSync("samples/arm64-zboot-gzip.efi", zboot.bytes);
console.log(`samples/arm64-zboot-gzip.efi: ${zboot.bytes.length} bytes (Image ${image.length} bytes, padded to ${toCompress.length})`);
