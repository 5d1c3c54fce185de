/**
 * The boot containers around a kernel (issue 15): a legacy uImage, a U-Boot FIT, an Android boot
 * image. They give the bootloader addresses (load, entry, the DTB's and the ramdisk's), which the
 * plan uses and checks against what the inner kernel needs:
 *
 * - U-Boot's bootm (boot/bootm.c bootm_load_os) copies or decompresses the kernel to its load
 *   address and jumps to its entry; for an arm64 Linux Image (CONFIG_CMD_BOOTI) it first moves
 *   the Image to text_offset above a 2 MiB aligned base (booti_setup) and enters it there, so
 *   the entry field is not used. An arm64 Image is still entered at its first byte with x0 = DTB
 *   (Documentation/arch/arm64/booting.rst), a zImage at its first byte with r0 = 0, r1 = ~0,
 *   r2 = DTB (Documentation/arch/arm/booting.rst).
 * - A FIT's bootm takes the default configuration (/configurations `default`) unless told
 *   otherwise (`bootm addr#conf`): its kernel, fdt and ramdisk images, each at its `load`
 *   (boot/image-fit.c fit_image_load); an fdt or ramdisk without `load` is used where it lies.
 * - An Android bootloader (v0-v2 headers) loads the kernel at kernel_addr, the ramdisk at
 *   ramdisk_addr, passes the DTB (or ATAGs) at tags_addr, and the v2 DTB at dtb_addr
 *   (AOSP include/bootimg/bootimg.h). v3/v4 boot images carry no addresses: they are in the
 *   vendor_boot image.
 */
import { bootmArm64Entry } from "../../formats/uimage.js";
import { factsOf, type FactsTable, type FitImageFacts } from "../../model/facts.js";
import type { BootPlan, Check, ContainerAddress, ContainerPart, ContainerPlan, Segment } from "../../model/plan.js";
import type { Layer } from "../../model/report.js";
import { kernelChain } from "../summary.js";
import { hexBig, MiB } from "./constants.js";

const SZ_2M = 2 * MiB;
/** The formats that are boot containers around a kernel. */
const CONTAINER_FORMATS = new Set(["uimage", "fit", "android-boot"]);
/** Kernels a loader must enter at their first byte: entry = load. */
const ENTERED_AT_START = new Set(["arm64-image", "riscv-image", "arm-zimage"]);

/** What the planner needs from the container, before and after the arch's plan. */
export interface ContainerContext {
  /** The kernel chain to plan (for a FIT: through the planned configuration's kernel). */
  chain: Layer[];
  container: Layer;
  plan: ContainerPlan;
  /** The kernel's load and entry as the container gives them, and where those fields are. */
  load: { value: bigint; name: string } | null;
  entry: { value: bigint; name: string } | null;
  /** The container's declared architecture (kimg's names where it has them). */
  arch: string | null;
  /** The FIT image type: "kernel_noload" ignores load. */
  kernelType: string | null;
  dtb: { at: bigint | null; size: number | null; name: string } | null;
  ramdisk: { at: bigint | null; size: number | null; name: string } | null;
}

/** A field's offset in a layer's structures, by structure name prefix and field name. */
function fieldOffset(layer: Layer, structure: string, field: string): number | null {
  for (const s of layer.structures) {
    if (!s.name.startsWith(structure)) continue;
    const f = s.fields.find((x) => x.name === field);
    if (f) return f.offset;
  }
  return null;
}

function childNamed(layer: Layer, name: string): Layer | null {
  return layer.children.find((c) => c.path === `${layer.path === "/" ? "" : layer.path}/${name}`) ?? null;
}

function address(layer: Layer, structure: string, field: string, name: string, role: string, value: bigint): ContainerAddress {
  return { name, role, value: hexBig(value), offset: fieldOffset(layer, structure, field) };
}

/** The container nearest the kernel on the chain and what it says; null when the kernel is in none. */
export function containerContext(chain: Layer[], facts: FactsTable): ContainerContext | null {
  const container = [...chain].reverse().find((l) => CONTAINER_FORMATS.has(l.format));
  if (!container) return null;
  if (container.format === "uimage") return uimageContext(chain, container, facts);
  if (container.format === "fit") return fitContext(chain, container, facts);
  return androidContext(chain, container, facts);
}

