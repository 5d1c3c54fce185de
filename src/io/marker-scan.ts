/**
 * One pass over a kernel layer for the three markers the analysis looks for anywhere in it (issue
 * 14): the `linux_banner` ("Linux version ", formats/banner.ts), the embedded .config's
 * "IKCFG_ST" (analysis/ikconfig.ts) and the newc cpio magic "070701" of a built-in initramfs
 * (formats/builtin-initramfs.ts). Each used to scan the whole layer by itself, three passes over
 * tens of MB that cost more than the rest of `kimg inspect`; now they read the offsets one scan
 * found, cached per byte array.
 *
 * The scan reads the layer as aligned 32-bit words (offsets 0, 4, 8, ... of the layer) and keeps
 * a word only when a 64K-entry table indexed by its low 16 bits says some marker has a 4-byte
 * window starting with those 2 bytes; the window and then the whole marker are compared. Why
 * one aligned word per occurrence suffices:
 * - "Linux version " (14 bytes) and "IKCFG_ST" (8) lie anywhere (linux_banner is a char array in
 *   init/version.c, the .config markers `.ascii` in kernel/configs.c): a marker of at least 7
 *   bytes at offset p holds the whole aligned word at p + k for the one k in 0..3 with
 *   (p + k) % 4 === 0, so the table holds its 4 windows at k = 0..3.
 * - "070701" is looked for at 4-byte aligned offsets only, as the search before this one did:
 *   include/asm-generic/vmlinux.lds.h (INIT_RAM_FS) puts `. = ALIGN(4); __initramfs_start = .;`
 *   before the `.incbin` of usr/initramfs_data.S, and a raw Image is loaded at a page-aligned
 *   `_text`, so the archive starts at a multiple of 4 in the image; newc pads every header and
 *   file to 4 bytes. Its window is the word at k = 0.
 *
 * The scan is lazy: it goes forward in SCAN_CHUNK_BYTES steps only as far as a question needs, so
 * a banner early in an ELF with gigabytes of debug info is found without reading the rest. A
 * layer whose bytes do not start at a 4-byte aligned address of their buffer (or a big-endian
 * engine) reads its words byte by byte, the same offsets, slower. At most MARKER_MAX_HITS offsets
 * per marker are kept; past them the question is answered by a direct search.
 *
 * Where the platform searches bytes faster than this scan (Node: the C library's memmem, which
 * the CLI registers with io/layout.ts `useByteSearch`), each marker is found with it instead, one occurrence
 * after the other as the questions need them: 4-5 ms per marker over a 38 MB Image against
 * 30-50 ms for the scan. The answers are the same (test/marker-scan.test.ts compares them).
 *
 * The cache assumes the bytes do not change while the analysis reads them (they are its input).
 */
import { type AsyncByteSearch, ascii, type ByteSearch, indexOf, registeredByteSearch } from "./layout.js";
import { MARKER_MAX_HITS } from "./limits.js";

/** The markers, by name. */
export type KernelMarker = "banner" | "ikconfig" | "newc";

interface MarkerSpec {
  bytes: Uint8Array;
  /** Only offsets that are multiples of 4 count. */
  aligned: boolean;
}

const MARKERS: Record<KernelMarker, MarkerSpec> = {
  banner: { bytes: ascii("Linux version "), aligned: false },
  ikconfig: { bytes: ascii("IKCFG_ST"), aligned: false },
  newc: { bytes: ascii("070701"), aligned: true },
};
const NAMES = Object.keys(MARKERS) as KernelMarker[];

/** The marker's bytes (what `findMarker` finds). */
export function markerBytes(marker: KernelMarker): Uint8Array {
  return MARKERS[marker].bytes;
}

/** How far one step of the lazy scan reads, in bytes (a multiple of 4). */
export const SCAN_CHUNK_BYTES = 256 * 1024;

interface Window {
  /** The 4 marker bytes at `k` as a little-endian 32-bit word (signed, as an Int32Array reads it). */
  word: number;
  k: number;
  /** The marker's index in NAMES. */
  marker: number;
  bytes: Uint8Array;
}

const le32 = (b: Uint8Array, at: number): number =>
  (b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24);

