import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KimgError } from "../src/io/errors.js";
import { decodeArm64, decodeArm64Sequence } from "../src/isa/arm64.js";
import { MAX_SEQUENCE_INSTRUCTIONS } from "../src/isa/types.js";

function expectKimgError(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof KimgError && error.code === code);
}

describe("decodeArm64: the first words of real arm64 Images", () => {
  it("decodes the current MZ pseudo-NOP `ccmp x18, #0, #0xd, pl` (bytes 4d 5a 40 fa)", () => {
    assert.deepEqual(decodeArm64(0xfa405a4d, 0), {
      offset: 0,
      size: 4,
      encoding: "0xfa405a4d",
      text: "ccmp x18, #0x0, #0xd, pl",
      mnemonic: "ccmp",
      fallsThrough: true,
      writes: ["nzcv"],
      harmless: true,
    });
  });

  it("decodes the older MZ word `add x13, x18, #0x16` (bytes 4d 5a 00 91): clobbers x13 only", () => {
    const decoded = decodeArm64(0x91005a4d, 0);
    assert.equal(decoded.text, "add x13, x18, #0x16");
    assert.deepEqual(decoded.writes, ["x13"]);
    assert.equal(decoded.harmless, true);
  });

  it("decodes code1 `b primary_entry` (0x14000057 at offset 4) with its target 4 + 0x57*4", () => {
    assert.deepEqual(decodeArm64(0x14000057, 4), {
      offset: 4,
      size: 4,
      encoding: "0x14000057",
      text: "b 0x160",
      mnemonic: "b",
      branchTarget: 0x160,
      fallsThrough: false,
      writes: [],
      harmless: true,
    });
  });

  it("decodes the non-EFI code0 `nop`", () => {
    const decoded = decodeArm64(0xd503201f, 0);
    assert.equal(decoded.text, "nop");
    assert.equal(decoded.harmless, true);
    assert.deepEqual(decoded.writes, []);
  });

  it("walks a real header start as bytes (quoted in reverseengineering.SE 19010 and systemd #26923)", () => {
    const old = decodeArm64Sequence(Uint8Array.of(0x4d, 0x5a, 0x00, 0x91, 0x57, 0x00, 0x00, 0x14), 2);
    assert.deepEqual(
      old.map((d) => [d.offset, d.text, d.branchTarget]),
      [
        [0, "add x13, x18, #0x16", undefined],
        [4, "b 0x160", 0x160],
      ],
    );
    const current = decodeArm64Sequence(Uint8Array.of(0x4d, 0x5a, 0x40, 0xfa, 0x57, 0x00, 0x00, 0x14), 2);
    assert.equal(current[0]?.text, "ccmp x18, #0x0, #0xd, pl");
    assert.equal(current[1]?.branchTarget, 0x160);
  });
});

/**
 * [word, offset, text] triples checked against GNU objdump 2.40 (Debian binutils-multiarch,
 * `objdump -D -b binary -m aarch64`) during development; objdump's "// ..." comments are dropped
 * and a negative target is written "-0x..." where objdump prints the 64-bit wrap-around.
 */
