/**
 * bzip2 decoder for bzImage payloads built with CONFIG_KERNEL_BZIP2 (`bzip2 -9`).
 *
 * Why our own decoder rather than a package: the measured candidates do not fit a core that must
 * run synchronously in a browser without Buffer. @foxglove/wasm-bz2 is asynchronous and needs a
 * bundler-specific .wasm loader; seek-bzip needs Node's Buffer; compressjs is GPL and AMD;
 * unbzip2-stream needs stream polyfills; bz2 (SheetJS) returned wrong output. The format is small
 * (Huffman + MTF + inverse BWT + run-length decoding, with CRCs), so we decode it ourselves.
 *
 * There is no formal specification; the layout below follows bzip2 1.0.8 (decompress.c, the
 * reference decoder) and the kernel's lib/decompress_bunzip2.c. Bits are read MSB first.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { crc32Bzip2 } from "./checksums.js";
import type { DecodeOptions, Decoder } from "./types.js";
import { OutputBuffer } from "./output.js";

const MiB = 1024 * 1024;

/** Stream header: 'B' 'Z' 'h' then the block size in units of 100000 bytes, '1'..'9'. */
const STREAM_MAGIC = [0x42, 0x5a, 0x68] as const;
const BLOCK_SIZE_UNIT_BYTES = 100000;
/** 48-bit block header magic 0x314159265359 (pi) and end-of-stream magic 0x177245385090 (sqrt pi). */
const BLOCK_MAGIC_HIGH = 0x314159;
const BLOCK_MAGIC_LOW = 0x265359;
const END_MAGIC_HIGH = 0x177245;
const END_MAGIC_LOW = 0x385090;

/** Limits from bzlib_private.h: BZ_N_GROUPS, BZ_G_SIZE, BZ_MAX_SELECTORS, BZ_MAX_CODE_LEN. */
const MIN_GROUPS = 2;
const MAX_GROUPS = 6;
const GROUP_SIZE = 50;
const MAX_SELECTORS = 18002;
const MAX_CODE_LENGTH = 20;
const MAX_ALPHABET = 258;
/** decompress.c refuses a RUNA/RUNB run whose next weight would reach 2 MiB (no block is that long). */
const MAX_RUN_WEIGHT = 2 * 1024 * 1024;

/** Codes up to this length decode with one table look-up; longer ones search by length. */
const FAST_BITS = 12;
const FAST_SIZE = 1 << FAST_BITS;
const PROGRESS_STEP_BYTES = 4 * MiB;

/**
 * BZ2_rNums (bzip2 randtable.c): the fixed sequence that "randomised" blocks, written by bzip2
 * before 0.9.5 for repetitive input, XOR into the block. Part of the format, not of any code.
 * Exported for the test that builds a randomised block.
 */
