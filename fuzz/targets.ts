/**
 * What the fuzzer runs on every input: one small entry per public entry point. An entry runs the
 * call, checks what came back, and names the outcome; `accepts` says which KimgErrors are a
 * legitimate answer for it. Anything else (another error class, a KimgError whose code is not
 * one of ErrorCode's, a report that does not serialise) is a failure.
 */
import { getHeapStatistics } from "node:v8";
import { analyse, inspect, plan, unpack, verifyImage } from "../src/api/index.js";
import { configOptions, kernelConfig } from "../src/api/config.js";
import { IKCONFIG_MAX_CONFIG_BYTES } from "../src/io/limits.js";
import { IKCFG_ST } from "../src/analysis/ikconfig.js";
import { indexOf } from "../src/io/layout.js";
import { BUILTIN_CODECS, decoderFor, type CodecTable } from "../src/codecs/registry.js";
import { sniffCodec } from "../src/codecs/sniff.js";
import { ErrorCode, KimgError, isErrorCode } from "../src/io/errors.js";
import { DEFAULT_LIMITS } from "../src/io/limits.js";
import { readArm64LoadInfo } from "../src/kexec/arm64-image.js";
import { parseFdt, serializeFdt } from "../src/kexec/fdt.js";
import { coreUnpacker } from "../src/kexec/source.js";
import { allLayers } from "../src/analysis/tree.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import { insideDir, safeLayerFileName } from "../src/node/files.js";
import { renderPlanText } from "../src/report/plan-text.js";
import { renderText } from "../src/report/text.js";
import type { Report } from "../src/model/report.js";
import type { BootPlan } from "../src/model/plan.js";
import { IO_TARGETS } from "./targets-io.js";
// Initramfs archives (issue 16)
import { archivesOf } from "../src/api/archive.js";

export interface FuzzTarget {
  name: string;
  /** Runs the call; returns a short outcome name ("report", "E_TRUNCATED"...) for the statistics. */
  run(bytes: Uint8Array): Promise<string>;
  /** Whether a KimgError with this code is an acceptable end for this target. */
  accepts(code: string): boolean;
}

export const isStableCode = isErrorCode;

/** Thrown by a target's own checks: the call returned, but what it returned is wrong. */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}

/** The library's promise about reports: plain JSON, and the text view renders every one. */
export function checkReport(report: Report): void {
  const json = JSON.stringify(report);
  if (typeof json !== "string") throw new InvariantError("report does not serialise");
  renderText(report);
  renderText(report, { fields: false });
  for (const d of report.diagnostics) {
    if (d.offset !== null && !Number.isFinite(d.offset)) throw new InvariantError(`diagnostic ${d.code} has offset ${String(d.offset)}`);
  }
  // `extract --all` names its files after the layer paths: none may leave the output folder.
  for (const layer of allLayers(report.root)) {
    const name = safeLayerFileName(layer.path, ".bin");
    if (!insideDir("/kimg-out", name) || name.startsWith("."))
      throw new InvariantError(`layer ${JSON.stringify(layer.path)} becomes the unsafe file name ${JSON.stringify(name)}`);
  }
}

/** Node's codecs are what the CLI uses; the portable ones are what browsers get. Both are fuzzed. */
const PORTABLE: CodecTable = BUILTIN_CODECS;

/** The cap of the "decoders" target: large enough for the seeds' streams, small enough to be fast. */
const DECODER_CAP_BYTES = 4 * 1024 * 1024;
/** The total budget of the "spent-budget" target: the seeds' kernels decompress to more than this. */
const SPENT_BUDGET_BYTES = 40 * 1024;
/** What a decoder may end in: a coded stream problem or a limit, nothing else. */
const DECODER_CODES: ReadonlySet<string> = new Set([
  ErrorCode.CORRUPT_STREAM,
  ErrorCode.CHECKSUM,
  ErrorCode.LIMIT,
  ErrorCode.UNSUPPORTED,
  ErrorCode.UNSUPPORTED_CODEC,
]);

