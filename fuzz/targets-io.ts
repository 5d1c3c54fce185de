/**
 * Fuzz targets for the CLI's Node side, where the input bytes steer the file system rather than
 * a parser: the checked reader against odd files and caps (what `kexec load`, --initrd, --dtb and
 * every command read through), stdout writes into readers that go away or disks that fill, and
 * `extract --all`'s all-or-nothing set on a disk that fails part way. Each checks the promise
 * the README makes, byte for byte, and throws an invariant error when it does not hold.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  createWriteStream,
  accessSync,
  constants,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { analyse } from "../src/api/index.js";
import { allLayers } from "../src/analysis/tree.js";
import { ErrorCode, KimgError } from "../src/io/errors.js";
import { OutputSet, outputIo, readInput } from "../src/node/files.js";
import { StdoutClosed, writeStdout } from "../src/node/stdout.js";
import { layerFileName } from "../src/report/file-names.js";
import type { FuzzTarget } from "./targets.js";

/** Same name as targets.ts's InvariantError (not imported: targets.ts imports this module). */
class InvariantError extends Error {
  override readonly name = "InvariantError";
}

/** A scratch folder on tmpfs when there is one: the set target fsyncs every file. */
function scratchRoot(): string {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

let scratch: string | undefined;
/** Odd files made once per worker: a FIFO, a folder, symlinks to devices. */
let oddFiles: string[] = [];

function setup(): string {
  if (scratch) return scratch;
  scratch = mkdtempSync(join(scratchRoot(), "kimg-fuzz-io-"));
  const dir = scratch;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "folder"));
  symlinkSync("/dev/zero", join(dir, "zero-link"));
  oddFiles = ["/dev/zero", "/dev/urandom", "/dev/null", join(dir, "folder"), join(dir, "zero-link")];
  try {
    execFileSync("mkfifo", [join(dir, "fifo")]);
    oddFiles.push(join(dir, "fifo"));
  } catch {
    // no mkfifo here: the other odd files still run
  }
  return dir;
}

/** A small number from the input, for choices that must not depend on where mutations land. */
function pick(bytes: Uint8Array, at: number, modulo: number): number {
  const b = bytes.length === 0 ? 0 : (bytes[at % bytes.length] ?? 0) ^ bytes.length;
  return b % modulo;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Every file under `dir` with its bytes, for before/after comparisons. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) out.set(name, readFileSync(join(dir, name)).toString("base64"));
  return out;
}

function sameSnapshot(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** A stdout stand-in: takes `capacity` bytes, then fails every write with `code` (EPIPE, ENOSPC), or never fails. */
class FailingStdout extends Writable {
  readonly received: Uint8Array[] = [];
  private taken = 0;
  constructor(
    private readonly capacity: number,
    private readonly code: string | null,
  ) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.code !== null && this.taken + chunk.length > this.capacity) {
      callback(Object.assign(new Error(`${this.code}: simulated, write`), { code: this.code }));
      return;
    }
    this.taken += chunk.length;
    this.received.push(new Uint8Array(chunk));
    callback();
  }
}

