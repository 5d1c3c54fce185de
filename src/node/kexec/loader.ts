/**
 * kexec from kimg on Linux: turn a file into a plan (file mode or segment mode), refuse clearly
 * before anything is touched, then load it. The plan itself is platform-neutral (src/kexec/);
 * this module reads the running system and makes the system calls.
 */
import { createHash } from "node:crypto";
import { ErrorCode, KimgError } from "../../io/errors.js";
import { freeSystemRam, parseIomem } from "../../kexec/iomem.js";
import type { CommandLineChoice, KexecMode, KexecPlan, KexecSource } from "../../kexec/plan.js";
import { planArm64Segments } from "../../kexec/segments.js";
import { planRiscvSegments } from "../../kexec/segments-riscv.js";
import { planLoongArchSegments } from "../../kexec/segments-loongarch.js";
import type { SegmentPlan } from "../../kexec/plan.js";
import type { KexecStatus } from "../../kexec/status.js";
import { isAuthenticodeSigned, plainKernelUnpacker } from "../../kexec/source.js";
import type { UnpackedKernel, Unpacker } from "../../kexec/source.js";
import type { KexecEnvironment } from "./environment.js";
import { SYSTEM_PATHS } from "./environment.js";
import { Errno, KEXEC_ARCH_DEFAULT, KEXEC_FILE_NO_INITRAMFS, KEXEC_FILE_UNLOAD, MFD_CLOEXEC } from "./syscalls.js";
import { readKexecStatus } from "./status.js";

export interface LoadRequest {
  image: Uint8Array;
  initrd?: Uint8Array | undefined;
  initrdName?: string | undefined;
  /** The command line (with `reuseCmdline`: appended to the running one). */
  append?: string | undefined;
  reuseCmdline?: boolean | undefined;
  /** A device tree to use instead of /sys/firmware/fdt (segment mode). */
  dtb?: Uint8Array | undefined;
  dtbName?: string | undefined;
  mode?: "auto" | KexecMode | undefined;
  /** Override failed plan checks (never architecture, permissions or lockdown). */
  force?: boolean | undefined;
  /** Plan only: no root needed, no system call that changes anything. */
  dryRun?: boolean | undefined;
  /** Unpacks zboot/UKI/compressed images; defaults to plain Images only. */
  unpack?: Unpacker | undefined;
  /** The file `image` was read from: file mode passes its descriptor when the kernel is used as it is (IMA). */
  imagePath?: string | undefined;
  /**
   * The machine to plan for, by the kernel's name (x86_64, arm64, riscv64, loongarch64): for a
   * dry run of another machine's kernel. Default: this machine, or in a dry run the image's own.
   */
  arch?: string | undefined;
  /** A saved /proc/iomem of the target machine, instead of this machine's. */
  iomem?: string | undefined;
  iomemName?: string | undefined;
  /** The target's page size (segment granule); default: this machine's, or the architecture's usual one. */
  pageSize?: number | undefined;
  /** arm64 segment mode: the entry stub checks the segments' SHA-256 before the jump (kexec-tools' purgatory check). */
  checkSha256?: boolean | undefined;
}

export interface Refusal {
  /** Stable reason code: NOT_LINUX, NOT_ROOT, ARCH_MISMATCH, LOCKDOWN, KEXEC_DISABLED, NO_FILE_LOAD, UNSIGNED_UNDER_LOCKDOWN, CHECK_FAILED, NO_SEGMENT_MODE. */
  reason: string;
  message: string;
  /** --force overrides it. */
  overridable: boolean;
}

export interface PreparedKexec {
  plan: KexecPlan;
  /** Checks that failed but were overridden with --force, and other things worth saying. */
  warnings: string[];
  /** A dry run only: why a real load on this machine would be refused (empty when it would go ahead). */
  wouldRefuse: string[];
  /** What a real load of this plan needs from the machine it runs on (root, kernel options, ...). */
  needs: string[];
  /** The architecture planned for, by the kernel's name. */
  targetArch: string;
}

