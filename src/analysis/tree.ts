/**
 * Builds the layer tree: probe a format, let it fill its layer, descend into the children it
 * names, decompress compressed children, bounded by the limits at every step. Parsing is
 * synchronous; only decoders may be asynchronous (WASM initialisation).
 */
import { sniffCodec } from "../codecs/sniff.js";
import { decoderFor, resolveCodecs, type CodecTable } from "../codecs/registry.js";
import type { CodecName } from "../codecs/types.js";
import { ErrorCode, KimgError, asKimgError } from "../io/errors.js";
import { hex } from "../io/layout.js";
import { resolveLimits, type Limits } from "../io/limits.js";
import { compressedFormat } from "../formats/compressed.js";
import { formatById, LEAF_FORMATS, probeFormat } from "../formats/registry.js";
import { isText } from "../formats/simple.js";
import type { ChildSpec, CompressedHint, FormatInput, FormatParser } from "../formats/types.js";
import { ZBOOT_CODECS } from "../formats/zboot.js";
// Built-in initramfs (issue 16)
import { rawBuiltinCpio } from "../formats/builtin-initramfs.js";
import type { CompressedFacts, FactsTable, LayerFacts } from "../model/facts.js";
import type { Diagnostic, Layer, LayerFormat, Severity } from "../model/report.js";
import type { ReportCode } from "../model/codes.js";

/** Reported now and then while a compressed layer is decoded (the CLI draws its progress bar from these). */
export interface ProgressEvent {
  /** Path of the layer being decompressed. */
  layer: string;
  codec: CodecName;
  outputBytes: number;
  expectedBytes: number | null;
}

/** Options of every analysis (`inspect`, `unpack`, `plan`, `verifyImage`): limits, decoders, progress, and whether to stop at the first compressed layer. */
export interface AnalyseOptions {
  limits?: Partial<Limits>;
  /** Stop at the first compressed layer instead of decompressing it. */
  shallow?: boolean;
  /** Extra or replacement decoders (Node passes node:zlib here). */
  codecs?: CodecTable;
  /** A name for the input, shown in the report. */
  name?: string;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Look for what the innermost kernel carries: its "Linux version" banner, its embedded .config
   * and, in a raw image, a built-in initramfs. These are searches of the whole kernel (tens of
   * MB); default true. `extract` of the kernel alone turns them off, as it shows none of them:
   * then only a banner the headers point at is read (a bzImage's kernel_version, an ELF's
   * .rodata), and summary.linuxVersion is null for an Image.
   */
  kernelContents?: boolean;
  /**
   * Work whose only use is the report (default true). `extract`, which writes a layer's bytes and
   * shows no report, passes false: then the boot plan with default addresses is not made
   * (report.plan is null, and no "boot plan:" error is raised), a bzImage's boot-protocol CRC-32
   * over the whole file is not computed (its layer's info.crc32 says "not checked"), and signed
   * PE layers get no signature summary (info.signatureCount and the rest are absent). Every
   * check that decides whether a layer is whole is still made.
   */
  reportDetails?: boolean;
  /**
   * Called with a decoded layer's final bytes so far (`bytes[0, upTo)`): while an lz4 or LZO
   * stream decodes (DecodeOptions.onOutput), and for every codec once it is decoded, before the
   * layer is analysed. `layer` is the decoded layer's path ("/payload/decompressed"). The CLI's
   * extract writes them out meanwhile.
   */
  onDecodeOutput?: (event: { layer: string; bytes: Uint8Array; upTo: number }) => void;
  /**
   * The same CRC-32 as codecs/checksums.ts `crc32` (with its `initial`, as zlib's), where the
   * platform has a faster one: Node's zlib.crc32, for the bzImage's CRC over the whole file.
   */
  crc32?: ((data: Uint8Array, initial?: number) => number) | undefined;
}

/** The analysed image as the API's lower layers use it: the report's layer tree, each layer's bytes and typed facts by path, and the diagnostics. Not part of the JSON report. */
export interface Tree {
  root: Layer;
  diagnostics: Diagnostic[];
  /** The bytes of every layer, by path; decompressed layers included. */
  bytes: Map<string, Uint8Array>;
  /** The typed facts of every layer that has some (kernel images, ELF, zboot, UKI, compressed streams), by path. Not in the report. */
  facts: FactsTable;
}

