/**
 * The CLI against odd files and odd streams: device files, FIFOs and huge files as inputs
 * (every command, kexec's --initrd and --dtb too), stdout that is closed or full, and option
 * values that are not what they claim. Runs the CLI from source as a child process.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { DEFAULT_LIMITS } from "../src/io/limits.js";
import { readInput } from "../src/node/files.js";
import { randomBytes } from "../support/builders/bytes.js";
import { compressWith } from "../support/builders/compress.js";
import { buildArm64Image, buildZboot, zbootInputs } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { needs } from "./helpers/tools.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "src/cli/run.ts");
const TSX = import.meta.resolve("tsx");
const dir = mkdtempSync(join(tmpdir(), "kimg-cli-hostile-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs kimg with a time limit: a read that never ends must show as a failure, not a hung test. */
function kimg(args: string[], options: { input?: string; timeoutMs?: number } = {}): Run {
  const r = spawnSync(process.execPath, ["--import", TSX, CLI, ...args], {
    cwd: dir,
    timeout: options.timeoutMs ?? 20_000,
    killSignal: "SIGKILL",
    maxBuffer: 1 << 28,
    ...(options.input !== undefined ? { input: options.input } : {}),
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The tests that run kimg on a real image need gzip to build it (Debian package gzip). */
const noGzip = needs("gzip");
const zboot = join(dir, "vmlinuz.efi");
if (!noGzip) {
  const { toCompress, trailer } = zbootInputs(buildArm64Image({ codeSize: 0x20000 }), "v6.4", "gzip");
  const payload = compressWith("gzip", toCompress);
  writeFileSync(zboot, buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes);
}
const fifo = join(dir, "fifo");
execFileSync("mkfifo", [fifo]);

/** A sparse file one byte over the input cap: large on paper, nothing on disk. */
const huge = join(dir, "huge.img");
{
  const fd = openSync(huge, "w");
  ftruncateSync(fd, DEFAULT_LIMITS.maxInputBytes + 1);
  closeSync(fd);
}

test("every command refuses device files and FIFOs as input, naming the file (E_IO, exit 4), and never hangs", () => {
  for (const odd of ["/dev/zero", "/dev/urandom", fifo, dir]) {
    for (const args of [
      ["inspect", odd],
      ["extract", odd, "-o", "-"],
      ["plan", odd],
      ["verify", odd],
      ["digest", odd],
    ]) {
      const r = kimg(args);
      assert.equal(r.signal, null, `kimg ${args.join(" ")} was killed (hung or ran away)`);
      assert.equal(r.status, 4, `kimg ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^kimg: E_IO: ${odd.replace(/[/.]/g, "\\$&")}(?::| is)`), args.join(" "));
    }
  }
});

test("kexec load reads through the same checked reader: image, --initrd and --dtb, with --dry-run", { skip: noGzip }, () => {
  const cases: Array<{ args: string[]; names: string }> = [
    { args: ["kexec", "load", "/dev/zero", "--dry-run"], names: "/dev/zero" },
    { args: ["kexec", "load", "/dev/urandom", "--dry-run"], names: "/dev/urandom" },
    { args: ["kexec", "load", fifo, "--dry-run"], names: fifo },
    { args: ["kexec", "load", zboot, "--initrd", "/dev/zero", "--dry-run"], names: "/dev/zero" },
    { args: ["kexec", "load", zboot, "--initrd", fifo, "--dry-run"], names: fifo },
    { args: ["kexec", "load", zboot, "--dtb", "/dev/urandom", "--segments", "--dry-run"], names: "/dev/urandom" },
    { args: ["kexec", "load", zboot, "--dtb", fifo, "--segments", "--dry-run"], names: fifo },
  ];
  for (const { args, names } of cases) {
    const r = kimg(args);
    assert.equal(r.signal, null, `kimg ${args.join(" ")} was killed (hung or ran away)`);
    assert.equal(r.status, 4, `kimg ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^kimg: E_IO: /, args.join(" "));
    assert.ok(r.stderr.includes(names), `${args.join(" ")} does not name ${names}: ${r.stderr}`);
  }
  // /dev/stdin from a shell pipe is a FIFO; from `< file` it is that file, read like any other.
  const run = (stdin: string): Run => {
    const r = spawnSync("bash", ["-c", `${stdin} "${process.execPath}" --import "${TSX}" "${CLI}" kexec load /dev/stdin --file --dry-run`], {
      cwd: dir,
      timeout: 20_000,
      killSignal: "SIGKILL",
    });
    return { status: r.status, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };
  const piped = run("head -c 100000 /dev/zero |");
  assert.equal(piped.signal, null, "hung or ran away");
  assert.equal(piped.status, 4, piped.stderr);
  assert.match(piped.stderr, /^kimg: E_IO: \/dev\/stdin is not a regular file \(a FIFO\)/);
  const redirected = run(`< "${zboot}"`);
  // Read and understood: the dry run prints the plan of the arm64 kernel inside.
  assert.doesNotMatch(redirected.stderr, /E_IO/);
  assert.match(redirected.stdout, /^source: {2}zboot \(arm64, gzip\)/);
});

test("an input over maxInputBytes is E_LIMIT before a byte is read (inspect, kexec --initrd)", { skip: noGzip }, () => {
  for (const args of [
    ["inspect", huge],
    ["kexec", "load", zboot, "--initrd", huge, "--dry-run"],
  ]) {
    const r = kimg(args);
    assert.equal(r.status, 3, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^kimg: E_LIMIT: .*${huge.replace(/[/.]/g, "\\$&")} is larger than ${DEFAULT_LIMITS.maxInputBytes} bytes \\(maxInputBytes\\)`),
    );
  }
});

test("readInput: a regular file comes back whole; the cap counts the bytes read, not what stat said", async () => {
  const file = join(dir, "ten");
  writeFileSync(file, "0123456789");
  assert.deepEqual(await readInput(file), new TextEncoder().encode("0123456789"));
  assert.deepEqual(await readInput(file, { maxBytes: 10 }), new TextEncoder().encode("0123456789"));
  await assert.rejects(readInput(file, { maxBytes: 9 }), (e: Error & { code?: string }) => e.code === "E_LIMIT" && e.message.includes(file));
  // /proc files say size 0 and still hold bytes: read to their end, under the cap.
  const status = await readInput("/proc/self/status");
  assert.match(new TextDecoder().decode(status), /^Name:/);
  await assert.rejects(readInput("/proc/self/status", { maxBytes: 16 }), (e: Error & { code?: string }) => e.code === "E_LIMIT");
  await assert.rejects(readInput(join(dir, "missing")), (e: Error & { code?: string }) => e.code === "E_IO" && e.message.includes("missing"));
});

test("readInput: a large file is read in pieces side by side, byte-exact, with what has arrived handed over meanwhile", async () => {
  const file = join(dir, "large");
  const data = randomBytes(41 * 1024 * 1024 + 3, 0x12345678);
  writeFileSync(file, data);
  const seen: number[] = [];
  let array: Uint8Array | undefined;
  const got = await readInput(file, {
    onArrived: (bytes, upTo) => {
      array ??= bytes;
      assert.equal(bytes, array, "always the same array");
      assert.equal(bytes.length, data.length);
      assert.ok(upTo > (seen.at(-1) ?? 0) && upTo < data.length, `upTo ${upTo} grows and stops short of the end`);
      assert.ok(Buffer.from(bytes.subarray(0, upTo)).equals(data.subarray(0, upTo)), `the first ${upTo} bytes are there`);
      seen.push(upTo);
    },
  });
  assert.ok(Buffer.from(got).equals(data));
  // (Whether it is called at all depends on the order the pieces arrive in: not when the first comes last.)
  if (array !== undefined) assert.equal(got, array, "the array handed over is the one returned");
  // The cap still counts what is read.
  await assert.rejects(readInput(file, { maxBytes: data.length - 1 }), (e: Error & { code?: string }) => e.code === "E_LIMIT");
});

test("readInput: a large file that shrinks or grows while it is read comes back as it is at the end", async () => {
  const MiB = 1024 * 1024;
  const data = randomBytes(48 * MiB, 0x9abcdef1);
  const shrinking = join(dir, "shrinking");
  writeFileSync(shrinking, data);
  // whileReading runs once the first piece's read is under way, before any other starts.
  const shrunk = await readInput(shrinking, { whileReading: () => truncateSync(shrinking, 32 * MiB) });
  assert.equal(shrunk.length, 32 * MiB);
  assert.ok(Buffer.from(shrunk).equals(data.subarray(0, 32 * MiB)));

  const growing = join(dir, "growing");
  writeFileSync(growing, data.subarray(0, 20 * MiB));
  const extra = randomBytes(3 * MiB + 5, 0x0badf00d);
  const got = await readInput(growing, { whileReading: () => appendFileSync(growing, extra) });
  assert.ok(Buffer.from(got).equals(Buffer.concat([data.subarray(0, 20 * MiB), extra])));
});

/** Runs kimg with its stdout a pipe whose reading end is already closed; returns status and stderr. */
function intoClosedPipe(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", TSX, CLI, ...args], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

test("stdout closed early (a pipe into head): every command ends quietly with 141, as the shell reports for cat", { skip: noGzip }, async () => {
  for (const args of [
    ["extract", zboot, "-o", "-"],
    ["inspect", zboot],
    ["inspect", zboot, "--json"],
    ["plan", zboot],
    ["verify", zboot],
    ["digest", zboot],
    ["extract", zboot, "--all", join(dir, "all-closed"), "--json"],
    ["kexec", "status"],
    ["--help"],
  ]) {
    const r = await intoClosedPipe(args);
    assert.equal(r.stderr, "", `kimg ${args.join(" ")} wrote to stderr`);
    assert.equal(r.status, 141, `kimg ${args.join(" ")}`);
  }
  // The shell's own view: `kimg extract -o - | head -c 10` with pipefail.
  const r = spawnSync(
    "bash",
    ["-c", `set -o pipefail; "${process.execPath}" --import "${TSX}" "${CLI}" extract "${zboot}" -o - | head -c 10 | wc -c; echo "status=$?"`],
    { cwd: dir },
  );
  assert.equal(r.stderr.toString(), "");
  assert.match(r.stdout.toString(), /^10\nstatus=141\n$/);
});

test("stderr closed early, or a full disk: the line is lost, the exit status is the command's, nothing crashes", { skip: noGzip }, async () => {
  const out = join(dir, "stderr-closed.bin");
  const run = (args: string[], stderr: "closed" | "full"): Promise<{ status: number | null; stdout: string }> =>
    new Promise((resolve) => {
      const full = stderr === "full" ? openSync("/dev/full", "w") : null;
      const child = spawn(process.execPath, ["--import", TSX, CLI, ...args], {
        cwd: dir,
        stdio: ["ignore", "pipe", full ?? "pipe"],
        env: { ...process.env, NODE_OPTIONS: "" },
      });
      if (full !== null) closeSync(full);
      child.stderr?.destroy();
      let stdout = "";
      child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
      child.on("close", (status) => resolve({ status, stdout }));
    });
  for (const stderr of ["closed", "full"] as const) {
    rmSync(out, { force: true });
    // A success that prints "wrote ..." on stderr, an error, a usage error.
    assert.equal((await run(["extract", zboot, "-o", out], stderr)).status, 0, stderr);
    assert.ok(existsSync(out));
    assert.equal((await run(["extract", zboot, "-o", out], stderr)).status, 4, `${stderr}: E_OUTPUT_EXISTS`);
    assert.equal((await run(["inspect", join(dir, "no-such-file")], stderr)).status, 4, stderr);
    assert.equal((await run(["extract"], stderr)).status, 2, stderr);
  }
});

test("stdout on a full disk (/dev/full): E_IO, exit 4, one line", { skip: noGzip }, () => {
  for (const args of [
    ["extract", zboot, "-o", "-"],
    ["inspect", zboot],
    ["plan", zboot, "--json"],
    ["digest", zboot],
  ]) {
    const fd = openSync("/dev/full", "w");
    try {
      const r = spawnSync(process.execPath, ["--import", TSX, CLI, ...args], {
        cwd: dir,
        stdio: ["ignore", fd, "pipe"],
        env: { ...process.env, NODE_OPTIONS: "" },
      });
      assert.equal(r.status, 4, `kimg ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr.toString(), /^kimg: E_IO: cannot write to stdout: ENOSPC[^\n]*\n$/);
    } finally {
      closeSync(fd);
    }
  }
});

test("stdout a non-blocking pipe that fills up: every byte still arrives, in order", { skip: noGzip || needs("python3") }, () => {
  // Python makes the pipe non-blocking (O_NONBLOCK is shared with kimg's descriptor) and reads
  // only after a pause, so kimg's direct writes meet EAGAIN and process.stdout must take the rest.
  const script = `
import os, subprocess, sys, time, hashlib
r, w = os.pipe()
os.set_blocking(w, False)
p = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, env=dict(os.environ, NODE_OPTIONS=""))
os.close(w)
time.sleep(1)
data = b""
while True:
    chunk = os.read(r, 1 << 20)
    if not chunk: break
    data += chunk
err = p.stderr.read()
print(p.wait(), len(data), hashlib.sha256(data).hexdigest(), err.decode()[-300:])
`;
  const want = spawnSync(process.execPath, ["--import", TSX, CLI, "extract", zboot, "-o", "-"], { cwd: dir, maxBuffer: 1 << 28 });
  assert.equal(want.status, 0, want.stderr.toString());
  assert.ok(want.stdout.length > 1 << 16, "more than a pipe holds (64 KiB)");
  const r = spawnSync("python3", ["-c", script, process.execPath, "--import", TSX, CLI, "extract", zboot, "-o", "-"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const [status, length, sha] = r.stdout.trim().split(" ");
  assert.equal(status, "0", r.stdout);
  assert.equal(Number(length), want.stdout.length);
  assert.equal(sha, createHash("sha256").update(want.stdout).digest("hex"));
});

test("--hart must be a non-negative integer; --max-size and --max-total-size positive byte counts (E_USAGE, exit 2)", { skip: noGzip }, () => {
  for (const bad of ["abc", "-5", "1.5", "", "0x"]) {
    const r = kimg(["plan", zboot, "--hart", bad]);
    assert.equal(r.status, 2, `--hart ${JSON.stringify(bad)}: ${r.stderr}`);
    assert.match(r.stderr, /E_USAGE: --hart/);
  }
  for (const good of ["0", "7", "0x10"]) assert.equal(kimg(["plan", zboot, "--hart", good]).status, 0, good);
  for (const option of ["--max-size", "--max-total-size"]) {
    for (const bad of ["0", "0.5", "-1", "abc", "1e3", "0K", "99999999999999G"]) {
      const r = kimg(["inspect", zboot, option, bad]);
      assert.equal(r.status, 2, `${option} ${bad}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`E_USAGE: ${option}`));
    }
  }
  assert.equal(kimg(["inspect", zboot, "--max-size", "0.5M"]).status, 0);
});

test("--max-total-size raises or lowers the budget for all layers together", { skip: noGzip }, () => {
  const r = kimg(["extract", zboot, "-o", "-", "--max-total-size", "64K"]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /E_LIMIT/);
  assert.equal(kimg(["extract", zboot, "-o", "-", "--max-total-size", "1M"]).status, 0);
});

test("kimg with no arguments prints its help to stderr and exits 2; --help still exits 0", () => {
  const r = kimg([]);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^Usage: kimg /);
  const help = kimg(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: kimg /);
});

test("a --cert that is not a certificate is E_USAGE naming the file; a missing one E_IO naming it", { skip: noGzip }, () => {
  const notCert = join(dir, "not-a-cert.pem");
  writeFileSync(notCert, "hello\n");
  let r = kimg(["verify", zboot, "--cert", notCert]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^kimg: E_USAGE: --cert ${notCert.replace(/[/.]/g, "\\$&")}: neither a DER certificate nor a PEM file`));
  r = kimg(["verify", zboot, "--cert", join(dir, "nope.pem")]);
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /^kimg: E_IO: .*nope\.pem/);
  r = kimg(["verify", zboot, "--cert", "/dev/zero"]);
  assert.equal(r.status, 4, r.stderr);
});
