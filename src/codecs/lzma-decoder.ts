/**
 * The LZMA range decoder, shared by the .lzma "alone" format (LZMA1) and the .xz format (LZMA2).
 *
 * Spec: "LZMA specification" (lzma-specification.txt in the LZMA SDK, Igor Pavlov) for the
 * symbol coding, and "The .xz File Format" 1.2.1 section 5.3.1 plus liblzma's lzma2_decoder.c
 * for LZMA2 chunks.
 *
 * Decoding is single-call: the output buffer is the dictionary, so a declared dictionary of
 * 1.5 GiB costs nothing beyond the (bounded) output. A match may reach back to the last
 * dictionary reset, as in the kernel's own single-call decoder (lib/xz/xz_dec_lzma2.c).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { MAX_PREALLOCATION_RATIO, OutputBuffer, PROGRESS_INTERVAL_BYTES } from "./output.js";
import type { LzmaWasm } from "./lzma-wasm.js";

export { OutputBuffer };

/*
 * Probability layout, one Uint16Array (the names are those of the LZMA specification):
 *   IsMatch[state << 4 | posState], IsRep[state], IsRepG0..G2[state], IsRep0Long[state << 4 | posState],
 *   PosSlot[lenState][64], SpecPos[114], Align[16], LenDecoder (match), RepLenDecoder, Literal[...][0x300].
 * A length decoder is Choice, Choice2, LowCoder[16][8], MidCoder[16][8], HighCoder[256].
 */
const STATES = 12;
const POS_STATES_MAX = 16;
const IS_MATCH = 0;
const IS_REP = IS_MATCH + STATES * POS_STATES_MAX;
const IS_REP_G0 = IS_REP + STATES;
const IS_REP_G1 = IS_REP_G0 + STATES;
const IS_REP_G2 = IS_REP_G1 + STATES;
const IS_REP0_LONG = IS_REP_G2 + STATES;
const POS_SLOT = IS_REP0_LONG + STATES * POS_STATES_MAX;
const SPEC_POS = POS_SLOT + 4 * 64;
const ALIGN = SPEC_POS + 114;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + POS_STATES_MAX * 8;
const LEN_HIGH = LEN_MID + POS_STATES_MAX * 8;
const LEN_CODER_SIZE = LEN_HIGH + 256;
const LEN_MATCH = ALIGN + 16;
const LEN_REP = LEN_MATCH + LEN_CODER_SIZE;
const LITERAL = LEN_REP + LEN_CODER_SIZE;
const LITERAL_CODER_SIZE = 0x300;

/** "kNumBitModelTotalBits = 11": probabilities are 11-bit, starting at one half. */
const PROB_INIT = 1024;
/** "kTopValue = 1 << 24": the range is renormalised below this. */
const TOP = 0x1000000;
/** The distance of the end-of-payload marker. */
const END_MARKER_DISTANCE = 0xffffffff;

/** Why `decodeSymbols` returned. */
const DecodeStatus = {
  /** The output reached the limit it was given. */
  LIMIT: 0,
  /** The end-of-payload marker was decoded. */
  END_MARKER: 1,
  /** The range decoder read past the end of its input. */
  INPUT_OVERRUN: 2,
  /** A match reaches before the start of the dictionary. */
  BAD_DISTANCE: 3,
} as const;
type DecodeStatusValue = (typeof DecodeStatus)[keyof typeof DecodeStatus];

/** lc, lp, pb: literal context bits, literal position bits, position bits. */
export interface LzmaProperties {
  lc: number;
  lp: number;
  pb: number;
}

/**
 * The properties byte: "d = lc + lp * 9 + pb * 45", d < 225 (LZMA specification, "The header").
 * Returns undefined when the byte is out of range.
 */
export function parsePropertiesByte(value: number): LzmaProperties | undefined {
  if (value >= 9 * 5 * 5) return undefined;
  return { lc: value % 9, lp: Math.floor(value / 9) % 5, pb: Math.floor(value / 45) };
}

/** Everything the decoder carries from one call to the next. */
class LzmaState {
  readonly probs: Uint16Array;
  lc = 0;
  lp = 0;
  pb = 0;
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
  /** Bytes of the last match still to copy when the previous call stopped at its limit. */
  pendingLength = 0;
  range = 0xffffffff;
  code = 0;
  inPos = 0;
  /** Output position of the last dictionary reset; matches may not reach before it. */
  dictStart = 0;