export const IO_TARGETS: readonly FuzzTarget[] = [
  {
    // The reader every command and `kexec load` (image, --initrd, --dtb) use: exact bytes under the cap, E_LIMIT over it, E_IO for odd files.
    name: "read-input",
    async run(bytes) {
      const dir = setup();
      const file = join(dir, "input.bin");
      writeFileSync(file, bytes);
      // A cap around the input's own length: the boundary is where off-by-ones live.
      const maxBytes = Math.max(0, bytes.length + pick(bytes, 1, 5) - 2);
      let read: Uint8Array | null = null;
      try {
        read = await readInput(file, { maxBytes, what: "--initrd" });
      } catch (error) {
        if (!(error instanceof KimgError) || error.code !== ErrorCode.LIMIT || bytes.length <= maxBytes) throw error;
      }
      if (read !== null && (bytes.length > maxBytes || !sameBytes(read, bytes))) {
        throw new InvariantError(`readInput returned ${read.length} bytes for a ${bytes.length}-byte file under a ${maxBytes}-byte cap`);
      }
      const odd = oddFiles[pick(bytes, 0, oddFiles.length)] as string;
      try {
        await readInput(odd, { what: "--dtb" });
        throw new InvariantError(`readInput read ${odd}`);
      } catch (error) {
        if (!(error instanceof KimgError) || error.code !== ErrorCode.IO || !error.message.includes(odd)) throw error;
      }
      // What is read goes on to kexec's unpacker, which the kexec-source target fuzzes on the same bytes.
      return read === null ? "E_LIMIT" : "read";
    },
    accepts: () => false,
  },
  {
    // writeStdout into a reader that goes away (EPIPE), a disk that fills (ENOSPC, and the real /dev/full), or a good one.
    name: "stdout",
    async run(bytes) {
      const mode = pick(bytes, 2, 4);
      if (mode === 3) {
        const full = createWriteStream("/dev/full");
        try {
          await writeStdout(bytes, full);
          if (bytes.length > 0) throw new InvariantError("a write to /dev/full succeeded");
          return "written";
        } catch (error) {
          if (error instanceof KimgError && error.code === ErrorCode.IO && /ENOSPC/.test(error.message)) return "E_IO";
          throw error;
        } finally {
          full.destroy();
        }
      }
      const capacity = pick(bytes, 3, Math.max(1, bytes.length + 1));
      const code = mode === 0 ? null : mode === 1 ? "EPIPE" : "ENOSPC";
      const out = new FailingStdout(capacity, code);
      // The bytes in a few pieces, as a command writes its report.
      const cuts = [0, pick(bytes, 4, bytes.length + 1), pick(bytes, 5, bytes.length + 1), bytes.length].sort((a, b) => a - b);
      let failure: unknown = null;
      for (let i = 0; i + 1 < cuts.length; i++) {
        try {
          await writeStdout(bytes.subarray(cuts[i], cuts[i + 1]), out);
        } catch (error) {
          failure ??= error;
        }
      }
      const received = Buffer.concat(out.received);
      if (failure === null) {
        if (!sameBytes(received, bytes)) throw new InvariantError(`stdout received ${received.length} of ${bytes.length} bytes and no error`);
        return "written";
      }
      if (code === "EPIPE" && failure instanceof StdoutClosed) return "closed";
      if (code === "ENOSPC" && failure instanceof KimgError && failure.code === ErrorCode.IO) return "E_IO";
      throw failure instanceof Error ? failure : new InvariantError(String(failure));
    },
    accepts: () => false,
  },
  {
    // extract --all's set (shallow layers, so the layers are slices of the input) on a disk that fails after N bytes,
    // into a folder that may already hold some of the names; all or nothing, byte for byte.
    name: "extract-all-set",
    async run(bytes) {
      const { tree } = await analyse(bytes, { shallow: true });
      const layers = [...allLayers(tree.root)];
      const base = setup();
      const dir = join(base, "set");
      rmSync(dir, { recursive: true, force: true });
      const force = pick(bytes, 6, 2) === 1;
      const planted = pick(bytes, 7, 3);
      if (planted > 0) {
        mkdirSync(dir);
        // Plant a file under the name of one of the layers (or an unrelated one).
        const victim = layers[pick(bytes, 8, layers.length)];
        writeFileSync(join(dir, planted === 1 && victim ? layerFileName(victim) : "unrelated"), "planted");
      }
      const before = snapshot(dir);
      let budget = pick(bytes, 9, 4) === 0 ? Infinity : pick(bytes, 10, Math.max(1, bytes.length * 2));
      const realWrite = outputIo.write;
      outputIo.unnamedTemps = pick(bytes, 11, 2) === 0;
      outputIo.write = async (handle, data) => {
        if (data.length > budget) throw Object.assign(new Error("ENOSPC: no space left on device (simulated), write"), { code: "ENOSPC" });
        budget -= data.length;
        await realWrite(handle, data);
      };
      const expected = new Map<string, Uint8Array>();
      let failure: KimgError | null = null;
      let set: OutputSet | undefined;
      try {
        set = await OutputSet.open(dir, { force, createDir: true });
        for (const layer of layers) {
          const name = layerFileName(layer);
          const data = tree.bytes.get(layer.path) ?? (layer.path === "/" ? bytes : new Uint8Array(0));
          await set.add(name, data);
          expected.set(name, data);
        }
        set.commit();
      } catch (error) {
        if (!(error instanceof KimgError)) throw error;
        failure = error;
      } finally {
        // As the CLI does: the set is disposed before the error reaches the user.
        await set?.dispose();
        outputIo.write = realWrite;
        outputIo.unnamedTemps = true;
      }
      if (failure) {
        const after = snapshot(dir);
        if (!sameSnapshot(before, after))
          throw new InvariantError(`a failed set (${failure.code}) changed the folder: ${[...before.keys()]} -> ${[...after.keys()]}`);
        if (planted === 0 && existsSync(dir)) throw new InvariantError("a failed set left the folder it made");
        return failure.code;
      }
      const after = snapshot(dir);
      for (const [name, data] of expected) {
        if (after.get(name) !== Buffer.from(data).toString("base64")) throw new InvariantError(`${name} does not hold its layer's ${data.length} bytes`);
      }
      const extra = [...after.keys()].filter((n) => !expected.has(n) && !before.has(n));
      if (extra.length) throw new InvariantError(`left behind: ${extra.join(", ")}`);
      return "written";
    },
    // The shallow analysis may find nothing (E_UNKNOWN_FORMAT); the set ends in E_IO or E_OUTPUT_EXISTS.
    accepts: (code) => code === ErrorCode.UNKNOWN_FORMAT || code === ErrorCode.IO || code === ErrorCode.OUTPUT_EXISTS,
  },
];