/** The kernel's name for the machine Node runs on (x86_64, not Node's x64). */
export function kernelArchName(processArch: string): string {
  return PROCESS_ARCH_TO_KERNEL[processArch]?.[0] ?? processArch;
}

/** process.arch → the arch names kimg's reports use. */
export const PROCESS_ARCH_TO_KERNEL: Readonly<Record<string, readonly string[]>> = {
  arm64: ["arm64"],
  x64: ["x86_64"],
  riscv64: ["riscv64"],
  loong64: ["loongarch64"],
};

/** The architecture names `--arch` takes: the kernel's (never Node's x64). */
export const KERNEL_ARCH_NAMES: readonly string[] = ["x86_64", "arm64", "riscv64", "loongarch64"];

/** Architectures kimg computes kexec_load segments for. */
export const SEGMENT_MODE_ARCHES: readonly string[] = ["arm64", "riscv64", "loongarch64"];

/**
 * The page size a dry run assumes for another machine: Debian's arm64 and riscv64 kernels use
 * 4 KiB pages, its loong64 kernel 16 KiB (CONFIG_PAGE_SIZE_16KB, LoongArch's default).
 */
export const DEFAULT_PAGE_SIZE: Readonly<Record<string, number>> = { x86_64: 4096, arm64: 4096, riscv64: 4096, loongarch64: 16384 };

/** Checks an --arch value: a kernel architecture name (Node's names are refused with the kernel's). */
export function checkArchName(name: string): string {
  if (KERNEL_ARCH_NAMES.includes(name)) return name;
  const kernel = PROCESS_ARCH_TO_KERNEL[name]?.[0];
  const hint = kernel !== undefined && kernel !== name ? ` (the kernel calls ${name} "${kernel}")` : "";
  throw new KimgError(ErrorCode.USAGE, `unknown architecture "${name}"${hint}: use one of ${KERNEL_ARCH_NAMES.join(", ")}`, {
    structure: "kexec",
    actual: name,
  });
}

/** COMMAND_LINE_SIZE on arm64, x86, riscv (include/uapi/asm-generic/setup.h and the arch headers). */
export const COMMAND_LINE_MAX_BYTES = 2048;

function refuse(refusals: Refusal[]): never {
  const text = refusals.map((r) => `${r.message}${r.overridable ? " (--force to override)" : ""}`).join("; ");
  throw new KimgError(ErrorCode.SYSTEM, `kexec refused: ${text}`, { structure: "kexec", refusals: refusals.map((r) => r.reason) });
}

/** Drops what a boot loader adds for itself (BOOT_IMAGE=, initrd=) from /proc/cmdline, as kexec-tools does. */
export function reusableCmdline(text: string): string {
  return text
    .trim()
    .split(/\s+/)
    .filter((word) => word !== "" && !word.startsWith("BOOT_IMAGE=") && !word.startsWith("initrd="))
    .join(" ");
}

function chooseCmdline(request: LoadRequest, unpacked: UnpackedKernel, env: KexecEnvironment): CommandLineChoice {
  const append = request.append?.trim();
  if (request.reuseCmdline) {
    const running = env.readText(SYSTEM_PATHS.cmdline);
    if (running === null) throw new KimgError(ErrorCode.IO, `cannot read ${SYSTEM_PATHS.cmdline} for --reuse-cmdline`, { structure: "kexec" });
    const base = reusableCmdline(running);
    return { text: [base, append ?? ""].filter((t) => t !== "").join(" "), from: append ? "/proc/cmdline + --cmdline" : "/proc/cmdline" };
  }
  if (append !== undefined) return { text: append, from: "--cmdline" };
  if (unpacked.cmdline !== undefined) return { text: unpacked.cmdline.replace(/\0+$/, "").trim(), from: "UKI .cmdline" };
  return { text: null, from: "none" };
}

