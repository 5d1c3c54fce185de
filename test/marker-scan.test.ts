/**
 * The one marker scan (src/io/marker-scan.ts, issue 14) against a plain byte-by-byte search: on
 * random bytes with the markers planted at every alignment, across the scan's chunk boundaries,
 * at and across the end of the bytes, in views that do not start at a 4-byte aligned address (the
 * byte-by-byte word path), in a view that ends inside a marker its buffer holds whole, and past
 * MARKER_MAX_HITS (the direct-search path); and scanned ahead while the bytes arrive in pieces
 * (scanMarkersAhead, what the CLI's reader does), with markers across the pieces' ends. The
 * questions are asked three ways: of the scan, of the search through a registered native
 * ByteSearch (glibc's memmem through koffi, as the CLI registers it: node/byte-search.ts), and of
 * the same search through a plain JavaScript ByteSearch (its bookkeeping without the C library).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MARKER_MAX_HITS } from "../src/io/limits.js";
import { type AsyncByteSearch, type ByteSearch, indexOf, useByteSearch } from "../src/io/layout.js";
import { findMarker, type KernelMarker, markerBytes, SCAN_CHUNK_BYTES, scanMarkersAhead, searchMarkersAhead } from "../src/io/marker-scan.js";
import { memmemSearch, memmemSearchAsync } from "../src/node/byte-search.js";
import { loadKoffi } from "../src/node/koffi.js";

const MARKERS: KernelMarker[] = ["banner", "ikconfig", "newc"];

/** A ByteSearch by the plainest loop. */
const plainSearch: ByteSearch = (bytes, pattern, from, to) => {
  for (let at = Math.max(0, from); at + pattern.length <= Math.min(to, bytes.length); at++) {
    let i = 0;
    while (i < pattern.length && bytes[at + i] === pattern[i]) i++;
    if (i === pattern.length) return at;
  }
  return -1;
};

const SEARCHES: Array<[string, () => ByteSearch | null | string]> = [
  ["the scan", () => null],
  ["memmem", () => (process.platform === "linux" ? (memmemSearch(loadKoffi()) ?? "memmem could not be bound") : "glibc only")],
  ["a JavaScript ByteSearch", () => plainSearch],
];

/** `body` as one test per way of asking (SEARCHES); a string from the maker skips it. */
function eachSearch(title: string, body: () => void): void {
  for (const [name, make] of SEARCHES) {
    test(`${title} (${name})`, (t) => {
      const search = make();
      if (typeof search === "string") return t.skip(search);
      useByteSearch(search);
      try {
        body();
      } finally {
        useByteSearch(null);
      }
    });
  }
}

/** Every offset of `marker` in `bytes` by the plainest search; "newc" only at multiples of 4. */
function reference(bytes: Uint8Array, marker: KernelMarker): number[] {
  const needle = markerBytes(marker);
  const out: number[] = [];
  for (let at = 0; at + needle.length <= bytes.length; at++) {
    if (marker === "newc" && at % 4 !== 0) continue;
    let i = 0;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) out.push(at);
  }
  return out;
}

/** Every offset findMarker gives, asking from each hit + 1 as the consumers do. */
function scanned(bytes: Uint8Array, marker: KernelMarker): number[] {
  const out: number[] = [];
  for (let at = findMarker(bytes, marker); at !== -1; at = findMarker(bytes, marker, at + 1)) out.push(at);
  return out;
}

/** Deterministic bytes (xorshift32), drawn from the markers' letters so that near-misses are common. */
function randomBytes(length: number, seed: number): Uint8Array {
  const alphabet = new TextEncoder().encode("Linux version IKCFG_ST070701\0");
  const out = new Uint8Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) % 4 === 0 ? (alphabet[(s >>> 8) % alphabet.length] as number) : (s >>> 16) & 0xff;
  }
  return out;
}

function plant(bytes: Uint8Array, marker: KernelMarker, at: number): void {
  const needle = markerBytes(marker);
  bytes.set(needle.subarray(0, Math.max(0, Math.min(needle.length, bytes.length - at))), at);
}

const CHUNKS = 10;

/** Random bytes over CHUNKS scan chunks with each marker at every alignment, across each chunk boundary and at the end. */
function plantedBytes(seed: number): Uint8Array {
  const length = CHUNKS * SCAN_CHUNK_BYTES + 1234;
  const bytes = randomBytes(length, seed);
  let at = 1000;
  for (const marker of MARKERS) {
    for (let k = 0; k < 8; k++) {
      plant(bytes, marker, at + k);
      at += 4096 + 64;
    }
  }
  // Across chunk boundaries, one marker per boundary: 1 to 3 bytes before it (its aligned word is the next chunk's
  // first), 4 bytes before it for newc (its first word is the chunk's last).
  for (let chunk = 1; chunk < CHUNKS; chunk++) {
    const marker = MARKERS[(chunk - 1) % 3] as KernelMarker;
    plant(bytes, marker, chunk * SCAN_CHUNK_BYTES - (marker === "newc" ? 4 : 1 + (Math.floor((chunk - 1) / 3) % 3)));
  }
  // The banner ending exactly at the end (a view one byte shorter cuts it).
  plant(bytes, "banner", length - markerBytes("banner").length);
  return bytes;
}