export function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

class Walker {
  readonly diagnostics: Diagnostic[] = [];
  readonly bytes = new Map<string, Uint8Array>();
  readonly facts = new Map<string, LayerFacts>();
  private layerCount = 0;
  private totalOutputBytes = 0;
  private readonly codecs: CodecTable;

  constructor(
    private readonly limits: Limits,
    private readonly options: AnalyseOptions,
  ) {
    this.codecs = resolveCodecs(options.codecs);
  }

  /** The total budget as messages name it: the library limit and the CLI option that raises it. */
  private totalBudget(): string {
    return `maxTotalOutputBytes (${this.limits.maxTotalOutputBytes} bytes; raise it with --max-total-size if the image is genuine)`;
  }

  diagnose(layer: string, code: ReportCode, severity: Severity, message: string, offset: number | null): void {
    this.diagnostics.push({ code, severity, message, offset, layer });
  }

  private newLayer(path: string, format: LayerFormat, space: string, offset: number, size: number): Layer {
    return { path, format, title: format, space, offset, size, arch: null, structures: [], info: {}, children: [] };
  }

  async walk(bytes: Uint8Array, base: number, space: string, path: string, depth: number, spec?: ChildSpec): Promise<Layer> {
    this.layerCount++;
    let parser: FormatParser | null;
    if (spec?.compressed) parser = compressedFormat;
    else if (spec?.format) parser = formatById(spec.format) ?? null;
    else parser = probeFormat(bytes);
    if (!parser) {
      if (path === "/") {
        throw new KimgError(ErrorCode.UNKNOWN_FORMAT, "not a recognised kernel image, PE, ELF or compressed stream", { offset: 0, structure: "file" });
      }
      parser = isText(bytes) ? (LEAF_FORMATS[0] ?? null) : (LEAF_FORMATS[1] ?? null);
    }
    const layer = this.newLayer(path, parser?.format ?? "data", space, base, bytes.length);
    this.bytes.set(path, bytes);
    if (!parser) return layer;
    if (depth > this.limits.maxNestingDepth || this.layerCount > this.limits.maxLayerCount) {
      const what =
        depth > this.limits.maxNestingDepth
          ? `nesting depth ${depth} exceeds maxNestingDepth (${this.limits.maxNestingDepth})`
          : `more than maxLayerCount (${this.limits.maxLayerCount}) layers`;
      this.diagnose(path, ErrorCode.LIMIT, "error", `${what}; not descending further`, base);
      layer.title = `${parser.format} (not read: limit)`;
      return layer;
    }

    const input: FormatInput = {
      bytes,
      base,
      path,
      limits: this.limits,
      diagnose: (code, severity, message, offset) => this.diagnose(path, code, severity, message, offset === undefined ? null : base + offset),
      setFacts: (facts) => this.facts.set(path, facts),
      facts: this.facts,
      crc32: this.options.crc32,
      searchKernel: this.options.kernelContents !== false,
      reportDetails: this.options.reportDetails !== false,
    };
    let children: ChildSpec[] = [];
    try {
      children = parser.parse(input, layer);
      // Built-in initramfs (issue 16): an uncompressed archive in a raw kernel image's init data
      if (parser.kernel && parser.format !== "elf" && parser.format !== "bzimage" && this.options.kernelContents !== false)
        addRawBuiltinCpio(bytes, base, layer, children);
    } catch (error) {
      const e = asKimgError(error, ErrorCode.BAD_FIELD, { offset: base });
      this.diagnose(path, e.code, "error", e.message, e.offset ?? null);
      if (layer.title === parser.format) layer.title = `${parser.format} (damaged: ${e.code})`;
    }

    if (parser === compressedFormat) {
      const child = await this.decompress(bytes, layer, depth, spec?.compressed ?? {});
      if (child) layer.children.push(child);
    }
    for (const c of children) {
      const name = childPath(path, c.name);
      if (c.offset < 0 || c.length < 0 || c.offset + c.length > bytes.length) {
        this.diagnose(path, ErrorCode.BAD_OFFSET, "error", `${c.name} [${hex(base + c.offset)}, +${hex(c.length)}) lies outside the layer`, base + c.offset);
        continue;
      }
      const sub = bytes.subarray(c.offset, c.offset + c.length);
      layer.children.push(await this.walk(sub, base + c.offset, space, name, depth + 1, c));
    }
    if (parser.finish) {
      try {
        parser.finish(input, layer, layer.children);
      } catch (error) {
        const e = asKimgError(error, ErrorCode.BAD_FIELD, { offset: base });
        this.diagnose(path, e.code, "error", e.message, e.offset ?? null);
      }
    }
    return layer;
  }

