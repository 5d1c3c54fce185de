/** Shared helpers of the codec tests: the real tools, real data, and byte and error assertions. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { KimgError } from "../../src/io/errors.js";

export { concat, prng, randomBytes } from "../../support/builders/bytes.js";

export const MiB = 1024 * 1024;

/** Runs a real tool as the kernel build does: data on stdin, the result on stdout. */
export function run(tool: string, args: string[], input: Uint8Array): Uint8Array {
  try {
    return new Uint8Array(execFileSync(tool, args, { input, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "pipe"] }));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`${tool} ${args.join(" ")} failed (is it installed? .ci/run installs it): ${detail}`);
  }
}

/** Real x86-64 machine code: a slice of the running node binary. */
export function realBinary(bytes: number, offset = 8 * MiB): Uint8Array {
  const fd = openSync(process.execPath, "r");
  try {
    const out = new Uint8Array(bytes);
    assert.equal(readSync(fd, out, 0, bytes, offset), bytes, "the node binary is too small for this sample");
    return out;
  } finally {
    closeSync(fd);
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.equal(sha256Hex(actual), sha256Hex(expected), `${what}: bytes differ`);
}

/** Runs `fn`, which must throw a KimgError with one of `codes`; returns it. */
export function assertKimgError(fn: () => unknown, codes: string[], what: string): KimgError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof KimgError, `${what}: threw ${String(error)} instead of a KimgError`);
    assert.ok(codes.includes(error.code), `${what}: ${error.code} (${error.message}) is not one of ${codes.join(", ")}`);
    return error;
  }
  assert.fail(`${what}: did not throw`);
}

/** Runs `fn`; if it throws, the error must be a KimgError with one of `codes`. */
export function assertOnlyKimgErrors(fn: () => unknown, codes: string[], what: string): void {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof KimgError, `${what}: threw ${String(error)} instead of a KimgError`);
    assert.ok(codes.includes(error.code), `${what}: ${error.code} (${error.message}) is not one of ${codes.join(", ")}`);
  }
}