/**
 * The FILTER slot of a word: its low 16 bits, its first 2 bytes. Of the 12 million words of the
 * 48 MB test Image 40,039 pass ("in" of "inux" and "07" are common), which the window test
 * rejects quickly; a multiplicative hash of the whole word let only 1,437 through but made the
 * loop itself slower on Node 24 (median 61 against 31 ms for the first scan of that Image).
 */
const slotOf = (word: number): number => word & 0xffff;

/** Every marker's windows, larger k first so that one word's hits come in ascending offsets. */
const WINDOWS: Window[] = [];
/** Non-zero in the slot of each window's word. */
const FILTER = new Uint8Array(65536);
NAMES.forEach((name, marker) => {
  const spec = MARKERS[name];
  for (let k = spec.aligned ? 0 : 3; k >= 0; k--) {
    if (k + 4 > spec.bytes.length) throw new Error(`marker ${name} too short for window ${k}`);
    const word = le32(spec.bytes, k);
    WINDOWS.push({ word, k, marker, bytes: spec.bytes });
    FILTER[slotOf(word)] = 1;
  }
});
WINDOWS.sort((a, b) => b.k - a.k);
/** The windows' words alone, for the quick test of a word that passed FILTER. */
const WINDOW_WORDS = Int32Array.from(WINDOWS, (w) => w.word);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface Scan {
  /** Bytes scanned so far from offset 0 (a multiple of 4, or the layer's length). */
  scannedTo: number;
  words: Int32Array | null;
  hits: number[][];
  /** Per marker: null, or the offset from which its hits were no longer kept (MARKER_MAX_HITS). */
  overflowAt: Array<number | null>;
}

const scans = new WeakMap<Uint8Array, Scan>();

function scanOf(bytes: Uint8Array): Scan {
  let scan = scans.get(bytes);
  if (!scan) {
    const aligned = LITTLE_ENDIAN && bytes.byteOffset % 4 === 0;
    scan = {
      scannedTo: 0,
      words: aligned ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : null,
      hits: NAMES.map(() => []),
      overflowAt: NAMES.map(() => null),
    };
    scans.set(bytes, scan);
  }
  return scan;
}

/** Records the markers whose window is `word`, the aligned word at byte offset `at`. */
function check(bytes: Uint8Array, scan: Scan, word: number, at: number): void {
  for (let j = 0; j < WINDOW_WORDS.length; j++) {
    if (WINDOW_WORDS[j] === word) record(bytes, scan, WINDOWS[j] as Window, at);
  }
}

function record(bytes: Uint8Array, scan: Scan, w: Window, at: number): void {
  const p = at - w.k;
  const marker = w.bytes;
  if (p < 0 || p + marker.length > bytes.length || scan.overflowAt[w.marker] !== null) return;
  let i = 0;
  while (i < marker.length && bytes[p + i] === marker[i]) i++;
  if (i < marker.length) return;
  const list = scan.hits[w.marker] as number[];
  if (list.length < MARKER_MAX_HITS) list.push(p);
  else scan.overflowAt[w.marker] = p;
}

/** Word indexes that passed FILTER in one chunk (allocated on first use). */
let candidates: Int32Array | null = null;

/*
 * The hot loops. Kept to a load, a table look-up and a rarely taken branch, without calls: V8
 * optimises such a loop on stack within the first chunk and keeps it, where a call or a branch
 * it has no type feedback for yet made it fall back to the interpreter again and again (measured
 * with --trace-deopt: the scan cost 3x more on its first run than on its second).
 */
function filterWords(words: Int32Array, first: number, last: number, out: Int32Array): number {
  let n = 0;
  for (let i = first; i < last; i++) {
    if (FILTER[(words[i] as number) & 0xffff] !== 0) out[n++] = i;
  }
  return n;
}

function filterBytes(bytes: Uint8Array, first: number, last: number, out: Int32Array): number {
  let n = 0;
  for (let i = first; i < last; i++) {
    if (FILTER[slotOf(le32(bytes, i * 4))] !== 0) out[n++] = i;
  }
  return n;
}

