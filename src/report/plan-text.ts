/** The text view of a boot plan. */
import type { BootPlan, ContainerPlan } from "../model/plan.js";
import { checkStatus, type CheckStatus } from "../model/plan.js";

const STATUS_WORD: Readonly<Record<CheckStatus, string>> = { pass: "ok  ", fail: "FAIL", info: "info" };

function hx(n: number): string {
  return "0x" + n.toString(16);
}

/** The text view of a boot plan (what `kimg plan` prints): entry, load, segments, registers, CPU state, regions and checks. */
export function renderPlanText(plan: BootPlan): string {
  const lines: string[] = [];
  lines.push(`boot plan for ${plan.kernel.path} (${plan.kernel.format}, ${plan.arch}, ${plan.kernel.size} bytes)`);
  if (plan.container) lines.push(...containerLines(plan.container));
  lines.push("", "entry:");
  lines.push(
    `  offset ${plan.entry.offset >= 0 ? hx(plan.entry.offset) : "n/a"} in the image, address ${plan.entry.address}${plan.entry.form ? ` (${plan.entry.form})` : ""}`,
  );
  if (plan.entry.branchTarget !== null) lines.push(`  branch target ${hx(plan.entry.branchTarget)}`);
  for (const i of plan.entry.instructions) {
    lines.push(
      `  ${hx(i.offset).padStart(8)}: ${i.encoding.padEnd(10)} ${i.text}${i.branchTarget !== undefined ? `   -> ${hx(i.branchTarget)}` : ""}${i.harmless ? "   (harmless)" : ""}`,
    );
  }
  for (const e of plan.entry.explanation) lines.push(`  ${e}`);
  if (plan.entry.efiEntry) lines.push(`  not the EFI entry (RVA ${hx(plan.entry.efiEntry.rva)}): ${plan.entry.efiEntry.why}`);
  lines.push("", "load:");
  lines.push(`  RAM base ${plan.load.ramBase}, alignment ${hx(plan.load.alignment)}, base ${plan.load.base}, kernel at ${plan.load.kernelAddress}`);
  lines.push(`  text_offset ${hx(plan.load.textOffset)}, ${plan.load.fileSize} bytes loaded, ${plan.load.memorySize} bytes of memory`);
  for (const r of plan.load.rules) lines.push(`  - ${r}`);
  lines.push("", "segments:");
  for (const s of plan.segments)
    lines.push(
      `  ${s.name.padEnd(11)} ${s.address.padStart(12)}  size ${hx(s.size).padStart(10)}  mem ${hx(s.memorySize).padStart(10)}  align ${hx(s.alignment)}  ${s.note}`,
    );
  lines.push("", "registers at entry:");
  for (const r of plan.registers) lines.push(`  ${r.name.padEnd(4)} = ${r.value.padEnd(12)} ${r.meaning}`);
  for (const c of plan.cpuState) lines.push(`  - ${c}`);
  lines.push("", "memory protection map:");
  for (const r of plan.regions) lines.push(`  ${r.layer.padEnd(24)} ${hx(r.start).padStart(10)}-${hx(r.end).padEnd(10)} ${r.perms}  ${r.name}`);
  lines.push("", "checks:");
  for (const c of plan.checks) lines.push(`  ${STATUS_WORD[checkStatus(c)]} ${c.id.padEnd(24)} ${c.message}${c.layer ? ` [${c.layer}]` : ""}`);
  return lines.join("\n") + "\n";
}

/** The boot container's part (issue 15): configuration, parts, addresses with their offsets, what the bootloader does. */
function containerLines(c: ContainerPlan): string[] {
  const lines = ["", `container: ${c.format} at ${c.layer}`];
  if (c.configuration !== null)
    lines.push(`  configuration ${c.configuration}${c.otherConfigurations.length ? ` (not planned: ${c.otherConfigurations.join(", ")})` : ""}`);
  for (const p of c.parts) lines.push(`  ${p.role.padEnd(11)} ${p.name}${p.layer ? ` -> ${p.layer}` : ""}${p.size !== null ? `, ${p.size} bytes` : ""}`);
  for (const a of c.addresses) lines.push(`  ${a.name} = ${a.value} (${a.role})${a.offset !== null ? ` at ${hx(a.offset)}` : ""}`);
  for (const n of c.notes) lines.push(`  - ${n}`);
  return lines;
}
