/**
 * `kimg kexec status`: what the running kernel says about kexec, read without changing anything.
 */
import type { KexecStatus } from "../../kexec/status.js";
import type { KexecEnvironment } from "./environment.js";
import { SYSTEM_PATHS } from "./environment.js";
import { Errno } from "./syscalls.js";

export type { KexecStatus };

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