function uimageContext(chain: Layer[], container: Layer, facts: FactsTable): ContainerContext | null {
  const u = factsOf(facts, container.path, "uimage");
  if (!u) return null;
  const kernelLayer = chain[chain.indexOf(container) + 1] ?? null;
  const parts: ContainerPart[] = [
    { role: "kernel", name: u.parts ? "part0" : "payload", layer: kernelLayer?.path ?? null, size: u.parts?.[0]?.size ?? u.dataSize },
  ];
  // A multi-file image: bootm takes part 1 as the ramdisk and part 2 as the device tree (boot/image-board.c, boot/image-fdt.c).
  const multi = (index: number, role: string): { at: null; size: number; name: string } | null => {
    const p = u.parts?.[index];
    if (!p) return null;
    parts.push({ role, name: `part${index}`, layer: childNamed(container, `part${index}`)?.path ?? null, size: p.size });
    return { at: null, size: p.size, name: `part${index}` };
  };
  const ramdisk = multi(1, "ramdisk");
  const dtb = multi(2, "fdt");
  const h = "uImage header";
  return {
    chain,
    container,
    plan: {
      format: "uimage",
      layer: container.path,
      configuration: null,
      otherConfigurations: [],
      parts,
      addresses: [
        address(container, h, "ih_load", "ih_load", "kernel load", BigInt(u.loadAddress)),
        address(container, h, "ih_ep", "ih_ep", "kernel entry", BigInt(u.entryPoint)),
      ],
      notes: [
        "U-Boot's bootm checks ih_hcrc and ih_dcrc, decompresses (ih_comp) or copies the data to ih_load and jumps to ih_ep; the DTB comes from its own argument (bootm addr - fdt)",
      ],
    },
    load: { value: BigInt(u.loadAddress), name: "ih_load" },
    entry: { value: BigInt(u.entryPoint), name: "ih_ep" },
    arch: container.arch,
    kernelType: null,
    dtb,
    ramdisk,
  };
}

function fitContext(chain: Layer[], container: Layer, facts: FactsTable): ContainerContext | null {
  const fit = factsOf(facts, container.path, "fit");
  if (!fit) return null;
  const config = fit.configurations.find((c) => c.isDefault) ?? fit.configurations[0] ?? null;
  const image = (name: string | null | undefined): FitImageFacts | null => (name ? (fit.images.find((i) => i.name === name) ?? null) : null);
  const kernelImage = image(config?.kernel) ?? fit.images.find((i) => i.type === "kernel" || i.type === "kernel_noload") ?? null;
  // The planned configuration's kernel, not merely the first kernel of /images.
  let planned = chain;
  let fallback: string | null = null;
  const kernelLayer = kernelImage ? childNamed(container, kernelImage.name) : null;
  if (kernelLayer) {
    const inner = kernelChain(kernelLayer);
    if (inner.length > 0) planned = [...chain.slice(0, chain.indexOf(container) + 1), ...inner];
    else fallback = `kimg reaches no kernel in ${kernelImage?.name}: planned instead is the kernel found first in /images`;
  }
  const fdtImage = image(config?.fdt[0]);
  const ramdiskImage = image(config?.ramdisk);
  const parts: ContainerPart[] = [];
  const part = (role: string, i: FitImageFacts | null): void => {
    if (i) parts.push({ role, name: i.name, layer: childNamed(container, i.name)?.path ?? null, size: i.dataSize });
  };
  part("kernel", kernelImage);
  for (const f of config?.fdt ?? []) part("fdt", image(f));
  part("ramdisk", ramdiskImage);
  for (const l of config?.loadables ?? []) part("loadable", image(l));
  part("firmware", image(config?.firmware));
  const addresses: ContainerAddress[] = [];
  const add = (i: FitImageFacts | null, key: "load" | "entry", role: string): void => {
    const v = i?.[key];
    if (i && v !== null && v !== undefined) addresses.push(address(container, `FIT /images/${i.name}`, key, `/images/${i.name}/${key}`, role, v));
  };
  add(kernelImage, "load", "kernel load");
  add(kernelImage, "entry", "kernel entry");
  add(fdtImage, "load", "fdt load");
  add(ramdiskImage, "load", "ramdisk load");
  const notes = [
    config
      ? `bootm without #config boots ${config.isDefault ? "the default configuration" : "the default configuration, and there is none: it fails; planned here is the first,"} ${config.name}${config.description ? ` ("${config.description}")` : ""}`
      : "the FIT has no configuration: bootm needs the kernel image named (bootm addr:kernel)",
    "bootm loads each image of the configuration at its load address (an fdt or ramdisk without one is used where it lies), checks its hash nodes, and jumps to the kernel's entry",
  ];
  if (fallback) notes.push(fallback);
  if (kernelImage?.type === "kernel_noload") notes.push("the kernel is kernel_noload: bootm runs it where it lies in the FIT, load is not used");
  return {
    chain: planned,
    container,
    plan: {
      format: "fit",
      layer: container.path,
      configuration: config?.name ?? null,
      otherConfigurations: fit.configurations.filter((c) => c !== config).map((c) => c.name),
      parts,
      addresses,
      notes,
    },
    load: kernelImage?.load != null ? { value: kernelImage.load, name: `/images/${kernelImage.name}/load` } : null,
    entry: kernelImage?.entry != null ? { value: kernelImage.entry, name: `/images/${kernelImage.name}/entry` } : null,
    arch: fitArch(kernelImage?.arch ?? null),
    kernelType: kernelImage?.type ?? null,
    dtb: fdtImage ? { at: fdtImage.load, size: fdtImage.dataSize, name: `/images/${fdtImage.name}` } : null,
    ramdisk: ramdiskImage ? { at: ramdiskImage.load, size: ramdiskImage.dataSize, name: `/images/${ramdiskImage.name}` } : null,
  };
}

