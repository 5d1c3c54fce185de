/**
 * The emulated-machine harness for kimg's kexec: Debian's own kernels and userland (downloaded
 * with a private apt configuration, cached under .kexec-work/), an initramfs holding Debian's
 * node, the bundled kimg CLI and koffi's native package for the guest architecture, QEMU bounded
 * by a timeout, and the serial console read for markers. Nothing here runs kexec on the host.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// KIMG_KEXEC_CACHE lets CI on the same machine reuse the downloaded packages and built images.
export const WORK = process.env.KIMG_KEXEC_CACHE ?? join(REPO, ".kexec-work");
const HERE = join(REPO, "test/kexec-e2e");

export type GuestArch = "arm64" | "amd64" | "riscv64" | "loong64";

export interface GuestArchInfo {
  qemu: string;
  machine: string[];
  console: string;
  /** npm's --cpu for koffi's native package. */
  npmCpu: string;
}

export const ARCHES: Record<GuestArch, GuestArchInfo> = {
  arm64: { qemu: "qemu-system-aarch64", machine: ["-M", "virt", "-cpu", "cortex-a57"], console: "ttyAMA0", npmCpu: "arm64" },
  amd64: { qemu: "qemu-system-x86_64", machine: ["-M", "q35", "-cpu", "max"], console: "ttyS0", npmCpu: "x64" },
  // Trixie's QEMU 10.0 (fetch-qemu-trixie.sh) with an RVA23 CPU: koffi's riscv64 build needs
  // Zicond, Zfa, Zcb, Zvbb..., which bookworm's QEMU 7.2 lacks (SIGILL). OpenSBI is -bios default.
  riscv64: {
    qemu: join(WORK, "qemu-trixie", "qemu-system-riscv64"),
    machine: ["-M", "virt", "-cpu", "rva23s64", "-bios", "default"],
    console: "ttyS0",
    npmCpu: "riscv64",
  },
  // Trixie's QEMU 10.0 and EDK2 (fetch-qemu-trixie.sh: bookworm's QEMU 7.2 cannot boot
  // Debian's loong64 kernel); the variable store is opened with snapshot=on, so runs never write it.
  loong64: {
    qemu: join(WORK, "qemu-trixie", "qemu-system-loongarch64"),
    machine: [
      "-M",
      "virt",
      "-drive",
      `if=pflash,format=raw,readonly=on,file=${join(WORK, "qemu-trixie", "QEMU_EFI.fd")}`,
      "-drive",
      `if=pflash,format=raw,snapshot=on,file=${join(WORK, "qemu-trixie", "QEMU_VARS.fd")}`,
    ],
    console: "ttyS0",
    npmCpu: "loong64",
  },
};

/** Trixie's qemu-system-loongarch64 and -riscv64 and LoongArch EDK2, downloaded and wrapped once (see fetch-qemu-trixie.sh). */
export function trixieQemu(): void {
  run("bash", [join(HERE, "fetch-qemu-trixie.sh"), join(WORK, "qemu-trixie")]);
}

/** The Debian suite each guest comes from when not the host's: riscv64 is a release architecture from trixie on. */
export const GUEST_SUITES: Partial<Record<GuestArch, string>> = { riscv64: "trixie", loong64: "sid" };

function run(command: string, args: string[], options: { cwd?: string; input?: Buffer } = {}): Buffer {
  return execFileSync(command, args, { cwd: options.cwd, input: options.input, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "inherit"] });
}

/** Debian packages and the stock kernel for `arch`: { root, vmlinuz, kernelPackage }. */
export function debianGuest(arch: GuestArch): { root: string; vmlinuz: string; kernelPackage: string } {
  const dir = join(WORK, arch);
  const suite = GUEST_SUITES[arch];
  run("bash", [join(HERE, "fetch-debian.sh"), arch, dir, ...(suite ? [suite] : [])]);
  return { root: join(dir, "root"), vmlinuz: join(dir, "vmlinuz"), kernelPackage: readFileSync(join(dir, "kernel-package"), "utf8").trim() };
}

/** koffi with only the guest's native package, from the npm registry. */
export function koffiForGuest(arch: GuestArch): string {
  const dir = join(WORK, `koffi-${arch}`);
  const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies.koffi;
  if (!version) throw new Error("koffi is not a dependency in package.json");
  const stamp = join(dir, `.koffi-${version}`);
  if (!existsSync(stamp)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), '{"name":"kimg-guest-koffi","private":true}\n');
    run(
      "npm",
      ["install", "--os=linux", `--cpu=${ARCHES[arch].npmCpu}`, "--libc=glibc", "--ignore-scripts", "--no-audit", "--no-fund", "--no-save", `koffi@${version}`],
      { cwd: dir },
    );
    writeFileSync(stamp, "");
  }
  return join(dir, "node_modules");
}

