/**
 * Pictures of a report, as SVG markup strings: the byte layout of a layer drawn to scale, and
 * the memory map a loader builds from a PE or ELF header. Pure functions over the report (no
 * DOM), so the CLI can write the same pictures the web page shows. Every name that reaches the
 * markup comes from the input file and is escaped; every number is clipped to the drawing.
 */
import { findLayer } from "../analysis/tree.js";
import { hex } from "../io/layout.js";
import type { BootPlan, Region } from "../model/plan.js";
import { checkStatus, type Check, type CheckStatus } from "../model/plan.js";
import type { JsonValue, Layer, LayerFormat, PeInfo, Report } from "../model/report.js";
import { checkLabel, STATUS_MARK } from "./checks.js";

/** What a stretch of bytes is; the picture colours by kind (and sections by permission). */
export type RegionKind = "header" | "section" | "layer" | "certificates" | "padding";

/** One box of the file-layout picture: a header, a section, a nested layer, the certificates or padding, with its byte range. */
export interface LayoutRegion {
  kind: RegionKind;
  /** Which row of the bar it is drawn in. */
  lane: LaneName;
  name: string;
  /** Offset from the start of the layer, in bytes. */
  offset: number;
  size: number;
  /** "r-x", "rw-"... for sections and segments. */
  perms?: string;
  /** Path and format of the child layer, for kind "layer". */
  path?: string;
  format?: LayerFormat;
  /** The codec of a compressed child layer. */
  codec?: string;
  /** One line for hover and screen readers. */
  detail: string;
}

/** The rows of the file-layout picture. */
export type LaneName = "headers" | "sections" | "layers" | "signature";

const LANES: readonly LaneName[] = ["headers", "sections", "layers", "signature"];

/** A picture of ten thousand slivers helps nobody; the rest are left out and counted. */
export const MAX_SVG_REGIONS = 2000;

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The PE view of a layer: its own `pe`, or a "pe" child that covers exactly the same bytes. */
export function peViewOf(layer: Layer): { pe: PeInfo; view: Layer } | null {
  if (layer.pe) return { pe: layer.pe, view: layer };
  const child = layer.children.find((c) => c.format === "pe" && c.pe && c.space === layer.space && c.offset === layer.offset && c.size === layer.size);
  return child?.pe ? { pe: child.pe, view: child } : null;
}

interface ElfSegment {
  perms: string;
  offset: number;
  vaddr: bigint;
  paddr: bigint | null;
  filesz: number;
  memsz: number;
}

function asNumber(v: JsonValue | undefined): number | null {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

function asBigInt(v: JsonValue | undefined): bigint | null {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^(0x[0-9a-f]{1,16}|[0-9]{1,20})$/i.test(v)) return BigInt(v);
  return null;
}

/** The LOAD segments an ELF layer lists in `info.segments` (each is a JSON record). */
function elfSegments(layer: Layer): ElfSegment[] {
  const list = layer.format === "elf" ? layer.info.segments : undefined;
  if (!Array.isArray(list)) return [];
  const out: ElfSegment[] = [];
  for (const s of list) {
    if (s === null || typeof s !== "object" || Array.isArray(s) || s.type !== "LOAD") continue;
    const offset = asNumber(s.offset);
    const filesz = asNumber(s.filesz);
    const memsz = asNumber(s.memsz);
    const vaddr = asBigInt(s.vaddr);
    if (offset === null || filesz === null || memsz === null || vaddr === null) continue;
    out.push({ perms: typeof s.perms === "string" ? s.perms : "---", offset, vaddr, paddr: asBigInt(s.paddr), filesz, memsz });
  }
  return out;
}

/** Keeps [offset, offset+size) inside [0, limit); null when nothing is left. */
function clip(offset: number, size: number, limit: number): { offset: number; size: number } | null {
  if (!Number.isFinite(offset) || !Number.isFinite(size) || size <= 0 || offset >= limit) return null;
  const start = Math.max(0, offset);
  const end = Math.min(limit, offset + size);
  return end > start ? { offset: start, size: end - start } : null;
}

