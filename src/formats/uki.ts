/**
 * Unified Kernel Image: a PE (systemd-stub) whose sections carry the kernel and its boot inputs.
 * Source: the UAPI group's UKI specification; systemd ukify. Multi-profile UKIs repeat the
 * sections after each `.profile`, so repeated names get "#2", "#3" in their layer path.
 */
import type { Layer, PeSection } from "../model/report.js";
import { hasPeHeader, MACHINE_ARCH, peTitle, readPe, readPeAlone } from "./pe.js";
import type { ChildSpec, FormatParser } from "./types.js";
import type { LayerFormat } from "../model/report.js";
import type { UkiFacts } from "../model/facts.js";

/** The sections the UKI specification defines, and how kimg reads each. */
export const UKI_SECTIONS: Readonly<Record<string, { role: string; format?: LayerFormat }>> = {
  ".linux": { role: "kernel image" },
  ".initrd": { role: "initrd" },
  ".ucode": { role: "microcode initrd" },
  ".cmdline": { role: "kernel command line", format: "text" },
  ".osrel": { role: "os-release", format: "text" },
  ".uname": { role: "kernel release (uname -r)", format: "text" },
  ".dtb": { role: "device tree", format: "dtb" },
  ".dtbauto": { role: "device tree (auto-selected)", format: "dtb" },
  ".hwids": { role: "hardware ids" },
  ".efifw": { role: "firmware" },
  ".splash": { role: "boot splash image" },
  ".sbat": { role: "SBAT revocation metadata", format: "text" },
  ".pcrsig": { role: "PCR signatures (JSON)", format: "text" },
  ".pcrpkey": { role: "PCR public key (PEM)", format: "text" },
  ".profile": { role: "profile metadata", format: "text" },
  ".sbom": { role: "software bill of materials" },
};

function sectionsOf(bytes: Uint8Array): PeSection[] | null {
  if (!hasPeHeader(bytes)) return null;
  try {
    return readPeAlone(bytes).sections;
  } catch {
    return null;
  }
}

export function isUki(bytes: Uint8Array): boolean {
  return sectionsOf(bytes)?.some((s) => s.name === ".linux") ?? false;
}

// UKI add-ons (issue 17, measured boot)
/** The sections that make a PE a UKI add-on for systemd-stub (stub.c load_addons). */
export const UKI_ADDON_SECTIONS: readonly string[] = [".cmdline", ".dtb", ".dtbauto", ".initrd", ".ucode"];

/** A UKI add-on (`*.addon.efi`): a PE with `.cmdline`, `.dtb`, `.dtbauto`, `.initrd` or `.ucode` and no `.linux`. */
export function isUkiAddon(bytes: Uint8Array): boolean {
  const sections = sectionsOf(bytes);
  return sections !== null && !sections.some((s) => s.name === ".linux") && sections.some((s) => UKI_ADDON_SECTIONS.includes(s.name));
}

/** The stub's `.sdmagic` text ("#### LoaderInfo: systemd-stub 257 ####"), bounded, or null. */
function loaderInfoOf(bytes: Uint8Array, sections: readonly PeSection[]): string | null {
  const s = sections.find((x) => x.name === ".sdmagic");
  if (!s) return null;
  const raw = bytes.subarray(s.pointerToRawData, Math.min(bytes.length, s.pointerToRawData + Math.min(sectionDataLength(s), 256)));
  const nul = raw.indexOf(0);
  return new TextDecoder("latin1").decode(nul >= 0 ? raw.subarray(0, nul) : raw).trim() || null;
}

/** UKI payloads end at VirtualSize; the raw data is padded to FileAlignment (kexec-tools e18a71f). */
export function sectionDataLength(s: PeSection): number {
  return s.virtualSize > 0 ? Math.min(s.virtualSize, s.sizeOfRawData) : s.sizeOfRawData;
}

export const ukiFormat: FormatParser = {
  format: "uki",
  probe: isUki,
  parse(input, layer): ChildSpec[] {
    // The PE structures go to the "pe" child; here only the section roles.
    const scratch: Layer = { ...layer, structures: [], info: {}, children: [] };
    const pe = readPe(input, scratch);
    layer.arch = MACHINE_ARCH[pe.machine] ?? null;
    const children: ChildSpec[] = [{ name: "pe", offset: 0, length: input.bytes.length, format: "pe" }];
    const seen = new Map<string, number>();
    const fields = [];
    let profiles = 0;
    for (const s of pe.sections) {
      const known = UKI_SECTIONS[s.name];
      if (!known) continue;
      const count = (seen.get(s.name) ?? 0) + 1;
      seen.set(s.name, count);
      if (s.name === ".profile") profiles++;
      const name = count === 1 ? s.name : `${s.name}#${count}`;
      const length = sectionDataLength(s);
      fields.push({ name, offset: s.headerOffset, size: 40, value: `${known.role}: ${length} bytes at 0x${s.pointerToRawData.toString(16)}` });
      if (length === 0) continue;
      if (s.pointerToRawData + length > input.bytes.length) {
        input.diagnose("UKI_SECTION_OUTSIDE", "error", `section ${name} runs past the end of the file`, s.headerOffset - input.base);
        continue;
      }
      const child: ChildSpec = { name, offset: s.pointerToRawData, length };
      if (known.format) child.format = known.format;
      children.push(child);
    }
    layer.structures.push({ name: "UKI sections", offset: pe.peOffset, size: 0, fields });
    // UKI add-ons (issue 17): the same reading, told apart by the format the registry chose.
    const addon = layer.format === "uki-addon";
    const loaderInfo = loaderInfoOf(input.bytes, pe.sections);
    const facts: UkiFacts = { kind: "uki", sections: fields.map((f) => f.name), profiles, addon, loaderInfo };
    input.setFacts(facts);
    layer.info.sections = [...facts.sections];
    layer.info.profiles = facts.profiles;
    layer.info.nxCompat = pe.nxCompat;
    if (loaderInfo !== null) layer.info.loaderInfo = loaderInfo;
    layer.title = `Unified Kernel Image (${peTitle(pe)}${profiles ? `, ${profiles} profiles` : ""})`;
    if (addon) layer.title = `UKI add-on (${peTitle(pe)})`;
    return children;
  },
};

/** A UKI add-on: systemd-stub loads `*.addon.efi` beside a UKI and measures its sections into PCR 12 (issue 17). */
export const ukiAddonFormat: FormatParser = { ...ukiFormat, format: "uki-addon", probe: isUkiAddon };
