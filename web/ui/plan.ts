/** The boot plan: the decoded entry instructions, where everything is loaded, and why. */
import { checkStatus, STATUS_MARK, type BootPlan } from "../../src/index.js";
import type { ErrorInfo } from "../protocol.js";
import { h, hex, formatBytes } from "./dom.js";

function table(caption: string, head: string[], rows: Array<Array<string | Node>>, attrs: Record<string, string> = {}): HTMLElement {
  return h(
    "table",
    attrs,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}

function list(items: string[]): HTMLElement {
  return h("ul", { class: "plain" }, ...items.map((i) => h("li", {}, i)));
}

export function entrySection(plan: BootPlan): HTMLElement {
  const e = plan.entry;
  const section = h("section", { class: "card", id: "entry", "aria-labelledby": "entry-title" });
  section.append(h("h2", { id: "entry-title" }, "Entry"));
  section.append(
    h(
      "p",
      {},
      `A non-EFI loader enters ${plan.kernel.path} (${plan.kernel.format}) at `,
      h("strong", {}, `+${hex(e.offset)}`),
      `, address ${e.address}`,
      e.branchTarget !== null ? `; the header's branch lands at +${hex(e.branchTarget)}` : "",
      e.form ? ` (${e.form} entry)` : "",
      ".",
    ),
  );
  if (e.instructions.length) {
    section.append(
      table(
        "The first instructions",
        ["offset", "encoding", "instruction", "writes", "safe as a first instruction"],
        e.instructions.map((i) => [hex(i.offset), h("code", {}, i.encoding), h("code", {}, i.text), i.writes.join(", ") || "—", i.harmless ? "yes" : "no"]),
        { class: "instructions" },
      ),
    );
  }
  if (e.explanation.length) section.append(list(e.explanation));
  if (e.efiEntry) section.append(h("p", { class: "muted" }, `EFI entry (AddressOfEntryPoint) RVA ${hex(e.efiEntry.rva)}: ${e.efiEntry.why}.`));
  return section;
}

export function loadSection(plan: BootPlan): HTMLElement {
  const l = plan.load;
  const section = h("section", { class: "card", id: "load-plan", "aria-labelledby": "load-title" });
  section.append(h("h2", { id: "load-title" }, "Load plan"));
  const facts: Array<[string, string]> = [
    ["RAM base", l.ramBase],
    ["alignment", hex(l.alignment)],
    ["aligned base", l.base],
    ["kernel at", l.kernelAddress],
    ["text offset", hex(l.textOffset)],
    ["memory size", formatBytes(l.memorySize)],
    ["file size", formatBytes(l.fileSize)],
  ];
  section.append(h("dl", { class: "facts" }, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  if (l.rules.length) section.append(list(l.rules));
  if (plan.segments.length) {
    section.append(
      table(
        "Segments",
        ["segment", "address", "size", "memory", "alignment", "note"],
        plan.segments.map((s) => [s.name, s.address, hex(s.size), hex(s.memorySize), hex(s.alignment), s.note]),
        { class: "segments" },
      ),
    );
  }
  if (plan.registers.length)
    section.append(
      table(
        "Registers at entry",
        ["register", "value", "meaning"],
        plan.registers.map((r) => [r.name, r.value, r.meaning]),
        { class: "registers" },
      ),
    );
  if (plan.cpuState.length) {
    section.append(h("h3", {}, "CPU state at entry"));
    section.append(list(plan.cpuState));
  }
  return section;
}

/** The plan's checks that no memory map shows (those about the loader, the DTB, the initrd). */
export function checksSection(plan: BootPlan, shownOnMaps: (check: BootPlan["checks"][number]) => boolean): HTMLElement | null {
  const rest = plan.checks.filter((c) => !shownOnMaps(c));
  if (!rest.length) return null;
  const section = h("section", { class: "card", id: "checks", "aria-labelledby": "checks-title" });
  section.append(h("h2", { id: "checks-title" }, "Other checks"));
  section.append(
    h(
      "ul",
      { class: "checks" },
      ...rest.map((c) =>
        h(
          "li",
          { class: `check ${checkStatus(c)}`, "data-check": c.id },
          h("span", { class: "mark", "aria-hidden": "true" }, STATUS_MARK[checkStatus(c)]),
          h("strong", {}, `${c.id}: ${checkStatus(c)}.`),
          ` ${c.message}`,
          c.layer ? h("span", { class: "muted" }, ` (${c.layer})`) : null,
        ),
      ),
    ),
  );
  return section;
}

export function noPlanNote(error: ErrorInfo): HTMLElement {
  return h("p", { class: "muted", id: "plan-error" }, `No boot plan: ${error.text}`);
}
