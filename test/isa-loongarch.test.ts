import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KimgError } from "../src/io/errors.js";
import { decodeLoongArch, decodeLoongArchSequence } from "../src/isa/loongarch.js";
import { MAX_SEQUENCE_INSTRUCTIONS } from "../src/isa/types.js";

function expectKimgError(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof KimgError && error.code === code);
}

describe("decodeLoongArch: the MZ word of a real LoongArch image", () => {
  it('decodes "MZ\\0\\0" (0x00005a4d) as ext.w.h $t1, $t6: writes only $t1, harmless', () => {
    assert.deepEqual(decodeLoongArch(0x00005a4d, 0), {
      offset: 0,
      size: 4,
      encoding: "0x00005a4d",
      text: "ext.w.h $t1, $t6",
      mnemonic: "ext.w.h",
      fallsThrough: true,
      writes: ["$t1"],
      harmless: true,
    });
  });

  it("decodes 0x00105a4d as add.w $t1, $t6, $fp (kernel-formats.md §4)", () => {
    const decoded = decodeLoongArch(0x00105a4d, 0);
    assert.equal(decoded.text, "add.w $t1, $t6, $fp");
    assert.deepEqual(decoded.writes, ["$t1"]);
    assert.equal(decoded.harmless, true);
  });

  it("walks the header start: MZ word, then res0 = 0, which is no instruction", () => {
    const header = Uint8Array.of(0x4d, 0x5a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    assert.deepEqual(
      decodeLoongArchSequence(header, 4).map((d) => [d.offset, d.text, d.harmless]),
      [
        [0, "ext.w.h $t1, $t6", true],
        [4, "(unknown)", false],
      ],
    );
  });
});

/**
 * [word, text] pairs from the expected `objdump -d` output in GNU binutils' testsuite
 * (gas/testsuite/gas/loongarch/fix_op.d, imm_ins.d, jmp_op.d, insn_alias_32.d). Our text differs
 * only in leaving out the "(0x...)" echo of negative immediates and, for branches, in showing the
 * target offset instead of the displacement (see BRANCHES).
 */
const BINUTILS_TESTSUITE: ReadonlyArray<readonly [number, string]> = [
  [0x000010a4, "clo.w $a0, $a1"],
  [0x00002ca4, "ctz.d $a0, $a1"],
  [0x00003ca4, "revb.d $a0, $a1"],
  [0x000054a4, "bitrev.d $a0, $a1"],
  [0x000058a4, "ext.w.h $a0, $a1"],
  [0x00005ca4, "ext.w.b $a0, $a1"],
  [0x001500a4, "move $a0, $a1"],
  [0x000068a4, "rdtime.d $a0, $a1"],
  [0x00006ca4, "cpucfg $a0, $a1"],
  [0x000598a4, "alsl.w $a0, $a1, $a2, 0x4"],
  [0x002c18a4, "alsl.d $a0, $a1, $a2, 0x1"],
  [0x001018a4, "add.w $a0, $a1, $a2"],
  [0x001098a4, "add.d $a0, $a1, $a2"],
  [0x001118a4, "sub.w $a0, $a1, $a2"],
  [0x001198a4, "sub.d $a0, $a1, $a2"],
  [0x001418a4, "nor $a0, $a1, $a2"],
  [0x001498a4, "and $a0, $a1, $a2"],
  [0x001518a4, "or $a0, $a1, $a2"],
  [0x001598a4, "xor $a0, $a1, $a2"],
  [0x001d98a4, "mul.d $a0, $a1, $a2"],
  [0x002398a4, "mod.du $a0, $a1, $a2"],
  [0x002a0000, "break 0x0"],
  [0x002a7fff, "break 0x7fff"],
  [0x002b0002, "syscall 0x2"],
  [0x0040fca4, "slli.w $a0, $a1, 0x1f"],
  [0x0041fca4, "slli.d $a0, $a1, 0x3f"],
  [0x0049fca4, "srai.d $a0, $a1, 0x3f"],
  [0x004dfca4, "rotri.d $a0, $a1, 0x3f"],
  [0x007f00a4, "bstrins.w $a0, $a1, 0x1f, 0x0"],
  [0x006284a4, "bstrpick.w $a0, $a1, 0x2, 0x1"],
  [0x00bf00a4, "bstrins.d $a0, $a1, 0x3f, 0x0"],
  [0x00df04a4, "bstrpick.d $a0, $a1, 0x1f, 0x1"],
  [0x02048dac, "slti $t0, $t1, 291"],
  [0x02448dac, "sltui $t0, $t1, 291"],
  [0x02848dac, "addi.w $t0, $t1, 291"],
  [0x02c48dac, "addi.d $t0, $t1, 291"],
  [0x03048dac, "lu52i.d $t0, $t1, 291"],
  [0x034009ac, "andi $t0, $t1, 0x2"],
  [0x038009ac, "ori $t0, $t1, 0x2"],
  [0x03c009ac, "xori $t0, $t1, 0x2"],
  [0x100009ac, "addu16i.d $t0, $t1, 2"],
  [0x03848c0c, "li.w $t0, 0x123"],
  [0x02bffc0e, "li.w $t2, -1"],
  [0x02bffc04, "li.w $a0, -1"],
  [0x15ffe00d, "lu12i.w $t1, -256"],
  [0x1400246c, "lu12i.w $t0, 291"],
  [0x16001fed, "lu32i.d $t1, 255"],
  [0x1800246c, "pcaddi $t0, 291"],
  [0x1a00246c, "pcalau12i $t0, 291"],
  [0x1c00246c, "pcaddu12i $t0, 291"],
  [0x1e00246c, "pcaddu18i $t0, 291"],
  [0x04048c0c, "csrrd $t0, 0x123"],
  [0x04048c2c, "csrwr $t0, 0x123"],
  [0x040009ac, "csrxchg $t0, $t1, 0x2"],
  [0x060009a2, "cacop 0x2, $t1, 2"],
  [0x200101ac, "ll.w $t0, $t1, 256"],
  [0x230101ac, "sc.d $t0, $t1, 256"],
  [0x260101ac, "ldptr.d $t0, $t1, 256"],
  [0x270101ac, "stptr.d $t0, $t1, 256"],
  [0x280401ac, "ld.b $t0, $t1, 256"],
  [0x28c401ac, "ld.d $t0, $t1, 256"],
  [0x29c401ac, "st.d $t0, $t1, 256"],
  [0x2a8401ac, "ld.wu $t0, $t1, 256"],
  [0x2ac401a2, "preld 0x2, $t1, 256"],
  [0x2b848d8a, "fld.d $ft2, $t0, 291"],
  [0x2bc48d8a, "fst.d $ft2, $t0, 291"],
  [0x03400000, "nop"],
  [0x4c000080, "jr $a0"],
  [0x4c000020, "ret"],
];

/** Branches from jmp_op.d / insn_alias_32.d: [word, offset, text, objdump's displacement]. */
const BRANCHES: ReadonlyArray<readonly [number, number, string, number]> = [
  [0x63fffc04, 0x04, "bgtz $a0, 0x0", -4],
  [0x67fff880, 0x08, "bgez $a0, 0x0", -8],
  [0x67fff404, 0x0c, "blez $a0, 0x0", -12],
  [0x43fff09f, 0x10, "beqz $a0, 0x0", -16],
  [0x47ffec9f, 0x14, "bnez $a0, 0x0", -20],
  [0x53ffdfff, 0x24, "b 0x0", -36],
  [0x57ffdbff, 0x28, "bl 0x0", -40],
  [0x5bffd485, 0x2c, "beq $a0, $a1, 0x0", -44],
  [0x5fffd085, 0x30, "bne $a0, $a1, 0x0", -48],
  [0x63ffc8a4, 0x38, "blt $a1, $a0, 0x0", -56],
  [0x67ffc485, 0x3c, "bge $a0, $a1, 0x0", -60],
  [0x6bffbc85, 0x44, "bltu $a0, $a1, 0x0", -68],
  [0x6fffb0a4, 0x50, "bgeu $a1, $a0, 0x0", -80],
  [0x60000080, 0x18, "bltz $a0, 0x18", 0],
];

describe("decodeLoongArch: encodings from the GNU binutils testsuite", () => {
  for (const [word, text] of BINUTILS_TESTSUITE) {
    it(`0x${word.toString(16).padStart(8, "0")} = ${text}`, () => {
      const decoded = decodeLoongArch(word, 0x100);
      assert.equal(decoded.text, text);
      assert.equal(decoded.mnemonic, text.split(" ")[0]);
    });
  }
  for (const [word, offset, text, displacement] of BRANCHES) {
    it(`0x${word.toString(16)} at 0x${offset.toString(16)} = ${text}`, () => {
      const decoded = decodeLoongArch(word, offset);
      assert.equal(decoded.text, text);
      assert.equal(decoded.branchTarget, offset + displacement);
    });
  }
});

describe("decodeLoongArch: offset boundaries (fields per the manual's I26, 1RI21, 2RI16, 2RI12, 1RI20 layouts)", () => {
  const cases: Array<[number, number, string, number | undefined]> = [
    [0x53fffdff, 0x1000, "b 0x8000ffc", 0x1000 + 0x7fffffc],
    [0x50000200, 0x1000, "b -0x7fff000", 0x1000 - 0x8000000],
    [0x43fffc8f, 0x0, "beqz $a0, 0x3ffffc", 0x3ffffc],
    [0x40000090, 0x0, "beqz $a0, -0x400000", -0x400000],
    [0x59fffc85, 0x0, "beq $a0, $a1, 0x1fffc", 0x1fffc],
    [0x5a000085, 0x40, "beq $a0, $a1, -0x1ffc0", 0x40 - 0x20000],
    [0x029ffca4, 0x0, "addi.w $a0, $a1, 2047", undefined],
    [0x02a000a4, 0x0, "addi.w $a0, $a1, -2048", undefined],
    [0x02ffc063, 0x0, "addi.d $sp, $sp, -16", undefined],
    [0x14ffffec, 0x0, "lu12i.w $t0, 524287", undefined],
    [0x1500000c, 0x0, "lu12i.w $t0, -524288", undefined],
    [0x4c000181, 0x0, "jirl $ra, $t0, 0", undefined],
    [0x4ffffda1, 0x0, "jirl $ra, $t1, -4", undefined],
  ];
  for (const [word, offset, text, target] of cases) {
    it(text, () => {
      const decoded = decodeLoongArch(word, offset);
      assert.equal(decoded.text, text);
      assert.equal(decoded.branchTarget, target);
    });
  }
});

describe("decodeLoongArch: effects", () => {
  it("is not harmless when it clobbers a0..a2 (efi_boot, cmdline, systab)", () => {
    assert.equal(decodeLoongArch(0x001018a4, 0).harmless, false); // add.w $a0, $a1, $a2
    assert.equal(decodeLoongArch(0x001018a6, 0).harmless, false); // add.w $a2, $a1, $a2
    assert.equal(decodeLoongArch(0x001018a7, 0).harmless, true); // add.w $a3, $a1, $a2
  });

  it("records every register written", () => {
    assert.deepEqual(decodeLoongArch(0x000068a4, 0).writes, ["$a0", "$a1"]); // rdtime.d writes rd and rj
    assert.deepEqual(decodeLoongArch(0x57ffdbff, 0x28).writes, ["$ra"]); // bl
    assert.deepEqual(decodeLoongArch(0x53ffdfff, 0x24).writes, []); // b
    assert.deepEqual(decodeLoongArch(0x03400000, 0).writes, []); // nop
    assert.deepEqual(decodeLoongArch(0x29c401ac, 0).writes, []); // st.d
    assert.deepEqual(decodeLoongArch(0x28c401ac, 0).writes, ["$t0"]); // ld.d
    assert.deepEqual(decodeLoongArch(0x2b848d8a, 0).writes, ["$ft2"]); // fld.d
    assert.deepEqual(decodeLoongArch(0x02800000, 0).writes, []); // li.w $zero, 0
  });

  it("is not harmless for memory, CSR, traps, waits and indirect jumps; barriers and direct branches are", () => {
    const harmful = [0x28c401ac, 0x29c401ac, 0x04048c0c, 0x04048c2c, 0x040009ac, 0x002b0002, 0x002a0000, 0x06488000, 0x06483800, 0x4c000020, 0x4c000181];
    for (const word of harmful) assert.equal(decodeLoongArch(word, 0).harmless, false, word.toString(16));
    const harmless = [0x03400000, 0x38720000, 0x53ffdfff, 0x57ffdbff, 0x43fff09f, 0x1800246c];
    for (const word of harmless) assert.equal(decodeLoongArch(word, 0).harmless, true, word.toString(16));
  });

  it("decodes the privileged returns and waits with their control flow", () => {
    const ertn = decodeLoongArch(0x06483800, 0);
    assert.equal(ertn.text, "ertn");
    assert.equal(ertn.fallsThrough, false);
    assert.equal(decodeLoongArch(0x06488000, 0).text, "idle 0x0");
    assert.equal(decodeLoongArch(0x06483400, 0).text, "tlbfill");
    assert.equal(decodeLoongArch(0x38720000, 0).text, "dbar 0x0");
    assert.equal(decodeLoongArch(0x38728000, 0).text, "ibar 0x0");
    assert.equal(decodeLoongArch(0x4c000020, 0).fallsThrough, false);
    assert.equal(decodeLoongArch(0x53ffdfff, 0x24).fallsThrough, false);
    assert.equal(decodeLoongArch(0x43fff09f, 0x10).fallsThrough, true);
  });

  it("reports words outside the decoded set as (unknown)", () => {
    // 0, all-ones, bytepick.w, crc.w.b.w, bceqz (FP condition branch), asrtle.d, vector vld.
    for (const word of [0x00000000, 0xffffffff, 0x000818a4, 0x002418a4, 0x4bffe81f, 0x000118a0, 0x2c000000]) {
      const decoded = decodeLoongArch(word, 0);
      assert.equal(decoded.text, "(unknown)", word.toString(16));
      assert.equal(decoded.harmless, false);
      assert.deepEqual(decoded.writes, []);
    }
  });
});

describe("decodeLoongArch: hostile arguments and sequences", () => {
  it("rejects non-u32 words and bad offsets", () => {
    expectKimgError(() => decodeLoongArch(2 ** 32, 0), "E_BAD_FIELD");
    expectKimgError(() => decodeLoongArch(0.25, 0), "E_BAD_FIELD");
    expectKimgError(() => decodeLoongArch(0x00005a4d, -4), "E_BAD_OFFSET");
  });

  it("decodes from a start in a view with a non-zero byteOffset, stops at the data end", () => {
    const backing = new Uint8Array(24);
    const view = new Uint8Array(backing.buffer, 1, 14);
    view.set([0x4d, 0x5a, 0x00, 0x00, 0xff, 0xdf, 0xff, 0x53, 0x00, 0x00], 2);
    const decoded = decodeLoongArchSequence(view, 8, { start: 2 });
    assert.deepEqual(
      decoded.map((d) => [d.offset, d.text]),
      [
        [2, "ext.w.h $t1, $t6"],
        [6, "b -0x1e"],
        [10, "(unknown)"],
      ],
    );
  });

  it("caps the count and checks the start", () => {
    expectKimgError(() => decodeLoongArchSequence(new Uint8Array(4), MAX_SEQUENCE_INSTRUCTIONS + 1), "E_LIMIT");
    expectKimgError(() => decodeLoongArchSequence(new Uint8Array(4), 1, { start: 5 }), "E_BAD_OFFSET");
  });
});