eachSearch("findMarker gives the plain search's hits at every alignment, across chunks and at the end", () => {
  const bytes = plantedBytes(0x9e3779b9);
  for (const marker of MARKERS) {
    const want = reference(bytes, marker);
    assert.deepEqual(scanned(bytes, marker), want, marker);
    // The planted ones are among them: each alignment of the unaligned markers, only multiples of 4 for newc.
    const alignments = new Set(want.map((p) => p % 4));
    assert.deepEqual([...alignments].sort(), marker === "newc" ? [0] : [0, 1, 2, 3], marker);
    // 8 planted at consecutive offsets (2 of them aligned for newc) and 3 across chunk boundaries.
    assert.ok(want.length >= (marker === "newc" ? 5 : 11), `${marker}: ${want.length} hits`);
  }
  // A first question that ends right after a marker whose aligned word is the next chunk's first: the scan must read it.
  for (let chunk = 1; chunk < CHUNKS; chunk++) {
    for (const marker of MARKERS) {
      const p = reference(bytes, marker).find((q) => q < chunk * SCAN_CHUNK_BYTES && q + markerBytes(marker).length > chunk * SCAN_CHUNK_BYTES);
      if (p === undefined) continue;
      assert.equal(findMarker(bytes.subarray(0), marker, p - 100, p + markerBytes(marker).length), p, `${marker} across chunk ${chunk}`);
    }
  }
  const last = bytes.length - markerBytes("banner").length;
  assert.equal(reference(bytes, "banner").at(-1), last, "the banner ending at the end is a hit");
  // One byte shorter, the banner straddles the end: not a hit, the others unchanged.
  const cut = bytes.subarray(0, bytes.length - 1);
  for (const marker of MARKERS) assert.deepEqual(scanned(cut, marker), reference(cut, marker), `${marker}, banner cut by the end`);
  assert.equal(scanned(cut, "banner").includes(last), false);
});

eachSearch("findMarker answers [from, to) questions in any order as the plain search does", () => {
  const bytes = plantedBytes(12345);
  let s = 7;
  const next = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  const all = Object.fromEntries(MARKERS.map((m) => [m, reference(bytes, m)])) as Record<KernelMarker, number[]>;
  for (let q = 0; q < 800; q++) {
    const marker = MARKERS[next(3)] as KernelMarker;
    const from = next(bytes.length + 10) - 5;
    const to = from + next(2 * SCAN_CHUNK_BYTES);
    const want = all[marker].find((p) => p >= from && p + markerBytes(marker).length <= Math.min(to, bytes.length)) ?? -1;
    // A fresh view each time makes some questions the first on their bytes (a cold scan that stops early).
    const view = q % 2 === 0 ? bytes : bytes.subarray(0);
    assert.equal(findMarker(view, marker, from, to), want, `${marker} [${from}, ${to})`);
  }
});

eachSearch("views at unaligned addresses, and a view that ends inside a marker its buffer holds whole", () => {
  const whole = plantedBytes(4242);
  for (const shift of [1, 2, 3, 5]) {
    const view = whole.subarray(shift, whole.length - shift);
    for (const marker of MARKERS) assert.deepEqual(scanned(view, marker), reference(view, marker), `${marker} at byteOffset ${shift}`);
  }
  for (const marker of MARKERS) {
    const at = 64 * 1024;
    const bytes = randomBytes(at + 100, 99);
    plant(bytes, marker, at);
    for (let cut = 1; cut < markerBytes(marker).length; cut++) {
      const view = bytes.subarray(0, at + cut);
      assert.equal(findMarker(view, marker, at - 8), -1, `${marker} cut after ${cut} bytes`);
    }
    assert.equal(findMarker(bytes.subarray(0, at + markerBytes(marker).length), marker, at - 8), at, `${marker} whole`);
  }
});