const OBJDUMP_VERIFIED: ReadonlyArray<readonly [number, number, string]> = [
  // B / BL: imm26 boundaries and sign extension.
  [0x16000000, 0x4, "b -0x7fffffc"],
  [0x15ffffff, 0x8, "b 0x8000004"],
  [0x97ffffff, 0xc, "bl 0x8"],
  [0x94000001, 0x10, "bl 0x14"],
  // B.cond, CBZ/CBNZ: imm19 boundaries.
  [0x54ffffe1, 0x14, "b.ne 0x10"],
  [0x547fffe0, 0x18, "b.eq 0x100014"],
  [0x54000002, 0x8, "b.cs 0x8"],
  [0x54000003, 0xc, "b.cc 0xc"],
  [0x34800000, 0x1c, "cbz w0, -0xfffe4"],
  [0xb47fffff, 0x20, "cbz xzr, 0x10001c"],
  [0xb5ffffe0, 0x14, "cbnz x0, 0x10"],
  // ADR / ADRP.
  [0x30ffffff, 0x24, "adr xzr, 0x21"],
  [0x70000000, 0x28, "adr x0, 0x2b"],
  [0xf0ffffff, 0x2c, "adrp xzr, -0x1000"],
  [0x90000000, 0x1c, "adrp x0, 0x0"],
  // LDR (literal) and friends.
  [0x18ffffe0, 0x30, "ldr w0, 0x2c"],
  [0x58000040, 0x20, "ldr x0, 0x28"],
  [0x98000040, 0x28, "ldrsw x0, 0x30"],
  [0x1c000040, 0x30, "ldr s0, 0x38"],
  [0x5c000040, 0x34, "ldr d0, 0x3c"],
  [0x9c000040, 0x38, "ldr q0, 0x40"],
  [0xd8000061, 0x78, "prfm pldl1strm, 0x84"],
  [0xd80000ba, 0x7c, "prfm #0x1a, 0x90"],
  // Move wide and its MOV aliases.
  [0x92800000, 0x3c, "mov x0, #0xffffffffffffffff"],
  [0x12800000, 0x40, "mov w0, #0xffffffff"],
  [0x12800020, 0x2c, "mov w0, #0xfffffffe"],
  [0xd2a00020, 0x44, "mov x0, #0x10000"],
  [0xd2ffffe0, 0x38, "mov x0, #0xffff000000000000"],
  [0x92bfffe0, 0x50, "mov x0, #0xffffffff0000ffff"],
  [0xd2800000, 0x20, "mov x0, #0x0"],
  [0xd2a00000, 0x24, "movz x0, #0x0, lsl #16"],
  [0x12bfffe0, 0x4c, "movn w0, #0xffff, lsl #16"],
  [0xf2a00020, 0x48, "movk x0, #0x1, lsl #16"],
  [0xf2e0001f, 0x40, "movk xzr, #0x0, lsl #48"],
  // ADD/SUB (immediate): shifted, boundaries, SP forms and the CMP/CMN/MOV aliases.
  [0x91400420, 0x0, "add x0, x1, #0x1, lsl #12"],
  [0x91400000, 0x44, "add x0, x0, #0x0, lsl #12"],
  [0x913ffc00, 0x48, "add x0, x0, #0xfff"],
  [0xd13ffc1f, 0x4c, "sub sp, x0, #0xfff"],
  [0xf13ffc1f, 0x50, "cmp x0, #0xfff"],
  [0x7100041f, 0x54, "cmp w0, #0x1"],
  [0xb100001f, 0xc0, "cmn x0, #0x0"],
  [0x31000000, 0x74, "adds w0, w0, #0x0"],
  [0x910003e0, 0x7c, "mov x0, sp"],
  [0x9100001f, 0x44, "mov sp, x0"],
  [0x11000000, 0x34, "add w0, w0, #0x0"],
  // ADD/SUB (shifted register) and NEG/CMP/CMN.
  [0x8b010c20, 0xc, "add x0, x1, x1, lsl #3"],
  [0x8b410020, 0x10, "add x0, x1, x1, lsr #0"],
  [0x8b810c20, 0x14, "add x0, x1, x1, asr #3"],
  [0xeb0103ff, 0x0, "cmp xzr, x1"],
  [0xeb010c1f, 0x68, "cmp x0, x1, lsl #3"],
  [0xeb0103e0, 0x4, "negs x0, x1"],
  [0x4b0103e0, 0x6c, "neg w0, w1"],
  [0x2b01001f, 0x1c, "cmn w0, w1"],
  // CCMP / CCMN (immediate and register).
  [0x3a405a4d, 0x80, "ccmn w18, #0x0, #0xd, pl"],
  [0xba405a4d, 0x84, "ccmn x18, #0x0, #0xd, pl"],
  [0xfa42a820, 0x70, "ccmp x1, #0x2, #0x0, ge"],
  [0x3a400000, 0x6c, "ccmn w0, w0, #0x0, eq"],
  [0x3a5f1be0, 0x70, "ccmn wzr, #0x1f, #0x0, ne"],
  // HINT space.
  [0xd503233f, 0x60, "paciasp"],
  [0xd50323bf, 0x60, "autiasp"],
  [0xd503245f, 0x64, "bti c"],
  [0xd503241f, 0x0, "bti"],
  [0xd50324df, 0x0, "bti jc"],
  [0xd503207f, 0x5c, "wfi"],
  [0xd503251f, 0x64, "hint #0x28"],
  // Branch to register.
  [0xd65f03c0, 0x54, "ret"],
  [0xd65f0200, 0x68, "ret x16"],
  [0xd61f0200, 0x58, "br x16"],
  [0xd63f0200, 0x5c, "blr x16"],
  [0xd61f03e0, 0x6c, "br xzr"],
];

describe("decodeArm64: encodings verified against objdump", () => {
  for (const [word, offset, text] of OBJDUMP_VERIFIED) {
    it(`0x${word.toString(16).padStart(8, "0")} at 0x${offset.toString(16)} = ${text}`, () => {
      const decoded = decodeArm64(word, offset);
      assert.equal(decoded.text, text);
      assert.equal(decoded.mnemonic, text.split(" ")[0]);
      assert.equal(decoded.encoding, "0x" + word.toString(16).padStart(8, "0"));
    });
  }
});