export const RANDOM_NUMBERS = new Uint16Array([
  619, 720, 127, 481, 931, 816, 813, 233, 566, 247, 985, 724, 205, 454, 863, 491, 741, 242, 949, 214, 733, 859, 335, 708, 621, 574, 73, 654, 730, 472, 419, 436,
  278, 496, 867, 210, 399, 680, 480, 51, 878, 465, 811, 169, 869, 675, 611, 697, 867, 561, 862, 687, 507, 283, 482, 129, 807, 591, 733, 623, 150, 238, 59, 379,
  684, 877, 625, 169, 643, 105, 170, 607, 520, 932, 727, 476, 693, 425, 174, 647, 73, 122, 335, 530, 442, 853, 695, 249, 445, 515, 909, 545, 703, 919, 874, 474,
  882, 500, 594, 612, 641, 801, 220, 162, 819, 984, 589, 513, 495, 799, 161, 604, 958, 533, 221, 400, 386, 867, 600, 782, 382, 596, 414, 171, 516, 375, 682,
  485, 911, 276, 98, 553, 163, 354, 666, 933, 424, 341, 533, 870, 227, 730, 475, 186, 263, 647, 537, 686, 600, 224, 469, 68, 770, 919, 190, 373, 294, 822, 808,
  206, 184, 943, 795, 384, 383, 461, 404, 758, 839, 887, 715, 67, 618, 276, 204, 918, 873, 777, 604, 560, 951, 160, 578, 722, 79, 804, 96, 409, 713, 940, 652,
  934, 970, 447, 318, 353, 859, 672, 112, 785, 645, 863, 803, 350, 139, 93, 354, 99, 820, 908, 609, 772, 154, 274, 580, 184, 79, 626, 630, 742, 653, 282, 762,
  623, 680, 81, 927, 626, 789, 125, 411, 521, 938, 300, 821, 78, 343, 175, 128, 250, 170, 774, 972, 275, 999, 639, 495, 78, 352, 126, 857, 956, 358, 619, 580,
  124, 737, 594, 701, 612, 669, 112, 134, 694, 363, 992, 809, 743, 168, 974, 944, 375, 748, 52, 600, 747, 642, 182, 862, 81, 344, 805, 988, 739, 511, 655, 814,
  334, 249, 515, 897, 955, 664, 981, 649, 113, 974, 459, 893, 228, 433, 837, 553, 268, 926, 240, 102, 654, 459, 51, 686, 754, 806, 760, 493, 403, 415, 394, 687,
  700, 946, 670, 656, 610, 738, 392, 760, 799, 887, 653, 978, 321, 576, 617, 626, 502, 894, 679, 243, 440, 680, 879, 194, 572, 640, 724, 926, 56, 204, 700, 707,
  151, 457, 449, 797, 195, 791, 558, 945, 679, 297, 59, 87, 824, 713, 663, 412, 693, 342, 606, 134, 108, 571, 364, 631, 212, 174, 643, 304, 329, 343, 97, 430,
  751, 497, 314, 983, 374, 822, 928, 140, 206, 73, 263, 980, 736, 876, 478, 430, 305, 170, 514, 364, 692, 829, 82, 855, 953, 676, 246, 369, 970, 294, 750, 807,
  827, 150, 790, 288, 923, 804, 378, 215, 828, 592, 281, 565, 555, 710, 82, 896, 831, 547, 261, 524, 462, 293, 465, 502, 56, 661, 821, 976, 991, 658, 869, 905,
  758, 745, 193, 768, 550, 608, 933, 378, 286, 215, 979, 792, 961, 61, 688, 793, 644, 986, 403, 106, 366, 905, 644, 372, 567, 466, 434, 645, 210, 389, 550, 919,
  135, 780, 773, 635, 389, 707, 100, 626, 958, 165, 504, 920, 176, 193, 713, 857, 265, 203, 50, 668, 108, 645, 990, 626, 197, 510, 357, 358, 850, 858, 364, 936,
  638,
]);

function corrupt(message: string, offset: number, structure: string, extra: Record<string, unknown> = {}): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, message, { offset, structure, ...extra });
}

/** MSB-first bit reader. `buffer` holds the low `count` bits not yet consumed. */
class BitReader {
  pos: number;
  buffer = 0;
  count = 0;

