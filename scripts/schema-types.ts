/**
 * The roots of the published JSON Schemas (`npm run schema`, scripts/schema.ts): one type per
 * `--json` output. `Report` and `VerifyReport` are the library's own types; `kimg plan --json`
 * prints the boot plan with the inspect report's diagnostics beside it, a shape that has no name
 * in src/, so it is named here.
 */
import type { BootPlan } from "../src/model/plan.js";
import type { Diagnostic } from "../src/model/report.js";

export type { Report } from "../src/model/report.js";
export type { VerifyReport } from "../src/signatures/types.js";
// Measured boot (issue 17): kimg pcr --json
export type { MeasureReport } from "../src/measure/types.js";

/** What `kimg plan --json` prints: the boot plan (see `Report.plan`) plus the diagnostics of reading the image. */
export type PlanReport = BootPlan & {
  /** Everything odd but not fatal found while reading the image, as in `Report.diagnostics`. */
  diagnostics: Diagnostic[];
};
