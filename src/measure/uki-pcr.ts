/**
 * The PCR 11 values systemd-stub produces for a UKI, and the PCR 12 events of a UKI add-on.
 *
 * systemd-stub (src/boot/stub.c, measure_sections) measures, in the order of systemd's
 * unified_sections[] (src/fundamental/uki.h: "the canonical order in which we measure the sections
 * into TPM PCR 11"), each section it found: first the name with its NUL, then the section's
 * memory image, VirtualSize bytes at VirtualAddress (src/boot/pe.c: memory_size = VirtualSize;
 * the file supplies min(VirtualSize, SizeOfRawData), the rest is zero). `.pcrsig` is never
 * measured. A section is located by the first header of its name; in a multi-profile UKI
 * (systemd >= 257) the base sections are those before the first `.profile`, and profile N's
 * sections (from its `.profile` to the next) override them (pe_locate_profile_sections).
 * systemd-pcrphase then extends PCR 11 with the words of each boot phase. systemd-measure
 * (src/measure/measure-tool.c) computes the same from the sections as files.
 *
 * Add-ons (`*.addon.efi`, stub.c load_addons): a `.cmdline` is measured into PCR 12 as the UTF-16
 * load options (tpm_log_load_options, with its NUL, after mangle_stub_cmdline); `.dtb`, `.dtbauto`,
 * `.initrd` and `.ucode` as their bytes (tpm_log_tagged_event).
 */
import type { Tree } from "../analysis/tree.js";
import { allLayers } from "../analysis/tree.js";
import { hex } from "../io/layout.js";
import type { Limits } from "../io/limits.js";
import type { Diagnostic, Layer, PeSection } from "../model/report.js";
import { DEFAULT_PHASES, digest, extend, extendPhase, PCR_KERNEL_BOOT, policyPcrDigest, toHex, zeroPcr } from "./pcr.js";
import { readPcrPublicKey, readPcrSignatures } from "./pcrsig.js";
import type {
  AddonMeasurement,
  BankValues,
  MeasuredImage,
  MeasuredSection,
  PcrBank,
  PcrSignatureEntry,
  PcrSignatureSection,
  ProfileMeasurement,
} from "./types.js";

/**
 * The sections systemd-stub measures into PCR 11, in measuring order, each with the systemd
 * version whose stub started to measure it (.pcrsig, between .sbat and .pcrpkey, never is).
 */
export const PCR11_SECTIONS: ReadonlyArray<{ name: string; since: number }> = [
  { name: ".linux", since: 252 },
  { name: ".osrel", since: 252 },
  { name: ".cmdline", since: 252 },
  { name: ".initrd", since: 252 },
  { name: ".ucode", since: 256 },
  { name: ".splash", since: 252 },
  { name: ".dtb", since: 252 },
  { name: ".uname", since: 253 },
  { name: ".sbat", since: 253 },
  { name: ".pcrpkey", since: 252 },
  { name: ".profile", since: 257 },
  { name: ".dtbauto", since: 257 },
  { name: ".hwids", since: 257 },
  { name: ".efifw", since: 258 },
];

/** The newest systemd whose list of measured sections kimg knows; assumed for a stub of unknown version. */
export const NEWEST_KNOWN_STUB = 258;
/** Most profiles a UKI may have (systemd's UNIFIED_PROFILES_MAX). */
export const UKI_PROFILES_MAX = 256;
/** The sections systemd-stub takes from an add-on (stub.c load_addons), in the order it measures them. */
export const ADDON_SECTIONS: readonly string[] = [".cmdline", ".dtb", ".dtbauto", ".initrd", ".ucode"];

export interface MeasureUkiOptions {
  banks: readonly PcrBank[];
  /** Cumulative phase expressions, as `systemd-measure --phase=` takes them; default DEFAULT_PHASES. */
  phases?: readonly string[];
  limits: Limits;
}

