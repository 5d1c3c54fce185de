import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KimgError } from "../src/io/errors.js";
import { decodeRiscv, decodeRiscvSequence } from "../src/isa/riscv.js";
import { MAX_SEQUENCE_INSTRUCTIONS } from "../src/isa/types.js";

function expectKimgError(fn: () => unknown, code: string): KimgError {
  let caught: unknown;
  assert.throws(fn, (error: unknown) => {
    caught = error;
    return error instanceof KimgError && error.code === code;
  });
  return caught as KimgError;
}

/** Little-endian bytes for a list of 16-bit ("h") and 32-bit ("w") instructions. */
function assemble(...parts: Array<["h" | "w", number]>): Uint8Array {
  const bytes: number[] = [];
  for (const [kind, value] of parts) {
    bytes.push(value & 0xff, (value >>> 8) & 0xff);
    if (kind === "w") bytes.push((value >>> 16) & 0xff, value >>> 24);
  }
  return Uint8Array.from(bytes);
}

describe("decodeRiscv: the first instructions of a real RISC-V Image", () => {
  it('decodes bytes 4d 5a ("MZ") as c.li s4, -13: harmless', () => {
    assert.deepEqual(decodeRiscv(Uint8Array.of(0x4d, 0x5a), 0), {
      offset: 0,
      size: 2,
      encoding: "0x5a4d",
      text: "c.li s4, -13",
      mnemonic: "c.li",
      fallsThrough: true,
      writes: ["s4"],
      harmless: true,
    });
  });

  it('decodes "MZo\\x10..." (systemd #26923) as c.li then `j _start_kernel` at offset 2, target 2 + imm', () => {
    // The high half 0x0400 was chosen for the test; objdump 2.40 shows "j 0x1042".
    const image = Uint8Array.of(0x4d, 0x5a, 0x6f, 0x10, 0x00, 0x04, 0x00, 0x00);
    const [mz, jump] = decodeRiscvSequence(image, 2);
    assert.equal(mz?.text, "c.li s4, -13");
    assert.deepEqual(jump, {
      offset: 2,
      size: 4,
      encoding: "0x0400106f",
      text: "j 0x1042",
      mnemonic: "j",
      branchTarget: 0x1042,
      fallsThrough: false,
      writes: [],
      harmless: true,
    });
  });

  it("decodes the non-EFI start `j _start_kernel; .word 0`", () => {
    const image = assemble(["w", 0x0400106f], ["w", 0]);
    const [jump, pad] = decodeRiscvSequence(image, 2);
    assert.equal(jump?.text, "j 0x1040");
    assert.equal(jump?.branchTarget, 0x1040);
    // The all-zero halfword is the defined illegal instruction.
    assert.equal(pad?.text, "c.unimp");
    assert.equal(pad?.size, 2);
    assert.equal(pad?.harmless, false);
  });
});

/**
 * [encoding, offset, text] checked against GNU objdump 2.40 (Debian binutils-multiarch,
 * `objdump -D -b binary -m riscv:rv64`; compressed forms with `-M no-aliases`) during
 * development, most of them assembled with llvm-mc. Differences from objdump's text: ", " between
 * operands, no "# ..." comment, "c.nop", "addi"/"slli"/"srai" where binutils 2.40 prints
 * "add"/"sll"/"sra" for immediates, and "-0x..." for a target before the image start.
 */
