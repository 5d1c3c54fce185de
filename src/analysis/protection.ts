/**
 * The memory-protection map: what a loader that maps the image with permissions would see.
 * Regions come from the PE section tables (outer EFI program and inner kernel) or the ELF
 * program headers; the headers count as data. Checks: W^X, page alignment, NX_COMPAT, the
 * outer program's NX claim against the kernel's, and whether the header is executable.
 */
import { hex } from "../io/layout.js";
import { alignUp } from "../io/bytes.js";
import type { ElfFacts } from "../model/facts.js";
import type { Check, Region } from "../model/plan.js";
import type { Layer, PeInfo } from "../model/report.js";

/**
 * Who reads a PE header's section flags and DllCharacteristics when this image boots:
 * "firmware" (LoadImage: an outer EFI program, a plain kernel image, the inner image of a v6.1
 * zboot, which StartImage'd it, or a UKI's .linux), or "zboot-stub" (v6.2+: the stub decompresses
 * the kernel, maps [0, SizeOfHeaders + SizeOfCode) R-X and the rest non-executable itself with
 * efi_remap_image, and calls it directly; the inner header is never given to the firmware).
 */
export type PeLoader = "firmware" | "zboot-stub";

/** Regions of one PE image in memory: headers as r--, sections by flags, gaps between them. */
export function peRegions(layer: Layer, pe: PeInfo): Region[] {
  const regions: Region[] = [];
  const align = pe.sectionAlignment || 0x1000;
  const headersEnd = alignUp(pe.sizeOfHeaders, align);
  regions.push({ layer: layer.path, name: "headers", kind: "headers", start: 0, end: headersEnd, perms: "r--", offset: pe.peOffset });
  const sorted = [...pe.sections].sort((a, b) => a.virtualAddress - b.virtualAddress);
  let cursor = headersEnd;
  for (const s of sorted) {
    const size = Math.max(s.virtualSize, s.virtualSize === 0 ? s.sizeOfRawData : 0);
    const end = s.virtualAddress + alignUp(size, align);
    if (s.virtualAddress > cursor) {
      regions.push({ layer: layer.path, name: "(gap)", kind: "gap", start: cursor, end: s.virtualAddress, perms: "---", offset: null });
    }
    regions.push({ layer: layer.path, name: s.name, kind: "section", start: s.virtualAddress, end, perms: s.perms, offset: s.headerOffset });
    cursor = Math.max(cursor, end);
  }
  if (pe.sizeOfImage > cursor) {
    regions.push({ layer: layer.path, name: "(gap)", kind: "gap", start: cursor, end: pe.sizeOfImage, perms: "---", offset: null });
  }
  return regions;
}

const NOT_CONSULTED =
  "not consulted on this boot path: the v6.2+ zboot stub decompresses the kernel into memory it allocated and calls it directly, never handing this header to the firmware (on arm64 it maps the code R-X and the rest non-executable itself, with efi_remap_image)";