/** The kimg CLI (kexec commands) as one ES module for the guest's node. */
export function bundleGuestCli(): string {
  const out = join(WORK, "kimg-guest.mjs");
  run(join(REPO, "node_modules/.bin/esbuild"), [
    join(HERE, "guest-cli.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node18",
    "--external:koffi",
    "--log-level=warning",
    "--banner:js=import { createRequire as kimgCreateRequire } from 'node:module'; const require = kimgCreateRequire(import.meta.url);",
    `--outfile=${out}`,
  ]);
  return out;
}

/** newc cpio of a directory; gzip'd when asked. */
export function makeCpio(dir: string, out: string, gzip: boolean): void {
  const list = run("sh", ["-c", "find . | LC_ALL=C sort"], { cwd: dir });
  const cpio = run("cpio", ["-o", "-H", "newc", "--quiet", "-R", "0:0"], { cwd: dir, input: list });
  writeFileSync(out, gzip ? run("gzip", ["-9", "-n"], { input: cpio }) : cpio);
}

function baseTree(dir: string): void {
  for (const d of ["proc", "sys", "dev", "tmp", "run"]) mkdirSync(join(dir, d), { recursive: true });
  if (!existsSync(join(dir, "dev/console"))) run("mknod", ["-m", "600", join(dir, "dev/console"), "c", "5", "1"]);
}

/** The second kernel's initramfs: busybox and an init that prints the command line it got. */
export function secondStageInitrd(arch: GuestArch, root: string): string {
  const dir = join(WORK, `stage2-${arch}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyFileSync(join(root, "bin/busybox"), join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  baseTree(dir);
  writeFileSync(
    join(dir, "init"),
    [
      "#!/bin/busybox sh",
      "/bin/busybox mount -t proc proc /proc",
      'echo "KIMG-E2E stage2 up $(/bin/busybox cut -d" " -f1 /proc/uptime)"',
      'echo "KIMG-E2E stage2 cmdline: $(/bin/busybox cat /proc/cmdline)"',
      "/bin/busybox poweroff -f",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const out = join(WORK, `stage2-${arch}.cpio.gz`);
  makeCpio(dir, out, true);
  return out;
}

/**
 * The first kernel's initramfs: Debian's node and libraries, the kimg bundle and koffi under
 * /kimg, the files the cases use, and an init that runs /kimg/cases/$kimg.case.sh.
 */
export function firstStageInitrd(arch: GuestArch, root: string, files: Record<string, string>, cases: Record<string, string>): string {
  const dir = join(WORK, `stage1-${arch}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(root, dir, { recursive: true, verbatimSymlinks: true });
  baseTree(dir);
  mkdirSync(join(dir, "kimg/cases"), { recursive: true });
  cpSync(koffiForGuest(arch), join(dir, "kimg/node_modules"), { recursive: true });
  copyFileSync(bundleGuestCli(), join(dir, "kimg/kimg.mjs"));
  for (const [name, path] of Object.entries(files)) copyFileSync(path, join(dir, "kimg", name));
  for (const [name, script] of Object.entries(cases)) writeFileSync(join(dir, "kimg/cases", `${name}.sh`), script);
  writeFileSync(
    join(dir, "init"),
    [
      "#!/bin/busybox sh",
      "/bin/busybox --install -s /bin",
      "mount -t proc proc /proc",
      "mount -t sysfs sysfs /sys",
      "mount -t devtmpfs devtmpfs /dev 2>/dev/null",
      'case_name=""',
      "for word in $(cat /proc/cmdline); do",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion in the guest's init script
      '  case "$word" in kimg.case=*) case_name="${word#kimg.case=}";; esac',
      "done",
      'echo "KIMG-E2E stage1 up $(cut -d" " -f1 /proc/uptime) case=$case_name"',
      "cd /kimg",
      '[ -f "cases/$case_name.sh" ] && . "cases/$case_name.sh"',
      'echo "KIMG-E2E stage1 end $(cut -d" " -f1 /proc/uptime)"',
      "poweroff -f",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const out = join(WORK, `stage1-${arch}.cpio`);
  makeCpio(dir, out, false);
  return out;
}

/**
 * The first-stage initramfs plus files for one case, as a second newc archive appended to the
 * first: the kernel unpacks concatenated archives in order (Documentation/driver-api/early-userspace).
 */
export function withCaseFiles(base: string, caseName: string, files: Record<string, string>): string {
  const dir = join(WORK, `case-${caseName}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "kimg"), { recursive: true });
  for (const [name, path] of Object.entries(files)) copyFileSync(path, join(dir, "kimg", name));
  const extra = join(WORK, `case-${caseName}.cpio`);
  makeCpio(dir, extra, false);
  const out = join(WORK, `stage1-${caseName}.cpio`);
  writeFileSync(out, Buffer.concat([readFileSync(base), readFileSync(extra)]));
  rmSync(dir, { recursive: true, force: true });
  rmSync(extra);
  return out;
}

/** Runs a command with `input` on stdin and its stdout written to `out`, without blocking the event loop. */
export function pipeToFile(command: string, args: readonly string[], input: Uint8Array, out: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", fail);
    child.on("close", (code) => {
      if (code !== 0) return fail(new Error(`${command} ${args.join(" ")} exited with ${code}`));
      writeFileSync(out, Buffer.concat(chunks));
      done();
    });
    child.stdin.on("error", fail);
    child.stdin.end(input);
  });
}

export interface QemuRun {
  log: string;
  ms: number;
  timedOut: boolean;
}

/** Boots `kernel` with `initrd` and returns the serial console once QEMU exits or time runs out. */
export function runQemu(arch: GuestArch, kernel: string, initrd: string, append: string, timeoutMs: number, memoryMiB = 2048): Promise<QemuRun> {
  const info = ARCHES[arch];
  // Always emulated (TCG): nested KVM on this kind of host failed to start x86 guests.
  const args = [
    ...info.machine,
    "-m",
    String(memoryMiB),
    "-smp",
    "1",
    "-nographic",
    "-nic",
    "none",
    "-no-reboot",
    "-kernel",
    kernel,
    "-initrd",
    initrd,
    "-append",
    `console=${info.console} ${append}`,
  ];
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(info.qemu, args, { stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", () => {
      clearTimeout(timer);
      done({ log: Buffer.concat(chunks).toString("latin1").replace(/\r/g, ""), ms: Date.now() - started, timedOut });
    });
  });
}

/** Lines of the console that start with the marker prefix, without kernel log noise. */
export function markers(log: string): string[] {
  return log.split("\n").filter((l) => l.includes("KIMG-E2E"));
}