/** FIT arch names (include/image.h uimage_arch) in kimg's terms. */
function fitArch(arch: string | null): string | null {
  if (arch === "x86") return "x86";
  if (arch === "riscv") return "riscv";
  return arch;
}

function androidContext(chain: Layer[], container: Layer, facts: FactsTable): ContainerContext | null {
  const a = factsOf(facts, container.path, "android-boot");
  if (!a) return null;
  const h = "boot_img_hdr";
  const parts: ContainerPart[] = a.parts
    .filter((p) => p.name !== "boot_signature")
    .map((p) => ({
      role: p.name === "dtb" ? "fdt" : p.name,
      name: p.name,
      layer: childNamed(container, p.name)?.path ?? null,
      size: p.size,
    }));
  if (a.kernelAddr === null) {
    return {
      chain,
      container,
      plan: {
        format: "android-boot",
        layer: container.path,
        configuration: null,
        otherConfigurations: [],
        parts,
        addresses: [],
        notes: [
          `a v${a.headerVersion} boot image carries no load addresses: the bootloader takes them from the vendor_boot image (kernel_addr, ramdisk_addr, tags_addr, dtb_addr)`,
        ],
      },
      load: null,
      entry: null,
      arch: null,
      kernelType: null,
      dtb: null,
      ramdisk: null,
    };
  }
  const addresses: ContainerAddress[] = [address(container, h, "kernel_addr", "kernel_addr", "kernel load and entry", BigInt(a.kernelAddr))];
  if (a.ramdiskAddr !== null && a.ramdiskSize > 0) addresses.push(address(container, h, "ramdisk_addr", "ramdisk_addr", "ramdisk load", BigInt(a.ramdiskAddr)));
  if (a.secondAddr !== null && a.secondSize > 0) addresses.push(address(container, h, "second_addr", "second_addr", "second stage load", BigInt(a.secondAddr)));
  if (a.tagsAddr !== null) addresses.push(address(container, h, "tags_addr", "tags_addr", "DTB / ATAGs", BigInt(a.tagsAddr)));
  const v2Dtb = a.dtbAddr !== null && a.dtbSize > 0;
  if (v2Dtb && a.dtbAddr !== null) addresses.push(address(container, h, "dtb_addr", "dtb_addr", "DTB load", a.dtbAddr));
  const dtbAt = v2Dtb ? a.dtbAddr : a.tagsAddr === null ? null : BigInt(a.tagsAddr);
  return {
    chain,
    container,
    plan: {
      format: "android-boot",
      layer: container.path,
      configuration: null,
      otherConfigurations: [],
      parts,
      addresses,
      notes: [
        `an Android bootloader (v${a.headerVersion} header) loads the kernel at kernel_addr and enters it there, the ramdisk at ramdisk_addr, and passes the device tree at ${v2Dtb ? "dtb_addr (the header's DTB)" : "tags_addr"}`,
      ],
    },
    load: { value: BigInt(a.kernelAddr), name: "kernel_addr" },
    entry: null,
    arch: null,
    kernelType: null,
    dtb: dtbAt === null ? null : { at: dtbAt, size: v2Dtb ? a.dtbSize : null, name: v2Dtb ? "dtb_addr" : "tags_addr" },
    ramdisk: a.ramdiskSize > 0 ? { at: a.ramdiskAddr === null ? null : BigInt(a.ramdiskAddr), size: a.ramdiskSize, name: "ramdisk_addr" } : null,
  };
}