/** The stub's `.sdmagic` text and the systemd major version in it ("#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####"). */
export function stubInfo(bytes: Uint8Array, sections: readonly PeSection[]): { loaderInfo: string | null; version: number | null } {
  const s = sections.find((x) => x.name === ".sdmagic");
  if (!s) return { loaderInfo: null, version: null };
  const length = Math.min(s.virtualSize || s.sizeOfRawData, s.sizeOfRawData, 256);
  const raw = bytes.subarray(s.pointerToRawData, Math.min(bytes.length, s.pointerToRawData + length));
  const nul = raw.indexOf(0);
  const text = new TextDecoder("latin1").decode(nul >= 0 ? raw.subarray(0, nul) : raw);
  const m = /LoaderInfo: systemd-(?:stub|addon) (\d+)/.exec(text);
  return { loaderInfo: text.trim() || null, version: m?.[1] ? Number(m[1]) : null };
}

/** The PE view (the "pe" child with its header facts) of a UKI layer. */
function peChild(layer: Layer): (Layer & { pe: NonNullable<Layer["pe"]> }) | null {
  const child = layer.children.find((c) => c.format === "pe" && c.pe);
  return child?.pe ? (child as Layer & { pe: NonNullable<Layer["pe"]> }) : null;
}

/** First section of each name in `range`, as pe_locate_sections takes them (the first header of a name wins). */
function locate(range: readonly PeSection[], names: readonly string[]): Map<string, PeSection> {
  const found = new Map<string, PeSection>();
  for (const s of range) if (names.includes(s.name) && !found.has(s.name) && s.virtualSize > 0) found.set(s.name, s);
  return found;
}

interface Context {
  layer: string;
  bytes: Uint8Array;
  banks: readonly PcrBank[];
  limits: Limits;
  diagnostics: Diagnostic[];
  /** Digests of section contents by header offset: a section shared by several profiles is hashed once. */
  cache: Map<number, { digest: BankValues; raw: Record<string, Uint8Array> } | null>;
}

function diagnose(ctx: Context, code: Diagnostic["code"], severity: Diagnostic["severity"], message: string, offset: number | null): void {
  ctx.diagnostics.push({ code, severity, message, offset, layer: ctx.layer });
}

/** The section's memory image (file bytes, then zeros up to VirtualSize), or null with a diagnostic when it cannot be read. */
function sectionImage(ctx: Context, s: PeSection): Uint8Array | null {
  const fileBytes = Math.min(s.virtualSize, s.sizeOfRawData);
  if (s.virtualSize > ctx.limits.maxOutputBytes) {
    diagnose(
      ctx,
      "PCR_SECTION_TOO_LARGE",
      "error",
      `section ${s.name} has VirtualSize ${hex(s.virtualSize)}, more than maxOutputBytes (${ctx.limits.maxOutputBytes}); not measured, so the PCR values are incomplete`,
      s.headerOffset + 8,
    );
    return null;
  }
  if (s.pointerToRawData + fileBytes > ctx.bytes.length) {
    diagnose(
      ctx,
      "PCR_SECTION_TOO_LARGE",
      "error",
      `section ${s.name} runs past the end of the file; not measured, so the PCR values are incomplete`,
      s.headerOffset + 20,
    );
    return null;
  }
  const data = ctx.bytes.subarray(s.pointerToRawData, s.pointerToRawData + fileBytes);
  if (fileBytes === s.virtualSize) return data;
  const out = new Uint8Array(s.virtualSize);
  out.set(data);
  return out;
}

async function sectionDigest(ctx: Context, s: PeSection): Promise<{ digest: BankValues; raw: Record<string, Uint8Array> } | null> {
  if (ctx.cache.has(s.headerOffset)) return ctx.cache.get(s.headerOffset) ?? null;
  const image = sectionImage(ctx, s);
  let result: { digest: BankValues; raw: Record<string, Uint8Array> } | null = null;
  if (image) {
    result = { digest: {}, raw: {} };
    for (const bank of ctx.banks) {
      const d = await digest(bank, image);
      result.raw[bank] = d;
      result.digest[bank] = toHex(d);
    }
  }
  ctx.cache.set(s.headerOffset, result);
  return result;
}

const NAME_ENCODER = new TextEncoder();