/** The input when it is a compressed stream, else the first compressed layer a shallow read finds. */
async function firstStream(input: Uint8Array): Promise<{ bytes: Uint8Array; expectedSize?: number }> {
  if (sniffCodec(input)) return { bytes: input };
  const { tree } = await analyse(input, { shallow: true }).catch(() => ({ tree: null }));
  if (!tree) return { bytes: input };
  for (const layer of allLayers(tree.root)) {
    const bytes = tree.bytes.get(layer.path);
    if (layer.format !== "compressed" || !bytes) continue;
    const expected = layer.info.expectedSize;
    return typeof expected === "number" ? { bytes, expectedSize: expected } : { bytes };
  }
  return { bytes: input };
}

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: "inspect",
    async run(bytes) {
      const report = await inspect(bytes, { codecs: PORTABLE });
      checkReport(report);
      return report.diagnostics.some((d) => d.severity === "error") ? "report+errors" : "report";
    },
    // The only fatal answer of inspect: nothing at all was recognised.
    accepts: (code) => code === ErrorCode.UNKNOWN_FORMAT,
  },
  {
    name: "inspect-shallow",
    async run(bytes) {
      const report = await inspect(bytes, { shallow: true });
      checkReport(report);
      return "report";
    },
    accepts: (code) => code === ErrorCode.UNKNOWN_FORMAT,
  },
  {
    name: "unpack",
    async run(bytes) {
      const result = await unpack(bytes, { codecs: NODE_CODECS, trim: true });
      if (result.data.length > result.report.input.size && result.report.summary.compression === null && result.path !== "/") {
        // Without decompression a layer is a slice of the input, never larger.
        throw new InvariantError(`layer ${result.path} has ${result.data.length} bytes, more than the ${result.report.input.size}-byte input`);
      }
      return "unpacked";
    },
    accepts: isStableCode,
  },
  {
    name: "plan",
    async run(bytes) {
      const result = await plan(bytes);
      renderPlanText(result.plan);
      if (typeof JSON.stringify(result.plan) !== "string") throw new InvariantError("plan does not serialise");
      return "plan";
    },
    accepts: isStableCode,
  },
  {
    name: "verify",
    async run(bytes) {
      const report = await verifyImage(bytes);
      if (typeof JSON.stringify(report) !== "string") throw new InvariantError("verify report does not serialise");
      if (report.verified && report.signatures.length === 0) throw new InvariantError("verified with no signature");
      return report.verified ? "verified" : report.signatures.length ? "signature-failed" : "unsigned";
    },
    accepts: isStableCode,
  },
  {
    name: "kexec-source",
    async run(bytes) {
      const kernel = await coreUnpacker(bytes);
      if (kernel.kernelFormat === "arm64-image") readArm64LoadInfo(kernel.kernel);
      return kernel.kernelFormat;
    },
    accepts: isStableCode,
  },
  {
    // The portable decoders as a browser gets them (fflate, zstddec WASM, our own), called bare so
    // that each one's own output contract is what is checked, not the registry's wrapper.
    name: "decoders",
    async run(input) {
      const { bytes, expectedSize } = await firstStream(input);
      const sniffed = sniffCodec(bytes);
      if (!sniffed) return "no-codec";
      const decode = PORTABLE[sniffed.codec];
      if (!decode) throw new InvariantError(`no portable ${sniffed.codec} decoder`);
      const out = await decode(bytes, { maxOutputBytes: DECODER_CAP_BYTES, expectedSize });
      if (out.length > DECODER_CAP_BYTES) throw new InvariantError(`${sniffed.codec} returned ${out.length} bytes under a cap of ${DECODER_CAP_BYTES}`);
      // One byte less than it needs: the same decoder must stop with E_LIMIT, not return less or more.
      if (out.length > 0) {
        const short = await Promise.resolve(decode(bytes, { maxOutputBytes: out.length - 1 })).then(
          (o) => `${o.length} bytes`,
          (e: unknown) => (e instanceof KimgError ? e.code : String(e)),
        );
        if (short !== ErrorCode.LIMIT)
          throw new InvariantError(`${sniffed.codec}: ${out.length} bytes under a cap of ${out.length}, but ${short} under ${out.length - 1}`);
      }
      // A spent budget never reaches a decoder.
      const spent = await Promise.resolve(decoderFor(PORTABLE, sniffed.codec)(bytes, { maxOutputBytes: 0 })).then(
        (o) => `${o.length} bytes`,
        (e: unknown) => (e instanceof KimgError ? e.code : String(e)),
      );
      if (spent !== ErrorCode.LIMIT) throw new InvariantError(`${sniffed.codec} with no budget: ${spent}`);
      return `${sniffed.codec}-decoded`;
    },
    accepts: (code) => DECODER_CODES.has(code),
  },
  {
    // A total budget small enough to be spent part way: later layers must be refused, never decoded
    // into whatever a decoder had left over (unpack reads the same tree, so inspect is enough).
    name: "spent-budget",
    async run(bytes) {
      const limits = { maxTotalOutputBytes: SPENT_BUDGET_BYTES };
      const report = await inspect(bytes, { codecs: PORTABLE, limits });
      checkReport(report);
      let decoded = 0;
      for (const layer of allLayers(report.root)) {
        if (layer.info.decompressed !== true) continue;
        const child = layer.children.find((c) => c.path.endsWith("/decompressed"));
        if (!child || child.size !== layer.info.decompressedSize)
          throw new InvariantError(`${layer.path}: decompressedSize ${String(layer.info.decompressedSize)} but the layer holds ${child?.size}`);
        decoded += child.size;
      }
      if (decoded > SPENT_BUDGET_BYTES) throw new InvariantError(`${decoded} bytes decoded under maxTotalOutputBytes ${SPENT_BUDGET_BYTES}`);
      return decoded > 0 ? "decoded-within-budget" : "report";
    },
    accepts: (code) => code === ErrorCode.UNKNOWN_FORMAT,
  },
  {
    name: "fdt",
    async run(bytes) {
      serializeFdt(parseFdt(bytes));
      return "parsed";
    },
    accepts: isStableCode,
  },
  {
    // The embedded .config (issue 16): found, inflated under its cap, read as diffconfig reads it.
    name: "config",
    async run(bytes) {
      // Only inputs that can hold a .config where this call looks first (the inspect target
      // already searches every kernel layer it reaches): a marker in the bytes, or a gzip stream.
      if (indexOf(bytes, IKCFG_ST) === -1 && !(bytes[0] === 0x1f && bytes[1] === 0x8b)) return "no-marker";
      const { source, config, location } = await kernelConfig(bytes);
      if (config.length > Math.max(IKCONFIG_MAX_CONFIG_BYTES, bytes.length)) throw new InvariantError(`a .config of ${config.length} bytes`);
      if (source === "kernel" && (!location?.present || location.size !== config.length))
        throw new InvariantError(`kernelConfig returned ${config.length} bytes, the report says ${JSON.stringify(location)}`);
      configOptions(config);
      return `config-${source}`;
    },
    accepts: isStableCode,
  },
  // Boot containers (issue 15): what the plan takes from a uImage, FIT or Android boot image.
  {
    name: "containers",
    async run(bytes) {
      if (!CONTAINER_MAGICS.some((m) => m.every((b, i) => bytes[i] === b))) return "not-a-container";
      const { plan: p, report } = await plan(bytes);
      const c = p.container;
      if (!c) return "plan-without-container";
      checkContainerPlan(p, report);
      return `${c.format}-planned`;
    },
    accepts: isStableCode,
  },
  // Initramfs archives (issue 16): every archive's listing and extraction plan; a planned path is
  // always relative with no "..", and every file's data lies inside its archive's bytes.
  {
    name: "archives",
    async run(bytes) {
      // Shallow (no decoding): the inspect target already reads decompressed archives; this one adds the extraction plan cheaply.
      const { report, tree } = await analyse(bytes, { shallow: true });
      const found = archivesOf(report, tree.bytes);
      for (const a of found) {
        for (const op of a.plan.ops) {
          const parts = op.path.split("/");
          if (op.path.startsWith("/") || parts.some((p) => p === ".." || p === "" || p === "." || p.includes("\0"))) {
            throw new InvariantError(`unsafe path planned in ${a.layer.path}: ${JSON.stringify(op.path)}`);
          }
          if (op.kind === "file" && (op.dataOffset < 0 || op.dataOffset + op.size > a.data.length)) {
            throw new InvariantError(`${op.path}: data [${op.dataOffset}, +${op.size}) outside the ${a.data.length}-byte archive`);
          }
        }
      }
      return found.length ? "planned" : "no-archive";
    },
    accepts: isStableCode,
  },
  // The CLI's file reader, stdout writes and extract --all's set (fuzz/targets-io.ts).
  ...IO_TARGETS,
];

