/**
 * The pages of a large output buffer, made ready on another thread while the decoder fills it.
 *
 * The first write to each page of fresh memory stops the writing thread at a page fault: for a
 * 42 MB kernel, 14-17 ms of the 56-58 ms that libzstd took to decode it on the 2-core machine
 * here, and half of what the lz4 WebAssembly loop takes. madvise(MADV_POPULATE_WRITE) (Linux 5.14)
 * takes those faults in one call, and run through koffi on a thread-pool thread it keeps ahead
 * of the decoder, which then finds its pages there (zstd: 56-58 to 42-44 ms). It changes no byte
 * (a page already written is left as it is), so it may run while the decoder writes. Elsewhere,
 * on older kernels (EINVAL) or without koffi it does nothing: only the faults stay where they were.
 *
 * One call per decode, for its output: while the call runs (10-15 ms for 42 MB) it holds the
 * address space's lock for reading, so whatever maps memory on the main thread meanwhile (a
 * second koffi async call, which maps a stack; a GC) waits for it. Populating lz4's 8 MiB staging
 * area as well was tried: its dispatch stalled 11-16 ms, more than its faults cost.
 *
 * koffi is used once something else has loaded it (the CLI's extract loads it for its writes
 * while the input is read), and the CLI loads it for outputs of LOAD_KOFFI_MIN_BYTES and more. A
 * library call never loads it for this: a program that loads koffi gets its exit-time fsync of
 * standard output (node/koffi.ts), which only the CLI guards against.
 */
import { readFileSync } from "node:fs";
import { type Koffi, type KoffiFunction, koffiIfLoaded, koffiWhereHarmless, libc } from "./koffi.js";

/** Smaller buffers are not worth a thread-pool round trip. */
const PREFAULT_MIN_BYTES = 4 * 1024 * 1024;
/**
 * From this size on, the CLI loads koffi for it when nothing has yet (`inspect` of a zboot image):
 * the faults of 24 MiB cost about as much as loading koffi did, 7 ms here. koffi now loads in 4-6
 * ms (node/koffi.ts), so somewhat smaller outputs may pay too: not measured again.
 */
const LOAD_KOFFI_MIN_BYTES = 24 * 1024 * 1024;
/** madvise wants a page-aligned start: aligned to the largest Linux page size, 64 KiB. */
const ALIGN = 65536n;
/** MADV_HUGEPAGE and MADV_POPULATE_WRITE in include/uapi/asm-generic/mman-common.h, which these architectures use. */
const MADV_HUGEPAGE = 14;
const MADV_POPULATE_WRITE = 23;
/** The size of a transparent huge page on these architectures with 4 KiB pages (PMD_SIZE). */
const HUGE = 2n * 1024n * 1024n;
const SUPPORTED = process.platform === "linux" && ["x64", "arm64", "riscv64", "loong64", "ia32", "arm", "ppc64", "s390x"].includes(process.arch);

let madvise: KoffiFunction | null | undefined;

/** madvise(2), taking the address as a number (koffi.address), or null where it cannot be bound. */
export function madviseFunction(koffi: Koffi): KoffiFunction | null {
  if (madvise === undefined) {
    try {
      madvise = SUPPORTED ? libc(koffi).func("int madvise(uintptr_t addr, size_t length, int advice)") : null;
    } catch {
      madvise = null;
    }
  }
  return madvise;
}

/**
 * Whether the kernel's free lists hold 2 MiB blocks (order 9 and up, /proc/buddyinfo) for twice
 * `bytes`, on a system whose huge pages are 2 MiB: then every fault finds one free, where with
 * memory fragmented a fault in a MADV_HUGEPAGE range would wait for compaction (seen on an
 * earlier machine: 100 ms and more, when 4 KiB faults cost 15 ms for the whole buffer).
 */
export function hugePagesFree(bytes: number): boolean {
  try {
    if (readFileSync("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "utf8").trim() !== String(HUGE)) return false;
    let blocks = 0;
    for (const line of readFileSync("/proc/buddyinfo", "utf8").split("\n")) {
      // "Node 0, zone   Normal  14050  17441 ...": free blocks of order 0, 1, 2...
      line
        .trim()
        .split(/\s+/)
        .slice(4)
        .forEach((count, order) => {
          if (order >= 9) blocks += Number(count) * 2 ** (order - 9);
        });
    }
    return blocks * Number(HUGE) >= 2 * bytes;
  } catch {
    return false;
  }
}

/**
 * Starts populating the pages of `bytes` (as DecodeOptions.prepareOutput) and returns at once;
 * the promise tells, for the tests, whether the pages were populated (it never rejects).
 */
export function prefaultPages(bytes: Uint8Array): Promise<boolean> {
  if (bytes.byteLength < PREFAULT_MIN_BYTES) return Promise.resolve(false);
  const koffi = bytes.byteLength >= LOAD_KOFFI_MIN_BYTES ? koffiWhereHarmless() : koffiIfLoaded();
  if (koffi === undefined) return Promise.resolve(false);
  const call = madviseFunction(koffi);
  if (call === null) return Promise.resolve(false);
  try {
    const address = BigInt(koffi.address(bytes));
    const start = (address + ALIGN - 1n) & ~(ALIGN - 1n);
    const end = (address + BigInt(bytes.byteLength)) & ~(ALIGN - 1n);
    if (end <= start) return Promise.resolve(false);
    // Transparent huge pages where the system grants them for the asking (the "madvise" setting,
    // Debian's default): one fault per 2 MiB instead of 512. A hint, which changes no byte.
    const hugeStart = (address + HUGE - 1n) & ~(HUGE - 1n);
    const hugeEnd = (address + BigInt(bytes.byteLength)) & ~(HUGE - 1n);
    if (hugeEnd > hugeStart && hugePagesFree(Number(hugeEnd - hugeStart))) call(hugeStart, hugeEnd - hugeStart, MADV_HUGEPAGE);
    // The callback holds `bytes`, so the memory stays allocated until the call is done.
    return new Promise((resolve) =>
      call.async(start, end - start, MADV_POPULATE_WRITE, (error: unknown, result: unknown) => resolve(!error && Number(result) === 0 && bytes.length > 0)),
    );
  } catch {
    // Only a speed-up: any failure leaves the faults to the decoder.
    return Promise.resolve(false);
  }
}
