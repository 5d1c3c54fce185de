/**
 * The kexec loader's decisions with a fake system: refusals before anything is touched, the
 * mode chosen and why, the exact system calls made, errno explanations, and the CLI's output.
 * Nothing here calls the real kernel.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { Command } from "commander";
import { registerKexecCommands } from "../src/cli/kexec.js";
import { ErrorCode, KimgError } from "../src/io/errors.js";
import { plainKernelUnpacker } from "../src/kexec/source.js";
import type { UnpackedKernel } from "../src/kexec/source.js";
import type { KexecEnvironment } from "../src/node/kexec/environment.js";
import { execKexec, explainKexecError, hasPeSignature, loadKexec, prepareKexec, reusableCmdline, unloadKexec } from "../src/node/kexec/loader.js";
import { readKexecStatus } from "../src/node/kexec/status.js";
import { Errno, KEXEC_FILE_NO_INITRAMFS, KEXEC_FILE_UNLOAD } from "../src/node/kexec/syscalls.js";
import type { KexecSyscalls, SegmentForSyscall } from "../src/node/kexec/syscalls.js";
import { buildArm64Image, buildBzImage } from "../support/builders/images.js";
import { needs } from "./helpers/tools.js";

const IOMEM = "40000000-bfffffff : System RAM\n  40210000-4185ffff : Kernel code\n  41eb0000-4220ffff : Kernel data\n";

function dtb(): Uint8Array {
  return new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: '/dts-v1/;\n/ { chosen { bootargs = "old"; }; };\n' }));
}

interface Call {
  name: string;
  args: unknown[];
}

interface FakeOptions {
  arch?: string;
  uid?: number;
  platform?: string;
  files?: Record<string, string | Uint8Array>;
  /** kexec_file_load's answer to the probe and to loads: 0 or a negative errno. */
  fileLoad?: number;
  kexecLoad?: number;
  reboot?: number;
}

function fakeSystem(options: FakeOptions = {}): { env: KexecEnvironment; calls: Call[]; written: Map<number, Uint8Array> } {
  const calls: Call[] = [];
  const written = new Map<number, Uint8Array>();
  const files: Record<string, string | Uint8Array> = {
    "/proc/iomem": IOMEM,
    "/sys/firmware/fdt": dtb(),
    "/sys/kernel/kexec_loaded": "0\n",
    "/proc/sys/kernel/kexec_load_disabled": "0\n",
    "/proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro initrd=/initrd.img quiet\n",
    ...options.files,
  };
  let nextFd = 10;
  const syscalls: KexecSyscalls = {
    kexecLoad(entry: number, segments: readonly SegmentForSyscall[], flags: number) {
      calls.push({ name: "kexec_load", args: [entry, segments.map((s) => [s.buf.length, s.mem, s.memsz]), flags] });
      if ((options.kexecLoad ?? 0) === 0) files["/sys/kernel/kexec_loaded"] = segments.length > 0 ? "1\n" : "0\n";
      return options.kexecLoad ?? 0;
    },
    kexecFileLoad(kernelFd: number, initrdFd: number, cmdline: string | null, flags: number) {
      calls.push({ name: "kexec_file_load", args: [kernelFd, initrdFd, cmdline, flags] });
      if (flags === 0x80000000) return options.fileLoad === -Errno.ENOSYS ? -Errno.ENOSYS : -Errno.EINVAL;
      return options.fileLoad ?? 0;
    },
    memfdCreate(name: string) {
      calls.push({ name: "memfd_create", args: [name] });
      return nextFd++;
    },
    rebootKexec() {
      calls.push({ name: "reboot", args: [] });
      return options.reboot ?? -Errno.EPERM;
    },
    pageSize: () => 4096,
    addressOf: () => 0x1000n,
  };
  const env: KexecEnvironment = {
    platform: options.platform ?? "linux",
    arch: options.arch ?? "arm64",
    uid: options.uid ?? 0,
    readText: (path) => {
      const v = files[path];
      return v === undefined ? null : typeof v === "string" ? v : new TextDecoder().decode(v);
    },
    readBytes: (path) => {
      const v = files[path];
      return v === undefined ? null : typeof v === "string" ? new TextEncoder().encode(v) : v;
    },
    syscalls: () => syscalls,
    randomBytes: (n) => new Uint8Array(n).fill(0x5a),
    writeAll: (fd, data) => void written.set(fd, data),
    close: (fd) => void calls.push({ name: "close", args: [fd] }),
  };
  return { env, calls, written };
}

