/**
 * A large input file mapped into memory instead of read into it, under a read lease that keeps
 * every other process from changing it meanwhile.
 *
 * Reading a file copies the page cache into fresh memory, and on a virtual machine the first
 * touch of each fresh page is a trap to the hypervisor: on the 2-core machine of issue 14, reading
 * a 48 MB Image into a new buffer took 140-180 ms, reading it again into the same buffer 5-9 ms,
 * and mapping it (mmap, the page cache's own pages, shared in large folios) 1-3 ms.
 *
 * A mapped file has one danger a read does not: if another process truncates it, a later access
 * beyond its new end kills the process with SIGBUS, not an error. So the file is mapped only
 * while kimg holds a read lease on it (fcntl F_SETLEASE F_RDLCK, Linux): the kernel grants it only
 * when no process has the file open for writing, and then makes anyone who opens it for writing
 * or truncates it wait until kimg ends (up to /proc/sys/fs/lease-break-time, 45 s by default),
 * or fail at once if they asked not to block (coreutils' truncate does). The lease stays while the
 * mapping does, which is as long as the process: the descriptor may be closed. The lease-break
 * notice comes as a signal, SIGIO by default, whose default action ends the process: F_SETSIG
 * makes it SIGURG, which is ignored unless handled.
 *
 * A lease is granted only to the file's owner or with CAP_LEASE (root), and it binds only the
 * processes of this machine: a file on a network or FUSE file system (NFS, SMB, 9p, virtiofs)
 * can be changed by another machine or the host whatever the lease says, so only files on the
 * local disk file systems of LOCAL_FILE_SYSTEMS are mapped. Anywhere the lease is refused, or
 * koffi or the C library cannot be bound, the caller reads the file as before.
 *
 * The mapping is private and writable: a write into the array (kimg makes none) would change a
 * private copy of the page, never the file, where a read-only page would crash. kimg never opens
 * its own input for writing (outputs are refused under any name that leads to the input), which
 * would wait on its own lease.
 *
 * Only for the CLI: the mapping is never unmapped (the arrays made from it may live anywhere), so
 * a long-running program would keep every file it mapped, and its lease, until it exits.
 */
import { LINUX_LP64 } from "./c-library.js";
import { type Koffi, type KoffiFunction, libc } from "./koffi.js";
import { madviseFunction } from "./prefault.js";

/** Smaller files are read: the copy costs less than the system calls and koffi's binding. */
export const MAP_MIN_BYTES = 4 * 1024 * 1024;

// The values of include/uapi/asm-generic/{fcntl,mman-common}.h and x86/arm/riscv/loongarch/
// powerpc/s390's signal numbers, which the 64-bit architectures of LINUX_LP64 all use (and
// mmap's offset is 64 bits there).
const F_SETSIG = 10;
const F_SETLEASE = 1024;
const F_RDLCK = 0;
const SIGURG = 23;
const PROT_READ_WRITE = 0x1 | 0x2;
const MAP_PRIVATE = 0x02;
const MADV_POPULATE_READ = 22;

/**
 * statfs(2) f_type of the file systems whose files may be mapped (include/uapi/linux/magic.h):
 * ext2/3/4, XFS, Btrfs, F2FS, bcachefs, ZFS, tmpfs, and overlayfs (container roots: a process
 * that opens a lower file for writing gets a copy, and the mapped file stays as it was).
 */
const LOCAL_FILE_SYSTEMS = new Set([0xef53, 0x58465342, 0x9123683e, 0xf2f52010, 0xca451a4e, 0x2fc12fc1, 0x01021994, 0x794c7630]);

/** Whether a file system type (statfs f_type) is one whose files are mapped. */
export function isLocalFileSystem(type: number | bigint): boolean {
  return LOCAL_FILE_SYSTEMS.has(Number(type));
}

interface Calls {
  fcntl: KoffiFunction;
  mmap: KoffiFunction;
}

let calls: Calls | null | undefined;

function bind(koffi: Koffi): Calls | null {
  if (calls === undefined) {
    try {
      calls = LINUX_LP64
        ? {
            fcntl: libc(koffi).func("int fcntl(int fd, int cmd, ...)"),
            mmap: libc(koffi).func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)"),
          }
        : null;
    } catch {
      calls = null;
    }
  }
  return calls;
}

/**
 * The file open on `fd` (read-only, a regular file), mapped whole under a read lease; null
 * where that is refused (see above), and then nothing has changed but the descriptor's lease
 * signal. `sizeNow` is asked once the lease is held, so the size mapped is the size that holds.
 */
export function mapLeased(koffi: Koffi, fd: number, sizeNow: () => number): Uint8Array | null {
  const c = bind(koffi);
  if (c === null) return null;
  try {
    if (Number(c.fcntl(fd, F_SETSIG, "int", SIGURG)) !== 0) return null;
    if (Number(c.fcntl(fd, F_SETLEASE, "int", F_RDLCK)) !== 0) return null;
    const size = sizeNow();
    if (size < MAP_MIN_BYTES) return null;
    const pointer = c.mmap(null, size, PROT_READ_WRITE, MAP_PRIVATE, fd, 0);
    const address = pointer === null ? 0n : BigInt(koffi.address(pointer));
    // MAP_FAILED is (void *)-1.
    if (pointer === null || BigInt.asIntN(64, address) === -1n) return null;
    // The page-table entries for the whole file in one call (Linux 5.14; elsewhere EINVAL, and
    // each page is mapped at its first access): one by one, a first read of a 38 MB Image's
    // mapping took 27 ms here, against 3 once they are there.
    madviseFunction(koffi)?.(address, size, MADV_POPULATE_READ);
    return new Uint8Array(koffi.view(pointer, size));
  } catch {
    return null;
  }
}
