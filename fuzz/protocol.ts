/** What the fuzz parent and its worker share: the worker's start data, the shared slots, the messages. */
import type { Seed } from "./mutators.js";

export interface WorkerData {
  seeds: Seed[];
  runSeed: number;
  start: number;
  end: number;
  targets: string[];
  /** URLs of modules exporting more targets as FUZZ_TARGETS (the harness's own self-test uses this). */
  targetModules: string[];
  control: SharedArrayBuffer;
}

/** Slots of the shared Int32Array: what the worker is on, a heartbeat, how far it got, a stop flag. */
export const SLOT = { ITERATION: 0, TARGET: 1, HEARTBEAT: 2, DONE: 3, STOP: 4 } as const;
export const SLOT_COUNT = 5;

export interface ErrorInfo {
  name: string;
  message: string;
  stack: string;
  code?: string;
}

export type WorkerMessage =
  | { type: "failure"; kind: "exception" | "memory"; iteration: number; target: string; why: string; error: ErrorInfo }
  | { type: "stats"; outcomes: Record<string, number>; slowest: Slowest }
  | { type: "finished"; outcomes: Record<string, number>; slowest: Slowest };

/** The input that took longest over all targets, since the last message. */
export interface Slowest {
  iteration: number;
  ms: number;
}
