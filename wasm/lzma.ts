/**
 * AssemblyScript (compiled by scripts/build-wasm.mjs into src/codecs/lzma-wasm.generated.ts):
 * `decodeSymbols` of src/codecs/lzma-decoder.ts, line for line, on bytes in linear memory. The
 * TypeScript function is the reference and its comments explain the coding; this one must stop
 * with the same status and leave the same state and output, which test/lzma-wasm.test.ts checks.
 *
 * Memory, laid out by src/codecs/lzma-wasm.ts: the decoder state at STATE (below), the
 * probabilities (u16), the input followed by at least 256 zero bytes (the TypeScript reads 0 past
 * the end of the input; a symbol reads at most about 60 bytes past the limit checked before it),
 * and the output with 64 bytes of slack (copies run in 8-byte steps).
 */

/** The state block: u32 fields at these offsets from STATE. */
const STATE: usize = 32768;
const RANGE = 0;
const CODE = 4;
const IN_POS = 8;
const LZMA_STATE = 12;
const REP0 = 16;
const REP1 = 20;
const REP2 = 24;
const REP3 = 28;
const PENDING = 32;

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
const TOP: u32 = 0x1000000;
const END_MARKER_DISTANCE: u32 = 0xffffffff;

const LIMIT = 0;
const END_MARKER = 1;
const INPUT_OVERRUN = 2;
const BAD_DISTANCE = 3;

// @ts-ignore: decorator
@inline
function prob(probs: usize, k: u32): u32 {
  return <u32>load<u16>(probs + (<usize>k << 1));
}

// @ts-ignore: decorator
@inline
function setProb(probs: usize, k: u32, value: u32): void {
  store<u16>(probs + (<usize>k << 1), <u16>value);
}

/**
 * Addresses: `inEnd` and the input position are absolute; `outBase` is the address of output
 * index 0, and `pos`, `outLimit`, `dictStart` are output indexes, as in the TypeScript. Returns
 * the status; the new output position is stored at STATE + 36.
 */