/** The checks of one PE image; `pageSize` is the kernel's (arm64 flags) or 4K; `loader` says who applies its flags. */
export function peChecks(layer: Pick<Layer, "path">, pe: PeInfo, pageSize: number, loader: PeLoader = "firmware"): Check[] {
  const checks: Check[] = [];
  const direct = loader === "zboot-stub";
  const wx = pe.sections.filter((s) => s.perms.includes("w") && s.perms.includes("x"));
  checks.push({
    id: "w^x",
    ok: wx.length === 0 || direct,
    message:
      wx.length === 0
        ? "no section is both writable and executable"
        : `writable and executable: ${wx.map((s) => s.name).join(", ")}${direct ? ` (${NOT_CONSULTED})` : ": firmware that maps sections by their flags (NX_COMPAT) or a loader applying W^X must leave it writable code, or refuse it"}`,
    layer: layer.path,
    offset: wx[0]?.headerOffset ?? null,
    ...(wx.length && direct ? { info: true } : {}),
  });
  const misaligned = pe.sections.filter((s) => s.virtualAddress % pageSize !== 0);
  const alignOk = pe.sectionAlignment >= pageSize && pe.sectionAlignment % pageSize === 0 && misaligned.length === 0;
  // Without NX_COMPAT the firmware maps the whole image RWX, so section alignment only matters to an image that claims it.
  const alignMatters = pe.nxCompat && !direct;
  checks.push({
    id: "section-alignment",
    ok: alignOk || !alignMatters,
    message: alignOk
      ? `SectionAlignment ${hex(pe.sectionAlignment)} and every section start fit ${pageSize / 1024}K pages`
      : (pe.sectionAlignment < pageSize || pe.sectionAlignment % pageSize !== 0
          ? `SectionAlignment ${hex(pe.sectionAlignment)} is not a multiple of the ${pageSize / 1024}K page size: permissions cannot be applied per section`
          : `sections not page-aligned: ${misaligned.map((s) => `${s.name}@${hex(s.virtualAddress)}`).join(", ")}`) +
        (direct
          ? ` (${NOT_CONSULTED})`
          : alignMatters
            ? "; the image claims NX_COMPAT, so firmware enforcing it maps whole pages with one permission and code may land in a non-executable page"
            : "; harmless while NX_COMPAT is clear (the firmware maps the image RWX)"),
    layer: layer.path,
    offset: misaligned[0]?.headerOffset ?? null,
    ...(!alignOk && !alignMatters ? { info: true } : {}),
  });
  const sorted = [...pe.sections].sort((a, b) => a.virtualAddress - b.virtualAddress);
  const overlaps: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev && cur && prev.virtualAddress + prev.virtualSize > cur.virtualAddress) overlaps.push(`${prev.name}/${cur.name}`);
  }
  checks.push({
    id: "sections-overlap",
    ok: overlaps.length === 0 || direct,
    message: overlaps.length
      ? `sections overlap in memory: ${overlaps.join(", ")}${direct ? ` (${NOT_CONSULTED})` : ": a PE loader copying the sections overwrites one with the other"}`
      : "sections do not overlap",
    layer: layer.path,
    ...(overlaps.length && direct ? { info: true } : {}),
  });
  const execHeader = pe.sections.find((s) => s.perms.includes("x") && s.virtualAddress < pe.sizeOfHeaders);
  checks.push({
    id: "header-not-executable",
    ok: !execHeader || direct,
    message: execHeader
      ? `the headers [0, ${hex(pe.sizeOfHeaders)}) lie in executable section ${execHeader.name}${direct ? ` (${NOT_CONSULTED}; the stub maps the header R-X with the code)` : ": firmware mapping by section flags makes header data executable"}`
      : "the headers are mapped as data (the PE/firmware view; Linux's own EFI stub maps the header with the code)",
    layer: layer.path,
    offset: execHeader?.headerOffset ?? null,
    ...(execHeader && direct ? { info: true } : {}),
  });
  const entry = pe.addressOfEntryPoint;
  const entrySection = pe.sections.find((s) => entry >= s.virtualAddress && entry < s.virtualAddress + Math.max(s.virtualSize, s.sizeOfRawData));
  const entryInCode = entrySection?.perms.includes("x") ?? false;
  checks.push({
    id: "entry-executable",
    ok: entryInCode || direct,
    message: entryInCode
      ? `the EFI entry (AddressOfEntryPoint ${hex(entry)}) lies in ${entrySection?.name} (${entrySection?.perms})`
      : `the EFI entry (AddressOfEntryPoint ${hex(entry)}) lies ${entrySection ? `in ${entrySection.name} (${entrySection.perms}), which is not executable` : "outside every section"}${direct ? ` (${NOT_CONSULTED})` : ": firmware that maps sections by their flags faults on the first instruction"}`,
    layer: layer.path,
    offset: pe.peOffset + 24 + 16,
    ...(!entryInCode && direct ? { info: true } : {}),
  });
  checks.push({
    id: "nx-compat",
    ok: true,
    message: pe.nxCompat
      ? "NX_COMPAT is set: firmware may map data non-executable and code read-only"
      : direct
        ? `NX_COMPAT is clear (${NOT_CONSULTED})`
        : "NX_COMPAT is clear: firmware maps the image RWX, and firmware enforcing an NX policy refuses to start it (Linux sets the flag on arm64 and zboot since v6.3, x86 since v6.8, RISC-V since v6.12; LoongArch does not)",
    layer: layer.path,
    offset: pe.peOffset + 24 + 70,
    ...(pe.nxCompat ? {} : { info: true }),
  });
  checks.push(controlFlowCheck(layer, pe)); // issue 17
  return checks;
}

/** The debug directory's EX_DLLCHARACTERISTICS beside NX_COMPAT: CET shadow-stack and forward-edge CFI compatibility, reported as a fact. */
export function controlFlowCheck(layer: Pick<Layer, "path">, pe: PeInfo): Check {
  const ex = pe.exDllCharacteristics;
  const state = (on: boolean | undefined): string => (on ? "set" : "clear");
  return {
    id: "control-flow",
    ok: true,
    info: true,
    message: ex
      ? `EX_DLLCHARACTERISTICS ${hex(ex.value)} (${ex.flags.join(" | ") || "none"}): CET_COMPAT ${state(ex.cetCompat)}, FORWARD_CFI_COMPAT ${state(ex.forwardCfiCompat)}${ex.forwardCfiCompat ? " (the code has BTI/IBT landing pads: firmware may enforce forward-edge CFI)" : ""}`
      : "no IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS debug entry: CET_COMPAT and FORWARD_CFI_COMPAT are not declared (arm64 Images and zboot set FORWARD_CFI_COMPAT since v6.4 when built with BTI)",
    layer: layer.path,
    offset: ex?.offset ?? null,
  };
}