const OBJDUMP_VERIFIED_16: ReadonlyArray<readonly [number, number, string]> = [
  [0xaffd, 0x0, "c.j 0x7fe"],
  [0xb001, 0x2, "c.j -0x7fe"],
  [0xa001, 0x14, "c.j 0x14"],
  [0xcd7d, 0x4, "c.beqz a0, 0x102"],
  [0xf081, 0x6, "c.bnez s1, -0xfa"],
  [0xe111, 0x18, "c.bnez a0, 0x1c"],
  [0x47fd, 0x8, "c.li a5, 31"],
  [0x5781, 0xa, "c.li a5, -32"],
  [0x4501, 0xa, "c.li a0, 0"],
  [0x617d, 0xc, "c.addi16sp sp, 496"],
  [0x7101, 0xe, "c.addi16sp sp, -512"],
  [0x7179, 0x12, "c.addi16sp sp, -48"],
  [0x7281, 0x10, "c.lui t0, 0xfffe0"],
  [0x62fd, 0x12, "c.lui t0, 0x1f"],
  [0x6541, 0x10, "c.lui a0, 0x10"],
  [0x7555, 0x24, "c.lui a0, 0xffff5"],
  [0x157d, 0x14, "c.addi a0, -1"],
  [0x9a01, 0x16, "c.andi a2, -32"],
  [0x147e, 0x18, "c.slli s0, 0x3f"],
  [0x9781, 0x1a, "c.srai a5, 0x20"],
  [0x8105, 0x2c, "c.srli a0, 0x1"],
  [0x8a7e, 0x1c, "c.mv s4, t6"],
  [0x852e, 0xc, "c.mv a0, a1"],
  [0x9532, 0xe, "c.add a0, a2"],
  [0x9282, 0x1e, "c.jalr t0"],
  [0x8082, 0x8, "c.jr ra"],
  [0x9002, 0x1e, "c.ebreak"],
  [0x0001, 0x6, "c.nop"],
  [0x5ff8, 0x20, "c.lw a4, 124(a5)"],
  [0x7ff8, 0x22, "c.ld a4, 248(a5)"],
  [0xc398, 0x24, "c.sw a4, 0(a5)"],
  [0xfc7c, 0x26, "c.sd a5, 248(s0)"],
  [0x50fe, 0x28, "c.lwsp ra, 252(sp)"],
  [0x747e, 0x2a, "c.ldsp s0, 504(sp)"],
  [0xdf86, 0x2c, "c.swsp ra, 252(sp)"],
  [0xffa2, 0x2e, "c.sdsp s0, 504(sp)"],
  [0x1ffc, 0x30, "c.addi4spn a5, sp, 1020"],
  [0x0020, 0x22, "c.addi4spn s0, sp, 8"],
  [0x8d7d, 0x32, "c.and a0, a5"],
  [0x8d5d, 0x34, "c.or a0, a5"],
  [0x8d3d, 0x36, "c.xor a0, a5"],
  [0x8d09, 0x28, "c.sub a0, a0"],
  [0x9d1d, 0x38, "c.subw a0, a5"],
  [0x9d29, 0x2a, "c.addw a0, a0"],
  [0x3575, 0x30, "c.addiw a0, -3"],
  [0x2588, 0x3a, "c.fld fa0, 8(a1)"],
];

