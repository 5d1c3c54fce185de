/**
 * npm run fuzz -- [--iterations N] [--seconds S] [--seed X] [--start I] [--budget-ms MS]
 *                 [--max-rss-mb MB] [--crash-dir DIR] [--targets a,b] [--replay FILE]
 *
 * Mutates the seed images and runs every target on each input in a watched worker thread.
 * Exits 1 when any input ended in anything but a report or a KimgError with a stable code.
 * `--replay FILE` runs the targets on one saved input in this process and prints each outcome.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_BUDGET_MS, DEFAULT_MAX_RSS_MB, runCampaign, type CampaignResult } from "./campaign.js";
import { runTarget, targetsByName } from "./targets.js";

const USAGE = `usage: npm run fuzz -- [--iterations N] [--seconds S] [--seed X] [--start I]
                     [--budget-ms MS] [--max-rss-mb MB] [--crash-dir DIR] [--targets a,b]
       npm run fuzz -- --replay crashes/FILE.bin [--targets a,b]`;

function integer(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} wants a whole number, not "${text}"`);
  return n;
}

async function replay(file: string, targets: string[] | undefined): Promise<number> {
  const bytes = new Uint8Array(readFileSync(file));
  let failed = 0;
  for (const target of targetsByName(targets)) {
    const result = await runTarget(target, bytes);
    if (result.ok) {
      console.log(`${target.name}: ${result.outcome}`);
    } else {
      failed++;
      console.log(`${target.name}: FAILURE ${result.outcome}\n${result.error?.stack ?? ""}`);
    }
  }
  return failed ? 1 : 0;
}

function summary(r: CampaignResult): string {
  const lines = [
    `run seed ${r.runSeed}: ${r.inputs} inputs from ${r.seedCount} seeds in ${r.seconds.toFixed(1)} s (${r.inputsPerSecond.toFixed(0)} inputs/s), ${r.workerRestarts} worker restarts`,
    `slowest input: iteration ${r.slowest.iteration}, ${r.slowest.ms.toFixed(0)} ms for all targets; peak resident memory ${r.peakRssMb} MiB`,
    `failures: ${r.failures.length} distinct (${r.failures.reduce((n, f) => n + 1 + f.duplicates, 0)} inputs)`,
  ];
  for (const f of r.failures)
    lines.push(
      `  ${f.kind} ${f.target} @${f.iteration} x${f.duplicates + 1}: ${f.why}${f.error ? ` — ${f.error.message}` : ""}${f.file ? ` (${f.file})` : ""}`,
    );
  lines.push("outcomes:");
  for (const [k, n] of Object.entries(r.outcomes).sort()) lines.push(`  ${k.padEnd(44)} ${n}`);
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: "string" },
      seconds: { type: "string" },
      seed: { type: "string" },
      start: { type: "string" },
      "budget-ms": { type: "string" },
      "max-rss-mb": { type: "string" },
      "crash-dir": { type: "string", default: "crashes" },
      targets: { type: "string" },
      replay: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const targets = values.targets?.split(",").filter(Boolean);
  if (values.replay) return replay(values.replay, targets);

  let iterations = integer(values.iterations, "iterations");
  const seconds = integer(values.seconds, "seconds");
  if (iterations === undefined && seconds === undefined) iterations = 10000;
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 0x7fffffff);
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed wants an integer (decimal or 0x...), not "${values.seed}"`);
  const log = (line: string): void => console.error(`[fuzz] ${line}`);
  log(
    `seed ${seed}; ${iterations !== undefined ? `${iterations} inputs` : ""}${iterations !== undefined && seconds !== undefined ? " or " : ""}${seconds !== undefined ? `${seconds} s` : ""}; crashes go to ${values["crash-dir"]}/`,
  );
  const result = await runCampaign({
    seed,
    ...(iterations !== undefined ? { iterations } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
    start: integer(values.start, "start") ?? 0,
    budgetMs: integer(values["budget-ms"], "budget-ms") ?? DEFAULT_BUDGET_MS,
    maxRssMb: integer(values["max-rss-mb"], "max-rss-mb") ?? DEFAULT_MAX_RSS_MB,
    crashDir: values["crash-dir"] ?? "crashes",
    ...(targets ? { targets } : {}),
    log,
  });
  console.log(summary(result));
  return result.failures.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`fuzz: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exitCode = 2;
  },
);