  private async decompress(bytes: Uint8Array, layer: Layer, depth: number, hint: CompressedHint): Promise<Layer | null> {
    const path = layer.path;
    const sniffed = sniffCodec(bytes)?.codec ?? null;
    const declared = hint.declaredCodec === undefined ? null : ((ZBOOT_CODECS[hint.declaredCodec] as CodecName | undefined) ?? null);
    if (hint.declaredCodec !== undefined) layer.info.declaredCodec = hint.declaredCodec;
    if (declared && sniffed && declared !== sniffed) {
      this.diagnose(
        path,
        "CODEC_MISMATCH",
        "warning",
        `the header says "${hint.declaredCodec}" but the stream starts with ${sniffed} magic; decoding as ${sniffed}`,
        layer.offset,
      );
    }
    const codec = sniffed ?? declared;
    const facts: CompressedFacts = {
      kind: "compressed",
      codec,
      declaredCodec: hint.declaredCodec ?? null,
      expectedSize: hint.expectedSize ?? null,
      decompressed: null,
      decompressedSize: null,
    };
    this.facts.set(path, facts);
    const notDecompressed = (): null => {
      facts.decompressed = false;
      layer.info.decompressed = false;
      return null;
    };
    layer.info.codec = codec;
    layer.info.expectedSize = facts.expectedSize;
    if (hint.expectedSizeSource) layer.info.expectedSizeSource = hint.expectedSizeSource;
    if (!codec) {
      this.diagnose(path, ErrorCode.UNSUPPORTED_CODEC, "error", "the stream matches no known codec magic", layer.offset);
      return null;
    }
    if (!sniffed) this.diagnose(path, "CODEC_MAGIC_MISSING", "warning", `no ${codec} magic at the start of the stream`, layer.offset);
    layer.title = `${codec} stream, ${bytes.length} bytes${hint.declaredCodec ? ` (declared "${hint.declaredCodec}")` : ""}`;
    if (this.options.shallow) return notDecompressed();
    // The total budget is checked before decoding: a decoder is never started with nothing left.
    const totalLeft = this.limits.maxTotalOutputBytes - this.totalOutputBytes;
    if (totalLeft < 1) {
      this.diagnose(path, ErrorCode.LIMIT, "error", `${codec}: not decoded: earlier layers used up ${this.totalBudget()}`, layer.offset);
      return notDecompressed();
    }
    const maxOutputBytes = Math.min(this.limits.maxOutputBytes, totalLeft);
    // The ratio rule below, applied while decoding: a bomb (or a stream's own absurd size header)
    // stops at the largest output that would be accepted, not at maxOutputBytes.
    const ratioBytes = Math.max(this.limits.maxRatioFloorBytes, this.limits.maxCompressionRatio * Math.max(1, bytes.length));
    const budgetBytes = Math.min(maxOutputBytes, ratioBytes);
    // Decoders size their first buffer from the container's claim: one past maxCompressionRatio is not passed on (they grow instead).
    const reachable = Math.min(maxOutputBytes, this.limits.maxCompressionRatio * Math.max(1, bytes.length));
    const expected = hint.expectedSize !== undefined && hint.expectedSize > 0 && hint.expectedSize <= reachable ? hint.expectedSize : undefined;
    const decodedPath = childPath(path, "decompressed");
    let out: Uint8Array;
    try {
      const decoder = decoderFor(this.codecs, codec);
      const onProgress = this.options.onProgress;
      const onDecodeOutput = this.options.onDecodeOutput;
      out = await decoder(bytes, {
        expectedSize: expected,
        maxOutputBytes: budgetBytes,
        onProgress: onProgress ? (n) => onProgress({ layer: path, codec, outputBytes: n, expectedBytes: expected ?? null }) : undefined,
        onOutput: onDecodeOutput ? (b, upTo) => onDecodeOutput({ layer: decodedPath, bytes: b, upTo }) : undefined,
      });
    } catch (error) {
      const e = asKimgError(error, ErrorCode.CORRUPT_STREAM);
      const at = e.offset === undefined ? layer.offset : layer.offset + e.offset;
      let message = e.message;
      if (e.code === ErrorCode.LIMIT && budgetBytes < maxOutputBytes) {
        message = `output would pass ${budgetBytes} bytes from ${bytes.length}: ratio over maxCompressionRatio (${this.limits.maxCompressionRatio})`;
      } else if (e.code === ErrorCode.LIMIT && maxOutputBytes < this.limits.maxOutputBytes) {
        message = `output would pass the ${totalLeft} bytes left of ${this.totalBudget()} (earlier layers decoded ${this.totalOutputBytes})`;
      }
      this.diagnose(path, e.code, "error", `${codec}: ${message}`, at);
      return notDecompressed();
    }
    if (out.length > this.limits.maxRatioFloorBytes && out.length > this.limits.maxCompressionRatio * Math.max(1, bytes.length)) {
      this.diagnose(
        path,
        ErrorCode.LIMIT,
        "error",
        `${out.length} bytes from ${bytes.length}: ratio over maxCompressionRatio (${this.limits.maxCompressionRatio})`,
        layer.offset,
      );
      return notDecompressed();
    }
    this.totalOutputBytes += out.length;
    facts.decompressed = true;
    facts.decompressedSize = out.length;
    layer.info.decompressed = true;
    layer.info.decompressedSize = out.length;
    if (hint.expectedSize !== undefined && out.length !== hint.expectedSize && !hint.expectedSizeSource?.includes("upper bound")) {
      this.diagnose(
        path,
        "DECOMPRESSED_SIZE_MISMATCH",
        "warning",
        `decompressed ${out.length} bytes; ${hint.expectedSizeSource ?? "the container"} says ${hint.expectedSize}`,
        layer.offset,
      );
    }
    const contents: ChildSpec | undefined = hint.contents ? { name: "decompressed", offset: 0, length: out.length, format: hint.contents } : undefined;
    // All of it is final now, whatever the codec: the CLI's write of it overlaps the walk below.
    this.options.onDecodeOutput?.({ layer: decodedPath, bytes: out, upTo: out.length });
    return this.walk(out, 0, path, decodedPath, depth + 1, contents);
  }
}

