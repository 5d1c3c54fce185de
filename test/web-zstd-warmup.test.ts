/**
 * The zstd frame the web worker decodes when it starts (issue 14) is a real frame of the bundled
 * sample's Image, so the warm-up runs the decoder's real paths (Huffman literals, FSE sequences).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { decodeZstd } from "../src/codecs/zstd.js";
import { zstdOutputBound } from "../src/codecs/zstd-frame.js";
import { prepareZstd, unpack } from "../src/index.js";
import { ZSTD_WARMUP_BASE64 } from "../web/zstd-warmup.generated.js";

const frame = new Uint8Array(Buffer.from(ZSTD_WARMUP_BASE64, "base64"));

describe("the web worker's zstd warm-up frame", () => {
  it("decodes to the first 16 KiB of the sample's Image, through compressed blocks", async () => {
    const { data } = await unpack(new Uint8Array(readFileSync("samples/arm64-zboot-gzip.efi")));
    const out = await decodeZstd(frame, { maxOutputBytes: 128 * 1024 });
    assert.deepEqual(out, data.subarray(0, 16 * 1024));
    // Block_Type 2 (Compressed) somewhere: a bound above the output means compressed blocks.
    assert.ok(zstdOutputBound(frame) > out.length, `bound ${zstdOutputBound(frame)}`);
    assert.ok(frame.length < out.length / 2, `${frame.length} bytes`);
  });

  it("is decoded by prepareZstd without error, and a damaged one is swallowed", async () => {
    await prepareZstd({ frame, rounds: 2 });
    const damaged = frame.slice();
    damaged.fill(0xff, 40, 80);
    await assert.rejects(async () => decodeZstd(damaged, { maxOutputBytes: 128 * 1024 }), /zstd/);
    await prepareZstd({ frame: damaged, rounds: 1 });
  });
});