const OBJDUMP_VERIFIED_32: ReadonlyArray<readonly [number, number, string]> = [
  [0x7ffff06f, 0x3c, "j 0x10003a"],
  [0x8000006f, 0x40, "j -0xfffc0"],
  [0xffdff0ef, 0x44, "jal 0x40"],
  [0x7e628fe3, 0x48, "beq t0, t1, 0x1046"],
  [0x80629063, 0x4c, "bne t0, t1, -0xfb4"],
  [0x00b56863, 0x50, "bltu a0, a1, 0x60"],
  [0xfeb578e3, 0x54, "bgeu a0, a1, 0x44"],
  [0xfe050ee3, 0x3c, "beqz a0, 0x38"],
  [0x7ff50513, 0x58, "addi a0, a0, 2047"],
  [0x80050513, 0x5c, "addi a0, a0, -2048"],
  [0xff010113, 0x3c, "addi sp, sp, -16"],
  [0x12345537, 0x28, "lui a0, 0x12345"],
  [0x80000297, 0x62, "auipc t0, 0x80000"],
  [0x00000517, 0x24, "auipc a0, 0x0"],
  [0xfff58503, 0x66, "lb a0, -1(a1)"],
  [0x7ff5d503, 0x6a, "lhu a0, 2047(a1)"],
  [0x8005e503, 0x6e, "lwu a0, -2048(a1)"],
  [0x00053503, 0x34, "ld a0, 0(a0)"],
  [0xfea12e23, 0x72, "sw a0, -4(sp)"],
  [0x00b53023, 0x38, "sd a1, 0(a0)"],
  [0x14051573, 0x7a, "csrrw a0, sscratch, a0"],
  [0x10002573, 0x40, "csrr a0, sstatus"],
  [0xf1402573, 0x70, "csrr a0, mhartid"],
  [0x10551073, 0x44, "csrw stvec, a0"],
  [0x18051073, 0xa0, "csrw satp, a0"],
  [0x1007a073, 0x48, "csrs sstatus, a5"],
  [0x1045b073, 0x7e, "csrc sie, a1"],
  [0x14405073, 0x82, "csrwi sip, 0"],
  [0x10016073, 0xa4, "csrsi sstatus, 2"],
  [0x7c0ff573, 0x86, "csrrci a0, 0x7c0, 31"],
  [0xc0102573, 0x6c, "rdtime a0"],
  [0xc0001073, 0x68, "unimp"],
  [0xfff5851b, 0x8a, "addiw a0, a1, -1"],
  [0x0005051b, 0x80, "sext.w a0, a0"],
  [0x01f5951b, 0x8e, "slliw a0, a1, 0x1f"],
  [0x41f5d51b, 0x92, "sraiw a0, a1, 0x1f"],
  [0x03f5d513, 0x96, "srli a0, a1, 0x3f"],
  [0x43f5d513, 0x9a, "srai a0, a1, 0x3f"],
  [0xfff54513, 0x74, "not a0, a0"],
  [0x00153513, 0x78, "seqz a0, a0"],
  [0x00b03533, 0x9e, "snez a0, a1"],
  [0x40c58533, 0xa2, "sub a0, a1, a2"],
  [0x40a00533, 0x84, "neg a0, a0"],
  [0x40b0053b, 0xa6, "negw a0, a1"],
  [0x02b50533, 0x88, "mul a0, a0, a1"],
  [0x02c5d533, 0xaa, "divu a0, a1, a2"],
  [0x02c5e53b, 0xae, "remw a0, a1, a2"],
  [0x12000073, 0xb2, "sfence.vma"],
  [0x12050073, 0xb6, "sfence.vma a0"],
  [0x12b50073, 0xba, "sfence.vma a0, a1"],
  [0x0ff0000f, 0x4c, "fence"],
  [0x0330000f, 0xbe, "fence rw, rw"],
  [0x8330000f, 0xc2, "fence.tso"],
  [0x0000100f, 0x50, "fence.i"],
  [0x00000073, 0x54, "ecall"],
  [0x00100073, 0x58, "ebreak"],
  [0x10200073, 0x5c, "sret"],
  [0x30200073, 0x60, "mret"],
  [0x10500073, 0x64, "wfi"],
  [0x000500e7, 0x8c, "jalr a0"],
  [0x00008067, 0x90, "ret"],
  [0x000080e7, 0x94, "jalr ra"],
  [0x008302e7, 0xc6, "jalr t0, 8(t1)"],
  [0x00430067, 0xca, "jr 4(t1)"],
];

describe("decodeRiscv: encodings verified against objdump", () => {
  for (const [half, offset, text] of OBJDUMP_VERIFIED_16) {
    it(`0x${half.toString(16).padStart(4, "0")} at 0x${offset.toString(16)} = ${text}`, () => {
      const bytes = new Uint8Array(offset + 2);
      bytes.set(assemble(["h", half]), offset);
      const decoded = decodeRiscv(bytes, offset);
      assert.equal(decoded.text, text);
      assert.equal(decoded.size, 2);
      assert.equal(decoded.mnemonic, text.split(" ")[0]);
      assert.equal(decoded.encoding, "0x" + half.toString(16).padStart(4, "0"));
    });
  }
  for (const [word, offset, text] of OBJDUMP_VERIFIED_32) {
    it(`0x${word.toString(16).padStart(8, "0")} at 0x${offset.toString(16)} = ${text}`, () => {
      const bytes = new Uint8Array(offset + 4);
      bytes.set(assemble(["w", word]), offset);
      const decoded = decodeRiscv(bytes, offset);
      assert.equal(decoded.text, text);
      assert.equal(decoded.size, 4);
      assert.equal(decoded.mnemonic, text.split(" ")[0]);
    });
  }
});