export function decodeSymbols(probs: usize, inEnd: u32, outBase: usize, pos: u32, outLimit: u32, dictStart: u32, lc: u32, lp: u32, pb: u32): i32 {
  const literalShift = 8 - lc;
  const literalPosMask: u32 = (1 << lp) - 1;
  const posStateMask: u32 = (1 << pb) - 1;
  let range = load<u32>(STATE + RANGE);
  let code = load<u32>(STATE + CODE);
  let inPos = load<u32>(STATE + IN_POS);
  let state = load<u32>(STATE + LZMA_STATE);
  let rep0 = load<u32>(STATE + REP0);
  let rep1 = load<u32>(STATE + REP1);
  let rep2 = load<u32>(STATE + REP2);
  let rep3 = load<u32>(STATE + REP3);
  let status = LIMIT;
  let p: u32 = 0;
  let bound: u32 = 0;
  let k: u32 = 0;
  let symbol: u32 = 0;

  let length = load<u32>(STATE + PENDING);
  store<u32>(STATE + PENDING, 0);
  if (length > 0) {
    const count = min(length, outLimit - pos);
    store<u32>(STATE + PENDING, length - count);
    let from = pos - rep0 - 1;
    for (const end = pos + count; pos < end; ) store<u8>(outBase + pos++, load<u8>(outBase + from++));
  }

  while (pos < outLimit) {
    if (inPos > inEnd) {
      status = INPUT_OVERRUN;
      break;
    }
    const posState = (pos - dictStart) & posStateMask;

    k = IS_MATCH + (state << 4) + posState;
    if (range < TOP) {
      range <<= 8;
      code = (code << 8) | load<u8>(inPos);
      inPos++;
    }
    p = prob(probs, k);
    bound = (range >> 11) * p;
    if (code < bound) {
      range = bound;
      setProb(probs, k, p + ((2048 - p) >> 5));

      const previousByte: u32 = pos > dictStart ? load<u8>(outBase + pos - 1) : 0;
      const base = LITERAL + LITERAL_CODER_SIZE * ((((pos - dictStart) & literalPosMask) << lc) + (previousByte >> literalShift));
      symbol = 1;
      if (state < 7) {
        do {
          k = base + symbol;
          const more: u32 = <u32>(range < TOP);
          const shift = more << 3;
          range = range << shift;
          code = (code << shift) | (load<u8>(inPos) & -more);
          inPos += more;
          p = prob(probs, k);
          bound = (range >> 11) * p;
          const bit: u32 = <u32>(code >= bound);
          const mask: u32 = -bit;
          range = bound + ((range - bound - bound) & mask);
          code = code - (bound & mask);
          setProb(probs, k, p - (<u32>(<i32>(p + (~mask & -2017)) >> 5)));
          symbol = (symbol << 1) | bit;
        } while (symbol < 0x100);
      } else {
        let matchByte: u32 = load<u8>(outBase + pos - rep0 - 1);
        let offset: u32 = 0x100;
        do {
          matchByte <<= 1;
          const matchBit = matchByte & offset;
          k = base + offset + matchBit + symbol;
          const more: u32 = <u32>(range < TOP);
          const shift = more << 3;
          range = range << shift;
          code = (code << shift) | (load<u8>(inPos) & -more);
          inPos += more;
          p = prob(probs, k);
          bound = (range >> 11) * p;
          const bit: u32 = <u32>(code >= bound);
          const mask: u32 = -bit;
          range = bound + ((range - bound - bound) & mask);
          code = code - (bound & mask);
          setProb(probs, k, p - (<u32>(<i32>(p + (~mask & -2017)) >> 5)));
          symbol = (symbol << 1) | bit;
          offset &= matchBit ^ ~mask;
        } while (symbol < 0x100);
      }
      store<u8>(outBase + pos++, <u8>symbol);
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      continue;
    }
    range -= bound;
    code -= bound;
    setProb(probs, k, p - (p >> 5));

    k = IS_REP + state;
    if (range < TOP) {
      range <<= 8;
      code = (code << 8) | load<u8>(inPos);
      inPos++;
    }
    p = prob(probs, k);
    bound = (range >> 11) * p;
    let lengthCoder: u32;
    const isSimpleMatch = code < bound;
    if (isSimpleMatch) {
      range = bound;
      setProb(probs, k, p + ((2048 - p) >> 5));
      state = state < 7 ? 7 : 10;
      lengthCoder = LEN_MATCH;
    } else {
      range -= bound;
      code -= bound;
      setProb(probs, k, p - (p >> 5));

      k = IS_REP_G0 + state;
      if (range < TOP) {
        range <<= 8;
        code = (code << 8) | load<u8>(inPos);
        inPos++;
      }
      p = prob(probs, k);
      bound = (range >> 11) * p;
      if (code < bound) {
        range = bound;
        setProb(probs, k, p + ((2048 - p) >> 5));

        k = IS_REP0_LONG + (state << 4) + posState;
        if (range < TOP) {
          range <<= 8;
          code = (code << 8) | load<u8>(inPos);
          inPos++;
        }
        p = prob(probs, k);
        bound = (range >> 11) * p;
        if (code < bound) {
          range = bound;
          setProb(probs, k, p + ((2048 - p) >> 5));
          if (rep0 >= pos - dictStart) {
            status = BAD_DISTANCE;
            break;
          }
          state = state < 7 ? 9 : 11;
          store<u8>(outBase + pos, load<u8>(outBase + pos - rep0 - 1));
          pos++;
          continue;
        }
        range -= bound;
        code -= bound;
        setProb(probs, k, p - (p >> 5));
      } else {
        range -= bound;
        code -= bound;
        setProb(probs, k, p - (p >> 5));

        let distance: u32;
        k = IS_REP_G1 + state;
        if (range < TOP) {
          range <<= 8;
          code = (code << 8) | load<u8>(inPos);
          inPos++;
        }
        p = prob(probs, k);
        bound = (range >> 11) * p;
        if (code < bound) {
          range = bound;
          setProb(probs, k, p + ((2048 - p) >> 5));
          distance = rep1;
        } else {
          range -= bound;
          code -= bound;
          setProb(probs, k, p - (p >> 5));
          k = IS_REP_G2 + state;
          if (range < TOP) {
            range <<= 8;
            code = (code << 8) | load<u8>(inPos);
            inPos++;
          }
          p = prob(probs, k);
          bound = (range >> 11) * p;
          if (code < bound) {
            range = bound;
            setProb(probs, k, p + ((2048 - p) >> 5));
            distance = rep2;
          } else {
            range -= bound;
            code -= bound;
            setProb(probs, k, p - (p >> 5));
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

    let treeBase: u32;
    let treeLimit: u32;
    let lengthOffset: i32;
    k = lengthCoder;
    if (range < TOP) {
      range <<= 8;
      code = (code << 8) | load<u8>(inPos);
      inPos++;
    }
    p = prob(probs, k);
    bound = (range >> 11) * p;
    if (code < bound) {
      range = bound;
      setProb(probs, k, p + ((2048 - p) >> 5));
      treeBase = lengthCoder + LEN_LOW + (posState << 3);
      treeLimit = 8;
      lengthOffset = 2 - 8;
    } else {
      range -= bound;
      code -= bound;
      setProb(probs, k, p - (p >> 5));
      k = lengthCoder + LEN_CHOICE2;
      if (range < TOP) {
        range <<= 8;
        code = (code << 8) | load<u8>(inPos);
        inPos++;
      }
      p = prob(probs, k);
      bound = (range >> 11) * p;
      if (code < bound) {
        range = bound;
        setProb(probs, k, p + ((2048 - p) >> 5));
        treeBase = lengthCoder + LEN_MID + (posState << 3);
        treeLimit = 8;
        lengthOffset = 2 + 8 - 8;
      } else {
        range -= bound;
        code -= bound;
        setProb(probs, k, p - (p >> 5));
        treeBase = lengthCoder + LEN_HIGH;
        treeLimit = 256;
        lengthOffset = 2 + 16 - 256;
      }
    }
    symbol = 1;
    do {
      k = treeBase + symbol;
      const more: u32 = <u32>(range < TOP);
      const shift = more << 3;
      range = range << shift;
      code = (code << shift) | (load<u8>(inPos) & -more);
      inPos += more;
      p = prob(probs, k);
      bound = (range >> 11) * p;
      const bit: u32 = <u32>(code >= bound);
      const mask: u32 = -bit;
      range = bound + ((range - bound - bound) & mask);
      code = code - (bound & mask);
      setProb(probs, k, p - (<u32>(<i32>(p + (~mask & -2017)) >> 5)));
      symbol = (symbol << 1) | bit;
    } while (symbol < treeLimit);
    length = <u32>(<i32>symbol + lengthOffset);

    if (isSimpleMatch) {
      k = POS_SLOT + ((length < 6 ? length - 2 : 3) << 6);
      symbol = 1;
      do {
        const index = k + symbol;
        const more: u32 = <u32>(range < TOP);
        const shift = more << 3;
        range = range << shift;
        code = (code << shift) | (load<u8>(inPos) & -more);
        inPos += more;
        p = prob(probs, index);
        bound = (range >> 11) * p;
        const bit: u32 = <u32>(code >= bound);
        const mask: u32 = -bit;
        range = bound + ((range - bound - bound) & mask);
        code = code - (bound & mask);
        setProb(probs, index, p - (<u32>(<i32>(p + (~mask & -2017)) >> 5)));
        symbol = (symbol << 1) | bit;
      } while (symbol < 64);
      const slot = symbol - 64;
      let distance: u32;
      if (slot < 4) {
        distance = slot;
      } else {
        const directBits = (slot >> 1) - 1;
        distance = (2 | (slot & 1)) << directBits;
        let reverseBase: u32;
        let reverseBits: u32;
        if (slot < 14) {
          reverseBase = SPEC_POS + distance - slot - 1;
          reverseBits = directBits;
        } else {
          let direct: u32 = 0;
          for (let i = <i32>directBits - 4; i > 0; i--) {
            if (range < TOP) {
              range <<= 8;
              code = (code << 8) | load<u8>(inPos);
              inPos++;
            }
            range >>= 1;
            if (code >= range) {
              code -= range;
              direct = (direct << 1) | 1;
            } else {
              direct <<= 1;
            }
          }
          distance = distance + (direct << 4);
          reverseBase = ALIGN;
          reverseBits = 4;
        }
        let node: u32 = 1;
        for (let i: u32 = 0; i < reverseBits; i++) {
          k = reverseBase + node;
          const more: u32 = <u32>(range < TOP);
          const shift = more << 3;
          range = range << shift;
          code = (code << shift) | (load<u8>(inPos) & -more);
          inPos += more;
          p = prob(probs, k);
          bound = (range >> 11) * p;
          const bit: u32 = <u32>(code >= bound);
          const mask: u32 = -bit;
          range = bound + ((range - bound - bound) & mask);
          code = code - (bound & mask);
          setProb(probs, k, p - (<u32>(<i32>(p + (~mask & -2017)) >> 5)));
          node = (node << 1) | bit;
          distance = distance | (bit << i);
        }
        if (distance == END_MARKER_DISTANCE) {
          status = END_MARKER;
          break;
        }
      }
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = distance;
    }

    if (rep0 >= pos - dictStart) {
      status = BAD_DISTANCE;
      break;
    }
    let count = length;
    if (count > outLimit - pos) {
      count = outLimit - pos;
      store<u32>(STATE + PENDING, length - count);
    }
    const to = outBase + pos;
    const from = to - rep0 - 1;
    if (rep0 >= 7) {
      // Distance 8 or more: each 8-byte step reads only finished bytes (writes up to 7 past the end).
      for (let n: usize = 0; n < count; n += 8) store<u64>(to + n, load<u64>(from + n));
    } else {
      for (let n: usize = 0; n < count; n++) store<u8>(to + n, load<u8>(from + n));
    }
    pos += count;
  }

  store<u32>(STATE + RANGE, range);
  store<u32>(STATE + CODE, code);
  store<u32>(STATE + IN_POS, inPos);
  store<u32>(STATE + LZMA_STATE, state);
  store<u32>(STATE + REP0, rep0);
  store<u32>(STATE + REP1, rep1);
  store<u32>(STATE + REP2, rep2);
  store<u32>(STATE + REP3, rep3);
  store<u32>(STATE + 36, pos);
  return status;
}
