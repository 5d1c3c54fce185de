/**
 * `kimg kexec status`: what the running kernel says about kexec, read without changing anything.
 */
import type { KexecEnvironment } from "./environment.js";
import { SYSTEM_PATHS } from "./environment.js";
import { Errno } from "./syscalls.js";

export interface KexecStatus {
  /** /sys/kernel/kexec_loaded: a kernel is loaded for `kexec exec`; null when unreadable. */
  loaded: boolean | null;
  crashLoaded: boolean | null;
  /** /proc/sys/kernel/kexec_load_disabled. */
  loadDisabled: boolean | null;
  /** The active lockdown mode, or null when the lockdown LSM is absent. */
  lockdown: "none" | "integrity" | "confidentiality" | null;
  /** Whether kexec_file_load exists ("unknown" without root or without koffi). */
  fileLoad: "yes" | "no" | "unknown";
  /** EFI Secure Boot state from efivarfs, null when not an EFI boot or unreadable. */
  secureBoot: boolean | null;
}

function flag(text: string | null): boolean | null {
  if (text === null) return null;
  return text.trim() === "1";
}

function lockdownMode(text: string | null): KexecStatus["lockdown"] {
  const state = text === null ? undefined : /\[(\w+)\]/.exec(text)?.[1];
  return state === "none" || state === "integrity" || state === "confidentiality" ? state : null;
}

/** Asks for kexec_file_load with invalid flags: the kernel rejects those before doing anything. */
function probeFileLoad(env: KexecEnvironment): KexecStatus["fileLoad"] {
  if (env.uid !== 0) return "unknown";
  try {
    const rc = env.syscalls().kexecFileLoad(-1, -1, null, 0x80000000);
    if (rc === -Errno.ENOSYS) return "no";
    if (rc === -Errno.EINVAL || rc === -Errno.EBADF) return "yes";
    return "unknown";
  } catch {
    return "unknown";
  }
}

export function readKexecStatus(env: KexecEnvironment): KexecStatus {
  // efivarfs prefixes the variable with 4 attribute bytes.
  const secureBootVar = env.readBytes(SYSTEM_PATHS.secureBoot);
  return {
    loaded: flag(env.readText(SYSTEM_PATHS.kexecLoaded)),
    crashLoaded: flag(env.readText(SYSTEM_PATHS.kexecCrashLoaded)),
    loadDisabled: flag(env.readText(SYSTEM_PATHS.kexecLoadDisabled)),
    lockdown: lockdownMode(env.readText(SYSTEM_PATHS.lockdown)),
    fileLoad: env.platform === "linux" ? probeFileLoad(env) : "unknown",
    secureBoot: secureBootVar === null || secureBootVar.length < 5 ? null : secureBootVar[4] === 1,
  };
}

export function formatKexecStatus(status: KexecStatus): string {
  const show = (value: boolean | null): string => (value === null ? "unknown" : value ? "yes" : "no");
  return [
    `loaded:           ${show(status.loaded)}`,
    `crash loaded:     ${show(status.crashLoaded)}`,
    `load disabled:    ${show(status.loadDisabled)}`,
    `lockdown:         ${status.lockdown ?? "not available"}`,
    `kexec_file_load:  ${status.fileLoad}`,
    `secure boot:      ${show(status.secureBoot)}`,
  ].join("\n");
}
