/** The Secure Boot part of the signatures card (issue 17): db, dbx and SbatLevel files in, the verdict `kimg verify --db --dbx --sbat-level` prints out. */
import type { VerifyReport } from "../../src/index.js";
import { h } from "./dom.js";

/** The policy files a user picked. */
export interface PolicyChoice {
  db: File[];
  dbx: File[];
  sbatLevel: File | null;
}

function picker(id: string, label: string, multiple: boolean, onPick: (files: File[]) => void): HTMLElement {
  const input = h("input", { type: "file", id, multiple, class: "visually-hidden", tabindex: "-1", "aria-hidden": "true" });
  input.addEventListener("change", () => {
    if (input.files?.length) onPick([...input.files]);
  });
  return h("span", {}, h("button", { type: "button", id: `${id}-button`, onclick: () => input.click() }, label), input);
}

/** The policy pickers and, when the report has one, the Secure Boot verdict with the SBAT verdicts per PE layer. */
export function secureBootPart(v: VerifyReport, check: (choice: PolicyChoice) => void): HTMLElement {
  const part = h("div", { id: "secure-boot" });
  const choice: PolicyChoice = { db: [], dbx: [], sbatLevel: null };
  part.append(
    h(
      "p",
      { class: "actions" },
      picker("policy-db", "db… (signature list, .auth, certificate, shim)", true, (files) => {
        choice.db = files;
        check(choice);
      }),
      " ",
      picker("policy-dbx", "dbx…", true, (files) => {
        choice.dbx = files;
        check(choice);
      }),
      " ",
      picker("policy-sbat", "SbatLevel… (shim, policy text, variable dump)", false, (files) => {
        choice.sbatLevel = files[0] ?? null;
        check(choice);
      }),
    ),
  );
  const sb = v.secureBoot;
  if (sb) {
    part.append(h("p", { class: `verdict-line ${sb.boots ? "pass" : "fail"}`, id: "secure-boot-verdict", "data-boots": String(sb.boots) }, sb.verdictLine));
    if (sb.sbat.length) part.append(h("ul", { class: "diagnostics" }, ...sb.sbat.map((s) => h("li", {}, `SBAT ${s.layer}: ${s.status} - ${s.message}`))));
  }
  return part;
}