eachSearch("more than MARKER_MAX_HITS hits: the ones past the cap come from a direct search", () => {
  const count = 2 * MARKER_MAX_HITS + 400;
  const bytes = new Uint8Array(count * 12 + 64);
  // Even i: "070701" at 12 i (aligned); odd i: "IKCFG_ST" at 12 i + 0..3.
  for (let i = 0; i < count; i++) bytes.set(markerBytes(i % 2 === 0 ? "newc" : "ikconfig"), 12 * i + (i % 2 === 0 ? 0 : (i >> 1) % 4));
  for (const marker of ["ikconfig", "newc"] as const) {
    const want = reference(bytes, marker);
    assert.ok(want.length > MARKER_MAX_HITS, `${marker}: ${want.length} hits`);
    assert.deepEqual(scanned(bytes, marker), want, marker);
    // Questions from inside the kept hits and past them, on a fresh view and on the scanned one.
    for (const view of [bytes.subarray(0), bytes]) {
      for (const i of [0, 1, MARKER_MAX_HITS - 1, MARKER_MAX_HITS, MARKER_MAX_HITS + 1, want.length - 1]) {
        const p = want[i] as number;
        assert.equal(findMarker(view, marker, p), p);
        assert.equal(findMarker(view, marker, p + 1), want[i + 1] ?? -1);
      }
    }
  }
});