/** Scans the words of bytes [`scan.scannedTo`, `to`) (`to` a multiple of 4 at most SCAN_CHUNK_BYTES further). */
function scanWords(bytes: Uint8Array, scan: Scan, to: number): void {
  candidates ??= new Int32Array(SCAN_CHUNK_BYTES / 4);
  const words = scan.words;
  const first = scan.scannedTo >>> 2;
  const last = to >>> 2;
  const n = words ? filterWords(words, first, last, candidates) : filterBytes(bytes, first, last, candidates);
  for (let j = 0; j < n; j++) {
    const i = candidates[j] as number;
    check(bytes, scan, words ? (words[i] as number) : le32(bytes, i * 4), i * 4);
  }
}

/** Scans one more chunk of the layer (SCAN_CHUNK_BYTES, or what is left of its whole words). */
function scanStep(bytes: Uint8Array, scan: Scan): void {
  const wholeWords = bytes.length - (bytes.length % 4);
  const next = Math.min(wholeWords, scan.scannedTo + SCAN_CHUNK_BYTES);
  scanWords(bytes, scan, next);
  scan.scannedTo = next === wholeWords ? bytes.length : next;
}

/** The longest marker: a window's marker ends at most this many bytes after its aligned word starts. */
const MARKER_REACH_BYTES = Math.max(...NAMES.map((n) => MARKERS[n].bytes.length));

/**
 * Scans `bytes` ahead of any question, as far as the first `end` bytes allow: for a reader that
 * gets a layer in pieces, which can scan the pieces that have arrived while the rest is still
 * being read (node/files.ts), so the analysis later finds the scan done. Only whole chunks are
 * scanned, and only those whose markers cannot reach past `end`: the bytes after it may not be
 * there yet. The bytes before `end` must not change afterwards.
 */
export function scanMarkersAhead(bytes: Uint8Array, end: number): void {
  const scan = scanOf(bytes);
  const wholeWords = bytes.length - (bytes.length % 4);
  const ready = end >= bytes.length ? bytes.length : end - MARKER_REACH_BYTES;
  while (scan.scannedTo < bytes.length && Math.min(wholeWords, scan.scannedTo + SCAN_CHUNK_BYTES) <= ready) scanStep(bytes, scan);
}

/** The first aligned "070701" at or after `from` by a plain search (past MARKER_MAX_HITS). */
function alignedIndexOf(bytes: Uint8Array, marker: Uint8Array, from: number, to: number): number {
  for (let at = from + ((4 - (from % 4)) % 4); at + marker.length <= to; at += 4) {
    let i = 0;
    while (i < marker.length && bytes[at + i] === marker[i]) i++;
    if (i === marker.length) return at;
  }
  return -1;
}

/** Layers smaller than this are scanned: a native call per occurrence costs more than the scan. */
const BYTE_SEARCH_MIN_BYTES = 1024 * 1024;

/** Per marker: its occurrences found so far, in order, and where the search has got to. */
interface Searched {
  hits: number[];
  /** Every occurrence that starts before this offset is known. */
  searchedTo: number;
  overflowAt: number | null;
}

const searches = new WeakMap<Uint8Array, Searched[]>();

/** The first occurrence of `spec` (at a multiple of 4 when aligned) in [from, end), natively, or -1. */
function searchFrom(search: ByteSearch, bytes: Uint8Array, spec: MarkerSpec, from: number, end: number): number {
  for (let at = from; ; ) {
    const p = search(bytes, spec.bytes, at, end);
    if (p < 0 || !spec.aligned || p % 4 === 0) return p;
    at = p + 1;
  }
}

function searchStates(bytes: Uint8Array): Searched[] {
  let states = searches.get(bytes);
  if (!states) {
    states = NAMES.map(() => ({ hits: [], searchedTo: 0, overflowAt: null }));
    searches.set(bytes, states);
  }
  return states;
}