async function measureProfile(
  ctx: Context,
  chosen: Map<string, { section: PeSection; profile: number | null }>,
  sectionsOf: number,
  profile: number | null,
  phases: readonly string[],
): Promise<ProfileMeasurement> {
  const state = new Map<PcrBank, Uint8Array>(ctx.banks.map((b) => [b, zeroPcr(b)]));
  const sections: MeasuredSection[] = [];
  for (const { name, since } of PCR11_SECTIONS) {
    const hit = chosen.get(name);
    if (!hit || since > sectionsOf) continue;
    const d = await sectionDigest(ctx, hit.section);
    if (!d) continue;
    const nameBytes = new Uint8Array([...NAME_ENCODER.encode(name), 0]);
    for (const bank of ctx.banks) {
      let v = state.get(bank) ?? zeroPcr(bank);
      v = await extend(bank, v, await digest(bank, nameBytes));
      v = await extend(bank, v, d.raw[bank] ?? new Uint8Array());
      state.set(bank, v);
    }
    const fileBytes = Math.min(hit.section.virtualSize, hit.section.sizeOfRawData);
    sections.push({
      name,
      headerOffset: hit.section.headerOffset,
      offset: hit.section.pointerToRawData,
      size: hit.section.virtualSize,
      fileBytes,
      zeroFill: hit.section.virtualSize - fileBytes,
      fromProfile: hit.profile,
      digest: d.digest,
    });
  }
  const afterSections: BankValues = {};
  for (const bank of ctx.banks) afterSections[bank] = toHex(state.get(bank) ?? zeroPcr(bank));
  const measurement: ProfileMeasurement = { profile, profileId: null, sections, afterSections, phases: [], calculate: {}, pcrsig: null };
  for (const phase of phases) {
    const values: BankValues = {};
    for (const bank of ctx.banks) {
      const v = toHex(await extendPhase(bank, state.get(bank) ?? zeroPcr(bank), phase));
      values[bank] = v;
      // systemd-measure leaves "phase" out for the empty phase.
      (measurement.calculate[bank] ??= []).push(phase === "" ? { pcr: PCR_KERNEL_BOOT, hash: v } : { phase, pcr: PCR_KERNEL_BOOT, hash: v });
    }
    measurement.phases.push({ phase: phase === "" ? ":" : phase, values });
  }
  return measurement;
}

/** The `ID=` line of a `.profile` section's text. */
function profileId(bytes: Uint8Array, s: PeSection | undefined): string | null {
  if (!s) return null;
  const length = Math.min(s.virtualSize, s.sizeOfRawData, 4096);
  const text = new TextDecoder("utf-8").decode(bytes.subarray(s.pointerToRawData, Math.min(bytes.length, s.pointerToRawData + length)));
  const m = /^ID=(.*)$/m.exec(text);
  return m?.[1] ? m[1].trim().replace(/^"(.*)"$/, "$1") : null;
}

/** systemd's mangle_stub_cmdline: control characters become spaces, trailing spaces are cut. */
function mangleCmdline(text: string): string {
  let out = "";
  for (const ch of text) out += ch.charCodeAt(0) <= 0x1f ? " " : ch;
  return out.replace(/ +$/, "");
}

async function measureAddon(ctx: Context, sections: readonly PeSection[]): Promise<AddonMeasurement[]> {
  const found = locate(sections, ADDON_SECTIONS);
  const out: AddonMeasurement[] = [];
  for (const name of ADDON_SECTIONS) {
    const s = found.get(name);
    if (!s) continue;
    const image = sectionImage(ctx, s);
    if (!image) continue;
    let measured = image;
    let text: string | null = null;
    if (name === ".cmdline") {
      // xstrn8_to_16: up to the first NUL; then mangled; measured as UTF-16LE with its NUL.
      const nul = image.indexOf(0);
      text = mangleCmdline(new TextDecoder("utf-8").decode(nul >= 0 ? image.subarray(0, nul) : image));
      if (text === "") continue; // the stub skips an empty command line
      measured = new Uint8Array((text.length + 1) * 2);
      const view = new DataView(measured.buffer);
      for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), true);
    }
    const d: BankValues = {};
    for (const bank of ctx.banks) d[bank] = toHex(await digest(bank, measured));
    out.push({ section: name, offset: s.pointerToRawData, size: s.virtualSize, measured: name === ".cmdline" ? "utf16-cmdline" : "bytes", text, digest: d });
  }
  return out;
}

