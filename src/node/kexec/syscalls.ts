/**
 * The Linux system calls kimg's kexec needs, called through koffi (libc's `syscall(2)`,
 * `memfd_create(2)`, `reboot(2)`, `sync(2)`), so no native code of our own is built.
 *
 *   long kexec_load(unsigned long entry, unsigned long nr_segments,
 *                   struct kexec_segment *segments, unsigned long flags);
 *   long kexec_file_load(int kernel_fd, int initrd_fd, unsigned long cmdline_len,
 *                        const char *cmdline, unsigned long flags);
 *   struct kexec_segment { const void *buf; size_t bufsz; const void *mem; size_t memsz; };
 *
 * Sources: include/uapi/linux/kexec.h, include/uapi/linux/reboot.h, the per-arch syscall tables
 * (include/uapi/asm-generic/unistd.h for arm64/riscv/loongarch, arch/x86/entry/syscalls/syscall_64.tbl).
 */
import { ErrorCode, KimgError } from "../../io/errors.js";
import { type Koffi, libc, loadKoffi } from "../koffi.js";

export interface SyscallNumbers {
  kexecLoad: number;
  kexecFileLoad: number;
}

/** By `process.arch`. asm-generic numbers: kexec_load 104, kexec_file_load 294. */
export const SYSCALL_NUMBERS: Readonly<Record<string, SyscallNumbers>> = {
  arm64: { kexecLoad: 104, kexecFileLoad: 294 },
  riscv64: { kexecLoad: 104, kexecFileLoad: 294 },
  loong64: { kexecLoad: 104, kexecFileLoad: 294 },
  x64: { kexecLoad: 246, kexecFileLoad: 320 },
};

/** include/uapi/linux/kexec.h */
export const KEXEC_FILE_UNLOAD = 0x1;
export const KEXEC_FILE_ON_CRASH = 0x2;
export const KEXEC_FILE_NO_INITRAMFS = 0x4;
export const KEXEC_ARCH_DEFAULT = 0;
/** include/uapi/linux/reboot.h */
export const LINUX_REBOOT_CMD_KEXEC = 0x45584543;
/** include/uapi/linux/memfd.h */
export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
const SC_PAGESIZE = 30;

/** errno values the loader explains (asm-generic/errno-base.h, errno.h). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  ENOMEM: 12,
  EBUSY: 16,
  EINVAL: 22,
  ENOEXEC: 8,
  ENOSYS: 38,
  EADDRNOTAVAIL: 99,
  EKEYREJECTED: 129,
  EMSGSIZE: 90,
} as const;

export interface SegmentForSyscall {
  buf: Uint8Array;
  mem: number;
  memsz: number;
}

/** What the loader needs from the kernel; tests substitute a fake. */
export interface KexecSyscalls {
  /** Returns 0 or a negative errno. */
  kexecLoad(entry: number, segments: readonly SegmentForSyscall[], flags: number): number;
  kexecFileLoad(kernelFd: number, initrdFd: number, cmdline: string | null, flags: number): number;
  /** Returns a file descriptor or a negative errno. */
  memfdCreate(name: string, flags: number): number;
  /** Returns only on failure, with a negative errno. */
  rebootKexec(): number;
  pageSize(): number;
  /** The user-space address of a buffer, for printing `buf` in the plan. */
  addressOf(buf: Uint8Array): bigint;
}

let cached: KexecSyscalls | undefined;

/** Binds libc through koffi. Throws E_SYSTEM when koffi or libc cannot be loaded. */
export function linuxSyscalls(): KexecSyscalls {
  if (cached) return cached;
  const numbers = SYSCALL_NUMBERS[process.arch];
  if (process.platform !== "linux" || !numbers) {
    throw new KimgError(ErrorCode.SYSTEM, `kexec system calls are not known for ${process.platform}/${process.arch}`, { structure: "kexec" });
  }
  let koffi: Koffi;
  try {
    koffi = loadKoffi();
  } catch (error) {
    throw new KimgError(ErrorCode.SYSTEM, `cannot load koffi (the FFI package kimg's kexec needs): ${(error as Error).message}`, { structure: "kexec" });
  }
  const c = libc(koffi);
  const syscall = c.func("long syscall(long, ...)");
  const memfdCreate = c.func("int memfd_create(const char *name, unsigned int flags)");
  const reboot = c.func("int reboot(int howto)");
  const sync = c.func("void sync(void)");
  const sysconf = c.func("long sysconf(int name)");
  const result = (value: unknown): number => {
    const n = Number(value);
    return n < 0 ? -koffi.errno() : n;
  };

  cached = {
    kexecLoad(entry, segments, flags) {
      const table = new Uint8Array(new ArrayBuffer(Math.max(1, segments.length) * 32));
      const view = new DataView(table.buffer);
      const buffers = segments.map((s) => stableBuffer(s.buf));
      segments.forEach((s, i) => {
        const buf = buffers[i] as Uint8Array;
        view.setBigUint64(i * 32, buf.byteLength === 0 ? 0n : koffi.address(buf), true);
        view.setBigUint64(i * 32 + 8, BigInt(buf.byteLength), true);
        view.setBigUint64(i * 32 + 16, BigInt(s.mem), true);
        view.setBigUint64(i * 32 + 24, BigInt(s.memsz), true);
      });
      const tableAddress = segments.length === 0 ? 0n : koffi.address(table);
      const rc = syscall(
        numbers.kexecLoad,
        "unsigned long",
        BigInt(entry),
        "unsigned long",
        BigInt(segments.length),
        "uintptr_t",
        tableAddress,
        "unsigned long",
        BigInt(flags),
      );
      // The kernel has copied the buffers once the call returns; keep them alive until then.
      void buffers.length;
      return result(rc);
    },
    kexecFileLoad(kernelFd, initrdFd, cmdline, flags) {
      // cmdline_len counts the terminating NUL (kernel/kexec_file.c checks cmdline[len - 1] == 0).
      const text = cmdline === null ? null : cmdline + "\0";
      const length = text === null ? 0 : new TextEncoder().encode(text).length;
      const rc = syscall(
        numbers.kexecFileLoad,
        "int",
        kernelFd,
        "int",
        initrdFd,
        "unsigned long",
        BigInt(length),
        "const char *",
        text,
        "unsigned long",
        BigInt(flags),
      );
      return result(rc);
    },
    memfdCreate(name, flags) {
      return result(memfdCreate(name, flags));
    },
    rebootKexec() {
      sync();
      return result(reboot(LINUX_REBOOT_CMD_KEXEC));
    },
    pageSize() {
      const size = Number(sysconf(SC_PAGESIZE));
      return size > 0 ? size : 4096;
    },
    addressOf(buf) {
      return koffi.address(stableBuffer(buf));
    },
  };
  return cached;
}

/** V8 keeps typed arrays of up to 64 bytes inside the JS heap, where the GC may move them. */
const ON_HEAP_MAX_BYTES = 64;
const stableCopies = new WeakMap<Uint8Array, Uint8Array>();

/**
 * The buffer whose address is handed to the kernel: small ones get one off-heap copy (an
 * ArrayBuffer's backing store never moves), reused so the printed plan shows the real address.
 */
function stableBuffer(buf: Uint8Array): Uint8Array {
  if (buf.byteLength > ON_HEAP_MAX_BYTES) return buf;
  let copy = stableCopies.get(buf);
  if (!copy) {
    copy = new Uint8Array(new ArrayBuffer(Math.max(1, buf.byteLength)), 0, buf.byteLength);
    copy.set(buf);
    stableCopies.set(buf, copy);
  }
  return copy;
}