  constructor(
    readonly input: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  /** Offset of the byte holding the next unread bit. */
  get offset(): number {
    return this.pos - (this.count >>> 3);
  }

  /** Reads `n` <= 24 bits. */
  bits(n: number): number {
    while (this.count < n) {
      if (this.pos >= this.input.length) throw corrupt("bzip2 stream is cut short", this.input.length, "bzip2 stream");
      this.buffer = (this.buffer << 8) | this.input[this.pos++]!;
      this.count += 8;
    }
    this.count -= n;
    return (this.buffer >>> this.count) & ((1 << n) - 1);
  }

  bit(): number {
    return this.bits(1);
  }

  u32(): number {
    return ((this.bits(16) << 16) | this.bits(16)) >>> 0;
  }

  /** Drops the bits left in the current byte (streams end on a byte boundary). */
  alignToByte(): void {
    this.count -= this.count & 7;
  }

  /** Throws if the hot loop, which pads with zero bytes, consumed bits past the end. */
  checkOverrun(): void {
    if (this.pos * 8 - this.count > this.input.length * 8) {
      throw corrupt("bzip2 stream is cut short", this.input.length, "bzip2 block");
    }
  }

  /** After checkOverrun(): forgets the padding bytes, so later reads cannot take them for data. */
  dropPadding(): void {
    const padding = this.pos - this.input.length;
    if (padding <= 0) return;
    this.buffer >>>= padding * 8;
    this.count -= padding * 8;
    this.pos = this.input.length;
  }
}

/** Per-stream work space, reused by every block. */
class Workspace {
  /** Block symbols in the low 8 bits, then inverse-BWT links in the high 24 (decompress.c "tt"). */
  readonly links: Uint32Array;
  /** The block after the inverse BWT, before run-length decoding. */
  readonly block: Uint8Array;
  readonly byteCounts = new Int32Array(256);
  readonly symbolToByte = new Uint8Array(256);
  readonly mtf = new Uint8Array(256);
  readonly selectors = new Uint8Array(MAX_SELECTORS);
  readonly lengths = new Uint8Array(MAX_GROUPS * MAX_ALPHABET);
  /** Per group: FAST_SIZE entries of (symbol << 5 | length), 0 when the code is longer. */
  readonly fast = new Int32Array(MAX_GROUPS * FAST_SIZE);
  /** Per group and code length: first canonical code, number of codes, start in `sorted`. */
  readonly firstCode = new Int32Array(MAX_GROUPS * (MAX_CODE_LENGTH + 1));
  readonly codeCount = new Int32Array(MAX_GROUPS * (MAX_CODE_LENGTH + 1));
  readonly sortedStart = new Int32Array(MAX_GROUPS * (MAX_CODE_LENGTH + 1));
  /** Per group: symbols sorted by code length, then by value (canonical order). */
  readonly sorted = new Uint16Array(MAX_GROUPS * MAX_ALPHABET);
  readonly maxLength = new Int32Array(MAX_GROUPS);