  /**
   * `maxLiteralBits` is the largest lc + lp this state will be used with (LZMA1: 12, LZMA2: 4).
   * With `wasm`, the probabilities live in its memory and decodeSymbols runs there while it can.
   */
  constructor(
    maxLiteralBits: number,
    readonly wasm: LzmaWasm | null = null,
  ) {
    const count = probabilityCount(maxLiteralBits);
    this.probs = wasm !== null && wasm.probs.length >= count ? wasm.probs : new Uint16Array(count);
    if (this.probs !== wasm?.probs) this.wasm = null;
  }

  /** Sets lc/lp/pb and resets the probabilities, the state and the distances. */
  reset(properties: LzmaProperties): void {
    this.lc = properties.lc;
    this.lp = properties.lp;
    this.pb = properties.pb;
    this.probs.fill(PROB_INIT, 0, LITERAL + (LITERAL_CODER_SIZE << (properties.lc + properties.lp)));
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.pendingLength = 0;
  }

  /** Range decoder initialisation: five bytes, the first of which the encoder always writes as 0. */
  initRangeDecoder(input: Uint8Array, offset: number, end: number): boolean {
    if (offset + 5 > end || input[offset] !== 0) return false;
    this.code = ((input[offset + 1]! << 24) | (input[offset + 2]! << 16) | (input[offset + 3]! << 8) | input[offset + 4]!) >>> 0;
    this.range = 0xffffffff;
    this.inPos = offset + 5;
    return true;
  }

  /** The normalisation the encoder's flush accounts for; afterwards `code` is 0 at a clean end. */
  normalize(input: Uint8Array): void {
    if (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | (this.inPos < input.length ? input[this.inPos]! : 0)) >>> 0;
      this.inPos++;
    }
  }
}

/** The probabilities a state needs for lc + lp up to `maxLiteralBits`. */
export function probabilityCount(maxLiteralBits: number): number {
  return LITERAL + (LITERAL_CODER_SIZE << maxLiteralBits);
}

/**
 * decodeSymbols, in WebAssembly when the state has it and the output is still in its memory,
 * else in TypeScript (the two agree exactly: the same status, state and output).
 */
function decodeSymbols(s: LzmaState, input: Uint8Array, inEnd: number, out: OutputBuffer, outLimit: number): DecodeStatusValue {
  const wasm = s.wasm;
  if (wasm === null || !wasm.serves(input, out.bytes)) return decodeSymbolsTs(s, input, inEnd, out, outLimit);
  const { status, pos } = wasm.decodeSymbols(s, inEnd, out.length, outLimit, s.dictStart, s.lc, s.lp, s.pb);
  out.length = pos;
  return status as DecodeStatusValue;
}

/**
 * Decodes LZMA symbols into `out` until the output reaches `outLimit`, the end marker appears,
 * or the input runs past `inEnd`. The range coder, state and distances stay in local variables:
 * this loop is where all the time goes, so the bit decoding is written out in place rather than
 * called. The same few lines recur: normalise, read the probability, split the range, adapt.
 *
 * Bits that choose what comes next (IsMatch, IsRep...) branch. Bits inside bit trees (literals,
 * lengths, distances) are decoded without branches, because their values are unpredictable and
 * a mispredicted branch costs more than the arithmetic; measured about 15% faster in V8:
 *   more  = range < 2^24 ? 1 : 0          (normalise: shift in one input byte)
 *   bit   = code >= bound ? 1 : 0,  mask = -bit (all ones when bit is 1)
 *   range = bit ? range - bound : bound,  code = bit ? code - bound : code
 *   prob  = bit ? prob - (prob >> 5) : prob + ((2048 - prob) >> 5), which is
 *           prob - ((prob + (bit ? 0 : -2017)) >> 5) with an arithmetic shift.
 */