/** What a machine of another architecture says about kexec: nothing. */
const UNKNOWN_STATUS: KexecStatus = { loaded: null, crashLoaded: null, loadDisabled: null, lockdown: null, fileLoad: "unknown", secureBoot: null };

/** SHA-256 of the parts in order, with node:crypto (the core's digests are WebCrypto's, asynchronous). */
function sha256Of(parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** Same bytes (the kernel is used as it is, not unpacked). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Builds the plan; throws a KimgError listing every refusal that applies. */
export async function prepareKexec(request: LoadRequest, env: KexecEnvironment): Promise<PreparedKexec> {
  const refusals: Refusal[] = [];
  const warnings: string[] = [];
  const machineArch = kernelArchName(env.arch);
  const requestedArch = request.arch === undefined ? undefined : checkArchName(request.arch);
  if (env.platform !== "linux" && !request.dryRun) refuse([{ reason: "NOT_LINUX", message: `kexec needs Linux, this is ${env.platform}`, overridable: false }]);
  if (env.platform !== "linux") refusals.push({ reason: "NOT_LINUX", message: `kexec needs Linux, this is ${env.platform}`, overridable: false });
  if (!request.dryRun && env.uid !== 0)
    refusals.push({ reason: "NOT_ROOT", message: "kexec needs root (CAP_SYS_BOOT); run as root, or use --dry-run", overridable: false });
  if (request.dryRun && env.uid !== 0) refusals.push({ reason: "NOT_ROOT", message: "kexec needs root (CAP_SYS_BOOT)", overridable: false });

  const unpacked = await (request.unpack ?? plainKernelUnpacker)(request.image);
  const imageArch = unpacked.arch;
  if (requestedArch !== undefined && imageArch !== null && imageArch !== requestedArch) {
    // A plan for one architecture cannot be computed from another's kernel, not even in a dry run.
    refuse([{ reason: "ARCH_MISMATCH", message: `the image is for ${imageArch}, --arch says ${requestedArch}`, overridable: false }]);
  }
  // The machine the plan is for: --arch, or in a dry run the image's own, or this one.
  const targetArch = requestedArch ?? (request.dryRun && imageArch !== null ? imageArch : machineArch);
  const foreign = targetArch !== machineArch || env.platform !== "linux";
  const accepted = PROCESS_ARCH_TO_KERNEL[env.arch] ?? [];
  if (imageArch === null || !accepted.includes(imageArch)) {
    refusals.push({
      reason: "ARCH_MISMATCH",
      message: `the image is for ${imageArch ?? "an unknown architecture"}, this machine is ${machineArch}`,
      overridable: false,
    });
  }

  for (const problem of unpacked.problems ?? []) refusals.push({ reason: "CHECK_FAILED", message: `unpack reported: ${problem}`, overridable: true });

  // Another machine's state cannot be read from here: the plan says what it needs instead.
  const status = foreign ? UNKNOWN_STATUS : readKexecStatus(env);
  if (status.loadDisabled) {
    refusals.push({
      reason: "KEXEC_DISABLED",
      message: `${SYSTEM_PATHS.kexecLoadDisabled} is 1: kexec stays disabled until the next reboot`,
      overridable: false,
    });
  }

  const cmdline = chooseCmdline(request, unpacked, env);
  const commandLineMax = targetArch === "loongarch64" ? 4096 : COMMAND_LINE_MAX_BYTES;
  if (cmdline.text !== null && new TextEncoder().encode(cmdline.text).length + 1 > commandLineMax) {
    refusals.push({ reason: "CHECK_FAILED", message: `the command line is longer than ${commandLineMax - 1} bytes`, overridable: true });
  }
  const initrd = request.initrd ?? unpacked.initrd ?? null;
  const initrdFrom = request.initrd ? `--initrd ${request.initrdName ?? "FILE"}` : unpacked.initrd ? "UKI .initrd" : null;

  const requested = request.mode ?? "auto";
  let mode: KexecMode;
  let why: string;
  const fileLoad = status.fileLoad;
  const segmentCapable = SEGMENT_MODE_ARCHES.includes(targetArch);
  if (requested === "file") {
    mode = "file";
    why = "requested with --file";
    if (fileLoad === "no")
      refusals.push({
        reason: "NO_FILE_LOAD",
        message: "this kernel has no kexec_file_load (CONFIG_KEXEC_FILE not set): use segment mode (--segments)",
        overridable: false,
      });
  } else if (requested === "segments") {
    mode = "segments";
    why = "requested with --segments";
  } else if (fileLoad === "yes" && request.dtb === undefined) {
    mode = "file";
    why = "the running kernel has kexec_file_load, which also checks signatures";
  } else if (segmentCapable) {
    mode = "segments";
    why =
      request.dtb !== undefined
        ? "--dtb needs kexec_load"
        : fileLoad === "no"
          ? "the running kernel has no kexec_file_load (CONFIG_KEXEC_FILE not set)"
          : foreign
            ? `a plan for another machine (${targetArch}): kexec_load works on every kernel with CONFIG_KEXEC`
            : "kexec_file_load availability unknown (dry run without root)";
  } else {
    mode = "file";
    why = fileLoad === "no" ? "the only mode kimg has for this architecture" : "kexec_file_load is how kimg loads this architecture";
    if (fileLoad === "no")
      refusals.push({
        reason: "NO_FILE_LOAD",
        message: `this kernel has no kexec_file_load and kimg's segment mode supports ${SEGMENT_MODE_ARCHES.join(", ")} only`,
        overridable: false,
      });
  }
  if (mode === "segments" && !segmentCapable) {
    refusals.push({
      reason: "NO_SEGMENT_MODE",
      message: `segment mode is implemented for ${SEGMENT_MODE_ARCHES.join(", ")}, not ${targetArch}`,
      overridable: false,
    });
  }
  if (request.dtb !== undefined && (mode === "file" || targetArch === "loongarch64")) {
    refusals.push({
      reason: "CHECK_FAILED",
      message:
        mode === "file"
          ? "--dtb is only used by segment mode; kexec_file_load takes the running kernel's device tree"
          : "--dtb is not used on LoongArch: the new kernel finds its tables through the EFI system table",
      overridable: false,
    });
  }

  // Lockdown (security/lockdown): integrity and confidentiality forbid kexec_load outright, and
  // kexec_file_load then accepts only kernels whose signature the kernel keyring trusts.
  const lockdown = status.lockdown;
  if (lockdown === "integrity" || lockdown === "confidentiality") {
    if (mode === "segments") {
      refusals.push({
        reason: "LOCKDOWN",
        message: `kernel lockdown is "${lockdown}": kexec_load is forbidden; only kexec_file_load of a signed kernel can work`,
        overridable: false,
      });
    } else if (!(unpacked.signed ?? isAuthenticodeSigned(unpacked.kernel))) {
      refusals.push({
        reason: "UNSIGNED_UNDER_LOCKDOWN",
        message: `kernel lockdown is "${lockdown}" and the unpacked kernel carries no Authenticode signature: kexec_file_load will reject it (EKEYREJECTED/EPERM)`,
        overridable: true,
      });
    }
  }

  const blocking = refusals.filter((r) => !r.overridable || !request.force);
  // A dry run prints the plan all the same, then says why a real load would be refused.
  if (blocking.length > 0 && !request.dryRun) refuse(blocking);
  const wouldRefuse = blocking.map((r) => `${r.message}${r.overridable ? " (--force to override)" : ""}`);
  for (const r of refusals) if (!blocking.includes(r)) warnings.push(`overridden with --force: ${r.message}`);
  if (status.loaded && !request.dryRun) warnings.push("a kernel is already loaded; this load replaces it");
  const needs = loadNeeds(mode, targetArch, unpacked, foreign);
  if (request.checkSha256 && !(mode === "segments" && (targetArch === "arm64" || targetArch === "riscv64"))) {
    warnings.push(
      `--check-sha256 is implemented in kimg's arm64 and riscv64 entry stubs only; ${mode === "file" ? "kexec_file_load's own purgatory does its check" : `not on ${targetArch}`}`,
    );
  }

  const source: KexecSource = {
    format: unpacked.format,
    kernelFormat: unpacked.kernelFormat,
    path: unpacked.path,
    arch: unpacked.arch ?? "unknown",
    compression: unpacked.compression,
  };
  if (mode === "file") {
    // IMA appraises the file kexec_file_load reads: hand it the user's own file when the kernel
    // is used as it is; only what kimg unpacked goes through a memfd.
    const asIs = request.imagePath !== undefined && sameBytes(unpacked.kernel, request.image);
    const initrdAsIs = request.initrd !== undefined && request.initrdName !== undefined;
    return {
      plan: {
        mode,
        why,
        source,
        cmdline,
        initrdFrom,
        kernel: unpacked.kernel,
        initrd,
        flags: initrd ? 0 : KEXEC_FILE_NO_INITRAMFS,
        kernelFd: asIs ? "file" : "memfd",
        kernelPath: asIs ? (request.imagePath ?? null) : null,
        initrdFd: initrd === null ? null : initrdAsIs ? "file" : "memfd",
        initrdPath: initrdAsIs ? (request.initrdName ?? null) : null,
      },
      warnings,
      wouldRefuse,
      needs,
      targetArch,
    };
  }

  const iomemText = request.iomem ?? (foreign ? null : env.readText(SYSTEM_PATHS.iomem));
  if (iomemText === null) {
    throw new KimgError(
      ErrorCode.SYSTEM,
      foreign
        ? `a plan for a ${targetArch} machine on this ${machineArch} one needs that machine's memory map: give --iomem FILE (a saved /proc/iomem)`
        : `cannot read ${SYSTEM_PATHS.iomem}: give --iomem FILE (a saved /proc/iomem)`,
      { structure: "kexec" },
    );
  }
  const memoryFrom = request.iomem !== undefined ? `--iomem ${request.iomemName ?? "FILE"}` : SYSTEM_PATHS.iomem;
  let freeRam: ReturnType<typeof freeSystemRam>;
  try {
    // RISC-V and LoongArch kernels go where the running one sits, as kexec-tools puts them (kexec
    // copies the segments only at exec time): LoongArch at its link address, RISC-V at the lowest
    // PMD of RAM, since older RISC-V kernels cannot use memory below their own image.
    freeRam = freeSystemRam(parseIomem(iomemText), { avoidRunningKernel: targetArch === "arm64" });
  } catch (error) {
    if (error instanceof KimgError && error.code === ErrorCode.SYSTEM && request.iomem === undefined) {
      throw new KimgError(ErrorCode.SYSTEM, `${error.message}: run as root, or give --iomem FILE (a saved /proc/iomem)`, { structure: "/proc/iomem" });
    }
    throw error;
  }
  const pageSize = request.pageSize ?? (foreign ? (DEFAULT_PAGE_SIZE[targetArch] ?? 4096) : runningPageSize(env));
  const seeds = request.dryRun ? undefined : { kaslr: env.randomBytes(8), rng: env.randomBytes(32) };
  let segmentPlan: SegmentPlan;
  let dtbFrom: string | null = null;
  if (targetArch === "loongarch64") {
    segmentPlan = planLoongArchSegments({ kernel: unpacked.kernel, initrd: initrd ?? undefined, cmdline: cmdline.text, freeRam, pageSize });
  } else {
    const fdtBytes = request.dtb ?? (foreign ? null : env.readBytes(SYSTEM_PATHS.fdt));
    if (fdtBytes === null)
      throw new KimgError(
        ErrorCode.SYSTEM,
        foreign
          ? `a plan for a ${targetArch} machine on this ${machineArch} one needs its device tree: give --dtb FILE`
          : `cannot read ${SYSTEM_PATHS.fdt} (no device tree from the running system, or not root): give one with --dtb`,
        { structure: "kexec" },
      );
    dtbFrom = request.dtb ? `--dtb ${request.dtbName ?? "FILE"}` : SYSTEM_PATHS.fdt;
    const input = { kernel: unpacked.kernel, initrd: initrd ?? undefined, cmdline: cmdline.text, fdt: fdtBytes, freeRam, pageSize, seeds };
    const check = request.checkSha256 ? { sha256: (parts: readonly Uint8Array[]) => sha256Of(parts) } : undefined;
    segmentPlan = targetArch === "riscv64" ? planRiscvSegments({ ...input, check }) : planArm64Segments({ ...input, check });
  }
  return {
    plan: { mode, why, source, cmdline, initrdFrom, segmentPlan, dtbFrom, memoryFrom, pageSize },
    warnings,
    wouldRefuse,
    needs,
    targetArch,
  };
}

/** What a real load of a plan needs from the machine it runs on, whatever this machine is. */
function loadNeeds(mode: KexecMode, arch: string, unpacked: UnpackedKernel, foreign: boolean): string[] {
  const needs = [foreign ? `a ${arch} Linux machine` : `Linux on ${arch}`, "root (CAP_SYS_BOOT)", "kexec_load_disabled = 0"];
  if (mode === "segments") {
    needs.push("a kernel built with CONFIG_KEXEC (kexec_load)", "no kernel lockdown (integrity and confidentiality forbid kexec_load)");
    if (arch === "loongarch64") needs.push("a running kernel booted by EFI: it hands its own efi_boot and EFI system table to the new one");
  } else {
    needs.push("a kernel built with CONFIG_KEXEC_FILE (kexec_file_load)");
    if (arch === "loongarch64") needs.push("v6.18 or later to take a vmlinux.efi (kexec_efi)");
    if (arch === "riscv64") needs.push("a kernel whose kexec_file_load takes an Image (kexec_image)");
    needs.push(
      unpacked.signed
        ? "under lockdown or KEXEC_SIG_FORCE: the kernel's signing key in the kernel keyring"
        : "no KEXEC_SIG_FORCE and no lockdown (the kernel is not signed)",
    );
  }
  return needs;
}

function runningPageSize(env: KexecEnvironment): number {
  try {
    return env.syscalls().pageSize();
  } catch {
    // A dry run without koffi: 4 KiB is what Debian's arm64 kernels use.
    return 4096;
  }
}

/** A PE image whose certificate table directory entry is non-empty (Authenticode-signed), read by the core's PE parser. */
export const hasPeSignature = isAuthenticodeSigned;

/** Turns a negative errno from a kexec call into a sentence the user can act on. */
export function explainKexecError(call: "kexec_load" | "kexec_file_load" | "reboot", errno: number, mode: KexecMode): KimgError {
  const reasons: Record<number, string> = {
    [Errno.EPERM]:
      call === "reboot"
        ? "not permitted (needs CAP_SYS_BOOT)"
        : "not permitted: needs root (CAP_SYS_BOOT), or kexec_load_disabled is set, or lockdown/signature checks forbid it",
    [Errno.ENOSYS]:
      call === "kexec_file_load" ? "this kernel has no kexec_file_load: use segment mode (--segments)" : "this kernel was built without CONFIG_KEXEC",
    [Errno.EKEYREJECTED]: "the kernel rejected the image's signature (CONFIG_KEXEC_SIG_FORCE or lockdown, and the key is not trusted)",
    [Errno.ENOEXEC]: "the kernel's own loader does not recognise this image format",
    [Errno.EINVAL]:
      mode === "file"
        ? "the kernel's loader refused the image (for example a zboot image handed over unpacked, or a bad header)"
        : "the kernel refused the segment list (too many segments, or more than half of RAM)",
    [Errno.EADDRNOTAVAIL]: "a segment lies outside memory the kernel accepts",
    [Errno.EBUSY]: "another kexec load is in progress",
    [Errno.ENOMEM]: "the kernel could not allocate memory for the segments",
    [Errno.EMSGSIZE]: "the command line is too long",
    [Errno.EBADF]: "a file descriptor was not valid",
  };
  const code = -errno;
  return new KimgError(ErrorCode.SYSTEM, `${call} failed with errno ${code}: ${reasons[code] ?? "unexpected error"}`, {
    structure: "kexec",
    errno: code,
    call,
  });
}

/** User-space addresses of the segment buffers (the `buf` of each struct kexec_segment). */
export function segmentBufferAddresses(plan: KexecPlan, env: KexecEnvironment): Map<string, bigint> {
  if (plan.mode !== "segments") return new Map();
  const sys = env.syscalls();
  return new Map(plan.segmentPlan.segments.map((s) => [s.name as string, sys.addressOf(s.buf)]));
}

export function loadKexec(plan: KexecPlan, env: KexecEnvironment): void {
  const sys = env.syscalls();
  if (plan.mode === "file") {
    const fds: number[] = [];
    const memfd = (name: string, data: Uint8Array): number => {
      const fd = sys.memfdCreate(name, MFD_CLOEXEC);
      if (fd < 0) throw new KimgError(ErrorCode.SYSTEM, `memfd_create failed with errno ${-fd}`, { structure: "kexec", errno: -fd });
      fds.push(fd);
      env.writeAll(fd, data);
      return fd;
    };
    const original = (path: string | null): number | null => {
      if (path === null || env.openRead === undefined) return null;
      const fd = env.openRead(path);
      fds.push(fd);
      return fd;
    };
    try {
      const kernelFd = (plan.kernelFd === "file" ? original(plan.kernelPath) : null) ?? memfd("kimg-kernel", plan.kernel);
      const initrdFd = plan.initrd ? ((plan.initrdFd === "file" ? original(plan.initrdPath) : null) ?? memfd("kimg-initrd", plan.initrd)) : -1;
      const rc = sys.kexecFileLoad(kernelFd, initrdFd, plan.cmdline.text, plan.flags);
      if (rc < 0) throw explainKexecError("kexec_file_load", rc, "file");
    } finally {
      for (const fd of fds) env.close(fd);
    }
    return;
  }
  const rc = sys.kexecLoad(plan.segmentPlan.entry, plan.segmentPlan.segments, KEXEC_ARCH_DEFAULT);
  if (rc < 0) throw explainKexecError("kexec_load", rc, "segments");
}

/** Boots the loaded kernel. Returns only on failure. */
export function execKexec(env: KexecEnvironment): never {
  if (env.uid !== 0) refuse([{ reason: "NOT_ROOT", message: "kexec exec needs root (CAP_SYS_BOOT)", overridable: false }]);
  const status = readKexecStatus(env);
  if (status.loaded === false) throw new KimgError(ErrorCode.SYSTEM, "no kernel is loaded: run `kimg kexec load` first", { structure: "kexec" });
  const rc = env.syscalls().rebootKexec();
  throw explainKexecError("reboot", rc < 0 ? rc : -Errno.EINVAL, "segments");
}

export function unloadKexec(env: KexecEnvironment): void {
  if (env.uid !== 0) refuse([{ reason: "NOT_ROOT", message: "kexec unload needs root (CAP_SYS_BOOT)", overridable: false }]);
  const sys = env.syscalls();
  let rc = sys.kexecFileLoad(-1, -1, null, KEXEC_FILE_UNLOAD);
  // kexec_load with no segments unloads the same image on kernels without kexec_file_load.
  if (rc === -Errno.ENOSYS) rc = sys.kexecLoad(0, [], KEXEC_ARCH_DEFAULT);
  if (rc < 0) throw explainKexecError("kexec_load", rc, "segments");
}