  constructor(readonly blockMaxBytes: number) {
    this.links = new Uint32Array(blockMaxBytes);
    this.block = new Uint8Array(blockMaxBytes);
  }
}

/**
 * Builds the decoding tables of one group from its code lengths. bzip2 assigns canonical codes
 * (compress.c BZ2_hbAssignCodes): by increasing length, and by symbol within a length.
 */
function buildTables(ws: Workspace, group: number, alphabetSize: number, offset: number): void {
  const lengths = ws.lengths.subarray(group * MAX_ALPHABET, group * MAX_ALPHABET + alphabetSize);
  const base = group * (MAX_CODE_LENGTH + 1);
  const counts = ws.codeCount;
  counts.fill(0, base, base + MAX_CODE_LENGTH + 1);
  let maxLength = 0;
  for (const length of lengths) {
    counts[base + length]!++;
    if (length > maxLength) maxLength = length;
  }
  // Kraft: an over-subscribed set of lengths has no prefix code.
  let kraft = 0;
  for (let length = 1; length <= MAX_CODE_LENGTH; length++) kraft += counts[base + length]! << (MAX_CODE_LENGTH - length);
  if (kraft > 1 << MAX_CODE_LENGTH) throw corrupt("bzip2 Huffman code lengths are over-subscribed", offset, "bzip2 coding table");

  let code = 0;
  let start = 0;
  for (let length = 1; length <= MAX_CODE_LENGTH; length++) {
    ws.firstCode[base + length] = code;
    ws.sortedStart[base + length] = start;
    code = (code + counts[base + length]!) << 1;
    start += counts[base + length]!;
  }
  ws.maxLength[group] = maxLength;

  const sorted = ws.sorted;
  const sortedBase = group * MAX_ALPHABET;
  const fast = ws.fast;
  const fastBase = group * FAST_SIZE;
  fast.fill(0, fastBase, fastBase + FAST_SIZE);
  const next = new Int32Array(MAX_CODE_LENGTH + 1);
  for (let symbol = 0; symbol < alphabetSize; symbol++) {
    const length = lengths[symbol]!;
    const rank = next[length]!++;
    sorted[sortedBase + ws.sortedStart[base + length]! + rank] = symbol;
    if (length <= FAST_BITS) {
      const symbolCode = ws.firstCode[base + length]! + rank;
      const shift = FAST_BITS - length;
      const entry = (symbol << 5) | length;
      fast.fill(entry, fastBase + (symbolCode << shift), fastBase + ((symbolCode + 1) << shift));
    }
  }
}

interface BlockHeader {
  crc: number;
  randomised: boolean;
  origPtr: number;
}

/**
 * Block (after the 48-bit block magic), per decompress.c:
 *   u32 blockCRC, 1 bit randomised, 24 bits origPtr,
 *   16 bits: which 16-byte ranges of byte values are used, then 16 bits for each used range,
 *   3 bits nGroups (2..6), 15 bits nSelectors (>= 1), nSelectors unary MTF-coded selectors,
 *   per group: 5-bit start length, then per symbol delta-coded lengths (1..20),
 *   then Huffman-coded MTF/RUNA/RUNB symbols, 50 per selector, until end-of-block.
 * Fills ws.links with the block's bytes and returns the block length.
 */
function readBlock(reader: BitReader, ws: Workspace, header: BlockHeader): number {
  const structure = "bzip2 block";
  header.crc = reader.u32();
  header.randomised = reader.bit() === 1;
  header.origPtr = reader.bits(24);

  const usedRanges = reader.bits(16);
  let usedBytes = 0;
  for (let range = 0; range < 16; range++) {
    if ((usedRanges & (0x8000 >>> range)) === 0) continue;
    const used = reader.bits(16);
    for (let j = 0; j < 16; j++) {
      if (used & (0x8000 >>> j)) ws.symbolToByte[usedBytes++] = range * 16 + j;
    }
  }
  if (usedBytes === 0) throw corrupt("bzip2 block uses no byte values", reader.offset, structure);
  const alphabetSize = usedBytes + 2;

  const groups = reader.bits(3);
  if (groups < MIN_GROUPS || groups > MAX_GROUPS) {
    throw corrupt(`bzip2 block has ${groups} Huffman groups, not 2..6`, reader.offset, structure);
  }
  let selectorCount = reader.bits(15);
  if (selectorCount < 1) throw corrupt("bzip2 block has no selectors", reader.offset, structure);
  // Selectors are MTF-coded group numbers, each in unary.
  const groupOrder = [0, 1, 2, 3, 4, 5];
  for (let i = 0; i < selectorCount; i++) {
    let index = 0;
    while (reader.bit() === 1) {
      index++;
      if (index >= groups) throw corrupt("bzip2 selector names a group that does not exist", reader.offset, structure);
    }
    // bzip2 1.0.8 reads but ignores selectors past BZ_MAX_SELECTORS (CVE-2019-12900).
    if (i < MAX_SELECTORS) {
      const group = groupOrder[index]!;
      for (let k = index; k > 0; k--) groupOrder[k] = groupOrder[k - 1]!;
      groupOrder[0] = group;
      ws.selectors[i] = group;
    }
  }
  if (selectorCount > MAX_SELECTORS) selectorCount = MAX_SELECTORS;

  for (let group = 0; group < groups; group++) {
    let length = reader.bits(5);
    const base = group * MAX_ALPHABET;
    for (let symbol = 0; symbol < alphabetSize; symbol++) {
      for (;;) {
        if (length < 1 || length > MAX_CODE_LENGTH) {
          throw corrupt(`bzip2 code length ${length} is not 1..20`, reader.offset, "bzip2 coding table");
        }
        if (reader.bit() === 0) break;
        length += reader.bit() === 0 ? 1 : -1;
      }
      ws.lengths[base + symbol] = length;
    }
    buildTables(ws, group, alphabetSize, reader.offset);
  }

  return readSymbols(reader, ws, alphabetSize, selectorCount);
}

/**
 * Decodes the Huffman-coded symbols: RUNA (0) and RUNB (1) spell a run length in bijective base 2
 * (RUNA adds 1 x weight, RUNB 2 x weight, weight doubling), symbol k in 2..EOB-1 is MTF index k-1,
 * EOB = used bytes + 1 ends the block. The hot loop keeps the bit reader in locals; past the end
 * of the input it reads zero bytes, and checkOverrun() after every group turns that into an error.
 */
function readSymbols(reader: BitReader, ws: Workspace, alphabetSize: number, selectorCount: number): number {
  const structure = "bzip2 block";
  const input = reader.input;
  const inputLength = input.length;
  const links = ws.links;
  const blockMax = ws.blockMaxBytes;
  const byteCounts = ws.byteCounts;
  const symbolToByte = ws.symbolToByte;
  const mtf = ws.mtf;
  const fast = ws.fast;
  const firstCode = ws.firstCode;
  const codeCount = ws.codeCount;
  const sortedStart = ws.sortedStart;
  const sorted = ws.sorted;
  const endOfBlock = alphabetSize - 1;

  byteCounts.fill(0);
  for (let i = 0; i < 256; i++) mtf[i] = i;

  let pos = reader.pos;
  let buffer = reader.buffer;
  let count = reader.count;
  let length = 0;
  let runLength = 0;
  let runWeight = 1;
  let selectorIndex = 0;
  let groupLeft = 0;
  let fastBase = 0;
  let lengthBase = 0;
  let sortedBase = 0;
  let maxLength = 0;

  for (;;) {
    if (groupLeft === 0) {
      reader.pos = pos;
      reader.buffer = buffer;
      reader.count = count;
      reader.checkOverrun();
      if (selectorIndex >= selectorCount) throw corrupt("bzip2 block runs out of selectors", reader.offset, structure);
      const group = ws.selectors[selectorIndex++]!;
      fastBase = group * FAST_SIZE;
      lengthBase = group * (MAX_CODE_LENGTH + 1);
      sortedBase = group * MAX_ALPHABET;
      maxLength = ws.maxLength[group]!;
      groupLeft = GROUP_SIZE;
    }
    groupLeft--;

    while (count < 24) {
      buffer = (buffer << 8) | (pos < inputLength ? input[pos]! : 0);
      pos++;
      count += 8;
    }
    let symbol: number;
    const entry = fast[fastBase + ((buffer >>> (count - FAST_BITS)) & (FAST_SIZE - 1))]!;
    if (entry !== 0) {
      count -= entry & 31;
      symbol = entry >>> 5;
    } else {
      symbol = -1;
      for (let codeLength = FAST_BITS + 1; codeLength <= maxLength; codeLength++) {
        const code = (buffer >>> (count - codeLength)) & ((1 << codeLength) - 1);
        const index = code - firstCode[lengthBase + codeLength]!;
        if (index >= 0 && index < codeCount[lengthBase + codeLength]!) {
          symbol = sorted[sortedBase + sortedStart[lengthBase + codeLength]! + index]!;
          count -= codeLength;
          break;
        }
      }
      if (symbol < 0) throw corrupt("bzip2 block holds a code that is not in its Huffman table", pos - (count >>> 3), structure);
    }

    if (symbol <= 1) {
      if (runWeight >= MAX_RUN_WEIGHT) throw corrupt("bzip2 run length is absurd", pos - (count >>> 3), structure);
      runLength += runWeight << symbol;
      runWeight <<= 1;
      continue;
    }
    if (runLength > 0) {
      if (runLength > blockMax - length) throw corrupt("bzip2 block is longer than its declared block size", pos - (count >>> 3), structure);
      const byte = symbolToByte[mtf[0]!]!;
      byteCounts[byte]! += runLength;
      links.fill(byte, length, length + runLength);
      length += runLength;
      runLength = 0;
      runWeight = 1;
    }
    if (symbol === endOfBlock) break;

    if (length >= blockMax) throw corrupt("bzip2 block is longer than its declared block size", pos - (count >>> 3), structure);
    const index = symbol - 1;
    const front = mtf[index]!;
    if (index < 16) {
      for (let k = index; k > 0; k--) mtf[k] = mtf[k - 1]!;
    } else {
      mtf.copyWithin(1, 0, index);
    }
    mtf[0] = front;
    const byte = symbolToByte[front]!;
    byteCounts[byte]!++;
    links[length++] = byte;
  }

  reader.pos = pos;
  reader.buffer = buffer;
  reader.count = count;
  reader.checkOverrun();
  reader.dropPadding();
  return length;
}

/**
 * Inverse BWT: links[i] gets, in its high 24 bits, the position that follows i; walking from
 * origPtr yields the block in order. Randomised blocks XOR 1 into the byte where the counter
 * reloaded from RANDOM_NUMBERS reaches 1 (bzlib_private.h BZ_RAND_UPD_MASK / BZ_RAND_MASK).
 */
function inverseBwt(ws: Workspace, length: number, header: BlockHeader, offset: number): void {
  if (header.origPtr >= length) {
    throw corrupt(`bzip2 origPtr ${header.origPtr} is outside the block of ${length} bytes`, offset, "bzip2 block");
  }
  const links = ws.links;
  const block = ws.block;
  const next = new Int32Array(256);
  let sum = 0;
  for (let b = 0; b < 256; b++) {
    next[b] = sum;
    sum += ws.byteCounts[b]!;
  }
  for (let i = 0; i < length; i++) {
    const b = links[i]! & 0xff;
    links[next[b]!++]! |= i << 8;
  }

  let position = links[header.origPtr]! >>> 8;
  if (!header.randomised) {
    for (let i = 0; i < length; i++) {
      const entry = links[position]!;
      block[i] = entry;
      position = entry >>> 8;
    }
    return;
  }
  let toGo = 0;
  let tableIndex = 0;
  for (let i = 0; i < length; i++) {
    const entry = links[position]!;
    position = entry >>> 8;
    if (toGo === 0) {
      toGo = RANDOM_NUMBERS[tableIndex]!;
      tableIndex = (tableIndex + 1) & 511;
    }
    toGo--;
    block[i] = (entry & 0xff) ^ (toGo === 1 ? 1 : 0);
  }
}

/** Size of the block after the initial run-length decoding: 4 equal bytes, then a repeat count. */
function runLengthDecodedSize(block: Uint8Array, length: number): number {
  let size = 0;
  let run = 0;
  let last = -1;
  for (let i = 0; i < length; i++) {
    const b = block[i]!;
    if (run === 4) {
      size += b;
      run = 0;
    } else {
      run = b === last ? run + 1 : 1;
      last = b;
      size++;
    }
  }
  return size;
}

function runLengthDecode(block: Uint8Array, length: number, output: Uint8Array, outputStart: number): void {
  let op = outputStart;
  let run = 0;
  let last = -1;
  for (let i = 0; i < length; i++) {
    const b = block[i]!;
    if (run === 4) {
      if (b !== 0) output.fill(last, op, op + b);
      op += b;
      run = 0;
    } else {
      run = b === last ? run + 1 : 1;
      last = b;
      output[op++] = b;
    }
  }
}

function hasStreamMagic(input: Uint8Array, offset: number): boolean {
  if (input.length - offset < 4) return false;
  const level = input[offset + 3]!;
  return STREAM_MAGIC.every((byte, i) => input[offset + i] === byte) && level >= 0x31 && level <= 0x39;
}

/**
 * One stream: "BZh" + level, blocks each starting with the block magic, then the end-of-stream
 * magic, a u32 combined CRC (each block CRC XORed into it after a 1-bit left rotation) and
 * padding to a byte boundary. Returns the offset after the stream.
 */
function decodeStream(
  input: Uint8Array,
  start: number,
  out: OutputBuffer,
  workspaces: Map<number, Workspace>,
  onProgress: ((outputBytes: number) => void) | undefined,
): number {
  if (!hasStreamMagic(input, start)) {
    throw corrupt("not a bzip2 stream: bad magic", start, "bzip2 stream header", { expected: "BZh1..BZh9" });
  }
  const blockMaxBytes = (input[start + 3]! - 0x30) * BLOCK_SIZE_UNIT_BYTES;
  let ws = workspaces.get(blockMaxBytes);
  if (ws === undefined) {
    ws = new Workspace(blockMaxBytes);
    workspaces.set(blockMaxBytes, ws);
  }
  const reader = new BitReader(input, start + 4);
  const header: BlockHeader = { crc: 0, randomised: false, origPtr: 0 };
  let combinedCrc = 0;
  let lastReported = out.length;

  for (;;) {
    const magicOffset = reader.offset;
    const high = reader.bits(24);
    const low = reader.bits(24);
    if (high === END_MAGIC_HIGH && low === END_MAGIC_LOW) break;
    if (high !== BLOCK_MAGIC_HIGH || low !== BLOCK_MAGIC_LOW) {
      throw corrupt("bzip2 block magic not found", magicOffset, "bzip2 block", {
        expected: "0x314159265359 or 0x177245385090",
      });
    }
    const length = readBlock(reader, ws, header);
    inverseBwt(ws, length, header, magicOffset);
    const size = runLengthDecodedSize(ws.block, length);
    const outputStart = out.length;
    out.ensureCapacity(outputStart + size, magicOffset);
    runLengthDecode(ws.block, length, out.bytes, outputStart);
    const crc = crc32Bzip2(out.bytes.subarray(outputStart, outputStart + size));
    if (crc !== header.crc) {
      throw new KimgError(ErrorCode.CHECKSUM, "bzip2 block CRC does not match", {
        offset: magicOffset + 6,
        structure: "bzip2 block",
        expected: header.crc,
        actual: crc,
      });
    }
    out.length = outputStart + size;
    combinedCrc = (((combinedCrc << 1) | (combinedCrc >>> 31)) ^ crc) >>> 0;
    if (onProgress !== undefined && out.length - lastReported >= PROGRESS_STEP_BYTES) {
      lastReported = out.length;
      onProgress(out.length);
    }
  }

  const crcOffset = reader.offset;
  const storedCrc = reader.u32();
  if (storedCrc !== combinedCrc) {
    throw new KimgError(ErrorCode.CHECKSUM, "bzip2 stream CRC does not match", {
      offset: crcOffset,
      structure: "bzip2 stream trailer",
      expected: storedCrc,
      actual: combinedCrc,
    });
  }
  reader.alignToByte();
  return reader.offset;
}

/**
 * Decodes bzip2 data: one stream or several concatenated (as `cat a.bz2 b.bz2` makes and bzip2
 * accepts). Bytes after the last stream that do not start another (such as the kernel's 4-byte
 * size trailer) are ignored, as bzip2 and the kernel's bunzip2 ignore them.
 */
export const decodeBzip2: Decoder = (input: Uint8Array, options: DecodeOptions): Uint8Array => {
  const out = OutputBuffer.forDecode("bzip2", options, input.length, 3);
  const workspaces = new Map<number, Workspace>();
  let pos = 0;
  do {
    pos = decodeStream(input, pos, out, workspaces, options.onProgress);
  } while (hasStreamMagic(input, pos));
  options.onProgress?.(out.length);
  return out.finish();
};