/** Everything worth drawing in a layer's bytes, with offsets from the layer's start. */
export function layoutRegions(layer: Layer): LayoutRegion[] {
  const regions: LayoutRegion[] = [];
  const add = (r: Omit<LayoutRegion, "offset" | "size"> & { offset: number; size: number }): void => {
    const c = clip(r.offset, r.size, layer.size);
    if (c) regions.push({ ...r, ...c });
  };
  const found = peViewOf(layer);
  const structures = [...layer.structures, ...(found && found.view !== layer ? found.view.structures : [])];
  for (const s of structures) {
    add({
      kind: "header",
      lane: "headers",
      name: s.name,
      offset: s.offset - layer.offset,
      size: s.size,
      detail: `${s.name} @ ${hex(s.offset)}, ${s.size} bytes, ${s.fields.length} fields`,
    });
  }
  if (found) {
    for (const s of found.pe.sections) {
      add({
        kind: "section",
        lane: "sections",
        name: s.name,
        perms: s.perms,
        offset: s.pointerToRawData,
        size: s.sizeOfRawData,
        detail: `section ${s.name} (${s.perms}): file ${hex(s.pointerToRawData)} +${hex(s.sizeOfRawData)}, RVA ${hex(s.virtualAddress)} +${hex(s.virtualSize)}`,
      });
    }
    const ct = found.pe.certificateTable;
    if (ct) {
      add({
        kind: "certificates",
        lane: "signature",
        name: "certificate table",
        offset: ct.offset,
        size: ct.size,
        detail: `certificate table (Authenticode): ${hex(ct.offset)} +${hex(ct.size)}, ${ct.size} bytes`,
      });
      const pad = found.pe.trailingZeroBytes;
      if (pad > 0)
        add({
          kind: "padding",
          lane: "signature",
          name: "zero padding",
          offset: ct.offset + ct.size,
          size: pad,
          detail: `${pad} zero bytes after the certificate table`,
        });
    }
  }
  for (const seg of elfSegments(layer)) {
    add({
      kind: "section",
      lane: "sections",
      name: `LOAD ${seg.perms}`,
      perms: seg.perms,
      offset: seg.offset,
      size: seg.filesz,
      detail: `LOAD segment (${seg.perms}): file ${hex(seg.offset)} +${hex(seg.filesz)}, vaddr 0x${seg.vaddr.toString(16)} +${hex(seg.memsz)}`,
    });
  }
  for (const c of layer.children) {
    if (c === found?.view || c.space !== layer.space) continue;
    add({
      kind: "layer",
      lane: "layers",
      name: c.path.slice(c.path.lastIndexOf("/") + 1) || c.path,
      path: c.path,
      format: c.format,
      ...(typeof c.info.codec === "string" ? { codec: c.info.codec } : {}),
      offset: c.offset - layer.offset,
      size: c.size,
      detail: `${c.path}: ${c.title} (${hex(c.offset)} +${hex(c.size)}, ${bytesText(c.size)})`,
    });
  }
  // Drawing order: lane by lane, each in the order found.
  return regions.sort((a, b) => LANES.indexOf(a.lane) - LANES.indexOf(b.lane));
}

/** A stretch of memory the loader maps, offsets counted from `MemoryMap.base`. */
export interface MemoryRegion {
  name: string;
  offset: number;
  size: number;
  /** "---" for an unmapped gap between sections. */
  perms: string;
  detail: string;
}

/** A badge of the memory-protection picture: a check of the analysis, with its status mark. */
export interface MemoryCheck {
  /** "w^x", "nx-compat", "entry-executable"... as the boot plan names them. */
  id: string;
  label: string;
  status: CheckStatus;
  detail: string;
}

/** A point worth marking on the map: the EFI entry, the loader's entry, a branch target. */
export interface MemoryMark {
  offset: number;
  label: string;
  detail: string;
}

/** The memory-protection picture of one image: its regions by address with their permissions, and the badges of the checks the analysis computed. */
export interface MemoryMap {
  /** What is mapped: "PE image /pe (ARM64), by RVA". */
  title: string;
  /** Layer the map comes from. */
  path: string;
  /** Address of offset 0, hex ("0x0" for RVAs). */
  base: string;
  /** What the axis numbers are. */
  unit: "RVA" | "vaddr" | "paddr";
  /** Length of the whole mapping in bytes. */
  span: number;
  regions: MemoryRegion[];
  marks: MemoryMark[];
  checks: MemoryCheck[];
}

/** The analysis' checks as badges: the same words as `kimg plan`. */
function badges(checks: readonly Check[]): MemoryCheck[] {
  return checks.map((c) => ({ id: c.id, label: checkLabel(c.id), status: checkStatus(c), detail: c.message }));
}