/** Measures one UKI or add-on layer. */
export async function measureUkiLayer(tree: Tree, layer: Layer, options: MeasureUkiOptions, diagnostics: Diagnostic[]): Promise<MeasuredImage | null> {
  const pe = peChild(layer);
  const bytes = tree.bytes.get(layer.path);
  if (!pe || !bytes) return null;
  const ctx: Context = { layer: layer.path, bytes, banks: options.banks, limits: options.limits, diagnostics, cache: new Map() };
  const all = pe.pe.sections;
  const stub = stubInfo(bytes, all);
  const kind = layer.format === "uki-addon" ? "uki-addon" : "uki";
  const sectionsOf = stub.version !== null && stub.version >= 252 ? Math.min(stub.version, NEWEST_KNOWN_STUB) : NEWEST_KNOWN_STUB;
  if (kind === "uki" && stub.version === null)
    diagnose(
      ctx,
      "PCR_STUB_VERSION_UNKNOWN",
      "info",
      `no systemd-stub version in .sdmagic: the sections systemd ${NEWEST_KNOWN_STUB} measures are assumed`,
      null,
    );
  else if (kind === "uki" && stub.version !== null && stub.version < 252)
    diagnose(
      ctx,
      "PCR_STUB_VERSION_UNKNOWN",
      "warning",
      `systemd-stub ${stub.version} predates PCR 11 measurement (v252); the values are those a v252 stub would produce`,
      null,
    );
  const image: MeasuredImage = {
    layer: layer.path,
    kind,
    loaderInfo: stub.loaderInfo,
    stubVersion: stub.version,
    sectionsOf,
    profiles: [],
    notMeasured: [],
    pcrsig: null,
    pcrpkey: null,
    addon: [],
  };
  if (kind === "uki-addon") {
    image.addon = await measureAddon(ctx, all);
    return image;
  }

  const names = PCR11_SECTIONS.map((s) => s.name);
  const profileStarts = all.flatMap((s, i) => (s.name === ".profile" ? [i] : []));
  if (profileStarts.length > UKI_PROFILES_MAX) {
    diagnose(
      ctx,
      "PCR_TOO_MANY_PROFILES",
      "error",
      `${profileStarts.length} .profile sections, more than systemd's ${UKI_PROFILES_MAX}; only the first are measured`,
      null,
    );
    profileStarts.length = UKI_PROFILES_MAX;
  }
  const base = locate(all.slice(0, profileStarts[0] ?? all.length), [...names, ".pcrsig"]);
  const profileSignatures: Array<{ measurement: ProfileMeasurement; section: PeSection }> = [];
  const phases = options.phases ?? DEFAULT_PHASES;
  const profileList: Array<number | null> = profileStarts.length ? profileStarts.map((_, i) => i) : [null];
  for (const profile of profileList) {
    const chosen = new Map<string, { section: PeSection; profile: number | null }>();
    for (const [name, section] of base) chosen.set(name, { section, profile: null });
    let profileSection: PeSection | undefined;
    let ownSignature: PeSection | undefined;
    if (profile !== null) {
      const start = profileStarts[profile] ?? 0;
      const end = profileStarts[profile + 1] ?? all.length;
      for (const [name, section] of locate(all.slice(start, end), names)) chosen.set(name, { section, profile });
      profileSection = all[start];
      ownSignature = locate(all.slice(start, end), [".pcrsig"]).get(".pcrsig");
    }
    const m = await measureProfile(ctx, chosen, sectionsOf, profile, phases);
    if (ownSignature) profileSignatures.push({ measurement: m, section: ownSignature });
    m.profileId = profileId(bytes, profileSection);
    image.profiles.push(m);
    if (profile === 0 || profile === null) {
      for (const name of [".dtbauto", ".efifw"])
        if (chosen.has(name) && (PCR11_SECTIONS.find((s) => s.name === name)?.since ?? 0) <= sectionsOf)
          diagnose(
            ctx,
            "PCR_HARDWARE_SELECTED",
            "info",
            `${name}: the stub measures the first ${name} whose hardware ids match the machine (or none); kimg assumes the first`,
            chosen.get(name)?.section.headerOffset ?? null,
          );
    }
  }
  const present = new Set(all.map((s) => s.name));
  image.notMeasured = PCR11_SECTIONS.filter((s) => s.since > sectionsOf && present.has(s.name)).map((s) => s.name);

  const pkeySection = base.get(".pcrpkey");
  if (pkeySection) {
    const data = sectionImage(ctx, pkeySection);
    if (data) image.pcrpkey = await readPcrPublicKey(data, pkeySection.pointerToRawData, (c, sev, msg, off) => diagnose(ctx, c, sev, msg, off));
  }
  const sigSection = base.get(".pcrsig");
  if (sigSection) image.pcrsig = await signatureSection(ctx, image, sigSection, image.profiles);
  for (const { measurement, section } of profileSignatures) measurement.pcrsig = await signatureSection(ctx, image, section, [measurement]);
  return image;
}