const arm64Image = buildArm64Image();
const bzImage = buildBzImage({ payload: new Uint8Array(64) });

async function refusalOf(promise: Promise<unknown>): Promise<{ reasons: string[]; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KimgError, String(error));
    assert.equal(error.code, ErrorCode.SYSTEM, error.message);
    return { reasons: (error.data.refusals as string[] | undefined) ?? [], message: error.message };
  }
  assert.fail("expected a refusal");
}

describe("kexec loader: refusals before anything is touched", { skip: needs("dtc") }, () => {
  it("refuses another OS, non-root, and the wrong architecture, naming each", async () => {
    assert.deepEqual((await refusalOf(prepareKexec({ image: arm64Image }, fakeSystem({ platform: "darwin" }).env))).reasons, ["NOT_LINUX"]);
    const { env, calls } = fakeSystem({ uid: 1000, arch: "x64" });
    const refusal = await refusalOf(prepareKexec({ image: arm64Image, append: "x" }, env));
    assert.deepEqual(refusal.reasons, ["NOT_ROOT", "ARCH_MISMATCH"]);
    assert.match(refusal.message, /the image is for arm64, this machine is x86_64/);
    assert.deepEqual(
      calls.filter((c) => c.name !== "kexec_file_load"),
      [],
    );
  });

  it("a dry run prints the plan on a machine that could not load it, and says why a real load would be refused", async () => {
    const { env, calls } = fakeSystem({ uid: 1000, arch: "x64" });
    // Another machine's memory map and device tree cannot be read here: they come from files.
    await assert.rejects(prepareKexec({ image: arm64Image, append: "console=ttyAMA0", dryRun: true }, env), /give --iomem FILE/);
    const dry = await prepareKexec({ image: arm64Image, append: "console=ttyAMA0", dryRun: true, iomem: IOMEM, dtb: dtb() }, env);
    assert.equal(dry.plan.source.arch, "arm64");
    assert.equal(dry.targetArch, "arm64");
    assert.deepEqual(dry.wouldRefuse, ["kexec needs root (CAP_SYS_BOOT)", "the image is for arm64, this machine is x86_64"]);
    assert.deepEqual(
      calls.filter((c) => c.name !== "kexec_file_load"),
      [],
    );
  });

  it("refuses when kexec_load_disabled is set, even with --force", async () => {
    const { env } = fakeSystem({ files: { "/proc/sys/kernel/kexec_load_disabled": "1\n" } });
    assert.deepEqual((await refusalOf(prepareKexec({ image: arm64Image, force: true }, env))).reasons, ["KEXEC_DISABLED"]);
  });

  it("under lockdown refuses segment mode, and an unsigned kernel in file mode unless --force", async () => {
    const lockdown = { "/sys/kernel/security/lockdown": "none [integrity] confidentiality\n" };
    const segments = await refusalOf(prepareKexec({ image: arm64Image }, fakeSystem({ files: lockdown, fileLoad: -Errno.ENOSYS }).env));
    assert.deepEqual(segments.reasons, ["LOCKDOWN"]);
    assert.match(segments.message, /lockdown is "integrity": kexec_load is forbidden/);
    const file = await refusalOf(prepareKexec({ image: arm64Image }, fakeSystem({ files: lockdown }).env));
    assert.deepEqual(file.reasons, ["UNSIGNED_UNDER_LOCKDOWN"]);
    const forced = await prepareKexec({ image: arm64Image, force: true }, fakeSystem({ files: lockdown }).env);
    assert.equal(forced.plan.mode, "file");
    assert.match(forced.warnings[0] ?? "", /^overridden with --force: kernel lockdown is "integrity"/);
  });

  it("refuses --file on a kernel without kexec_file_load and says to use segment mode", async () => {
    const refusal = await refusalOf(prepareKexec({ image: arm64Image, mode: "file" }, fakeSystem({ fileLoad: -Errno.ENOSYS }).env));
    assert.deepEqual(refusal.reasons, ["NO_FILE_LOAD"]);
    assert.match(refusal.message, /this kernel has no kexec_file_load \(CONFIG_KEXEC_FILE not set\): use segment mode/);
  });

  it("refuses segment mode for other architectures and --dtb in file mode", async () => {
    assert.deepEqual((await refusalOf(prepareKexec({ image: bzImage, mode: "segments" }, fakeSystem({ arch: "x64" }).env))).reasons, ["NO_SEGMENT_MODE"]);
    assert.deepEqual((await refusalOf(prepareKexec({ image: arm64Image, mode: "file", dtb: dtb() }, fakeSystem().env))).reasons, ["CHECK_FAILED"]);
  });

  it("treats unpack problems as plan checks that --force overrides", async () => {
    const unpack = async (bytes: Uint8Array): Promise<UnpackedKernel> => ({ ...(await plainKernelUnpacker(bytes)), problems: ["/payload: CRC mismatch"] });
    const refusal = await refusalOf(prepareKexec({ image: arm64Image, unpack }, fakeSystem().env));
    assert.deepEqual(refusal.reasons, ["CHECK_FAILED"]);
    assert.match(refusal.message, /unpack reported: \/payload: CRC mismatch \(--force to override\)/);
    const forced = await prepareKexec({ image: arm64Image, unpack, force: true }, fakeSystem({ files: { "/sys/kernel/kexec_loaded": "1\n" } }).env);
    assert.deepEqual(forced.warnings, [
      "overridden with --force: unpack reported: /payload: CRC mismatch",
      "a kernel is already loaded; this load replaces it",
    ]);
  });
});