function peMarks(pe: PeInfo, span: number): MemoryMark[] {
  return pe.addressOfEntryPoint < span
    ? [
        {
          offset: pe.addressOfEntryPoint,
          label: `EFI entry ${hex(pe.addressOfEntryPoint)}`,
          detail: `AddressOfEntryPoint: RVA ${hex(pe.addressOfEntryPoint)}, where the firmware starts the EFI program`,
        },
      ]
    : [];
}

/**
 * The map an EFI loader builds from a PE header: headers read-only, each section at its RVA.
 * `checks` are the analysis' checks of that image (`layerProtectionChecks`), shown as badges.
 */
export function memoryMapFromPe(pe: PeInfo, path: string, checks: readonly Check[]): MemoryMap {
  const regions: MemoryRegion[] = [];
  if (pe.sizeOfHeaders > 0)
    regions.push({ name: "headers", offset: 0, size: pe.sizeOfHeaders, perms: "r--", detail: `PE headers: RVA 0x0 +${hex(pe.sizeOfHeaders)}` });
  for (const s of pe.sections) {
    const size = s.virtualSize > 0 ? s.virtualSize : s.sizeOfRawData;
    if (size <= 0) continue;
    regions.push({
      name: s.name,
      offset: s.virtualAddress,
      size,
      perms: s.perms,
      detail: `${s.name} (${s.perms}): RVA ${hex(s.virtualAddress)} +${hex(size)}${s.flags.length ? ", " + s.flags.join(" | ") : ""}`,
    });
  }
  const span = Math.max(pe.sizeOfImage, ...regions.map((r) => r.offset + r.size));
  const marks = peMarks(pe, span);
  return { title: `PE image ${path} (${pe.machineName}), by RVA`, path, base: "0x0", unit: "RVA", span, regions, marks, checks: badges(checks) };
}

/**
 * The map the ELF program headers ask for, counted from the lowest LOAD address. Virtual
 * addresses, unless e_entry is a physical one (x86 vmlinux), then physical addresses.
 * `checks` are the analysis' checks of that ELF (`layerProtectionChecks`), shown as badges.
 */
export function memoryMapFromElf(layer: Layer, checks: readonly Check[]): MemoryMap | null {
  const segments = elfSegments(layer).filter((s) => s.memsz > 0);
  if (!segments.length) return null;
  const entryAddress = asBigInt(layer.info.entry);
  const within = (at: (s: ElfSegment) => bigint | null): boolean =>
    segments.some((s) => {
      const start = at(s);
      return entryAddress !== null && start !== null && entryAddress >= start && entryAddress < start + BigInt(s.memsz);
    });
  const physical = !within((s) => s.vaddr) && segments.every((s) => s.paddr !== null) && within((s) => s.paddr);
  const address = (s: ElfSegment): bigint => (physical ? (s.paddr ?? 0n) : s.vaddr);
  let base = address(segments[0] as ElfSegment);
  for (const s of segments) if (address(s) < base) base = address(s);
  const regions: MemoryRegion[] = [];
  for (const s of segments) {
    const offset = address(s) - base;
    // A map that spans more than a double holds exactly is not a picture anyone can read.
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    regions.push({
      name: `LOAD ${s.perms}`,
      offset: Number(offset),
      size: s.memsz,
      perms: s.perms,
      detail: `LOAD (${s.perms}): vaddr 0x${s.vaddr.toString(16)}${s.paddr !== null ? `, paddr 0x${s.paddr.toString(16)}` : ""} +${hex(s.memsz)} (file +${hex(s.filesz)})`,
    });
  }
  if (!regions.length) return null;
  const span = Math.max(...regions.map((r) => r.offset + r.size));
  const entry = entryAddress !== null && entryAddress >= base && entryAddress - base < BigInt(span) ? Number(entryAddress - base) : null;
  const marks = entry === null ? [] : [{ offset: entry, label: `e_entry 0x${(base + BigInt(entry)).toString(16)}`, detail: "the ELF entry point (e_entry)" }];
  const unit = physical ? "paddr" : "vaddr";
  return {
    title: `ELF ${layer.path}, LOAD segments by ${physical ? "physical" : "virtual"} address`,
    path: layer.path,
    base: "0x" + base.toString(16),
    unit,
    span,
    regions,
    marks,
    checks: badges(checks),
  };
}

