/** Signatures: every PE image's Authenticode digest, what it covers, and each signature's verdict. */
import { hashedRangesSvg, type VerifyLayer, type VerifySignature } from "../../src/index.js";
import type { SignatureResult } from "../protocol.js";
import { groupDigits, h, hex, svgElement } from "./dom.js";
import { withHoverDetail } from "./pictures.js";
import { diagnosticItem } from "./summary.js";
import { fitVerifyFigures } from "./fit-verify.js";
import { secureBootPart, type PolicyChoice } from "./secure-boot.js";

export interface SignatureActions {
  /** Verify again, checking chains against these certificate files. */
  checkChains(files: File[]): void;
  /** Verify again against Secure Boot policy files (issue 17). */
  checkPolicy?(choice: PolicyChoice): void;
}

function verdict(ok: boolean | null, yes: string, no: string, unknown = "not checked"): HTMLElement {
  const status = ok === null ? "info" : ok ? "pass" : "fail";
  return h(
    "span",
    { class: `verdict ${status}`, "data-status": status },
    h("span", { "aria-hidden": "true" }, ok === null ? "– " : ok ? "✓ " : "✗ "),
    ok === null ? unknown : ok ? yes : no,
  );
}

/** The same three outcomes `kimg verify` prints: only a checked chain makes a signature "verified". */
function statusBadge(status: VerifySignature["status"]): HTMLElement {
  const kind = status === "verified" ? "pass" : status === "intact" ? "info" : "fail";
  const text = status === "verified" ? "verified" : status === "intact" ? "intact, signer not trusted (chain not checked)" : "failed";
  return h(
    "span",
    { class: `verdict ${kind}`, "data-status": kind },
    h("span", { "aria-hidden": "true" }, kind === "pass" ? "✓ " : kind === "fail" ? "✗ " : "– "),
    text,
  );
}

function signatureRow(s: VerifySignature): HTMLElement {
  const reasons = s.reasons.length ? h("ul", { class: "plain reasons" }, ...s.reasons.map((r) => h("li", {}, r))) : null;
  return h(
    "tr",
    { "data-signature": `${s.layer}#${s.index}`, "data-verified": String(s.verified) },
    h("td", {}, s.nested ? `${s.index} (nested in ${s.parent})` : String(s.index)),
    h(
      "td",
      {},
      s.signer?.subject ?? "unreadable",
      s.signer
        ? h(
            "div",
            { class: "muted" },
            `issued by ${s.signer.issuer}; ${s.signer.key}; valid ${s.signer.notBefore.slice(0, 10)} to ${s.signer.notAfter.slice(0, 10)}`,
          )
        : null,
    ),
    h(
      "td",
      {},
      s.digestAlgorithm ?? "—",
      s.signingTime ? h("div", { class: "muted" }, `signed ${s.signingTime.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC")}`) : null,
    ),
    h("td", {}, verdict(s.digestMatches, "matches", "differs")),
    h("td", {}, verdict(s.signatureValid, "valid", "invalid")),
    h("td", {}, verdict(s.chainValid, "reaches a trusted certificate", "no trusted chain")),
    h("td", {}, statusBadge(s.status), reasons),
  );
}