describe("kexec loader: plans and system calls", { skip: needs("dtc") }, () => {
  it("chooses segment mode when kexec_file_load is missing, and passes the planned segments", async () => {
    const { env, calls } = fakeSystem({ fileLoad: -Errno.ENOSYS });
    const { plan } = await prepareKexec({ image: arm64Image, initrd: new Uint8Array(5000), append: "console=ttyAMA0" }, env);
    assert.equal(plan.mode, "segments");
    assert.equal(plan.why, "the running kernel has no kexec_file_load (CONFIG_KEXEC_FILE not set)");
    loadKexec(plan, env);
    const load = calls.find((c) => c.name === "kexec_load");
    assert.ok(load && plan.mode === "segments");
    assert.deepEqual(load.args, [plan.segmentPlan.entry, plan.segmentPlan.segments.map((s) => [s.buf.length, s.mem, s.memsz]), 0]);
    assert.deepEqual(load.args[1] as unknown[], [
      [arm64Image.length, 0x40000000, plan.segmentPlan.segments[0]?.memsz],
      [5000, plan.segmentPlan.segments[1]?.mem, 0x2000],
      [plan.segmentPlan.segments[2]?.buf.length, plan.segmentPlan.segments[2]?.mem, 0x1000],
      [0x28, plan.segmentPlan.entry, 0x1000],
    ]);
  });

  it("chooses file mode when kexec_file_load exists, passing memfds, the command line and flags", async () => {
    const { env, calls, written } = fakeSystem({ arch: "x64" });
    const initrd = new Uint8Array([1, 2, 3]);
    const { plan } = await prepareKexec({ image: bzImage, initrd, initrdName: "i.cpio", reuseCmdline: true, append: "kimg=1" }, env);
    assert.equal(plan.mode, "file");
    assert.deepEqual(plan.cmdline, { text: "root=/dev/vda1 ro quiet kimg=1", from: "/proc/cmdline + --cmdline" });
    assert.equal(plan.initrdFrom, "--initrd i.cpio");
    loadKexec(plan, env);
    assert.deepEqual(
      calls.filter((c) => c.args[3] !== 0x80000000),
      [
        { name: "memfd_create", args: ["kimg-kernel"] },
        { name: "memfd_create", args: ["kimg-initrd"] },
        { name: "kexec_file_load", args: [10, 11, "root=/dev/vda1 ro quiet kimg=1", 0] },
        { name: "close", args: [10] },
        { name: "close", args: [11] },
      ],
    );
    assert.equal(written.get(10), bzImage);
    assert.equal(written.get(11), initrd);
  });

  it("passes no initrd with KEXEC_FILE_NO_INITRAMFS and explains EKEYREJECTED", async () => {
    const { env, calls } = fakeSystem({ arch: "x64", fileLoad: -Errno.EKEYREJECTED });
    const { plan } = await prepareKexec({ image: bzImage }, env);
    assert.equal(plan.mode === "file" ? plan.flags : -1, KEXEC_FILE_NO_INITRAMFS);
    assert.throws(() => loadKexec(plan, env), /kexec_file_load failed with errno 129: the kernel rejected the image's signature/);
    assert.equal(calls.filter((c) => c.name === "close").length, 1);
  });

  it("uses file mode for RISC-V and LoongArch kernels where the running kernel has kexec_file_load", async () => {
    for (const [arch, kernelArch, kernelFormat] of [
      ["riscv64", "riscv64", "riscv-image"],
      ["loong64", "loongarch64", "loongarch-image"],
    ] as const) {
      const unpack = async (): Promise<UnpackedKernel> => ({
        kernel: new Uint8Array(4096),
        kernelFormat,
        arch: kernelArch,
        path: `zboot > compressed > ${kernelFormat}`,
        format: "zboot",
        compression: "gzip",
      });
      const { env, calls } = fakeSystem({ arch });
      const { plan } = await prepareKexec({ image: new Uint8Array(1), unpack, append: "console=ttyS0" }, env);
      assert.equal(plan.mode, "file");
      loadKexec(plan, env);
      assert.deepEqual(calls.find((c) => c.name === "kexec_file_load" && c.args[3] !== 0x80000000)?.args, [10, -1, "console=ttyS0", KEXEC_FILE_NO_INITRAMFS]);
      const none = await refusalOf(prepareKexec({ image: new Uint8Array(1), unpack, mode: "file" }, fakeSystem({ arch, fileLoad: -Errno.ENOSYS }).env));
      assert.deepEqual(none.reasons, ["NO_FILE_LOAD"]);
    }
  });

  it("explains the errnos a user meets", () => {
    assert.match(explainKexecError("kexec_file_load", -Errno.ENOSYS, "file").message, /no kexec_file_load: use segment mode/);
    assert.match(explainKexecError("kexec_file_load", -Errno.EINVAL, "file").message, /zboot image handed over unpacked/);
    assert.match(explainKexecError("kexec_load", -Errno.EPERM, "segments").message, /needs root \(CAP_SYS_BOOT\)/);
    assert.equal(explainKexecError("kexec_load", -Errno.EADDRNOTAVAIL, "segments").data.errno, 99);
  });

  it("exec refuses when nothing is loaded and reports a failed reboot; unload falls back to kexec_load", () => {
    assert.throws(() => execKexec(fakeSystem().env), /no kernel is loaded/);
    const loaded = fakeSystem({ files: { "/sys/kernel/kexec_loaded": "1\n" } });
    assert.throws(() => execKexec(loaded.env), /reboot failed with errno 1/);
    assert.ok(loaded.calls.some((c) => c.name === "reboot"));
    assert.throws(
      () => execKexec(fakeSystem({ uid: 5 }).env),
      (e: unknown) => e instanceof KimgError && (e.data.refusals as string[])[0] === "NOT_ROOT",
    );

    const file = fakeSystem();
    unloadKexec(file.env);
    assert.deepEqual(file.calls, [{ name: "kexec_file_load", args: [-1, -1, null, KEXEC_FILE_UNLOAD] }]);
    const noFile = fakeSystem({ fileLoad: -Errno.ENOSYS });
    unloadKexec(noFile.env);
    assert.deepEqual(noFile.calls[1], { name: "kexec_load", args: [0, [], 0] });
  });

  it("reads status, drops boot loader words from /proc/cmdline, and finds PE signatures", () => {
    const status = readKexecStatus(
      fakeSystem({ files: { "/sys/kernel/security/lockdown": "[none] integrity confidentiality\n" }, fileLoad: -Errno.ENOSYS }).env,
    );
    assert.deepEqual(status, { loaded: false, crashLoaded: null, loadDisabled: false, lockdown: "none", fileLoad: "no", secureBoot: null });
    assert.equal(reusableCmdline("BOOT_IMAGE=/boot/vmlinuz-6.1 root=UUID=x ro  initrd=\\initrd.img quiet\n"), "root=UUID=x ro quiet");
    assert.equal(hasPeSignature(arm64Image), false);
    const signed = arm64Image.slice();
    const view = new DataView(signed.buffer);
    const pe = view.getUint32(0x3c, true);
    view.setUint32(pe + 24 + 144 + 4, 0x100, true);
    assert.equal(hasPeSignature(signed), true);
  });
});

describe("kimg kexec CLI", { skip: needs("dtc") }, () => {
  async function cli(args: string[], options: FakeOptions = {}): Promise<{ out: string; calls: Call[] }> {
    const { env, calls } = fakeSystem(options);
    let out = "";
    const program = new Command().exitOverride();
    registerKexecCommands(program, { env: () => env, unpack: plainKernelUnpacker, write: (t) => void (out += t) });
    await program.parseAsync(args, { from: "user" });
    return { out, calls };
  }

  it("prints the plan and stops on --dry-run", async () => {
    const dir = await import("node:fs/promises").then((fs) => fs.mkdtemp("/tmp/kimg-kexec-cli-"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`${dir}/Image`, arm64Image);
    const { out, calls } = await cli(["kexec", "load", `${dir}/Image`, "--append", "console=ttyAMA0", "--dry-run"], { fileLoad: -Errno.ENOSYS });
    assert.match(out, /^mode: {4}segments \(kexec_load\): the running kernel has no kexec_file_load/m);
    assert.match(out, /^ {2}kernel +- +0x[0-9a-f]+ +0x40000000 /m);
    assert.match(out, /^entry: {3}0x[0-9a-f]+ \(purgatory\)$/m);
    assert.match(
      out,
      /^dry run \(arm64\): nothing loaded\na real load needs: Linux on arm64; root \(CAP_SYS_BOOT\); kexec_load_disabled = 0; a kernel built with CONFIG_KEXEC \(kexec_load\); no kernel lockdown/m,
    );
    assert.equal(
      calls.some((c) => c.name === "kexec_load"),
      false,
    );

    const json = await cli(["kexec", "load", `${dir}/Image`, "--segments", "--dry-run", "--json"]);
    const parsed = JSON.parse(json.out) as { dryRun: boolean; plan: { mode: string; why: string; segments: unknown[] } };
    assert.equal(parsed.dryRun, true);
    assert.equal(parsed.plan.why, "requested with --segments");
    assert.equal(parsed.plan.segments.length, 3);

    const loaded = await cli(["kexec", "load", `${dir}/Image`, "--segments"]);
    assert.match(loaded.out, /^ {2}kernel +0x1000 /m);
    assert.match(loaded.out, /loaded with kexec_load; boot it with: kimg kexec exec\n$/);
    await assert.rejects(cli(["kexec", "load", `${dir}/Image`, "--file", "--segments"]), /--file and --segments exclude each other/);
    // --exec boots right after the load: here the fake reboot fails, and says so.
    await assert.rejects(cli(["kexec", "load", `${dir}/Image`, "--segments", "--exec"]), /reboot failed with errno 1/);
  });

  it("prints status", async () => {
    const { out } = await cli(["kexec", "status"], { fileLoad: -Errno.ENOSYS });
    assert.match(out, /^kexec_file_load: {2}no$/m);
  });
});
