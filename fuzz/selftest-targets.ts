/**
 * Targets that misbehave on purpose, for the harness's own test (test/fuzz-short.test.ts): one
 * never returns, one holds memory past the limit, one throws a TypeError. Each picks its victims
 * from the iteration's input so the failures land on known inputs.
 */
import type { FuzzTarget } from "./targets.js";

const held: Uint8Array[] = [];

/** True for inputs whose length is divisible by `n`: deterministic per (seed, iteration). */
const every = (bytes: Uint8Array, n: number, rest: number): boolean => bytes.length % n === rest;

export const FUZZ_TARGETS: FuzzTarget[] = [
  {
    name: "selftest-hang",
    async run(bytes) {
      if (every(bytes, 5, 1)) for (;;);
      return "ok";
    },
    accepts: () => false,
  },
  {
    name: "selftest-memory",
    async run(bytes) {
      if (every(bytes, 5, 2)) {
        for (let i = 0; i < 8; i++) held.push(new Uint8Array(64 * 1024 * 1024).fill(1));
        await new Promise((resolve) => setTimeout(resolve, 60_000));
      }
      return "ok";
    },
    accepts: () => false,
  },
  {
    name: "selftest-throw",
    async run(bytes) {
      if (every(bytes, 5, 3)) return (null as unknown as { length: number }).length.toString();
      return "ok";
    },
    accepts: () => false,
  },
];