/** FIT (FDT), uImage, Android boot: the magics the "containers" target looks at first. */
const CONTAINER_MAGICS: readonly number[][] = [[0xd0, 0x0d, 0xfe, 0xed], [0x27, 0x05, 0x19, 0x56], [...new TextEncoder().encode("ANDROID!")]];

/** A container's plan: its fields point into the container, its parts are layers, the DTB register holds the DTB segment. */
function checkContainerPlan(p: BootPlan, report: Report): void {
  const c = p.container;
  if (!c) return;
  const layers = new Map([...allLayers(report.root)].map((l) => [l.path, l]));
  const container = layers.get(c.layer);
  if (!container) throw new InvariantError(`container layer ${c.layer} is not in the report`);
  for (const a of c.addresses) {
    if (a.offset !== null && (a.offset < 0 || a.offset >= container.size))
      throw new InvariantError(`${a.name} at ${a.offset} lies outside the ${container.size}-byte container`);
    if (!/^0x[0-9a-f]+$/.test(a.value)) throw new InvariantError(`${a.name} = ${a.value} is not a hex address`);
  }
  for (const part of c.parts)
    if (part.layer !== null && !layers.has(part.layer)) throw new InvariantError(`part ${part.name} names the missing layer ${part.layer}`);
  if (c.format === "fit") {
    const configurations = container.info.configurations;
    const names = Array.isArray(configurations) ? configurations.map((x) => (x && typeof x === "object" && !Array.isArray(x) ? x.name : null)) : [];
    const planned = [...(c.configuration === null ? [] : [c.configuration]), ...c.otherConfigurations];
    if (JSON.stringify([...planned].sort()) !== JSON.stringify([...names].sort()))
      throw new InvariantError(`planned ${planned.join(",")} but the FIT has ${names.join(",")}`);
  }
  const dtb = p.segments.find((s) => s.name === "dtb");
  const register = p.registers.find((r) => r.name === "x0" || r.name === "r2");
  if (dtb && register && register.value !== dtb.address) throw new InvariantError(`${register.name} = ${register.value} but the DTB is at ${dtb.address}`);
}