function layerFigure(layer: VerifyLayer, signatures: VerifySignature[], ranges: SignatureResult["ranges"][number] | undefined): HTMLElement {
  const figure = h("div", { class: "signed-layer", "data-layer": layer.path });
  figure.append(h("h3", {}, h("code", {}, layer.path), ` (${layer.format})`));
  const facts: Array<[string, Node | string]> = [
    ["signed", layer.signed ? `yes, ${layer.signatureCount} signature${layer.signatureCount === 1 ? "" : "s"}` : "no"],
    ...Object.entries(layer.digest).map(([alg, digest]): [string, Node] => [
      `Authenticode ${alg}`,
      h("code", { class: "digest", "data-digest": alg }, digest ?? ""),
    ]),
    ["certificate table", layer.certificateTable ? `${hex(layer.certificateTable.offset)}, ${layer.certificateTable.size} bytes` : "none"],
  ];
  if (layer.kernel) facts.push(["Linux KEXEC_SIG", verdict(layer.kernel.accepted, "would accept the table", `would reject: ${layer.kernel.reason ?? ""}`)]);
  figure.append(h("dl", { class: "facts" }, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  if (layer.paddingNote) figure.append(h("p", { class: "warn" }, layer.paddingNote));
  if (ranges?.layout) {
    const layout = ranges.layout;
    figure.append(h("p", { class: "sub" }, `The digest covers ${groupDigits(layout.hashedBytes)} bytes in ${layout.hashed.length} ranges:`));
    figure.append(svgElement(hashedRangesSvg(layer.path, layout, ranges.length)));
    // The header fields left out (CheckSum, the table's directory entry) are a few bytes each.
    const headersEnd = Math.max(0, ...layout.skipped.filter((r) => r.end - r.start <= 16).map((r) => r.end));
    if (headersEnd > 0 && headersEnd < ranges.length / 20) {
      const end = Math.ceil(headersEnd / 0x200) * 0x200;
      figure.append(
        h(
          "p",
          { class: "sub" },
          `Close-up of the headers, ${hex(layout.base)} to ${hex(layout.base + end)}: the CheckSum field and the certificate-table entry are left out.`,
        ),
      );
      figure.append(
        svgElement(
          hashedRangesSvg(layer.path, layout, ranges.length, { end, title: `Close-up of the headers of ${layer.path}: what the digest leaves out there` }),
        ),
      );
    }
    withHoverDetail(figure, "Hover over or focus a range for its details.");
  } else if (ranges?.error) {
    figure.append(h("p", { class: "warn" }, `The hashed ranges could not be worked out: ${ranges.error}`));
  }
  if (signatures.length) {
    figure.append(
      h(
        "table",
        { class: "signatures" },
        h("caption", {}, `Signatures of ${layer.path}`),
        h(
          "thead",
          {},
          h("tr", {}, ...["#", "signer", "digest", "digest in signature", "signature", "chain", "verdict"].map((c) => h("th", { scope: "col" }, c))),
        ),
        h("tbody", {}, ...signatures.map(signatureRow)),
      ),
    );
  }
  return figure;
}

export function signaturesSection(result: SignatureResult | null, actions: SignatureActions): HTMLElement {
  const section = h("section", { class: "card", id: "signatures", "aria-labelledby": "signatures-title", "aria-busy": result === null ? "true" : "false" });
  section.append(h("h2", { id: "signatures-title" }, "Signatures"));
  if (result === null) {
    section.append(h("p", { class: "muted" }, "Checking the signatures…"));
    return section;
  }
  if (result.error || !result.verify) {
    section.append(h("p", { class: "warn" }, `The signatures could not be checked: ${result.error?.text ?? "no result"}`));
    return section;
  }
  const v = result.verify;
  const count = v.signatures.length;
  // The verdict line is the report's own sentence, the one `kimg verify` prints.
  const tone = v.verdict === "verified" ? "pass" : v.verdict === "unsigned" ? "info" : v.verdict === "intact" ? "warn" : "fail";
  section.append(h("p", { class: `verdict-line ${tone}`, id: "signature-verdict", "data-verdict": v.verdict }, v.verdictLine));
  if (count || v.fit) {
    const input = h("input", {
      type: "file",
      id: "trusted-certs",
      multiple: true,
      accept: v.fit ? ".pem,.crt,.cer,.der,.dtb,.pub" : ".pem,.crt,.cer,.der",
      class: "visually-hidden",
      tabindex: "-1",
      "aria-hidden": "true",
    });
    input.addEventListener("change", () => {
      if (input.files?.length) actions.checkChains([...input.files]);
    });
    section.append(
      h(
        "p",
        { class: "actions" },
        h(
          "button",
          { type: "button", id: "check-chains", onclick: () => input.click() },
          v.fit && !count ? "Check signatures against keys… (U-Boot control DTB, PEM or DER)" : "Check chains against certificates… (PEM or DER)",
        ),
        input,
      ),
    );
  }
  if (actions.checkPolicy) section.append(secureBootPart(v, actions.checkPolicy)); // issue 17
  for (const layer of v.layers) {
    section.append(
      layerFigure(
        layer,
        v.signatures.filter((s) => s.layer === layer.path),
        result.ranges.find((r) => r.path === layer.path),
      ),
    );
  }
  if (v.fit) section.append(...fitVerifyFigures(v.fit));
  // "Not signed" is the verdict line already.
  const notes = v.diagnostics.filter((d) => d.code !== "NOT_SIGNED" && d.code !== "NO_PE_IMAGE");
  if (notes.length) {
    section.append(h("h3", {}, "Notes"));
    section.append(h("ul", { class: "diagnostics" }, ...notes.map(diagnosticItem)));
  }
  return section;
}