describe("decodeRiscv: RV32", () => {
  // objdump 2.40 -m riscv:rv32 -M no-aliases.
  it("decodes the RV32-only compressed encodings", () => {
    const cases: Array<[number, number, string]> = [
      [0x2001, 0, "c.jal 0x0"],
      [0x3ffd, 2, "c.jal 0x0"],
      [0x6188, 4, "c.flw fa0, 0(a1)"],
      [0xe188, 6, "c.fsw fa0, 0(a1)"],
      [0x6502, 8, "c.flwsp fa0, 0(sp)"],
      [0xe02e, 10, "c.fswsp fa1, 0(sp)"],
    ];
    for (const [half, offset, text] of cases) {
      const bytes = new Uint8Array(16);
      bytes.set(assemble(["h", half]), offset);
      assert.equal(decodeRiscv(bytes, offset, { xlen: 32 }).text, text);
    }
    const call = decodeRiscv(assemble(["h", 0x3ffd]), 0, { xlen: 32 });
    assert.equal(call.branchTarget, -2);
    assert.deepEqual(call.writes, ["ra"]);
    assert.equal(call.fallsThrough, false);
  });

  it("rejects RV64-only encodings and reserved shift amounts", () => {
    // ld, addiw (sext.w), slli with shamt[5] = 1, c.slli with shamt[5] = 1.
    const bytes = assemble(["w", 0x00053503], ["w", 0x0005051b], ["w", 0x02051513], ["h", 0x1006]);
    assert.deepEqual(
      decodeRiscvSequence(bytes, 4, { xlen: 32 }).map((d) => d.text),
      ["(unknown)", "(unknown)", "(unknown)", "(unknown)"],
    );
    assert.deepEqual(
      decodeRiscvSequence(bytes, 4).map((d) => d.text),
      ["ld a0, 0(a0)", "sext.w a0, a0", "slli a0, a0, 0x20", "c.slli zero, 0x21"],
    );
  });
});

describe("decodeRiscv: effects", () => {
  it("is not harmless when it clobbers a0 or a1 (hart id, DTB)", () => {
    assert.equal(decodeRiscv(assemble(["h", 0x4501]), 0).harmless, false); // c.li a0, 0
    assert.equal(decodeRiscv(assemble(["h", 0x852e]), 0).harmless, false); // c.mv a0, a1
    assert.equal(decodeRiscv(assemble(["h", 0x8a7e]), 0).harmless, true); // c.mv s4, t6
    assert.equal(decodeRiscv(assemble(["w", 0x80000297]), 0).harmless, true); // auipc t0
    assert.deepEqual(decodeRiscv(assemble(["w", 0xffdff0ef]), 0).writes, ["ra"]);
  });

  it("is not harmless for memory, CSR, traps and indirect jumps", () => {
    for (const word of [0x00053503, 0xfea12e23, 0x10002573, 0x18051073, 0x00000073, 0x10500073, 0x00008067]) {
      assert.equal(decodeRiscv(assemble(["w", word]), 0).harmless, false, word.toString(16));
    }
    for (const half of [0x747e, 0xffa2, 0x9002, 0x8082, 0x9282]) {
      assert.equal(decodeRiscv(assemble(["h", half]), 0).harmless, false, half.toString(16));
    }
  });

  it("writes nothing for x0 and knows what falls through", () => {
    // c.li zero, 5 is a hint; c.nop; j; c.beqz; mret.
    assert.deepEqual(decodeRiscv(assemble(["h", 0x4015]), 0).writes, []);
    assert.equal(decodeRiscv(assemble(["h", 0x0001]), 0).harmless, true);
    assert.equal(decodeRiscv(assemble(["w", 0x0040006f]), 0).fallsThrough, false);
    assert.equal(decodeRiscv(assemble(["h", 0xc111]), 0).fallsThrough, true);
    assert.equal(decodeRiscv(assemble(["w", 0x30200073]), 0).fallsThrough, false);
  });

  it("reports unknown and reserved encodings as (unknown)", () => {
    const unknown16 = [
      0x6101, // c.addi16sp sp, 0 (reserved)
      0x8000, // quadrant 0 funct3 100 (reserved)
      0x4002, // c.lwsp zero (reserved)
      0x8002, // c.jr zero (reserved)
      0x2005, // c.addiw zero (reserved)
    ];
    for (const half of unknown16) {
      const decoded = decodeRiscv(assemble(["h", half]), 0);
      assert.equal(decoded.text, "(unknown)", half.toString(16));
      assert.equal(decoded.size, 2);
      assert.equal(decoded.harmless, false);
    }
    // Longer than 32 bits, custom-0, flw (no F support), MISC-MEM funct3 010, fence.i with non-zero
    // reserved fields, BRANCH funct3 010, reserved major opcode 0x6b, SYSTEM funct3 100.
    for (const word of [0xffffffff, 0x0000000b, 0x00002007, 0x0000200f, 0x1c2c968f, 0x00002063, 0x0000706b, 0x00004073]) {
      const decoded = decodeRiscv(assemble(["w", word]), 0);
      assert.equal(decoded.text, "(unknown)", word.toString(16));
      assert.equal(decoded.size, 4);
      assert.equal(decoded.encoding, "0x" + word.toString(16).padStart(8, "0"));
    }
  });
});