/** findMarker through the registered native search (same answers, kept per marker as found). */
function findSearched(search: ByteSearch, bytes: Uint8Array, index: number, start: number, last: number, end: number): number {
  const spec = MARKERS[NAMES[index] as KernelMarker];
  const state = searchStates(bytes)[index] as Searched;
  for (;;) {
    const hit = firstAtOrAfter(state.hits, start);
    if (hit !== undefined) return hit <= last ? hit : -1;
    if (state.searchedTo > last || state.overflowAt !== null) break;
    const p = searchFrom(search, bytes, spec, state.searchedTo, bytes.length);
    if (p < 0) {
      state.searchedTo = bytes.length;
      return -1;
    }
    state.searchedTo = p + 1;
    if (state.hits.length < MARKER_MAX_HITS) state.hits.push(p);
    else state.overflowAt = p;
  }
  if (state.overflowAt === null) return -1;
  return searchFrom(search, bytes, spec, Math.max(start, state.overflowAt), end);
}

/**
 * Finds each marker's first occurrence in `bytes` ahead of the analysis, all at once with an
 * asynchronous search (memmem on the thread pool, node/byte-search.ts): the CLI starts this as
 * soon as a large image is mapped and loads the analysis meanwhile, which then finds the answers
 * known (a raw 48 MB Image: two whole-image searches, 10 ms, no longer on the main thread). Only
 * for a layer the registered native search answers for (the same object the analysis gets, and
 * at least BYTE_SEARCH_MIN_BYTES): what it records is what findSearched would have found first.
 * A marker the analysis has asked about meanwhile is left as that search left it.
 */
export async function searchMarkersAhead(bytes: Uint8Array, search: AsyncByteSearch): Promise<void> {
  if (registeredByteSearch() === null || bytes.length < BYTE_SEARCH_MIN_BYTES) return;
  await Promise.all(
    NAMES.map(async (name, index) => {
      const spec = MARKERS[name];
      let p = -1;
      for (let at = 0; ; at = p + 1) {
        p = await search(bytes, spec.bytes, at, bytes.length);
        if (p < 0 || !spec.aligned || p % 4 === 0) break;
      }
      const state = searchStates(bytes)[index] as Searched;
      if (state.searchedTo !== 0) return;
      if (p < 0) state.searchedTo = bytes.length;
      else {
        state.hits.push(p);
        state.searchedTo = p + 1;
      }
    }),
  );
}

/** The first of the ascending `list` at or after `start` (binary search), or undefined. */
function firstAtOrAfter(list: number[], start: number): number | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < start) lo = mid + 1;
    else hi = mid;
  }
  return list[lo];
}

/**
 * The offset of the first `marker` in `bytes` that starts at or after `from` and ends by `to`
 * (for "newc", the first at a multiple of 4), -1 when there is none: what a plain search of
 * [from, to) returns, read from the layer's one scan (or the native search's hits).
 */
export function findMarker(bytes: Uint8Array, marker: KernelMarker, from = 0, to = bytes.length): number {
  const spec = MARKERS[marker];
  const end = Math.min(to, bytes.length);
  const start = Math.max(0, from);
  if (end - start < spec.bytes.length) return -1;
  const index = NAMES.indexOf(marker);
  const last = end - spec.bytes.length;
  const byteSearch = registeredByteSearch();
  if (byteSearch !== null && bytes.length >= BYTE_SEARCH_MIN_BYTES) return findSearched(byteSearch, bytes, index, start, last, end);
  const scan = scanOf(bytes);
  const list = scan.hits[index] as number[];
  // An occurrence at p holds its aligned word at p + 3 at the latest: once that word is read, p
  // is known. Every kept hit lies before every occurrence not yet read, so the first kept hit at
  // or after `start` is the answer as soon as there is one: the scan stops there (a banner half
  // way through an Image is found after reading half of it).
  const need = Math.min(bytes.length - (bytes.length % 4), last + 4);
  for (;;) {
    // The first kept hit at or after `start` (the hits are in ascending order).
    const hit = firstAtOrAfter(list, start);
    if (hit !== undefined) return hit <= last ? hit : -1;
    if (scan.scannedTo >= need || scan.overflowAt[index] !== null) break;
    scanStep(bytes, scan);
  }
  const overflow = scan.overflowAt[index];
  if (overflow === null || overflow === undefined) return -1;
  const from2 = Math.max(start, overflow);
  return spec.aligned ? alignedIndexOf(bytes, spec.bytes, from2, end) : indexOf(bytes, spec.bytes, from2, end);
}