/**
 * An outer program that declares NX_COMPAT for an inner kernel that does not is a real risk
 * only when the firmware loads the inner image itself (a v6.1 zboot, a UKI's .linux): then it
 * maps a kernel non-executable that was not prepared for it. A v6.2+ zboot stub calls the
 * kernel directly and maps it itself, so there the difference is only reported.
 */
export function nxConsistencyCheck(outer: Layer, outerPe: PeInfo, inner: Layer, innerPe: PeInfo | null, innerLoader: PeLoader = "firmware"): Check {
  if (!innerPe) {
    return { id: "nx-consistency", ok: true, message: "the inner kernel has no PE header to compare", layer: outer.path };
  }
  const consistent = !outerPe.nxCompat || innerPe.nxCompat;
  const direct = innerLoader === "zboot-stub";
  return {
    id: "nx-consistency",
    ok: consistent || direct,
    message: consistent
      ? `outer NX_COMPAT ${outerPe.nxCompat ? "set" : "clear"}, inner kernel NX_COMPAT ${innerPe.nxCompat ? "set" : "clear"}: consistent`
      : direct
        ? `the outer EFI program (${outer.path}) claims NX_COMPAT and the inner kernel (${inner.path}) does not; the inner flag is ${NOT_CONSULTED}`
        : `the outer EFI program (${outer.path}) claims NX_COMPAT but the inner kernel (${inner.path}) does not, and the firmware loads the inner image itself: firmware enforcing NX maps a kernel non-executable that did not ask for it`,
    layer: outer.path,
    offset: outerPe.peOffset + 24 + 70,
    ...(!consistent && direct ? { info: true } : {}),
  };
}

/** ELF program headers as regions (for a plain vmlinux); `elf` is the layer's facts. */
export function elfRegions(layer: Layer, elf: ElfFacts | undefined): Region[] {
  const regions: Region[] = [];
  for (const s of elf?.segments ?? []) {
    if (s.type !== "LOAD") continue;
    const start = Number(s.paddr);
    regions.push({ layer: layer.path, name: `LOAD ${hex(s.vaddr)}`, kind: "segment", start, end: start + s.memsz, perms: s.perms, offset: null });
  }
  return regions;
}

/**
 * The same regions read back from a report's layer (`info.segments`), for a renderer that has
 * only the JSON report (report/svg.ts on the web page). Everything with the analysed tree uses
 * `elfRegions` and the layer's facts.
 */
export function elfRegionsOfReport(layer: Layer): Region[] {
  const segs = Array.isArray(layer.info.segments) ? layer.info.segments : [];
  const regions: Region[] = [];
  for (const s of segs) {
    if (!s || typeof s !== "object" || Array.isArray(s) || s.type !== "LOAD") continue;
    const start = Number(BigInt(String(s.paddr)));
    regions.push({
      layer: layer.path,
      name: `LOAD ${String(s.vaddr)}`,
      kind: "segment",
      start,
      end: start + Number(s.memsz),
      perms: String(s.perms),
      offset: null,
    });
  }
  return regions;
}

/**
 * ELF segment flags are reported, not judged: no loader maps a vmlinux by them. The x86
 * decompressor and kexec copy the LOAD segments to their addresses and the kernel builds its own
 * page tables (text read-only, init freed after boot); an x86_64 vmlinux's init segment is RWX by
 * design (.init.text and .init.data share it).
 */
export function elfWxCheck(layer: Layer, regions: Region[]): Check {
  const bad = regions.filter((r) => r.perms.includes("w") && r.perms.includes("x"));
  return {
    id: "w^x",
    ok: true,
    message: bad.length
      ? `writable and executable LOAD segments: ${bad.map((r) => r.name).join(", ")}; expected in a vmlinux (init code and data share a segment) and not a risk: no loader maps a kernel by its ELF segment flags, the kernel maps itself and frees init memory after boot`
      : "no LOAD segment is both writable and executable",
    layer: layer.path,
    ...(bad.length ? { info: true } : {}),
  };
}

/**
 * The checks of one PE image or ELF file taken on its own, outside a boot plan (the pictures of
 * a report without one): a PE as the firmware loading it sees it, at 4K pages; an ELF's segment
 * flags, reported. Empty for any other layer.
 */
export function layerProtectionChecks(layer: Layer): Check[] {
  if (layer.pe) return peChecks(layer, layer.pe, 4096);
  if (layer.format === "elf") return [elfWxCheck(layer, elfRegionsOfReport(layer))];
  return [];
}