function decodeSymbolsTs(s: LzmaState, input: Uint8Array, inEnd: number, out: OutputBuffer, outLimit: number): DecodeStatusValue {
  const probs = s.probs;
  const bytes = out.bytes;
  const inSize = input.length;
  const dictStart = s.dictStart;
  const lc = s.lc;
  const literalShift = 8 - lc;
  const literalPosMask = (1 << s.lp) - 1;
  const posStateMask = (1 << s.pb) - 1;
  let range = s.range;
  let code = s.code;
  let inPos = s.inPos;
  let state = s.state;
  let rep0 = s.rep0;
  let rep1 = s.rep1;
  let rep2 = s.rep2;
  let rep3 = s.rep3;
  let pos = out.length;
  let status: DecodeStatusValue = DecodeStatus.LIMIT;
  let prob = 0;
  let bound = 0;
  let k = 0;
  let symbol = 0;

  let length = s.pendingLength;
  s.pendingLength = 0;
  if (length > 0) {
    const count = Math.min(length, outLimit - pos);
    s.pendingLength = length - count;
    let from = pos - rep0 - 1;
    for (const end = pos + count; pos < end; ) bytes[pos++] = bytes[from++]!;
  }

  while (pos < outLimit) {
    if (inPos > inEnd) {
      status = DecodeStatus.INPUT_OVERRUN;
      break;
    }
    const posState = (pos - dictStart) & posStateMask;

    // IsMatch
    k = IS_MATCH + (state << 4) + posState;
    if (range < TOP) {
      range = (range << 8) >>> 0;
      code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
      inPos++;
    }
    prob = probs[k]!;
    bound = Math.imul(range >>> 11, prob) >>> 0;
    if (code < bound) {
      range = bound;
      probs[k] = prob + ((2048 - prob) >>> 5);

      // Literal: a bit tree of 8 bits, chosen by the position and the previous byte.
      const previousByte = pos > dictStart ? bytes[pos - 1]! : 0;
      const base = LITERAL + LITERAL_CODER_SIZE * ((((pos - dictStart) & literalPosMask) << lc) + (previousByte >>> literalShift));
      symbol = 1;
      if (state < 7) {
        do {
          k = base + symbol;
          const more = +(range < TOP);
          range = (range << (more << 3)) >>> 0;
          code = ((code << (more << 3)) | ((inPos < inSize ? input[inPos]! : 0) & -more)) >>> 0;
          inPos += more;
          prob = probs[k]!;
          bound = Math.imul(range >>> 11, prob) >>> 0;
          const bit = +(code >= bound);
          const mask = -bit;
          range = (bound + ((range - bound - bound) & mask)) >>> 0;
          code = (code - (bound & mask)) >>> 0;
          probs[k] = prob - ((prob + (~mask & -2017)) >> 5);
          symbol = (symbol << 1) | bit;
        } while (symbol < 0x100);
      } else {
        // "Matched" literal: after a match, the byte at rep0 selects the probabilities
        // until the first bit that differs from it.
        let matchByte = bytes[pos - rep0 - 1]!;
        let offset = 0x100;
        do {
          matchByte <<= 1;
          const matchBit = matchByte & offset;
          k = base + offset + matchBit + symbol;
          const more = +(range < TOP);
          range = (range << (more << 3)) >>> 0;
          code = ((code << (more << 3)) | ((inPos < inSize ? input[inPos]! : 0) & -more)) >>> 0;
          inPos += more;
          prob = probs[k]!;
          bound = Math.imul(range >>> 11, prob) >>> 0;
          const bit = +(code >= bound);
          const mask = -bit;
          range = (bound + ((range - bound - bound) & mask)) >>> 0;
          code = (code - (bound & mask)) >>> 0;
          probs[k] = prob - ((prob + (~mask & -2017)) >> 5);
          symbol = (symbol << 1) | bit;
          offset &= matchBit ^ ~mask;
        } while (symbol < 0x100);
      }
      bytes[pos++] = symbol;
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      continue;
    }
    range = (range - bound) >>> 0;
    code = (code - bound) >>> 0;
    probs[k] = prob - (prob >>> 5);

    // IsRep
    k = IS_REP + state;
    if (range < TOP) {
      range = (range << 8) >>> 0;
      code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
      inPos++;
    }
    prob = probs[k]!;
    bound = Math.imul(range >>> 11, prob) >>> 0;
    let lengthCoder: number;
    const isSimpleMatch = code < bound;
    if (isSimpleMatch) {
      range = bound;
      probs[k] = prob + ((2048 - prob) >>> 5);
      state = state < 7 ? 7 : 10;
      lengthCoder = LEN_MATCH;
    } else {
      range = (range - bound) >>> 0;
      code = (code - bound) >>> 0;
      probs[k] = prob - (prob >>> 5);

      // IsRepG0
      k = IS_REP_G0 + state;
      if (range < TOP) {
        range = (range << 8) >>> 0;
        code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
        inPos++;
      }
      prob = probs[k]!;
      bound = Math.imul(range >>> 11, prob) >>> 0;
      if (code < bound) {
        range = bound;
        probs[k] = prob + ((2048 - prob) >>> 5);

        // IsRep0Long: 0 is a "short rep", one byte from distance rep0.
        k = IS_REP0_LONG + (state << 4) + posState;
        if (range < TOP) {
          range = (range << 8) >>> 0;
          code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
          inPos++;
        }
        prob = probs[k]!;
        bound = Math.imul(range >>> 11, prob) >>> 0;
        if (code < bound) {
          range = bound;
          probs[k] = prob + ((2048 - prob) >>> 5);
          if (rep0 >= pos - dictStart) {
            status = DecodeStatus.BAD_DISTANCE;
            break;
          }
          state = state < 7 ? 9 : 11;
          bytes[pos] = bytes[pos - rep0 - 1]!;
          pos++;
          continue;
        }
        range = (range - bound) >>> 0;
        code = (code - bound) >>> 0;
        probs[k] = prob - (prob >>> 5);
      } else {
        range = (range - bound) >>> 0;
        code = (code - bound) >>> 0;
        probs[k] = prob - (prob >>> 5);

        // IsRepG1, IsRepG2: which of rep1..rep3 moves to the front.
        let distance: number;
        k = IS_REP_G1 + state;
        if (range < TOP) {
          range = (range << 8) >>> 0;
          code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
          inPos++;
        }
        prob = probs[k]!;
        bound = Math.imul(range >>> 11, prob) >>> 0;
        if (code < bound) {
          range = bound;
          probs[k] = prob + ((2048 - prob) >>> 5);
          distance = rep1;
        } else {
          range = (range - bound) >>> 0;
          code = (code - bound) >>> 0;
          probs[k] = prob - (prob >>> 5);
          k = IS_REP_G2 + state;
          if (range < TOP) {
            range = (range << 8) >>> 0;
            code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
            inPos++;
          }
          prob = probs[k]!;
          bound = Math.imul(range >>> 11, prob) >>> 0;
          if (code < bound) {
            range = bound;
            probs[k] = prob + ((2048 - prob) >>> 5);
            distance = rep2;
          } else {
            range = (range - bound) >>> 0;
            code = (code - bound) >>> 0;
            probs[k] = prob - (prob >>> 5);
            distance = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = distance;
      }
      state = state < 7 ? 8 : 11;
      lengthCoder = LEN_REP;
    }

    // Length: Choice selects 3 low bits, Choice2 3 mid bits (+8), else 8 high bits (+16).
    let treeBase: number;
    let treeLimit: number;
    let lengthOffset: number;
    k = lengthCoder;
    if (range < TOP) {
      range = (range << 8) >>> 0;
      code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
      inPos++;
    }
    prob = probs[k]!;
    bound = Math.imul(range >>> 11, prob) >>> 0;
    if (code < bound) {
      range = bound;
      probs[k] = prob + ((2048 - prob) >>> 5);
      treeBase = lengthCoder + LEN_LOW + (posState << 3);
      treeLimit = 8;
      lengthOffset = 2 - 8;
    } else {
      range = (range - bound) >>> 0;
      code = (code - bound) >>> 0;
      probs[k] = prob - (prob >>> 5);
      k = lengthCoder + LEN_CHOICE2;
      if (range < TOP) {
        range = (range << 8) >>> 0;
        code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
        inPos++;
      }
      prob = probs[k]!;
      bound = Math.imul(range >>> 11, prob) >>> 0;
      if (code < bound) {
        range = bound;
        probs[k] = prob + ((2048 - prob) >>> 5);
        treeBase = lengthCoder + LEN_MID + (posState << 3);
        treeLimit = 8;
        lengthOffset = 2 + 8 - 8;
      } else {
        range = (range - bound) >>> 0;
        code = (code - bound) >>> 0;
        probs[k] = prob - (prob >>> 5);
        treeBase = lengthCoder + LEN_HIGH;
        treeLimit = 256;
        lengthOffset = 2 + 16 - 256;
      }
    }
    symbol = 1;
    do {
      k = treeBase + symbol;
      const more = +(range < TOP);
      range = (range << (more << 3)) >>> 0;
      code = ((code << (more << 3)) | ((inPos < inSize ? input[inPos]! : 0) & -more)) >>> 0;
      inPos += more;
      prob = probs[k]!;
      bound = Math.imul(range >>> 11, prob) >>> 0;
      const bit = +(code >= bound);
      const mask = -bit;
      range = (bound + ((range - bound - bound) & mask)) >>> 0;
      code = (code - (bound & mask)) >>> 0;
      probs[k] = prob - ((prob + (~mask & -2017)) >> 5);
      symbol = (symbol << 1) | bit;
    } while (symbol < treeLimit);
    length = symbol + lengthOffset;

    if (isSimpleMatch) {
      // Distance: a 6-bit slot, then reverse bit trees (SpecPos) or direct bits plus Align.
      k = POS_SLOT + ((length < 6 ? length - 2 : 3) << 6);
      symbol = 1;
      do {
        const index = k + symbol;
        const more = +(range < TOP);
        range = (range << (more << 3)) >>> 0;
        code = ((code << (more << 3)) | ((inPos < inSize ? input[inPos]! : 0) & -more)) >>> 0;
        inPos += more;
        prob = probs[index]!;
        bound = Math.imul(range >>> 11, prob) >>> 0;
        const bit = +(code >= bound);
        const mask = -bit;
        range = (bound + ((range - bound - bound) & mask)) >>> 0;
        code = (code - (bound & mask)) >>> 0;
        probs[index] = prob - ((prob + (~mask & -2017)) >> 5);
        symbol = (symbol << 1) | bit;
      } while (symbol < 64);
      const slot = symbol - 64;
      let distance: number;
      if (slot < 4) {
        distance = slot;
      } else {
        const directBits = (slot >>> 1) - 1;
        distance = ((2 | (slot & 1)) << directBits) >>> 0;
        let reverseBase: number;
        let reverseBits: number;
        if (slot < 14) {
          reverseBase = SPEC_POS + distance - slot - 1;
          reverseBits = directBits;
        } else {
          let direct = 0;
          for (let i = directBits - 4; i > 0; i--) {
            if (range < TOP) {
              range = (range << 8) >>> 0;
              code = ((code << 8) | (inPos < inSize ? input[inPos]! : 0)) >>> 0;
              inPos++;
            }
            range >>>= 1;
            if (code >= range) {
              code = (code - range) >>> 0;
              direct = (direct << 1) | 1;
            } else {
              direct <<= 1;
            }
          }
          distance = (distance + (direct << 4)) >>> 0;
          reverseBase = ALIGN;
          reverseBits = 4;
        }
        let node = 1;
        for (let i = 0; i < reverseBits; i++) {
          k = reverseBase + node;
          const more = +(range < TOP);
          range = (range << (more << 3)) >>> 0;
          code = ((code << (more << 3)) | ((inPos < inSize ? input[inPos]! : 0) & -more)) >>> 0;
          inPos += more;
          prob = probs[k]!;
          bound = Math.imul(range >>> 11, prob) >>> 0;
          const bit = +(code >= bound);
          const mask = -bit;
          range = (bound + ((range - bound - bound) & mask)) >>> 0;
          code = (code - (bound & mask)) >>> 0;
          probs[k] = prob - ((prob + (~mask & -2017)) >> 5);
          node = (node << 1) | bit;
          distance = (distance | (bit << i)) >>> 0;
        }
        if (distance === END_MARKER_DISTANCE) {
          status = DecodeStatus.END_MARKER;
          break;
        }
      }
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = distance;
    }

    if (rep0 >= pos - dictStart) {
      status = DecodeStatus.BAD_DISTANCE;
      break;
    }
    let count = length;
    if (count > outLimit - pos) {
      count = outLimit - pos;
      s.pendingLength = length - count;
    }
    let from = pos - rep0 - 1;
    const end = pos + count;
    if (count > 64 && rep0 >= count) {
      bytes.copyWithin(pos, from, from + count);
      pos = end;
    } else {
      while (pos < end) bytes[pos++] = bytes[from++]!;
    }
  }

  s.range = range;
  s.code = code;
  s.inPos = inPos;
  s.state = state;
  s.rep0 = rep0;
  s.rep1 = rep1;
  s.rep2 = rep2;
  s.rep3 = rep3;
  out.length = pos;
  return status;
}

/**
 * A range decoder that reads bits without adapting the probabilities. The end marker uses every
 * probability at most once, so peeking decodes exactly the bits the real decoder would, and a
 * symbol that turns out not to be the marker leaves the real decoder untouched.
 */
class PeekingRangeDecoder {
  constructor(
    public range: number,
    public code: number,
    public inPos: number,
    private readonly input: Uint8Array,
  ) {}

  private normalize(): void {
    if (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | (this.inPos < this.input.length ? this.input[this.inPos]! : 0)) >>> 0;
      this.inPos++;
    }
  }

  bit(prob: number): number {
    this.normalize();
    const bound = Math.imul(this.range >>> 11, prob) >>> 0;
    if (this.code < bound) {
      this.range = bound;
      return 0;
    }
    this.range = (this.range - bound) >>> 0;
    this.code = (this.code - bound) >>> 0;
    return 1;
  }

  tree(probs: Uint16Array, base: number, bits: number): number {
    let symbol = 1;
    for (let i = 0; i < bits; i++) symbol = (symbol << 1) | this.bit(probs[base + symbol]!);
    return symbol - (1 << bits);
  }

  reverseTree(probs: Uint16Array, base: number, bits: number): number {
    let node = 1;
    let value = 0;
    for (let i = 0; i < bits; i++) {
      const bit = this.bit(probs[base + node]!);
      node = (node << 1) | bit;
      value |= bit << i;
    }
    return value;
  }

  direct(bits: number): number {
    let value = 0;
    for (let i = 0; i < bits; i++) {
      this.normalize();
      this.range >>>= 1;
      if (this.code >= this.range) {
        this.code = (this.code - this.range) >>> 0;
        value = (value << 1) | 1;
      } else {
        value <<= 1;
      }
    }
    return value;
  }
}

/**
 * If the next symbol is the end-of-payload marker (a simple match with distance 0xFFFFFFFF),
 * consumes it and returns true; otherwise changes nothing and returns false.
 */
function consumeEndMarker(s: LzmaState, input: Uint8Array, outPos: number): boolean {
  const probs = s.probs;
  const rc = new PeekingRangeDecoder(s.range, s.code, s.inPos, input);
  const posState = (outPos - s.dictStart) & ((1 << s.pb) - 1);
  if (rc.bit(probs[IS_MATCH + (s.state << 4) + posState]!) !== 1) return false;
  if (rc.bit(probs[IS_REP + s.state]!) !== 0) return false;
  let length: number;
  if (rc.bit(probs[LEN_MATCH]!) === 0) {
    length = 2 + rc.tree(probs, LEN_MATCH + LEN_LOW + (posState << 3), 3);
  } else if (rc.bit(probs[LEN_MATCH + LEN_CHOICE2]!) === 0) {
    length = 10 + rc.tree(probs, LEN_MATCH + LEN_MID + (posState << 3), 3);
  } else {
    length = 18 + rc.tree(probs, LEN_MATCH + LEN_HIGH, 8);
  }
  if (rc.tree(probs, POS_SLOT + ((length < 6 ? length - 2 : 3) << 6), 6) !== 63) return false;
  if (rc.direct(26) !== 0x3ffffff) return false;
  if (rc.reverseTree(probs, ALIGN, 4) !== 15) return false;
  if (rc.inPos > input.length) return false;
  s.range = rc.range;
  s.code = rc.code;
  s.inPos = rc.inPos;
  return true;
}

function corrupt(structure: string, offset: number, message: string, reason: string): KimgError {
  return new KimgError(ErrorCode.CORRUPT_STREAM, `${structure}: ${message}`, { structure, offset, reason });
}

/**
 * An error found at the decoder's input position. Past the end of the input the decoder reads
 * zeros, so whatever it then finds wrong really means the data was cut short.
 */
function streamError(s: LzmaState, inEnd: number, structure: string, message: string, reason: string): KimgError {
  if (s.inPos > inEnd) return corrupt(structure, inEnd, "compressed data ends early", "truncated");
  return corrupt(structure, s.inPos, message, reason);
}

/** Turns a stop of `decodeSymbols` that is an error into the KimgError for it. */
function statusError(status: DecodeStatusValue, s: LzmaState, inEnd: number, structure: string): KimgError {
  if (status === DecodeStatus.BAD_DISTANCE) {
    return streamError(s, inEnd, structure, `match distance ${s.rep0 + 1} reaches before the start of the dictionary`, "bad distance");
  }
  if (status === DecodeStatus.END_MARKER) return streamError(s, inEnd, structure, "unexpected end-of-payload marker", "unexpected end marker");
  return streamError(s, inEnd, structure, "compressed data ends early", "truncated");
}

/** After the last symbol: normalise, and require the range decoder to be exactly finished. */
function finishRangeDecoder(s: LzmaState, input: Uint8Array, inEnd: number, structure: string): void {
  s.normalize(input);
  if (s.code !== 0 || s.inPos > inEnd) throw streamError(s, inEnd, structure, "range decoder did not finish cleanly", "range decoder not finished");
}

export interface Lzma1Options {
  properties: LzmaProperties;
  /** The uncompressed size, when the header declares one. */
  uncompressedSize: number | undefined;
  structure: string;
}

/**
 * Decodes one LZMA1 stream starting at `inStart` into `out`. With a known size the stream may
 * end with or without the end marker; with an unknown size it must end with the marker.
 * Bytes after the end are ignored. Returns the input offset just past the stream.
 */
export function decodeLzma1(input: Uint8Array, inStart: number, out: OutputBuffer, options: Lzma1Options, wasm: LzmaWasm | null = null): number {
  const { properties, uncompressedSize, structure } = options;
  const s = new LzmaState(properties.lc + properties.lp, wasm);
  s.reset(properties);
  s.dictStart = out.length;
  const inEnd = input.length;
  if (!s.initRangeDecoder(input, inStart, inEnd)) {
    if (inStart + 5 > inEnd) throw corrupt(structure, inEnd, "compressed data ends early", "truncated");
    throw corrupt(structure, inStart, "the first byte of the range coder is not 0", "bad range coder start");
  }
  // A declared size sizes the buffer only as far as the input could plausibly expand; past that
  // the buffer grows as data actually arrives, so a tiny file declaring 500 MiB allocates little.
  if (uncompressedSize !== undefined) {
    // A size over the limit is refused before decoding a byte (ensureCapacity throws E_LIMIT).
    if (out.length + uncompressedSize > out.maxBytes) out.ensureCapacity(out.length + uncompressedSize, inStart);
    out.reserve(Math.min(uncompressedSize, Math.max(1 << 20, (inEnd - inStart) * MAX_PREALLOCATION_RATIO)), inStart);
  }
  const sizeEnd = uncompressedSize === undefined ? Infinity : s.dictStart + uncompressedSize;

  for (;;) {
    const target = Math.min(sizeEnd, out.bytes.length);
    const status = decodeSymbols(s, input, inEnd, out, Math.min(target, out.length + PROGRESS_INTERVAL_BYTES));
    if (status === DecodeStatus.END_MARKER) {
      if (out.length < sizeEnd && uncompressedSize !== undefined) {
        throw streamError(s, inEnd, structure, `end marker after ${out.length - s.dictStart} of ${uncompressedSize} bytes`, "size mismatch");
      }
      break;
    }
    if (status !== DecodeStatus.LIMIT) throw statusError(status, s, inEnd, structure);
    out.reportProgress();
    if (out.length < target) continue;
    if (out.length === sizeEnd) {
      if (s.pendingLength > 0) throw streamError(s, inEnd, structure, "a match runs past the declared size", "size mismatch");
      // Without an end marker the range decoder is finished here (code 0); with one, code is not 0.
      s.normalize(input);
      if (s.code === 0) {
        if (s.inPos > inEnd) truncatedAt(structure, inEnd);
        return s.inPos;
      }
      if (!consumeEndMarker(s, input, out.length)) {
        throw streamError(s, inEnd, structure, "data continues after the declared size", "size mismatch");
      }
      break;
    }
    // The buffer is full: the stream may end right here, otherwise it needs more room.
    if (s.pendingLength === 0 && consumeEndMarker(s, input, out.length)) {
      if (uncompressedSize !== undefined) {
        throw streamError(s, inEnd, structure, `end marker after ${out.length - s.dictStart} of ${uncompressedSize} bytes`, "size mismatch");
      }
      break;
    }
    out.reserve(Math.max(1, s.pendingLength), Math.min(s.inPos, inEnd));
  }
  finishRangeDecoder(s, input, inEnd, structure);
  return s.inPos;
}

function truncatedAt(structure: string, offset: number): never {
  throw corrupt(structure, offset, "compressed data ends early", "truncated");
}

/** The LZMA2 properties byte of an .xz filter: dictionary size = (2 | (b & 1)) << (b / 2 + 11). */
export function lzma2DictionarySize(value: number): number | undefined {
  if (value > 40) return undefined;
  if (value === 40) return 0xffffffff;
  return (2 | (value & 1)) * 2 ** ((value >>> 1) + 11);
}

/**
 * Decodes LZMA2 chunks from `inStart` until the end byte 0x00, never reading at or past `inEnd`.
 * Returns the input offset just past the end byte.
 *
 * "LZMA2 chunk" (liblzma lzma2_decoder.c):
 *   0x00                  end of data
 *   0x01                  uncompressed chunk, dictionary reset
 *   0x02                  uncompressed chunk, no reset
 *   0x80 | r << 5 | u     LZMA chunk; u = bits 16-20 of (unpacked size - 1); r: 0 nothing reset,
 *                         1 state reset, 2 state reset + new properties, 3 also dictionary reset
 *   then u16be (unpacked size - 1) low bits, u16be (packed size - 1), [properties byte], data
 *   for an uncompressed chunk: u16be (size - 1), data
 */
export function decodeLzma2(input: Uint8Array, inStart: number, inEnd: number, out: OutputBuffer, structure: string, wasm: LzmaWasm | null = null): number {
  const s = new LzmaState(4, wasm);
  let inPos = inStart;
  let needDictionaryReset = true;
  let needProperties = true;

  for (;;) {
    if (inPos >= inEnd) truncatedAt(structure, inEnd);
    const control = input[inPos]!;
    const chunkOffset = inPos;
    inPos++;
    if (control === 0x00) return inPos;

    if (control >= 0xe0 || control === 0x01) {
      needProperties = true;
      needDictionaryReset = false;
      s.dictStart = out.length;
    } else if (needDictionaryReset) {
      throw corrupt(structure, chunkOffset, "the first LZMA2 chunk does not reset the dictionary", "bad LZMA2 chunk");
    }

    if (control < 0x80) {
      if (control > 0x02) throw corrupt(structure, chunkOffset, `invalid LZMA2 control byte 0x${control.toString(16)}`, "bad LZMA2 chunk");
      if (inPos + 2 > inEnd) truncatedAt(structure, inEnd);
      const size = ((input[inPos]! << 8) | input[inPos + 1]!) + 1;
      inPos += 2;
      if (inPos + size > inEnd) truncatedAt(structure, inEnd);
      out.reserve(size, chunkOffset);
      out.bytes.set(input.subarray(inPos, inPos + size), out.length);
      out.length += size;
      inPos += size;
      out.reportProgress();
      continue;
    }

    if (inPos + 4 > inEnd) truncatedAt(structure, inEnd);
    const unpackedSize = ((control & 0x1f) << 16) + (input[inPos]! << 8) + input[inPos + 1]! + 1;
    const packedSize = (input[inPos + 2]! << 8) + input[inPos + 3]! + 1;
    inPos += 4;
    if (control >= 0xc0) {
      if (inPos >= inEnd) truncatedAt(structure, inEnd);
      const properties = parsePropertiesByte(input[inPos]!);
      if (properties === undefined || properties.lc + properties.lp > 4) {
        throw corrupt(structure, inPos, `invalid LZMA2 properties byte 0x${input[inPos]!.toString(16)}`, "bad LZMA2 properties");
      }
      inPos++;
      needProperties = false;
      s.reset(properties);
    } else if (needProperties) {
      throw corrupt(structure, chunkOffset, "LZMA2 chunk without properties after a dictionary reset", "bad LZMA2 chunk");
    } else if (control >= 0xa0) {
      s.reset({ lc: s.lc, lp: s.lp, pb: s.pb });
    }

    const chunkEnd = inPos + packedSize;
    if (chunkEnd > inEnd) truncatedAt(structure, inEnd);
    if (!s.initRangeDecoder(input, inPos, chunkEnd)) {
      throw corrupt(structure, inPos, "the first byte of the range coder is not 0", "bad range coder start");
    }
    out.reserve(unpackedSize, chunkOffset);
    const status = decodeSymbols(s, input, chunkEnd, out, out.length + unpackedSize);
    if (status !== DecodeStatus.LIMIT) throw statusError(status, s, chunkEnd, structure);
    if (s.pendingLength > 0) throw streamError(s, chunkEnd, structure, "a match runs past the end of its LZMA2 chunk", "bad LZMA2 chunk");
    finishRangeDecoder(s, input, chunkEnd, structure);
    if (s.inPos !== chunkEnd) {
      throw streamError(s, chunkEnd, structure, `LZMA2 chunk used ${s.inPos - inPos} of its ${packedSize} bytes`, "bad LZMA2 chunk");
    }
    inPos = chunkEnd;
    out.reportProgress();
  }
}