/** The map a check about `layer` belongs on: its own, or its PE view's ("/x" -> "/x/pe"). */
export function mapPathForLayer(layer: string, maps: { has(path: string): boolean }): string | null {
  if (maps.has(layer)) return layer;
  const view = layer === "/" ? "/pe" : `${layer}/pe`;
  return maps.has(view) ? view : null;
}

/**
 * The boot plan's protection map, one map per PE or ELF table it read (the outer EFI program
 * and the kernel), with the plan's checks as badges and its entry marked on the kernel.
 */
export function memoryMapsFromPlan(plan: BootPlan, report: Report): MemoryMap[] {
  const byLayer = new Map<string, Region[]>();
  for (const r of plan.regions) {
    const list = byLayer.get(r.layer) ?? [];
    list.push(r);
    byLayer.set(r.layer, list);
  }
  const maps: MemoryMap[] = [];
  for (const [path, list] of byLayer) {
    const layer = findLayer(report.root, path);
    const pe = layer?.pe ?? null;
    const isSegments = list.every((r) => r.kind === "segment");
    const base = isSegments ? Math.min(...list.map((r) => r.start)) : 0;
    const regions: MemoryRegion[] = list
      .filter((r) => r.end > r.start)
      .map((r) => ({
        name: r.name,
        offset: r.start - base,
        size: r.end - r.start,
        perms: r.perms,
        detail: `${r.kind === "gap" ? "not mapped" : `${r.name} (${r.perms})`}: ${hex(r.start)} to ${hex(r.end)}${r.offset !== null ? `, table entry at ${hex(r.offset)}` : ""}`,
      }));
    const span = Math.max(pe?.sizeOfImage ?? 0, ...regions.map((r) => r.offset + r.size));
    const marks = pe ? peMarks(pe, span) : [];
    const isKernel = mapPathForLayer(plan.kernel.path, byLayer) === path;
    if (isKernel && !isSegments) {
      marks.push({
        offset: plan.entry.offset,
        label: `loader entry +${hex(plan.entry.offset)}`,
        detail: plan.entry.explanation.join(" ") || "where a non-EFI loader jumps",
      });
      const target = plan.entry.branchTarget;
      if (target !== null && target !== plan.entry.offset && target < span)
        marks.push({ offset: target, label: `branch → +${hex(target)}`, detail: "where the header's branch lands" });
    }
    const checks = badges(plan.checks.filter((c) => c.layer !== undefined && mapPathForLayer(c.layer, byLayer) === path));
    const what = pe ? `PE image ${path} (${pe.machineName}), by RVA` : `${path}, by physical address`;
    maps.push({
      title: what,
      path,
      base: hex(base),
      unit: isSegments ? "paddr" : "RVA",
      span: Math.max(1, span),
      regions,
      marks: marks.filter((m) => m.offset >= 0 && m.offset < Math.max(1, span)),
      checks,
    });
  }
  return maps;
}

/** Options of the SVG pictures: the drawing width, a close-up byte range, an accessible title. */
export interface SvgOptions {
  /** Drawing width in user units (the SVG scales to its container). Default 960. */
  width?: number;
  /** Draw only [start, end) of the layer (a close-up of the headers). */
  start?: number;
  end?: number;
  /** Accessible title. */
  title?: string;
}

/** Text made safe for SVG markup: the five characters XML reserves become entities. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

/** Fill class of a permission string: the same five colours in both pictures. */
function permClass(perms: string | undefined): string {
  if (!perms) return "k-none";
  const w = perms.includes("w");
  const x = perms.includes("x");
  if (w && x) return "k-rwx";
  if (x) return "k-rx";
  if (w) return "k-rw";
  return perms.includes("r") ? "k-r" : "k-none";
}

function regionClass(r: LayoutRegion): string {
  if (r.kind === "section") return permClass(r.perms);
  if (r.kind === "layer") return r.format === "compressed" ? "k-packed" : "k-layer";
  return `k-${r.kind}`;
}

/**
 * Colours come from CSS variables with defaults, so a page can theme them; a standalone file
 * follows the reader's colour scheme. Patterns mark the dangerous cases without colour.
 */