describe("decodeArm64: effects", () => {
  it("computes branch targets with sign extension and marks what falls through", () => {
    const back = decodeArm64(0x17ffffff, 0xf4);
    assert.equal(back.branchTarget, 0xf0);
    assert.equal(back.fallsThrough, false);
    const cond = decodeArm64(0x54ffffe1, 0x14);
    assert.equal(cond.branchTarget, 0x10);
    assert.equal(cond.fallsThrough, true);
    // b.al is unconditional.
    assert.equal(decodeArm64(0x5400000e, 0).fallsThrough, false);
    const farBack = decodeArm64(0x16000000, 0);
    assert.equal(farBack.branchTarget, -0x8000000);
    const call = decodeArm64(0x94000001, 0x10);
    assert.deepEqual(call.writes, ["x30"]);
    assert.equal(call.harmless, true);
  });

  it("is not harmless when it clobbers a boot register (x0..x3)", () => {
    // add x0, x1, #0x1, lsl #12 / add x3, x18, #0x16 / add x4, x18, #0x16
    assert.equal(decodeArm64(0x91400420, 0).harmless, false);
    assert.equal(decodeArm64(0x91005a43, 0).harmless, false);
    assert.deepEqual(decodeArm64(0x91005a44, 0).writes, ["x4"]);
    assert.equal(decodeArm64(0x91005a44, 0).harmless, true);
    // A 32-bit write still changes the whole register.
    assert.deepEqual(decodeArm64(0x11000000, 0).writes, ["x0"]);
    // adds to xzr (cmp) writes only the flags.
    assert.deepEqual(decodeArm64(0xf100001f, 0).writes, ["nzcv"]);
  });

  it("is not harmless for memory access, indirect branches, waits and trapping PAC checks", () => {
    assert.equal(decodeArm64(0x58000044, 0).harmless, false); // ldr x4, literal
    assert.equal(decodeArm64(0xd65f03c0, 0).harmless, false); // ret
    assert.equal(decodeArm64(0xd63f0200, 0).harmless, false); // blr x16
    assert.equal(decodeArm64(0xd503207f, 0).harmless, false); // wfi
    assert.equal(decodeArm64(0xd50323bf, 0).harmless, false); // autiasp
    assert.equal(decodeArm64(0xd503233f, 0).harmless, true); // paciasp only signs x30
    assert.equal(decodeArm64(0xd503251f, 0).harmless, true); // unallocated hints execute as NOP
  });

  it("reports unknown and unallocated words as (unknown), not harmless", () => {
    // udf #0, all-ones, fmadd, CCMP with S=0 (unallocated), MOVN with opc=01 (unallocated),
    // LDR literal with V=1 opc=11 (unallocated), BC.cond (FEAT_HBC, out of scope).
    for (const word of [0x00000000, 0xffffffff, 0x1f000000, 0x9a42a820, 0xb2800000, 0xdc000000, 0x54000010]) {
      const decoded = decodeArm64(word, 8);
      assert.equal(decoded.text, "(unknown)", word.toString(16));
      assert.equal(decoded.mnemonic, "(unknown)");
      assert.equal(decoded.harmless, false);
      assert.equal(decoded.branchTarget, undefined);
      assert.equal(decoded.size, 4);
      assert.equal(decoded.offset, 8);
    }
  });

  it("accepts a negative int32 (DataView.getInt32) as the same word", () => {
    assert.equal(decodeArm64(0xfa405a4d | 0, 0).text, "ccmp x18, #0x0, #0xd, pl");
  });
});

describe("decodeArm64: hostile arguments", () => {
  it("rejects words that are not u32 values with E_BAD_FIELD", () => {
    for (const word of [2 ** 32, -(2 ** 31) - 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectKimgError(() => decodeArm64(word, 0), "E_BAD_FIELD");
    }
  });

  it("rejects bad offsets with E_BAD_OFFSET", () => {
    for (const offset of [-1, 0.5, Number.NaN, 2 ** 53]) expectKimgError(() => decodeArm64(0xd503201f, offset), "E_BAD_OFFSET");
  });
});

describe("decodeArm64Sequence", () => {
  it("reads little-endian words from a view with a non-zero byteOffset and a start", () => {
    const backing = new Uint8Array(32);
    const view = new Uint8Array(backing.buffer, 3, 20);
    view.set([0x1f, 0x20, 0x03, 0xd5, 0x4d, 0x5a, 0x40, 0xfa, 0x57, 0x00, 0x00, 0x14], 4);
    const decoded = decodeArm64Sequence(view, 3, { start: 4 });
    assert.deepEqual(
      decoded.map((d) => [d.offset, d.text]),
      [
        [4, "nop"],
        [8, "ccmp x18, #0x0, #0xd, pl"],
        [12, "b 0x168"],
      ],
    );
  });

  it("stops at the end of the data, also before a partial word", () => {
    const bytes = Uint8Array.of(0x1f, 0x20, 0x03, 0xd5, 0x1f, 0x20, 0x03);
    assert.equal(decodeArm64Sequence(bytes, 10).length, 1);
    assert.equal(decodeArm64Sequence(new Uint8Array(0), 4).length, 0);
    assert.equal(decodeArm64Sequence(bytes, 0).length, 0);
  });

  it("caps the count and checks the start", () => {
    const bytes = new Uint8Array(8);
    expectKimgError(() => decodeArm64Sequence(bytes, MAX_SEQUENCE_INSTRUCTIONS + 1), "E_LIMIT");
    expectKimgError(() => decodeArm64Sequence(bytes, -1), "E_LIMIT");
    expectKimgError(() => decodeArm64Sequence(bytes, 1, { start: 9 }), "E_BAD_OFFSET");
    expectKimgError(() => decodeArm64Sequence(bytes, 1, { start: -4 }), "E_BAD_OFFSET");
  });
});
