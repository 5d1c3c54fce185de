/** The FIT part of the Signatures section: every hash and signature node with the verdict `kimg verify` prints, and the keys given. */
import type { FitSignatureVerdict, FitVerifyReport } from "../../src/index.js";
import { h, hex } from "./dom.js";

function badge(kind: "pass" | "fail" | "info", text: string): HTMLElement {
  return h(
    "span",
    { class: `verdict ${kind}`, "data-status": kind },
    h("span", { "aria-hidden": "true" }, kind === "pass" ? "✓ " : kind === "fail" ? "✗ " : "– "),
    text,
  );
}

function signatureBadge(s: FitSignatureVerdict): HTMLElement {
  if (s.status === "verified") return badge("pass", `verified with ${s.key}`);
  return s.status === "no-key" ? badge("info", "not checked (no key)") : badge("fail", "failed");
}

const at = (offset: number | null): string => (offset === null ? "" : hex(offset));

/** One figure per FIT: a table of its hash and signature nodes; then the keys. */
export function fitVerifyFigures(fit: FitVerifyReport): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (const f of fit.fits) {
    const rows = [
      ...f.hashes.map((x) =>
        h(
          "tr",
          { "data-fit-node": x.path, "data-status": x.status },
          h("td", {}, x.path),
          h("td", {}, x.algo ?? "(no algo)"),
          h("td", { class: "mono" }, at(x.offset)),
          h("td", {}, x.status === "ok" ? badge("pass", "matches") : badge("fail", x.reason ?? "failed")),
        ),
      ),
      ...f.signatures.map((s) =>
        h(
          "tr",
          { "data-fit-node": s.path, "data-status": s.status },
          h("td", {}, s.path),
          h("td", {}, `${s.algo ?? "(no algo)"}${s.padding ? `, ${s.padding}` : ""}`),
          h("td", { class: "mono" }, at(s.valueOffset)),
          h(
            "td",
            {},
            signatureBadge(s),
            s.reasons.length && s.status !== "verified" ? h("ul", { class: "plain reasons" }, ...s.reasons.map((r) => h("li", {}, r))) : "",
          ),
        ),
      ),
    ];
    out.push(
      h(
        "figure",
        { class: "fit-verify", "data-layer": f.layer },
        h(
          "table",
          { class: "signatures" },
          h(
            "caption",
            {},
            `U-Boot FIT ${f.layer}: hash and signature nodes${f.defaultConfiguration ? ` (default configuration ${f.defaultConfiguration})` : ""}`,
          ),
          h("thead", {}, h("tr", {}, ...["node", "algo", "value at", "verdict"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, ...rows),
        ),
      ),
    );
  }
  if (fit.keys.length)
    out.push(
      h(
        "ul",
        { class: "plain fit-keys" },
        ...fit.keys.map((k) =>
          h(
            "li",
            {},
            `key ${k.name}: ${k.key}, ${k.required ? `required for ${k.required === "image" ? "images" : "configurations"}${k.requirementMet === false ? " (not met)" : ""}` : "optional"}; verified ${k.verified.join(", ") || "nothing"}`,
          ),
        ),
      ),
    );
  return out;
}