/** Reads a `.pcrsig` section and matches its entries against the phases of `profiles`. */
async function signatureSection(
  ctx: Context,
  image: MeasuredImage,
  section: PeSection,
  profiles: readonly ProfileMeasurement[],
): Promise<PcrSignatureSection | null> {
  const data = sectionImage(ctx, section);
  if (!data) return null;
  const entries = readPcrSignatures(data, section.pointerToRawData, (c, sev, msg, off) => diagnose(ctx, c, sev, msg, off));
  await compareSignatures(ctx, image, entries, profiles);
  return { offset: section.pointerToRawData, size: data.length, entries, unmatched: entries.filter((e) => e.matches === null).length };
}

/** Matches each `.pcrsig` entry's `pol` against the PolicyPCR digest of every predicted (profile, phase) in its bank, and `pkfp` against `.pcrpkey`. */
async function compareSignatures(ctx: Context, image: MeasuredImage, entries: PcrSignatureEntry[], profiles: readonly ProfileMeasurement[]): Promise<void> {
  const policies = new Map<string, { profile: number | null; phase: string }>();
  for (const p of profiles)
    for (const ph of p.phases)
      for (const [bank, value] of Object.entries(ph.values) as Array<[PcrBank, string]>) {
        const bytes = Uint8Array.from(value.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
        policies.set(`${bank}:${toHex(await policyPcrDigest(bank, PCR_KERNEL_BOOT, bytes))}`, { profile: p.profile, phase: ph.phase });
      }
  for (const e of entries) {
    e.matches = e.pol !== null && e.pcrs.length === 1 && e.pcrs[0] === PCR_KERNEL_BOOT ? (policies.get(`${e.bank}:${e.pol}`) ?? null) : null;
    if (e.matches === null && e.pol !== null) {
      const computed = (ctx.banks as readonly string[]).includes(e.bank);
      diagnose(
        ctx,
        "PCRSIG_UNMATCHED",
        computed ? "warning" : "info",
        computed
          ? `.pcrsig ${e.bank}[${e.index}] signs policy ${e.pol.slice(0, 16)}…, which no predicted phase of this UKI produces`
          : `.pcrsig ${e.bank}[${e.index}]: bank ${e.bank} was not computed, not compared`,
        null,
      );
    }
    if (e.pkfp !== null && image.pcrpkey) {
      e.pkfpMatches = e.pkfp === image.pcrpkey.fingerprint;
      if (!e.pkfpMatches)
        diagnose(ctx, "PCRSIG_KEY_MISMATCH", "warning", `.pcrsig ${e.bank}[${e.index}] was signed by key ${e.pkfp.slice(0, 16)}…, not the .pcrpkey key`, null);
    }
  }
}

/** Every UKI and add-on layer of the tree, outermost first. */
export function ukiLayers(tree: Tree): Layer[] {
  return [...allLayers(tree.root)].filter((l) => l.format === "uki" || l.format === "uki-addon");
}