/**
 * Where the bootloader puts the kernel, when the container says so and kimg plans that kernel
 * there: an arm64 Image where bootm runs it (or at an Android kernel_addr), a zImage at its load.
 */
export function containerKernelAddress(ctx: ContainerContext, kernel: Layer, facts: FactsTable): bigint | null {
  if (!ctx.load || ctx.kernelType === "kernel_noload") return null;
  if (kernel.format === "arm-zimage") return ctx.load.value;
  if (kernel.format !== "arm64-image") return null;
  const image = factsOf(facts, kernel.path, "arm64-image");
  if (!image) return null;
  if (ctx.plan.format === "android-boot") return ctx.load.value;
  const moved = bootmArm64Entry(Number(ctx.load.value), image);
  return moved === null ? null : BigInt(moved);
}

function move(plan: BootPlan, name: Segment["name"], at: bigint, why: string): void {
  const s = plan.segments.find((x) => x.name === name);
  if (!s) return;
  const old = s.address;
  s.address = hexBig(at);
  s.note = `${why}; ${s.note}`;
  for (const r of plan.registers) if (r.value === old) r.value = s.address;
}

/** The container's part of the plan: its DTB and ramdisk addresses, its checks, `plan.container`. */
export function applyContainer(plan: BootPlan, ctx: ContainerContext, kernel: Layer, facts: FactsTable): void {
  if (ctx.dtb?.at != null) move(plan, "dtb", ctx.dtb.at, `at ${ctx.dtb.name} ${hexBig(ctx.dtb.at)}, as the container says`);
  if (ctx.ramdisk?.at != null) move(plan, "initrd", ctx.ramdisk.at, `at ${ctx.ramdisk.name} ${hexBig(ctx.ramdisk.at)}, as the container says`);
  plan.checks.push(...containerChecks(plan, ctx, kernel, facts));
  plan.container = ctx.plan;
}

