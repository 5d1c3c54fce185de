/**
 * The arm64 entry stub's SHA-256 check before the jump (--check-sha256): the table it checks
 * against, and the stub itself run in an emulated arm64 machine (qemu-system-aarch64, bare
 * metal, MMU off as after relocate_kernel.S): with the segments intact it enters the "kernel",
 * with one bit flipped it never does.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ARM64_CHECK_MAX_REGIONS, SHA256_IV, SHA256_K, buildArm64CheckingPurgatory } from "../src/kexec/purgatory-arm64-sha256.js";
import { planArm64Segments } from "../src/kexec/segments.js";
import { createCoreUnpacker } from "../src/kexec/source.js";
import { buildRiscvCheckingPurgatory, rv } from "../src/kexec/purgatory-riscv-sha256.js";
import { decodeRiscvSequence } from "../src/isa/riscv.js";
import { buildArm64Image, buildLoongArchImage } from "../support/builders/images.js";
import { needs } from "./helpers/tools.js";

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  return new Uint8Array(hash.digest());
};

describe("arm64 checking stub: layout", () => {
  it("holds FIPS 180-4's constants and, per region, its place, the final padding block and the digest as H words", () => {
    const digest = sha256(new Uint8Array(0x2000));
    const stub = buildArm64CheckingPurgatory(0x40200000, 0x44000000, [{ name: "kernel", mem: 0x40200000, memsz: 0x2000, sha256: digest }]);
    const view = new DataView(stub.code.buffer);
    const at = (label: string): number => {
      const line = stub.listing.find((l) => l.assembly.startsWith(`${label}:`));
      assert.ok(line, label);
      return line.offset;
    };
    assert.equal(view.getBigUint64(at("kernel_entry"), true), 0x40200000n);
    assert.equal(view.getBigUint64(at("dtb"), true), 0x44000000n);
    // Spot values of K and H(0) from FIPS 180-4 §4.2.2 and §5.3.3, and their counts.
    assert.equal(SHA256_K.length, 64);
    assert.equal(view.getUint32(at("K") + 4 * 63, true), 0xc67178f2);
    assert.equal(view.getUint32(at("IV") + 4 * 7, true), SHA256_IV[7]);
    const table = at("table");
    assert.equal(view.getBigUint64(table, true), 1n);
    assert.equal(view.getBigUint64(table + 8, true), 0x40200000n);
    assert.equal(view.getBigUint64(table + 16, true), 0x2000n);
    // The padding block: 0x80, zeros, the length in bits (0x2000 * 8) big-endian.
    const pad = stub.code.subarray(table + 24, table + 88);
    assert.equal(pad[0], 0x80);
    assert.equal(new DataView(pad.buffer, pad.byteOffset).getBigUint64(56, false), 0x10000n);
    assert.deepEqual([...pad.subarray(1, 56)], new Array(55).fill(0));
    const words = new DataView(digest.buffer);
    for (let w = 0; w < 8; w++) assert.equal(view.getUint32(table + 88 + 4 * w, true), words.getUint32(4 * w, false));
    assert.equal(stub.code.length, table + 8 + 112);
  });

  it("refuses regions it cannot hash", () => {
    const d = new Uint8Array(32);
    assert.throws(() => buildArm64CheckingPurgatory(0, 0, [{ name: "x", mem: 0x1000, memsz: 100, sha256: d }]), /multiple of 64 bytes/);
    const many = Array.from({ length: ARM64_CHECK_MAX_REGIONS + 1 }, () => ({ name: "x", mem: 0, memsz: 64, sha256: d }));
    assert.throws(() => buildArm64CheckingPurgatory(0, 0, many), /at most 8/);
  });

  it("planArm64Segments with the check hashes each segment's buffer and its zero fill", { skip: needs("dtc") }, () => {
    const kernel = buildArm64Image();
    const initrd = new Uint8Array(0x1801).fill(3);
    const fdt = new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: "/dts-v1/;\n/ { chosen { }; };\n" }));
    const plan = planArm64Segments({
      kernel,
      initrd,
      cmdline: "x",
      fdt,
      freeRam: [{ start: 0x40000000, end: 0x48000000 }],
      pageSize: 4096,
      check: { sha256: (parts) => sha256(...parts) },
    });
    assert.deepEqual(plan.checked, ["kernel", "initrd", "dtb"]);
    const stub = plan.segments[3];
    assert.ok(stub);
    assert.equal(stub.memsz, 0x1000);
    const view = new DataView(stub.buf.buffer, stub.buf.byteOffset);
    const table = stub.buf.length - 8 - 3 * 112;
    assert.equal(view.getBigUint64(table, true), 3n);
    plan.segments.slice(0, 3).forEach((s, i) => {
      const entry = table + 8 + i * 112;
      assert.equal(view.getBigUint64(entry, true), BigInt(s.mem));
      assert.equal(view.getBigUint64(entry + 8, true), BigInt(s.memsz));
      const digest = new DataView(sha256(s.buf, new Uint8Array(s.memsz - s.buf.length)).buffer);
      assert.equal(view.getUint32(entry + 80, true), digest.getUint32(0, false), s.name);
    });
  });
});

describe("arm64 checking stub: run in qemu-system-aarch64", { skip: needs("qemu-system-aarch64") }, () => {
  const dir = mkdtempSync(join(tmpdir(), "kimg-sha256-stub-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // A stand-in kernel: writes "OK" to the virt machine's PL011 (0x09000000) and powers off (PSCI SYSTEM_OFF through hvc).
  const kernel = new Uint8Array(0x1000);
  // movz x1, #0x900, lsl #16; movz w2, #'O'; str w2, [x1]; movz w2, #'K'; str w2, [x1]; movz w2, #'\n'; str w2, [x1];
  // movz x0, #0x8; movk x0, #0x8400, lsl #16; hvc #0; b .
  const code = [0xd2a12001, 0x528009e2, 0xb9000022, 0x52800962, 0xb9000022, 0x52800142, 0xb9000022, 0xd2800100, 0xf2b08000, 0xd4000002, 0x14000000];
  for (const [i, w] of code.entries()) new DataView(kernel.buffer).setUint32(i * 4, w, true);
  const data = new Uint8Array(0x3000);
  for (let i = 0; i < 0x2f00; i++) data[i] = (i * 7 + 3) & 0xff;
  // QEMU's virt machine keeps its DTB at the RAM base (0x40000000); the test's memory starts above it.
  const STUB = 0x41000000;
  const KERNEL = 0x41100000;
  const DATA = 0x41200000;

  // The corrupted run must outlast the intact one by far, so its silence means the stub looped.
  let intactMs = 1000;
  function boot(name: string, corruptAt: number | null): { stdout: string; ms: number } {
    const stub = buildArm64CheckingPurgatory(KERNEL, 0x44000000, [
      { name: "kernel", mem: KERNEL, memsz: kernel.length, sha256: sha256(kernel) },
      { name: "data", mem: DATA, memsz: data.length, sha256: sha256(data) },
    ]);
    const loaded = data.slice();
    if (corruptAt !== null) loaded[corruptAt] = (loaded[corruptAt] ?? 0) ^ 1;
    const file = (what: string, bytes: Uint8Array): string => {
      const path = join(dir, `${name}-${what}.bin`);
      writeFileSync(path, bytes);
      return path;
    };
    const args = ["-M", "virt", "-cpu", "cortex-a57", "-m", "256", "-nographic", "-nic", "none", "-no-reboot"];
    for (const [what, bytes, addr] of [
      ["stub", stub.code, STUB],
      ["kernel", kernel, KERNEL],
      ["data", loaded, DATA],
    ] as const) {
      args.push("-device", `loader,file=${file(what, bytes)},addr=0x${addr.toString(16)}`);
    }
    args.push("-device", `loader,addr=0x${STUB.toString(16)},cpu-num=0`);
    const start = Date.now();
    const r = spawnSync("nice", ["-n", "10", "qemu-system-aarch64", ...args], {
      encoding: "utf8",
      timeout: corruptAt === null ? 20000 : Math.max(2500, 4 * intactMs),
    });
    return { stdout: r.stdout ?? "", ms: Date.now() - start };
  }

  it("enters the kernel when every segment matches, in well under a second of emulation", () => {
    const { stdout, ms } = boot("intact", null);
    intactMs = ms;
    assert.equal(stdout.replace(/\r/g, ""), "OK\n");
  });

  it("never enters it when one bit of a segment changed", () => {
    const { stdout, ms } = boot("corrupt", 0x1234);
    assert.equal(stdout, "");
    assert.ok(ms >= Math.max(2500, 4 * intactMs) - 100, "QEMU was stopped by the timeout, the stub looping on the mismatch");
  });
});

describe("kimg kexec load --check-sha256", { skip: needs("dtc") }, () => {
  it("puts the checking stub in an arm64 plan and says so; warns where it is not implemented", async () => {
    const { prepareKexec } = await import("../src/node/kexec/loader.js");
    const { formatKexecPlan } = await import("../src/report/kexec-text.js");
    const fdt = new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: "/dts-v1/;\n/ { chosen { }; };\n" }));
    const request = { image: buildArm64Image(), dryRun: true, arch: "arm64", iomem: "40000000-47ffffff : System RAM\n", dtb: fdt, checkSha256: true };
    const env = {
      platform: "linux",
      arch: "x64",
      uid: 1000,
      readText: () => null,
      readBytes: () => null,
      syscalls: () => {
        throw new Error("no system call in a dry run");
      },
      randomBytes: (n: number) => new Uint8Array(n),
      writeAll: () => undefined,
      close: () => undefined,
    };
    const { plan, warnings } = await prepareKexec(request, env);
    assert.deepEqual(warnings, []);
    assert.ok(plan.mode === "segments" && plan.segmentPlan.arch === "arm64");
    assert.deepEqual(plan.segmentPlan.checked, ["kernel", "dtb"]);
    assert.match(formatKexecPlan(plan), /^check: {3}the stub compares the SHA-256 of kernel, dtb before the jump, and stops on a mismatch$/m);
    assert.match(formatKexecPlan(plan), /^ {2}\+1bc {2}29402f2a +ldp w10, w11, \[x25\]$/m);
    const riscv = await prepareKexec(
      {
        ...request,
        image: (await import("../support/builders/images.js")).buildRiscvImage(),
        arch: "riscv64",
        iomem: "80000000-87ffffff : System RAM\n",
        unpack: createCoreUnpacker(),
      },
      env,
    );
    assert.deepEqual(riscv.warnings, []);
    assert.ok(riscv.plan.mode === "segments" && riscv.plan.segmentPlan.arch === "riscv64");
    assert.deepEqual(riscv.plan.segmentPlan.checked, ["kernel", "dtb"]);
    const loong = await prepareKexec(
      {
        ...request,
        dtb: undefined,
        image: buildLoongArchImage(),
        arch: "loongarch64",
        iomem: "00000000-0fffffff : System RAM\n",
        unpack: createCoreUnpacker(),
      },
      env,
    );
    assert.deepEqual(loong.warnings, ["--check-sha256 is implemented in kimg's arm64 and riscv64 entry stubs only; not on loongarch64"]);
  });
});

describe("RISC-V checking stub", () => {
  it("decodes, with kimg's RISC-V decoder, to the instructions its listing names, and never writes a0", () => {
    const stub = buildRiscvCheckingPurgatory(0x80200000, 0x84000000, [{ name: "kernel", mem: 0x80200000, memsz: 0x1000, sha256: new Uint8Array(32) }]);
    const dataAt = stub.listing.find((l) => l.assembly.startsWith("kernel_entry:"))?.offset ?? 0;
    const code = stub.listing.filter((l) => l.offset < dataAt);
    const decoded = decodeRiscvSequence(stub.code, code.length);
    assert.equal(code.length, 180);
    code.forEach((line, i) => {
      assert.equal(decoded[i]?.text.split(/\s+/)[0], line.assembly.replace(/^\w+: /, "").split(/\s+/)[0], `+0x${line.offset.toString(16)} ${line.assembly}`);
    });
    assert.equal(
      decoded.some((d) => d.writes?.includes("a0")),
      false,
    );
    assert.deepEqual(
      decoded.slice(-1).map((d) => d.text),
      ["ret"],
    );
  });
});

describe("RISC-V checking stub: run in qemu-system-riscv64", { skip: needs("qemu-system-riscv64") }, () => {
  const dir = mkdtempSync(join(tmpdir(), "kimg-sha256-rv-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // A stand-in kernel: prints "OK" and the hart id it was given in a0 on the virt machine's UART
  // (0x10000000), then stops QEMU through the SiFive test device (0x100000 <- 0x5555).
  const kernel = new Uint8Array(0x1000);
  const words = [
    rv.lui("t0", 0x10000),
    rv.addi("t1", "zero", 0x4f),
    rv.sb("t1", 0, "t0"),
    rv.addi("t1", "zero", 0x4b),
    rv.sb("t1", 0, "t0"),
    rv.addi("t1", "a0", 0x30),
    rv.sb("t1", 0, "t0"),
    rv.addi("t1", "zero", 0x0a),
    rv.sb("t1", 0, "t0"),
    rv.lui("t0", 0x100),
    rv.lui("t1", 5),
    rv.addi("t1", "t1", 0x555),
    rv.sw("t1", 0, "t0"),
    rv.jal("zero", 0),
  ];
  for (const [i, w] of words.entries()) new DataView(kernel.buffer).setUint32(i * 4, w, true);
  const data = new Uint8Array(0x3000);
  for (let i = 0; i < 0x2f00; i++) data[i] = (i * 11 + 5) & 0xff;
  const [STUB, KERNEL, DATA] = [0x80000000, 0x80100000, 0x80200000];

  let intactMs = 1000;
  function boot(name: string, corruptAt: number | null): { stdout: string; ms: number } {
    const stub = buildRiscvCheckingPurgatory(KERNEL, 0x84000000, [
      { name: "kernel", mem: KERNEL, memsz: kernel.length, sha256: sha256(kernel) },
      { name: "data", mem: DATA, memsz: data.length, sha256: sha256(data) },
    ]);
    const loaded = data.slice();
    if (corruptAt !== null) loaded[corruptAt] = (loaded[corruptAt] ?? 0) ^ 0x80;
    // -bios none: the reset vector jumps to 0x80000000 with a0 = hart id, where the stub is.
    const args = ["-M", "virt", "-bios", "none", "-m", "256", "-nographic", "-nic", "none", "-no-reboot"];
    for (const [what, bytes, addr] of [
      ["stub", stub.code, STUB],
      ["kernel", kernel, KERNEL],
      ["data", loaded, DATA],
    ] as const) {
      const path = join(dir, `${name}-${what}.bin`);
      writeFileSync(path, bytes);
      args.push("-device", `loader,file=${path},addr=0x${addr.toString(16)}`);
    }
    const start = Date.now();
    const r = spawnSync("nice", ["-n", "10", "qemu-system-riscv64", ...args], {
      encoding: "utf8",
      timeout: corruptAt === null ? 20000 : Math.max(2500, 4 * intactMs),
    });
    return { stdout: r.stdout ?? "", ms: Date.now() - start };
  }

  it("enters the kernel with a0 = the hart id when every segment matches", () => {
    const { stdout, ms } = boot("intact", null);
    intactMs = ms;
    assert.equal(stdout.replace(/\r/g, ""), "OK0\n");
  });

  it("never enters it when one bit of a segment changed", () => {
    const { stdout, ms } = boot("corrupt", 0x2eff);
    assert.equal(stdout, "");
    assert.ok(ms >= Math.max(2500, 4 * intactMs) - 100, "QEMU was stopped by the timeout, the stub looping on the mismatch");
  });
});
