/** Checks on the entry of images entered at their first byte (arm64, RISC-V). */
import type { DecodedInstruction } from "../../isa/types.js";
import type { Layer } from "../../model/report.js";
import type { Check } from "../../model/plan.js";
import { peOf } from "./common.js";

/** The PE AddressOfEntryPoint of the kernel image, when it has a PE header. */
export function efiEntryOf(kernel: Layer): number | null {
  return peOf(kernel)?.pe.addressOfEntryPoint ?? null;
}

export function entryChecks(kernel: Layer, bytes: Uint8Array, instructions: DecodedInstruction[], branchTarget: number | null, arch: string): Check[] {
  const checks: Check[] = [];
  const first = instructions[0];
  checks.push({
    id: "entry-first-instruction",
    ok: first?.harmless ?? false,
    message: first
      ? `${first.text} at +0 ${first.harmless ? "is harmless: it writes only " + (first.writes.join(", ") || "nothing") + ", which the boot protocol does not pass" : "is not known to be harmless at entry"}`
      : "no instruction at the image start",
    layer: kernel.path,
    offset: 0,
  });
  if (branchTarget === null) {
    checks.push({ id: "entry-branch", ok: false, message: `no branch to the core entry in the first instructions (${arch})`, layer: kernel.path, offset: 0 });
    return checks;
  }
  const inside = branchTarget >= 0 && branchTarget < bytes.length;
  const pe = peOf(kernel)?.pe;
  const code = pe?.sections.find(
    (s) => s.perms.includes("x") && branchTarget >= s.virtualAddress && branchTarget < s.virtualAddress + Math.max(s.virtualSize, s.sizeOfRawData),
  );
  const ok = inside && (pe ? code !== undefined : true);
  checks.push({
    id: "entry-branch",
    ok,
    message: !inside
      ? `the branch at the image start leads to +0x${branchTarget.toString(16)}, outside the ${bytes.length}-byte image`
      : pe && !code
        ? `the branch target +0x${branchTarget.toString(16)} is not inside an executable section`
        : `the branch target +0x${branchTarget.toString(16)} lies in ${code ? code.name + " (" + code.perms + ")" : "the image"}`,
    layer: kernel.path,
    offset: instructions.find((i) => i.branchTarget !== undefined)?.offset ?? 0,
  });
  return checks;
}
