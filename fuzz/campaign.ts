/**
 * The parent side of a fuzz run: builds the seeds once, runs the loop in one worker thread,
 * watches it (a heartbeat per call, the process's memory), and when the worker hangs, runs out
 * of memory or dies, records the input it was on, kills it and starts a new one after that input.
 * Every failure is written to the crash folder with the seed and iteration that rebuild it.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { generateInput, type FuzzInput, type Seed } from "./mutators.js";
import { buildSeeds } from "./seeds.js";
import { TARGETS } from "./targets.js";
import { SLOT, SLOT_COUNT, type Slowest, type WorkerData, type WorkerMessage } from "./protocol.js";

export interface CampaignOptions {
  /** Run seed: the same seed and iteration always make the same input. */
  seed: number;
  /** Stop after this many inputs (from `start`). */
  iterations?: number;
  /** Stop after this many seconds. */
  seconds?: number;
  /** First iteration (to resume a run or replay a range). */
  start?: number;
  /** Longest one target may take on one input before the input counts as a hang. */
  budgetMs?: number;
  /** Resident memory of the whole process that counts as "memory past the limit". */
  maxRssMb?: number;
  /** Where failures go; null writes nothing. */
  crashDir?: string | null;
  targets?: string[];
  /** URLs of modules exporting more targets as FUZZ_TARGETS (for the harness's self-test). */
  targetModules?: string[];
  /** Progress lines; silent when absent. */
  log?: (line: string) => void;
  /** Seeds built by the caller (tests reuse theirs); built here otherwise. */
  seeds?: Seed[];
}

export type FailureKind = "exception" | "hang" | "memory" | "worker-died";

export interface Failure {
  kind: FailureKind;
  target: string;
  iteration: number;
  seed: string;
  mutations: string[];
  why: string;
  error: { name: string; message: string; stack: string; code?: string } | null;
  /** The file the input was written to, when a crash folder was given. */
  file: string | null;
  /** How many more inputs failed the same way (only the first is written). */
  duplicates: number;
}

export interface CampaignResult {
  runSeed: number;
  inputs: number;
  seconds: number;
  inputsPerSecond: number;
  seedCount: number;
  failures: Failure[];
  /** "target: outcome" -> count. */
  outcomes: Record<string, number>;
  workerRestarts: number;
  /** The slowest input (all targets together) and the highest resident memory seen. */
  slowest: Slowest;
  peakRssMb: number;
}

export const DEFAULT_BUDGET_MS = 5000;
export const DEFAULT_MAX_RSS_MB = 3072;
/** A worker compiles the harness and kimg (tsx) before its first input; on a loaded machine that is slow, and no input's fault. */
const WORKER_STARTUP_MS = 120_000;
/** The worker's JS heap; typed arrays live outside it and are watched through the RSS. */
const WORKER_HEAP_MB = 1024;

