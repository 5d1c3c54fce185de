/**
 * Everything the kexec loader reads from or does to the running Linux system, behind one
 * interface so the refusal logic can be tested with fakes and never touches the host.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { getRandomValues } from "node:crypto";
import type { KexecSyscalls } from "./syscalls.js";
import { linuxSyscalls } from "./syscalls.js";

export interface KexecEnvironment {
  platform: string;
  /** `process.arch`: "arm64", "x64", "riscv64", "loong64". */
  arch: string;
  /** Effective uid, or -1 when unknown. */
  uid: number;
  /** File contents, or null when the file does not exist or cannot be read. */
  readText(path: string): string | null;
  readBytes(path: string): Uint8Array | null;
  /** Binds the system calls on first use (loading koffi). */
  syscalls(): KexecSyscalls;
  randomBytes(length: number): Uint8Array;
  writeAll(fd: number, data: Uint8Array): void;
  close(fd: number): void;
  /** Opens a file read-only for kexec_file_load (so IMA sees the file itself); absent in fakes that use memfds only. */
  openRead?(path: string): number;
}

function readOrNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

export function nodeEnvironment(): KexecEnvironment {
  return {
    platform: process.platform,
    arch: process.arch,
    uid: typeof process.geteuid === "function" ? process.geteuid() : -1,
    readText: (path) => readOrNull(() => readFileSync(path, "utf8")),
    readBytes: (path) => readOrNull(() => new Uint8Array(readFileSync(path))),
    syscalls: linuxSyscalls,
    randomBytes: (length) => getRandomValues(new Uint8Array(length)),
    writeAll(fd, data) {
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    },
    close: (fd) => closeSync(fd),
    openRead: (path) => openSync(path, "r"),
  };
}

/** Paths the loader reads (Documentation/ABI/testing/sysfs-kernel-*, proc(5)). */
export const SYSTEM_PATHS = {
  kexecLoaded: "/sys/kernel/kexec_loaded",
  kexecCrashLoaded: "/sys/kernel/kexec_crash_loaded",
  kexecLoadDisabled: "/proc/sys/kernel/kexec_load_disabled",
  lockdown: "/sys/kernel/security/lockdown",
  iomem: "/proc/iomem",
  fdt: "/sys/firmware/fdt",
  cmdline: "/proc/cmdline",
  secureBoot: "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
} as const;
