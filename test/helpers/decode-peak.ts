/**
 * Run in a child process by the budget tests: decodes FILE with the portable CODEC under a cap of
 * MAX bytes and prints {code, length, peakBytes}, where peakBytes is the growth of the process's
 * peak resident memory (VmHWM) during the decode. Large typed arrays are zero-filled lazily, so
 * only what a decoder really writes counts, which is what a bomb costs.
 *   node --import tsx test/helpers/decode-peak.ts CODEC FILE MAX
 */
import { readFileSync } from "node:fs";
import { BUILTIN_CODECS, decoderFor } from "../../src/codecs/registry.js";
import type { CodecName } from "../../src/codecs/types.js";
import { KimgError } from "../../src/io/errors.js";

const [codec, file, max] = process.argv.slice(2);
const peakResidentBytes = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN) * 1024;
const input = new Uint8Array(readFileSync(file ?? ""));
const decode = decoderFor(BUILTIN_CODECS, codec as CodecName);
// Load and compile the decoder first (its module is imported on first use), so only the decode counts.
await Promise.resolve(decode(new Uint8Array(0), { maxOutputBytes: 1 })).catch(() => undefined);
const before = peakResidentBytes();
let result: { code: string | null; length: number | null; expected?: unknown };
try {
  result = { code: null, length: (await decode(input, { maxOutputBytes: Number(max) })).length };
} catch (error) {
  if (!(error instanceof KimgError)) throw error;
  result = { code: error.code, length: null, expected: error.data.expected };
}
process.stdout.write(JSON.stringify({ ...result, peakBytes: peakResidentBytes() - before }));