test("indexOf over long ranges through a registered native search: the same answers as Horspool's", (t) => {
  const search = SEARCHES[1]?.[1]();
  if (typeof search === "string" || !search) return t.skip(String(search));
  const bytes = randomBytes(3 * 1024 * 1024 + 17, 777);
  // Needles of 2 to 14 bytes: the payload magic numbers findEmbeddedStream looks for, xz's "YZ",
  // and the markers; some planted, some left to chance.
  const needles = [
    [0x1f, 0x8b, 0x08],
    [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    [0x28, 0xb5, 0x2f, 0xfd],
    [0x59, 0x5a],
    [0x5d, 0x00, 0x00],
  ]
    .map((n): Uint8Array => Uint8Array.from(n))
    .concat(MARKERS.map(markerBytes));
  for (const [i, needle] of needles.entries()) for (let k = 0; k < 5; k++) bytes.set(needle, 100_000 * (i + 1) + 333_333 * k + k);
  let seed = 99;
  const next = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const queries = Array.from({ length: 600 }, () => {
    const needle = needles[next(needles.length)] as Uint8Array;
    const from = next(bytes.length + 20) - 10;
    return { needle, from, to: from + [10, 70_000, 1_000_000, 4_000_000][next(4)]! };
  });
  const want = queries.map((q) => indexOf(bytes, q.needle, q.from, q.to));
  useByteSearch(search);
  try {
    assert.deepEqual(
      queries.map((q) => indexOf(bytes, q.needle, q.from, q.to)),
      want,
    );
  } finally {
    useByteSearch(null);
  }
  assert.ok(want.filter((p) => p >= 0).length > 100, "most questions find something");
});

/** The asynchronous searches searchMarkersAhead is tried with: glibc's memmem on the thread pool, and a JavaScript one. */
const AHEAD: Array<[string, () => AsyncByteSearch | string]> = [
  ["memmem on the thread pool", () => (process.platform === "linux" ? (memmemSearchAsync(loadKoffi()) ?? "memmem could not be bound") : "glibc only")],
  ["a JavaScript search in a promise", () => async (bytes, pattern, from, to) => plainSearch(bytes, pattern, from, to)],
];

for (const [name, make] of AHEAD) {
  test(`searchMarkersAhead, then findMarker: the plain search's hits, first ones unaligned included (${name})`, async (t) => {
    const ahead = make();
    if (typeof ahead === "string") return t.skip(ahead);
    useByteSearch(plainSearch);
    try {
      const bytes = plantedBytes(0x51ed270b);
      // newc's first occurrence is not at a multiple of 4: the search ahead must go on to the first that is.
      plant(bytes, "newc", 501);
      assert.equal(indexOf(bytes, markerBytes("newc"), 0, bytes.length), 501);
      assert.ok((reference(bytes, "newc")[0] as number) > 501);
      // A marker asked about before the search ahead: its answers stay the plain search's.
      assert.equal(
        findMarker(bytes, "banner", 5000),
        reference(bytes, "banner").find((p) => p >= 5000),
      );
      let searched = 0;
      await searchMarkersAhead(bytes, (b, p, from, to) => {
        searched++;
        return ahead(b, p, from, to);
      });
      assert.ok(searched >= 4, `${searched} searches: one per marker, more for newc's unaligned ones`);
      for (const marker of MARKERS) assert.deepEqual(scanned(bytes, marker), reference(bytes, marker), marker);
      // Markers that are not there: known absent, no further search.
      const plain = randomBytes(2 * 1024 * 1024, 4242).fill(0x41, 0, 64);
      for (const marker of MARKERS) assert.deepEqual(reference(plain, marker), [], `no ${marker} by chance`);
      await searchMarkersAhead(plain, ahead);
      useByteSearch(() => {
        throw new Error("searched again");
      });
      for (const marker of MARKERS) assert.equal(findMarker(plain, marker), -1, marker);
    } finally {
      useByteSearch(null);
    }
  });
}

test("searchMarkersAhead does nothing without a registered native search, or for a small layer", async () => {
  const bytes = plantedBytes(7);
  let searched = 0;
  const counting: AsyncByteSearch = async (b, p, from, to) => {
    searched++;
    return plainSearch(b, p, from, to);
  };
  await searchMarkersAhead(bytes, counting);
  useByteSearch(plainSearch);
  try {
    await searchMarkersAhead(bytes.subarray(0, 1024 * 1024 - 1), counting);
  } finally {
    useByteSearch(null);
  }
  assert.equal(searched, 0);
});

test("scanMarkersAhead over bytes that arrive in pieces finds what the plain search finds, markers across the pieces' ends too", () => {
  const source = plantedBytes(0x2545f491);
  // Pieces ending 1..13 bytes into a marker, so that a scan reaching too close to a piece's end
  // would read zeros where the rest of that marker has not arrived yet, and lose it.
  const ends: number[] = [];
  for (const [i, marker] of MARKERS.entries()) {
    for (const p of reference(source, marker).filter((_, j) => j % 3 === i % 3)) ends.push(p + 1 + (p % (markerBytes(marker).length - 1)));
  }
  for (let chunk = 1; chunk <= CHUNKS; chunk++) ends.push(chunk * SCAN_CHUNK_BYTES + 7);
  ends.sort((a, b) => a - b);
  const arriving = new Uint8Array(source.length);
  let upTo = 0;
  for (const end of ends) {
    if (end <= upTo || end >= source.length) continue;
    arriving.set(source.subarray(upTo, end), upTo);
    upTo = end;
    scanMarkersAhead(arriving, upTo);
  }
  arriving.set(source.subarray(upTo), upTo);
  for (const marker of MARKERS) assert.deepEqual(scanned(arriving, marker), reference(source, marker), marker);
  // Scanning ahead to the very end is the whole scan; the questions after it read its hits.
  const whole = source.slice();
  scanMarkersAhead(whole, whole.length);
  for (const marker of MARKERS) assert.deepEqual(scanned(whole, marker), reference(source, marker), `${marker}, scanned ahead whole`);
});

test("findLinuxBanner: a real banner where the headers point (an ELF's .rodata) is taken; else the whole layer decides", async () => {
  const { findLinuxBanner } = await import("../src/formats/banner.js");
  const text = (s: string) => new TextEncoder().encode(s);
  const bytes = randomBytes(64 * 1024, 0x1234567);
  const weak = text("Linux version 6.12.9 (builder@kimg) (gcc 14.2.0) # SMP PREEMPT_DYNAMIC\0");
  const real = text("Linux version 6.12.9 (builder@kimg) (gcc 14.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.12.9-1\n");
  // Clear the random neighbourhoods, so no accidental marker sits in them.
  bytes.fill(0, 100, 300);
  bytes.fill(0, 40_000, 41_000);
  bytes.set(weak, 100);
  bytes.set(real, 40_100);
  const whole = findLinuxBanner(bytes.slice(), 4096);
  assert.equal(whole?.offset, 40_100);
  assert.match(whole?.text ?? "", / #1 SMP/);
  // The hint holding the real one: the same answer.
  assert.deepEqual(findLinuxBanner(bytes.slice(), 4096, { offset: 39_000, size: 8_000 }), whole);
  // The hint holding only the weak copy, or nothing, or lying outside the bytes: the whole search's answer.
  for (const likelyIn of [
    { offset: 0, size: 1_000 },
    { offset: 50_000, size: 1_000 },
    { offset: 1 << 30, size: 1 << 30 },
    { offset: -5, size: -10 },
    { offset: 40_105, size: 4 },
  ]) {
    assert.deepEqual(findLinuxBanner(bytes.slice(), 4096, likelyIn), whole, JSON.stringify(likelyIn));
  }
  // A real banner in the hinted range is taken without looking before it: with another real one
  // earlier (no kernel has two), the whole search takes the earlier one, the hinted search not.
  const two = bytes.slice();
  two.fill(0, 20_000, 20_200);
  two.set(real, 20_000);
  assert.equal(findLinuxBanner(two.slice(), 4096)?.offset, 20_000);
  assert.equal(findLinuxBanner(two.slice(), 4096, { offset: 39_000, size: 8_000 })?.offset, 40_100);
  // searchRest false (kernelContents: false): only the hinted range counts, its weak copy included.
  assert.deepEqual(findLinuxBanner(bytes.slice(), 4096, { offset: 39_000, size: 8_000 }, false), whole);
  assert.equal(findLinuxBanner(bytes.slice(), 4096, { offset: 0, size: 1_000 }, false)?.offset, 100);
  assert.equal(findLinuxBanner(bytes.slice(), 4096, { offset: 50_000, size: 1_000 }, false), null);
});