/** The worker is TypeScript: register tsx inside it, then load it. */
function startWorker(data: WorkerData): Worker {
  const url = new URL("./worker.ts", import.meta.url).href;
  // By URL: an eval'd worker resolves bare specifiers from the working directory, which may be anywhere.
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(boot, { eval: true, workerData: data, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
}

/** Failures with the same target, kind and first frames are one bug. */
function signature(kind: FailureKind, target: string, why: string, error: Failure["error"]): string {
  const frames = (error?.stack ?? "")
    .split("\n")
    .filter((l) => l.trim().startsWith("at "))
    .slice(0, 3)
    .map((l) => l.replace(/:\d+:\d+\)?$/, ""))
    .join("|");
  const message = (error?.message ?? "").replace(/\d+|0x[0-9a-f]+/gi, "N");
  return createHash("sha256")
    .update([kind, target, why.replace(/\d+/g, "N"), error?.name ?? "", message, frames].join("\n"))
    .digest("hex")
    .slice(0, 12);
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.log ?? (() => undefined);
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
  const maxRss = (options.maxRssMb ?? DEFAULT_MAX_RSS_MB) * 1024 * 1024;
  const targets = options.targets?.length ? options.targets : TARGETS.map((t) => t.name);
  const seeds = options.seeds ?? (await buildSeeds());
  const start = options.start ?? 0;
  const end = options.iterations !== undefined ? start + options.iterations : 0x7fffffff;
  const deadline = options.seconds !== undefined ? Date.now() + options.seconds * 1000 : Infinity;
  const crashDir = options.crashDir ?? null;
  if (crashDir) mkdirSync(crashDir, { recursive: true });

  const failures = new Map<string, Failure>();
  const outcomes: Record<string, number> = {};
  const addOutcomes = (o: Record<string, number>): void => {
    for (const [k, n] of Object.entries(o)) outcomes[k] = (outcomes[k] ?? 0) + n;
  };
  const began = Date.now();
  let restarts = 0;
  let slowest: Slowest = { iteration: -1, ms: 0 };
  let peakRss = 0;
  const addSlowest = (s: Slowest): void => {
    if (s.ms > slowest.ms) slowest = s;
  };
  let next = start;
  let done = start;

  const record = (kind: FailureKind, iteration: number, target: string, why: string, error: Failure["error"]): void => {
    const sig = signature(kind, target, why, error);
    const seen = failures.get(sig);
    if (seen) {
      seen.duplicates++;
      return;
    }
    let input: FuzzInput;
    try {
      input = generateInput(seeds, options.seed, iteration);
    } catch (e) {
      // A bug in the mutators themselves: still a failure, with nothing to write.
      input = { bytes: new Uint8Array(0), seed: "(generation failed)", mutations: [String(e)] };
    }
    let file: string | null = null;
    if (crashDir) {
      file = join(crashDir, `${kind}-${target}-${sig}.bin`);
      writeFileSync(file, input.bytes);
      const meta = {
        kind,
        target,
        why,
        runSeed: options.seed,
        iteration,
        seed: input.seed,
        mutations: input.mutations,
        error,
        reproduce: `npm run fuzz -- --replay ${file}   (or: npm run fuzz -- --seed ${options.seed} --start ${iteration} --iterations 1)`,
      };
      writeFileSync(file.replace(/\.bin$/, ".json"), JSON.stringify(meta, null, 2) + "\n");
    }
    failures.set(sig, { kind, target, iteration, seed: input.seed, mutations: input.mutations, why, error, file, duplicates: 0 });
    log(
      `FAILURE ${kind} in ${target} at iteration ${iteration} (${input.seed}: ${input.mutations.join("; ")}): ${why}${error ? ` — ${error.name}: ${error.message}` : ""}${file ? ` -> ${file}` : ""}`,
    );
  };

  let lastLog = Date.now();
  while (next < end && Date.now() < deadline) {
    const control = new SharedArrayBuffer(SLOT_COUNT * 4);
    const slots = new Int32Array(control);
    Atomics.store(slots, SLOT.ITERATION, next);
    Atomics.store(slots, SLOT.TARGET, -1);
    Atomics.store(slots, SLOT.DONE, next);
    const worker = startWorker({ seeds, runSeed: options.seed, start: next, end, targets, targetModules: options.targetModules ?? [], control });
    const current = (): { iteration: number; target: string } => ({
      iteration: Atomics.load(slots, SLOT.ITERATION),
      target: targets[Atomics.load(slots, SLOT.TARGET)] ?? "generate",
    });
    // Resolves with the iteration to resume from, or null when the worker finished its range.
    const resumeAt = await new Promise<number | null>((resolve) => {
      let settled = false;
      let beat = -1;
      let beatAt = Date.now();
      const finish = (value: number | null): void => {
        if (settled) return;
        settled = true;
        clearInterval(watch);
        resolve(value);
      };
      const kill = (kind: FailureKind, why: string, error: Failure["error"]): void => {
        const { iteration, target } = current();
        record(kind, iteration, target, why, error);
        void worker.terminate();
        finish(iteration + 1);
      };
      const watch = setInterval(() => {
        const now = Date.now();
        const b = Atomics.load(slots, SLOT.HEARTBEAT);
        if (b !== beat) {
          beat = b;
          beatAt = now;
        } else if (now - beatAt > (b === 0 ? WORKER_STARTUP_MS : budgetMs)) {
          if (b === 0) kill("worker-died", `the worker did not start within ${WORKER_STARTUP_MS} ms`, null);
          else kill("hang", `no progress for ${now - beatAt} ms (budget ${budgetMs} ms)`, null);
          return;
        }
        const rss = process.memoryUsage.rss();
        peakRss = Math.max(peakRss, rss);
        if (rss > maxRss) {
          kill("memory", `resident memory ${Math.round(rss / 1048576)} MiB passed ${Math.round(maxRss / 1048576)} MiB`, null);
          return;
        }
        if (now >= deadline) Atomics.store(slots, SLOT.STOP, 1);
        if (now - lastLog >= 10000) {
          lastLog = now;
          const n = Atomics.load(slots, SLOT.DONE) - start;
          const secs = (now - began) / 1000;
          log(`${n} inputs in ${secs.toFixed(0)} s (${(n / secs).toFixed(0)}/s), ${failures.size} distinct failures`);
        }
      }, 50);
      let finished = false;
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "failure") record(m.kind, m.iteration, m.target, m.why, m.error);
        else {
          finished ||= m.type === "finished";
          addOutcomes(m.outcomes);
          addSlowest(m.slowest);
        }
      });
      worker.on("error", (error) => {
        const memory = (error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
        kill(memory ? "memory" : "worker-died", memory ? "worker heap exhausted" : "worker threw outside a target", {
          name: error.name,
          message: error.message,
          stack: error.stack ?? "",
        });
      });
      worker.on("exit", (code) => {
        // An exit without "finished" is a crash the worker could not report (a native abort, process.exit).
        if (!settled && !finished) kill("worker-died", `the worker exited with code ${code} before finishing`, null);
        finish(null);
      });
    });
    done = Math.max(done, Atomics.load(slots, SLOT.DONE));
    if (resumeAt === null) break;
    done = Math.max(done, resumeAt);
    next = resumeAt;
    restarts++;
    // A killed worker's memory is returned a little later; do not blame the next input for it.
    for (let wait = 0; wait < 100 && process.memoryUsage.rss() > maxRss; wait++) await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (Date.now() - began) / 1000;
  const inputs = done - start;
  return {
    runSeed: options.seed,
    inputs,
    seconds,
    inputsPerSecond: inputs / Math.max(seconds, 1e-3),
    seedCount: seeds.length,
    failures: [...failures.values()],
    outcomes,
    workerRestarts: restarts,
    slowest,
    peakRssMb: Math.round(peakRss / 1048576),
  };
}
