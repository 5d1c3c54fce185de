/**
 * The fuzz loop, in a worker thread so the parent can kill it when an input hangs (a synchronous
 * loop cannot be interrupted from inside). Before each call it writes the iteration and target
 * into shared memory and bumps a heartbeat: that is all the parent needs to blame the right input.
 */
import { parentPort, workerData } from "node:worker_threads";
import { generateInput } from "./mutators.js";
import { SLOT, type Slowest, type WorkerData, type WorkerMessage } from "./protocol.js";
import { runTarget, TARGETS, targetsByName, type FuzzTarget } from "./targets.js";

async function main(data: WorkerData): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("fuzz/worker.ts runs as a worker thread");
  const control = new Int32Array(data.control);
  const known: FuzzTarget[] = [...TARGETS];
  for (const url of data.targetModules) known.push(...((await import(url)) as { FUZZ_TARGETS: FuzzTarget[] }).FUZZ_TARGETS);
  const targets = targetsByName(data.targets, known);
  let outcomes: Record<string, number> = {};
  let lastReport = Date.now();
  let slowest: Slowest = { iteration: -1, ms: 0 };
  for (let i = data.start; i < data.end; i++) {
    if (Atomics.load(control, SLOT.STOP)) break;
    Atomics.store(control, SLOT.ITERATION, i);
    Atomics.store(control, SLOT.TARGET, -1);
    Atomics.add(control, SLOT.HEARTBEAT, 1);
    const input = generateInput(data.seeds, data.runSeed, i);
    const began = performance.now();
    for (let t = 0; t < targets.length; t++) {
      const target = targets[t];
      if (!target) continue;
      Atomics.store(control, SLOT.TARGET, t);
      Atomics.add(control, SLOT.HEARTBEAT, 1);
      const result = await runTarget(target, input.bytes);
      const key = `${target.name}: ${result.outcome}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (!result.ok && result.error)
        port.postMessage({
          type: "failure",
          kind: result.kind ?? "exception",
          iteration: i,
          target: target.name,
          why: result.outcome,
          error: result.error,
        } satisfies WorkerMessage);
    }
    Atomics.store(control, SLOT.DONE, i + 1);
    const ms = performance.now() - began;
    if (ms > slowest.ms) slowest = { iteration: i, ms };
    if (Date.now() - lastReport > 1000) {
      port.postMessage({ type: "stats", outcomes, slowest } satisfies WorkerMessage);
      outcomes = {};
      slowest = { iteration: -1, ms: 0 };
      lastReport = Date.now();
    }
  }
  port.postMessage({ type: "finished", outcomes, slowest } satisfies WorkerMessage);
}

await main(workerData as WorkerData);
