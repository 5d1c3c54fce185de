/** How every view shows a check: one mark per status, and a short name for the badges. */
import type { CheckId } from "../model/codes.js";
import type { CheckStatus } from "../model/plan.js";

/** The mark beside a check in the pictures, the page's lists and the badges: ✓ pass, ✗ fail, i information. */
export const STATUS_MARK: Readonly<Record<CheckStatus, string>> = { pass: "✓", fail: "✗", info: "i" };

/** Short badge names for the checks the analysis computes. */
const CHECK_LABELS: Readonly<Partial<Record<CheckId, string>>> = {
  "w^x": "W^X",
  "nx-compat": "NX_COMPAT",
  "nx-consistency": "NX consistent",
  "control-flow": "CET/CFI",
  "section-alignment": "page-aligned",
  "sections-overlap": "no overlap",
  "header-not-executable": "headers not code",
  "entry-executable": "entry in code",
};

/** The badge name of a check id (the id itself when it has none). */
export function checkLabel(id: CheckId): string {
  return CHECK_LABELS[id] ?? id;
}