const STYLE = `
.kimg-svg{font:11px ui-sans-serif,system-ui,sans-serif}
.kimg-svg .k-text{fill:var(--kimg-fg,#1f2933)}
.kimg-svg .k-muted{fill:var(--kimg-muted,#52606d)}
.kimg-svg .k-track{fill:var(--kimg-track,#eef1f4)}
.kimg-svg .k-axis{stroke:var(--kimg-muted,#52606d);stroke-width:1}
.kimg-svg .k-rx{fill:var(--kimg-rx,#e8833a)}
.kimg-svg .k-rw{fill:var(--kimg-rw,#3f83d6)}
.kimg-svg .k-r{fill:var(--kimg-r,#2fa37a)}
.kimg-svg .k-rwx{fill:url(#kimg-hatch-danger)}
.kimg-svg .k-none{fill:var(--kimg-none,#9aa5b1)}
.kimg-svg .k-header{fill:var(--kimg-header,#7b8794)}
.kimg-svg .k-packed{fill:var(--kimg-packed,#8d6ad8)}
.kimg-svg .k-layer{fill:var(--kimg-layer,#1f9eab)}
.kimg-svg .k-certificates{fill:var(--kimg-cert,#d4a514)}
.kimg-svg .k-padding{fill:url(#kimg-hatch-padding)}
.kimg-svg .k-hashed{fill:var(--kimg-hashed,#2f8f83)}
.kimg-svg .k-skipped{fill:var(--kimg-fail,#c22b2b)}
.kimg-svg .k-region{stroke:var(--kimg-bg,#fff);stroke-width:.5}
.kimg-svg .k-region:hover,.kimg-svg .k-region:focus{stroke:var(--kimg-fg,#1f2933);stroke-width:2;outline:none}
.kimg-svg .k-label{fill:#fff;pointer-events:none}
.kimg-svg .k-entry{fill:var(--kimg-fg,#1f2933);stroke:var(--kimg-fg,#1f2933)}
.kimg-svg .k-pass{fill:var(--kimg-pass,#1d7a4f)}
.kimg-svg .k-fail{fill:var(--kimg-fail,#c22b2b)}
.kimg-svg .k-info{fill:var(--kimg-muted,#52606d)}
.kimg-svg .k-badge-text{fill:#fff;font-weight:600}
@media (prefers-color-scheme:dark){.kimg-svg:not(.kimg-themed){--kimg-fg:#e4e7eb;--kimg-muted:#9aa5b1;--kimg-track:#243040;--kimg-bg:#111820}}
`;

function defs(): string {
  return (
    `<defs><style>${STYLE}</style>` +
    `<pattern id="kimg-hatch-danger" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="var(--kimg-fail,#c22b2b)"/><rect width="3" height="6" fill="var(--kimg-rx,#e8833a)"/></pattern>` +
    `<pattern id="kimg-hatch-padding" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="var(--kimg-track,#eef1f4)"/><rect width="2" height="6" fill="var(--kimg-none,#9aa5b1)"/></pattern>` +
    `</defs>`
  );
}

/**
 * Label widths without a DOM to measure in: per-character advances of an 11px sans-serif,
 * taken from a wide one (DejaVu Sans) so labels never overflow their boxes elsewhere.
 */
const NARROW = "iljI.,:;'|! ";
const HALF = "tfr()[]/-";
const WIDE = "mwWM%^+#=<>~✓✗→";

export function textWidth(text: string, bold = false): number {
  let w = 0;
  for (const c of text) {
    if (NARROW.includes(c)) w += 3.5;
    else if (HALF.includes(c)) w += 4.4;
    else if (WIDE.includes(c)) w += 10;
    else if (c === "_") w += 5.5;
    else if (/[A-Z]/.test(c)) w += 8;
    else w += 7;
  }
  return w * (bold ? 1.12 : 1);
}

/** Ticks at round fractions of the range, labelled in hex. */
function axis(x0: number, x1: number, y: number, start: number, end: number, label: (n: number) => string): string {
  const parts = [`<line class="k-axis" x1="${x0}" y1="${y}" x2="${x1}" y2="${y}"/>`];
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4;
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    parts.push(`<line class="k-axis" x1="${x}" y1="${y}" x2="${x}" y2="${y + 4}"/>`);
    parts.push(`<text class="k-muted" x="${x}" y="${y + 16}" text-anchor="${anchor}">${escapeXml(label(Math.round(start + ((end - start) * i) / 4)))}</text>`);
  }
  return parts.join("");
}

