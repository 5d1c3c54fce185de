/**
 * The memory-protection map: what a loader that maps the image with permissions would see.
 * Regions come from the PE section tables (outer EFI program and inner kernel) or the ELF
 * program headers; the headers count as data. Checks: W^X, page alignment, NX_COMPAT, the
 * outer program's NX claim against the kernel's, and whether the header is executable.
 */
import { hex } from "../io/layout.js";
import type { Layer, PeInfo } from "../types.js";

export interface Region {
  /** The layer whose table describes it. */
  layer: string;
  name: string;
  kind: "headers" | "section" | "segment" | "gap";
  /** Start and end (exclusive) relative to the image base (RVA for PE). */
  start: number;
  end: number;
  perms: string;
  /** Offset of the table entry it came from, in its layer's space. */
  offset: number | null;
}

export interface Check {
  id: string;
  ok: boolean;
  message: string;
  layer?: string;
  offset?: number | null;
}

function alignUp(n: number, a: number): number {
  return a > 0 ? Math.ceil(n / a) * a : n;
}

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

/** The checks of one PE image; `pageSize` is the kernel's (arm64 flags) or 4K. */
export function peChecks(layer: Layer, pe: PeInfo, pageSize: number): Check[] {
  const checks: Check[] = [];
  const wx = pe.sections.filter((s) => s.perms.includes("w") && s.perms.includes("x"));
  checks.push({
    id: "w^x",
    ok: wx.length === 0,
    message: wx.length === 0 ? "no section is both writable and executable" : `writable and executable: ${wx.map((s) => s.name).join(", ")}`,
    layer: layer.path,
    offset: wx[0]?.headerOffset ?? null,
  });
  const misaligned = pe.sections.filter((s) => s.virtualAddress % pageSize !== 0);
  const alignOk = pe.sectionAlignment >= pageSize && pe.sectionAlignment % pageSize === 0 && misaligned.length === 0;
  checks.push({
    id: "section-alignment",
    ok: alignOk,
    message: alignOk
      ? `SectionAlignment ${hex(pe.sectionAlignment)} and every section start fit ${pageSize / 1024}K pages`
      : pe.sectionAlignment < pageSize || pe.sectionAlignment % pageSize !== 0
        ? `SectionAlignment ${hex(pe.sectionAlignment)} is not a multiple of the ${pageSize / 1024}K page size: permissions cannot be applied per section`
        : `sections not page-aligned: ${misaligned.map((s) => `${s.name}@${hex(s.virtualAddress)}`).join(", ")}`,
    layer: layer.path,
    offset: misaligned[0]?.headerOffset ?? null,
  });
  const sorted = [...pe.sections].sort((a, b) => a.virtualAddress - b.virtualAddress);
  const overlaps: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev && cur && prev.virtualAddress + prev.virtualSize > cur.virtualAddress) overlaps.push(`${prev.name}/${cur.name}`);
  }
  checks.push({ id: "sections-overlap", ok: overlaps.length === 0, message: overlaps.length ? `sections overlap in memory: ${overlaps.join(", ")}` : "sections do not overlap", layer: layer.path });
  const execHeader = pe.sections.find((s) => s.perms.includes("x") && s.virtualAddress < pe.sizeOfHeaders);
  checks.push({
    id: "header-not-executable",
    ok: !execHeader,
    message: execHeader ? `the headers [0, ${hex(pe.sizeOfHeaders)}) lie in executable section ${execHeader.name}` : "the headers are mapped as data",
    layer: layer.path,
    offset: execHeader?.headerOffset ?? null,
  });
  checks.push({
    id: "nx-compat",
    ok: pe.nxCompat,
    message: pe.nxCompat ? "NX_COMPAT is set" : "NX_COMPAT is not set: firmware may map everything RWX",
    layer: layer.path,
    offset: pe.peOffset + 24 + 70,
  });
  return checks;
}

/**
 * A stub that declares NX_COMPAT for a kernel that does not is a real field bug: the firmware
 * maps the kernel non-executable where it was not prepared for it.
 */
export function nxConsistencyCheck(outer: Layer, outerPe: PeInfo, inner: Layer, innerPe: PeInfo | null): Check {
  if (!innerPe) {
    return { id: "nx-consistency", ok: true, message: "the inner kernel has no PE header to compare", layer: outer.path };
  }
  const ok = !outerPe.nxCompat || innerPe.nxCompat;
  return {
    id: "nx-consistency",
    ok,
    message: ok
      ? `outer NX_COMPAT ${outerPe.nxCompat ? "set" : "clear"}, inner kernel NX_COMPAT ${innerPe.nxCompat ? "set" : "clear"}: consistent`
      : `the outer EFI program (${outer.path}) claims NX_COMPAT but the inner kernel (${inner.path}) does not`,
    layer: outer.path,
    offset: outerPe.peOffset + 24 + 70,
  };
}

/** ELF program headers as regions (for a plain vmlinux). */
export function elfRegions(layer: Layer): Region[] {
  const segs = Array.isArray(layer.info.segments) ? layer.info.segments : [];
  const regions: Region[] = [];
  for (const s of segs) {
    if (!s || typeof s !== "object" || Array.isArray(s) || s.type !== "LOAD") continue;
    const start = Number(BigInt(String(s.paddr)));
    regions.push({ layer: layer.path, name: `LOAD ${String(s.vaddr)}`, kind: "segment", start, end: start + Number(s.memsz), perms: String(s.perms), offset: null });
  }
  return regions;
}

export function elfWxCheck(layer: Layer, regions: Region[]): Check {
  const bad = regions.filter((r) => r.perms.includes("w") && r.perms.includes("x"));
  return { id: "w^x", ok: bad.length === 0, message: bad.length ? `writable and executable segments: ${bad.map((r) => r.name).join(", ")}` : "no LOAD segment is both writable and executable", layer: layer.path };
}