function containerChecks(plan: BootPlan, ctx: ContainerContext, kernel: Layer, facts: FactsTable): Check[] {
  const checks: Check[] = [];
  const layer = ctx.container.path;
  const offsetOf = (name: string): number | null => ctx.plan.addresses.find((a) => a.name === name)?.offset ?? null;
  if (ctx.arch !== null) {
    const same = ctx.arch === plan.arch || plan.arch.startsWith(ctx.arch) || (ctx.arch === "x86" && plan.arch === "x86_64");
    checks.push({
      id: "container-arch",
      ok: same,
      message: same
        ? `the container declares ${ctx.arch}, the kernel is ${plan.arch}`
        : `the container declares ${ctx.arch} but the kernel is ${plan.arch}: U-Boot checks the declared arch against its own and refuses a mismatch`,
      layer,
    });
  }
  const load = ctx.load;
  if (load && ctx.kernelType === "kernel_noload") {
    checks.push({
      id: "container-load",
      ok: true,
      info: true,
      message: `${load.name} ${hexBig(load.value)} is not used: kernel_noload runs where it lies`,
      layer,
    });
  } else if (load) checks.push(loadCheck(plan, ctx, load, kernel, facts, offsetOf(load.name)));
  if (load && ctx.entry && ENTERED_AT_START.has(kernel.format)) {
    const ok = ctx.entry.value === load.value;
    const what = kernel.format === "arm-zimage" ? "a zImage" : kernel.format === "arm64-image" ? "an arm64 Image" : "a RISC-V Image";
    const bootmNote =
      kernel.format === "arm64-image" && ctx.plan.format !== "android-boot"
        ? "; U-Boot's bootm (CONFIG_CMD_BOOTI) ignores it for an arm64 Linux Image and enters at the Image start, a loader that honours it does not"
        : "";
    checks.push({
      id: "container-entry",
      ok,
      message: ok
        ? `${ctx.entry.name} = ${load.name} = ${hexBig(load.value)}: ${what} is entered at its first byte`
        : `${ctx.entry.name} ${hexBig(ctx.entry.value)} is not ${load.name} ${hexBig(load.value)}: ${what} must be entered at its first byte (+${hexBig(ctx.entry.value - load.value)} would run the middle of its header or code)${bootmNote}`,
      layer,
      offset: offsetOf(ctx.entry.name),
    });
  } else if (load && !ctx.entry && ctx.plan.format === "fit" && ctx.kernelType === "kernel") {
    checks.push({
      id: "container-entry",
      ok: false,
      message: `the kernel image has no entry property: bootm stops with "Can't get entry point property!"`,
      layer,
    });
  }
  const kernelSegment = plan.segments.find((s) => s.name === "kernel");
  if (kernelSegment && (ctx.dtb?.at != null || ctx.ramdisk?.at != null)) {
    const start = BigInt(kernelSegment.address);
    const end = start + BigInt(Math.max(kernelSegment.memorySize, kernelSegment.size));
    const clashes: string[] = [];
    for (const [what, part] of [
      ["DTB", ctx.dtb],
      ["ramdisk", ctx.ramdisk],
    ] as const) {
      if (part?.at == null) continue;
      const partEnd = part.at + BigInt(part.size ?? 1);
      if (part.at < end && partEnd > start) clashes.push(`the ${what} at ${part.name} ${hexBig(part.at)}`);
    }
    checks.push({
      id: "container-overlap",
      ok: clashes.length === 0,
      message:
        clashes.length === 0
          ? `the kernel's memory ${hexBig(start)}-${hexBig(end)} (BSS included) overlaps neither the DTB nor the ramdisk at the container's addresses`
          : `the kernel's memory ${hexBig(start)}-${hexBig(end)} (BSS included) overlaps ${clashes.join(" and ")}: the kernel overwrites it while booting`,
      layer,
    });
  }
  return checks;
}

function loadCheck(
  plan: BootPlan,
  ctx: ContainerContext,
  load: { value: bigint; name: string },
  kernel: Layer,
  facts: FactsTable,
  offset: number | null,
): Check {
  const base = { id: "container-load" as const, layer: ctx.container.path, offset };
  if (kernel.format === "arm64-image") {
    const textOffset = BigInt(plan.load.textOffset);
    const ok = load.value >= textOffset && (load.value - textOffset) % BigInt(SZ_2M) === 0n;
    if (ok)
      return {
        ...base,
        ok,
        message: `${load.name} ${hexBig(load.value)} is text_offset ${hexBig(textOffset)} above a 2 MiB aligned base, as booting.rst wants`,
      };
    const fix =
      ctx.plan.format === "android-boot"
        ? "a bootloader that honours kernel_addr runs the Image where it cannot run"
        : `U-Boot's bootm moves the Image to ${plan.load.kernelAddress} first (booti_setup), a loader that honours ${load.name} runs it where it cannot run`;
    return {
      ...base,
      ok: false,
      message: `${load.name} ${hexBig(load.value)} is not text_offset ${hexBig(textOffset)} above a 2 MiB aligned base (booting.rst): ${fix}`,
    };
  }
  if (kernel.format === "arm-zimage") {
    const z = factsOf(facts, kernel.path, "arm-zimage");
    if (z && z.start !== 0 && BigInt(z.start) !== load.value)
      return {
        ...base,
        ok: false,
        message: `the zImage is linked to run at ${hexBig(BigInt(z.start))} (its header's start) but ${load.name} is ${hexBig(load.value)}: it runs only at its start`,
      };
    return {
      ...base,
      ok: true,
      message: z?.start
        ? `${load.name} ${hexBig(load.value)} is the zImage's fixed start`
        : `${load.name} ${hexBig(load.value)}: the zImage is position independent and runs wherever it is loaded (see arm-placement for the 128 MiB window)`,
    };
  }
  return { ...base, ok: true, info: true, message: `${load.name} ${hexBig(load.value)}: kimg has no placement rule to check for a ${kernel.format} here` };
}