/** One bar: regions laid out to scale along [start, end), at least 1 unit wide so none vanish. */
function bar(
  items: Array<{ offset: number; size: number; cls: string; label: string; detail: string; attrs: string }>,
  x0: number,
  x1: number,
  y: number,
  height: number,
  start: number,
  end: number,
): string {
  const scale = (x1 - x0) / Math.max(1, end - start);
  const parts: string[] = [];
  for (const it of items) {
    const a = Math.max(start, it.offset);
    const b = Math.min(end, it.offset + it.size);
    if (b <= a) continue;
    const x = x0 + (a - start) * scale;
    const w = Math.max(1, (b - a) * scale);
    parts.push(
      `<rect class="k-region ${it.cls}" x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${height}" tabindex="0" ${it.attrs}><title>${escapeXml(it.detail)}</title></rect>`,
    );
    if (it.label && w > textWidth(it.label) + 8) {
      parts.push(`<text class="k-label" x="${(x + 4).toFixed(2)}" y="${y + height / 2 + 4}">${escapeXml(it.label)}</text>`);
    }
  }
  return parts.join("");
}

/** "LOAD r-x" already says its permissions; ".text" gets them added. */
function withPerms(name: string, perms: string): string {
  return name.endsWith(perms) ? name : `${name} ${perms}`;
}

function dataAttrs(fields: Record<string, string | number | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `data-${k}="${escapeXml(String(v))}"`)
    .join(" ");
}

type BarItem = Parameters<typeof bar>[0][number];

interface LaneChart {
  className: string;
  title: string;
  /** Extra attributes on the <svg> element (already escaped). */
  attrs: string;
  lanes: Array<{ name: string; items: BarItem[] }>;
  start: number;
  end: number;
  axisLabel: (n: number) => string;
  /** A note at the top right, e.g. how many regions were left out. */
  note?: string;
}