describe("decodeRiscv: hostile input", () => {
  it("throws E_TRUNCATED when the 2 or 4 bytes are not there", () => {
    const none = expectKimgError(() => decodeRiscv(Uint8Array.of(0x4d), 0), "E_TRUNCATED");
    assert.equal(none.offset, 0);
    const half = expectKimgError(() => decodeRiscv(Uint8Array.of(0x4d, 0x5a, 0x6f, 0x10, 0x00), 2), "E_TRUNCATED");
    assert.equal(half.offset, 2);
    assert.equal(half.data.expected, 4);
    assert.equal(half.data.actual, 3);
    expectKimgError(() => decodeRiscv(new Uint8Array(4), 9), "E_TRUNCATED");
  });

  it("rejects bad offsets with E_BAD_OFFSET", () => {
    for (const offset of [-2, 1.5, Number.NaN]) expectKimgError(() => decodeRiscv(new Uint8Array(8), offset), "E_BAD_OFFSET");
  });
});

describe("decodeRiscvSequence", () => {
  it("mixes 2- and 4-byte instructions and honours start and a non-zero byteOffset", () => {
    const backing = new Uint8Array(40);
    const view = new Uint8Array(backing.buffer, 5, 30);
    view.set(assemble(["h", 0x5a4d], ["w", 0x0400106f], ["h", 0x0001], ["w", 0xff010113]), 6);
    const decoded = decodeRiscvSequence(view, 10, { start: 6 });
    assert.deepEqual(
      decoded.slice(0, 4).map((d) => [d.offset, d.size, d.text]),
      [
        [6, 2, "c.li s4, -13"],
        [8, 4, "j 0x1048"],
        [12, 2, "c.nop"],
        [14, 4, "addi sp, sp, -16"],
      ],
    );
  });

  it("stops at the end of the data, also before a cut 4-byte instruction", () => {
    const bytes = Uint8Array.of(0x4d, 0x5a, 0x6f, 0x10, 0x00);
    assert.deepEqual(
      decodeRiscvSequence(bytes, 5).map((d) => d.text),
      ["c.li s4, -13"],
    );
    assert.equal(decodeRiscvSequence(Uint8Array.of(0x4d), 5).length, 0);
  });

  it("caps the count and checks the start", () => {
    const bytes = new Uint8Array(8);
    expectKimgError(() => decodeRiscvSequence(bytes, MAX_SEQUENCE_INSTRUCTIONS + 1), "E_LIMIT");
    expectKimgError(() => decodeRiscvSequence(bytes, 2.5), "E_LIMIT");
    expectKimgError(() => decodeRiscvSequence(bytes, 1, { start: 10 }), "E_BAD_OFFSET");
  });
});