export async function buildTree(bytes: Uint8Array, options: AnalyseOptions = {}): Promise<Tree> {
  const walker = new Walker(resolveLimits(options.limits), options);
  const root = await walker.walk(bytes, 0, "file", "/", 0);
  return { root, diagnostics: walker.diagnostics, bytes: walker.bytes, facts: walker.facts };
}

/** The layer at `path` ("/", "/payload", "/payload/decompressed", ...) in a report's tree, or undefined. */
export function findLayer(root: Layer, path: string): Layer | undefined {
  const wanted = path === "" ? "/" : path.startsWith("/") ? path : `/${path}`;
  const stack = [root];
  while (stack.length) {
    const l = stack.pop() as Layer;
    if (l.path === wanted) return l;
    stack.push(...l.children);
  }
  return undefined;
}

/** Every layer of a tree, depth first, the root first. */
export function* allLayers(root: Layer): Generator<Layer> {
  yield root;
  for (const c of root.children) yield* allLayers(c);
}

/** Adds the uncompressed built-in initramfs of a raw kernel image as its child "initramfs" (issue 16). */
function addRawBuiltinCpio(bytes: Uint8Array, base: number, layer: Layer, children: ChildSpec[]): void {
  if (children.some((c) => c.name === "initramfs")) return;
  const found = rawBuiltinCpio(bytes);
  if (!found) return;
  // Not when the archive lies in a part another child already covers (a payload holding it); a view of the whole layer (the PE view) does not count.
  if (children.some((c) => c.length < bytes.length && found.child.offset >= c.offset && found.child.offset < c.offset + c.length)) return;
  layer.info.builtinInitramfs = { offset: base + found.child.offset, size: found.child.length, source: found.source };
  children.push(found.child);
}