/** Horizontal lanes of regions over one byte range, with an axis: the shape of both byte pictures. */
function laneChart(chart: LaneChart, width: number): string {
  const laneHeight = 24;
  const laneGap = 6;
  const x0 = 78;
  const x1 = width - 8;
  const top = 6;
  const axisY = top + Math.max(1, chart.lanes.length) * (laneHeight + laneGap) + 2;
  const height = axisY + 24;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="kimg-svg ${chart.className}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(chart.title)}" ${chart.attrs}>`,
    `<title>${escapeXml(chart.title)}</title>`,
    defs(),
  ];
  chart.lanes.forEach((lane, i) => {
    const y = top + i * (laneHeight + laneGap);
    parts.push(`<text class="k-muted" x="0" y="${y + laneHeight / 2 + 4}">${escapeXml(lane.name)}</text>`);
    parts.push(`<rect class="k-track" x="${x0}" y="${y}" width="${x1 - x0}" height="${laneHeight}" rx="2"/>`);
    parts.push(bar(lane.items, x0, x1, y, laneHeight, chart.start, chart.end));
  });
  parts.push(axis(x0, x1, axisY, chart.start, chart.end, chart.axisLabel));
  if (chart.note) parts.push(`<text class="k-muted" x="${x1}" y="${top + 10}" text-anchor="end">${escapeXml(chart.note)}</text>`);
  parts.push("</svg>");
  return parts.join("");
}

/** The file-layout bar of one layer: a lane per kind of region, drawn to scale. */
export function layoutSvg(layer: Layer, options: SvgOptions = {}): string {
  const start = Math.max(0, Math.min(options.start ?? 0, layer.size));
  const end = Math.max(start + 1, Math.min(options.end ?? layer.size, layer.size));
  const all = layoutRegions(layer).filter((r) => r.offset < end && r.offset + r.size > start);
  const regions = all.slice(0, MAX_SVG_REGIONS);
  const lanes = LANES.filter((l) => regions.some((r) => r.lane === l)).map((lane) => ({
    name: lane,
    items: regions
      .filter((r) => r.lane === lane)
      .map((r) => ({
        offset: r.offset,
        size: r.size,
        cls: regionClass(r),
        label: r.perms ? withPerms(r.name, r.perms) : r.format ? `${r.name} (${r.codec ?? r.format})` : r.name,
        detail: r.detail,
        attrs: dataAttrs({ kind: r.kind, name: r.name, offset: r.offset, size: r.size, perms: r.perms, path: r.path, format: r.format }),
      })),
  }));
  return laneChart(
    {
      className: "kimg-layout",
      title: options.title ?? `Layout of ${layer.path} (${layer.title}), ${hex(start)} to ${hex(end)}: ${regions.length} regions`,
      attrs: `data-layer="${escapeXml(layer.path)}" data-start="${start}" data-end="${end}"`,
      lanes,
      start,
      end,
      axisLabel: (n) => hex(layer.offset + n),
      ...(all.length > regions.length ? { note: `${all.length - regions.length} more regions not drawn` } : {}),
    },
    options.width ?? 960,
  );
}

/** What an Authenticode digest covers, as `authenticodeLayout` (src/signatures) reports it. */
export interface HashedRanges {
  /** Offset of the PE's first byte in its layer space. */
  base: number;
  hashed: ReadonlyArray<{ start: number; end: number; label: string }>;
  skipped: ReadonlyArray<{ start: number; end: number; label: string }>;
}

function skippedClass(label: string): string {
  if (label === "certificate table") return "k-certificates";
  if (label.startsWith("zero padding")) return "k-padding";
  return "k-skipped";
}

/**
 * The bytes of one PE image the Authenticode digest hashes and the ones it leaves out
 * (CheckSum, the certificate-table entry, the table, trimmed padding), drawn to scale.
 */
export function hashedRangesSvg(path: string, ranges: HashedRanges, length: number, options: SvgOptions = {}): string {
  const start = Math.max(0, Math.min(options.start ?? 0, length));
  const end = Math.max(start + 1, Math.min(options.end ?? length, length));
  const item = (r: { start: number; end: number; label: string }, kind: "hashed" | "skipped"): BarItem => ({
    offset: r.start,
    size: r.end - r.start,
    cls: kind === "hashed" ? "k-hashed" : skippedClass(r.label),
    label: r.label,
    detail: `${kind === "hashed" ? "hashed" : "not hashed"}: ${r.label}, ${hex(ranges.base + r.start)} to ${hex(ranges.base + r.end)} (${r.end - r.start} bytes)`,
    attrs: dataAttrs({ kind, name: r.label, offset: r.start, size: r.end - r.start }),
  });
  const visible = (r: { start: number; end: number }): boolean => r.end > start && r.start < end;
  const hashed = ranges.hashed
    .filter(visible)
    .slice(0, MAX_SVG_REGIONS)
    .map((r) => item(r, "hashed"));
  const skipped = ranges.skipped
    .filter(visible)
    .slice(0, MAX_SVG_REGIONS)
    .map((r) => item(r, "skipped"));
  return laneChart(
    {
      className: "kimg-hashed",
      title:
        options.title ??
        `Authenticode digest of ${path}: ${ranges.hashed.length} ranges hashed, ${ranges.skipped.length} left out, ${hex(ranges.base + start)} to ${hex(ranges.base + end)}`,
      attrs: `data-layer="${escapeXml(path)}" data-start="${start}" data-end="${end}"`,
      lanes: [
        { name: "hashed", items: hashed },
        { name: "left out", items: skipped },
      ],
      start,
      end,
      axisLabel: (n) => hex(ranges.base + n),
    },
    options.width ?? 960,
  );
}

function addressLabel(map: MemoryMap): (n: number) => string {
  const base = /^0x[0-9a-f]{1,16}$/i.test(map.base) ? BigInt(map.base) : 0n;
  return (n) => "0x" + (base + BigInt(n)).toString(16);
}

/** Most rows of mark labels stacked above the bar; further marks share the top row. */
const MAX_MARK_ROWS = 3;
const MARK_ROW_HEIGHT = 13;

interface PlacedMark {
  mark: MemoryMark;
  x: number;
  anchor: "start" | "middle" | "end";
  row: number;
}

/** Puts each mark's label on the lowest row where it does not collide with the one before. */
function placeMarks(map: MemoryMap, x0: number, x1: number): PlacedMark[] {
  const rowEnds: number[] = [];
  const placed: PlacedMark[] = [];
  for (const mark of [...map.marks].sort((a, b) => a.offset - b.offset)) {
    const x = x0 + (mark.offset / Math.max(1, map.span)) * (x1 - x0);
    const width = textWidth(mark.label);
    const anchor = x > x1 - width / 2 ? "end" : x < x0 + width / 2 ? "start" : "middle";
    const left = anchor === "start" ? x : anchor === "end" ? x - width : x - width / 2;
    let row = rowEnds.findIndex((end) => left > end + 6);
    if (row < 0) row = rowEnds.length < MAX_MARK_ROWS ? rowEnds.length : MAX_MARK_ROWS - 1;
    rowEnds[row] = left + width;
    placed.push({ mark, x, anchor, row });
  }
  return placed;
}

function marksSvg(placed: PlacedMark[], map: MemoryMap, barY: number, barHeight: number): string {
  const label = addressLabel(map);
  return placed
    .map(({ mark, x, anchor, row }) => {
      const textY = barY - 12 - row * MARK_ROW_HEIGHT;
      return (
        `<g class="k-mark" tabindex="0" data-mark="${escapeXml(mark.label)}" data-offset="${mark.offset}"><title>${escapeXml(`${mark.label} (${label(mark.offset)}): ${mark.detail}`)}</title>` +
        `<path class="k-entry" d="M${x.toFixed(2)} ${barY - 1} l-5 -8 h10 z"/>` +
        `<line class="k-entry" x1="${x.toFixed(2)}" y1="${textY + 3}" x2="${x.toFixed(2)}" y2="${barY + barHeight}" stroke-width="1" stroke-dasharray="3 2"/>` +
        `<text class="k-text" x="${x.toFixed(2)}" y="${textY}" text-anchor="${anchor}">${escapeXml(mark.label)}</text></g>`
      );
    })
    .join("");
}

const BADGE_ROW_HEIGHT = 26;

/** The memory-map bar: regions coloured by permission, entry points marked, checks as badges. */
export function memoryMapSvg(map: MemoryMap, options: SvgOptions = {}): string {
  const width = options.width ?? 960;
  const x0 = 78;
  const x1 = width - 8;
  const badgeY = 4;
  // Every check gets a badge: they wrap onto further rows rather than being left out.
  const badges: Array<{ check: MemoryCheck; text: string; x: number; y: number; w: number }> = [];
  let bx = x0;
  let by = badgeY;
  for (const c of map.checks) {
    const text = `${STATUS_MARK[c.status]} ${c.label}`;
    const w = textWidth(text, true) + 16;
    if (bx + w > x1 && bx > x0) {
      bx = x0;
      by += BADGE_ROW_HEIGHT;
    }
    badges.push({ check: c, text, x: bx, y: by, w });
    bx += w + 8;
  }
  const badgeBottom = (badges.length ? by : badgeY) + 20;
  const placed = placeMarks(map, x0, x1);
  const markRows = placed.reduce((n, p) => Math.max(n, p.row + 1), 0);
  const barY = badgeBottom + 10 + markRows * MARK_ROW_HEIGHT + (markRows ? 12 : 0);
  const barHeight = 30;
  const axisY = barY + barHeight + 4;
  const height = axisY + 24;
  const regions = map.regions.slice(0, MAX_SVG_REGIONS);
  const title = options.title ?? `Memory map of ${map.title}: ${regions.length} regions; ${map.checks.map((c) => `${c.label} ${c.status}`).join(", ")}`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="kimg-svg kimg-memory" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}" data-layer="${escapeXml(map.path)}" data-span="${map.span}">`,
    `<title>${escapeXml(title)}</title>`,
    defs(),
  ];
  for (const { check: c, text, x, y, w } of badges) {
    parts.push(
      `<g class="k-badge" tabindex="0" data-check="${escapeXml(c.id)}" data-status="${c.status}"><title>${escapeXml(`${c.label}: ${c.status}. ${c.detail}`)}</title>` +
        `<rect class="k-${c.status}" x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="20" rx="10"/>` +
        `<text class="k-badge-text" x="${(x + 8).toFixed(1)}" y="${y + 14}">${escapeXml(text)}</text></g>`,
    );
  }
  parts.push(`<text class="k-muted" x="0" y="${barY + barHeight / 2 + 4}">${map.unit}</text>`);
  parts.push(`<rect class="k-track" x="${x0}" y="${barY}" width="${x1 - x0}" height="${barHeight}" rx="2"/>`);
  const items = regions.map((r) => ({
    offset: r.offset,
    size: r.size,
    cls: r.perms === "---" ? "k-padding" : permClass(r.perms),
    label: r.perms === "---" ? "" : withPerms(r.name, r.perms),
    detail: r.detail,
    attrs: dataAttrs({ kind: "memory", name: r.name, offset: r.offset, size: r.size, perms: r.perms }),
  }));
  parts.push(bar(items, x0, x1, barY, barHeight, 0, Math.max(1, map.span)));
  parts.push(marksSvg(placed, map, barY, barHeight));
  parts.push(axis(x0, x1, axisY, 0, Math.max(1, map.span), addressLabel(map)));
  parts.push("</svg>");
  return parts.join("");
}