export interface TargetOutcome {
  /** "ok" with the outcome name, or a failure. */
  ok: boolean;
  outcome: string;
  /** A failure's kind: a wrong end, or buffers far larger than the input can justify. */
  kind?: "exception" | "memory";
  error?: { name: string; message: string; stack: string; code?: string };
}

const MiB = 1024 * 1024;

/**
 * The most ArrayBuffer memory one call may gain: outputs up to maxRatioFloorBytes are legitimate
 * at any ratio, larger ones only within maxCompressionRatio, and a few copies of each are normal.
 * Buffers are mostly zero-filled lazily, so the resident size would not show an oversized one.
 */
export function allocationCeilingBytes(inputBytes: number): number {
  return 4 * Math.max(DEFAULT_LIMITS.maxRatioFloorBytes, DEFAULT_LIMITS.maxCompressionRatio * inputBytes);
}

/** ArrayBuffers (and other memory V8 does not hold itself): the cheap reading, 20x faster than process.memoryUsage(). */
function externalBytes(): number {
  return getHeapStatistics().external_memory;
}

/** Runs one target on one input and judges the end, and what it allocated. */
export async function runTarget(target: FuzzTarget, bytes: Uint8Array): Promise<TargetOutcome> {
  const before = externalBytes();
  const result = await judge(target, bytes);
  const grown = externalBytes() - before;
  if (result.ok && grown > allocationCeilingBytes(bytes.length)) {
    const message = `external memory (ArrayBuffers) grew by ${Math.round(grown / MiB)} MiB in one call on a ${bytes.length}-byte input (ceiling ${Math.round(allocationCeilingBytes(bytes.length) / MiB)} MiB)`;
    return { ok: false, kind: "memory", outcome: "allocation past the ceiling", error: { name: "AllocationError", message, stack: "" } };
  }
  return result;
}

async function judge(target: FuzzTarget, bytes: Uint8Array): Promise<TargetOutcome> {
  try {
    return { ok: true, outcome: await target.run(bytes) };
  } catch (error) {
    if (error instanceof KimgError && isStableCode(error.code) && target.accepts(error.code)) return { ok: true, outcome: error.code };
    const e = error instanceof Error ? error : new Error(String(error));
    const code = error instanceof KimgError ? error.code : undefined;
    const why =
      error instanceof KimgError ? (isStableCode(error.code) ? `${target.name} must not end in ${error.code}` : `unstable error code "${error.code}"`) : e.name;
    return { ok: false, kind: "exception", outcome: why, error: { name: e.name, message: e.message, stack: e.stack ?? "", ...(code ? { code } : {}) } };
  }
}

export function targetsByName(names: readonly string[] | undefined, known: readonly FuzzTarget[] = TARGETS): FuzzTarget[] {
  if (!names || names.length === 0) return [...TARGETS];
  return names.map((n) => {
    const t = known.find((x) => x.name === n);
    if (!t) throw new Error(`unknown target "${n}" (known: ${known.map((x) => x.name).join(", ")})`);
    return t;
  });
}
