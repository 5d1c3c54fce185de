/** The plug-in shape of a format: a cheap probe and a parse that fills a layer. */
import type { Limits } from "../io/limits.js";
import type { DiagnosticCode } from "../model/codes.js";
import type { FactsTable, LayerFacts } from "../model/facts.js";
import type { Layer, LayerFormat, Severity } from "../model/report.js";

/** A part of a layer that is itself a layer (a payload, a section, the PE view of an image). */
export interface ChildSpec {
  /** Path segment: "payload", "pe", ".linux", "setup" ... */
  name: string;
  /** Start within the parent's bytes. */
  offset: number;
  length: number;
  /** Parse as this format instead of probing (used for the PE view of an image, which would probe as the image again). */
  format?: LayerFormat;
  /** The child is a compressed stream. */
  compressed?: CompressedHint;
}

export interface CompressedHint {
  /** The codec id the container declares, as written (zboot "xzkern", "zstd22" ...). */
  declaredCodec?: string;
  /** The uncompressed size the container declares or implies (a hint to check). */
  expectedSize?: number;
  /** Where the expected size came from, for the report. */
  expectedSizeSource?: string;
  /** What the decompressed bytes are, when the container knows and they have no header to probe (a raw kernel image). */
  contents?: LayerFormat;
}

export interface FormatInput {
  /** The layer's bytes. */
  bytes: Uint8Array;
  /** Offset of bytes[0] in the layer's space. */
  base: number;
  path: string;
  limits: Limits;
  /** Records a diagnostic; `offset` is relative to `bytes`. */
  diagnose(code: DiagnosticCode, severity: Severity, message: string, offset?: number): void;
  /** Records the layer's typed facts (src/model/facts.ts), once; its `info` is their display projection. */
  setFacts(facts: LayerFacts): void;
  /** The facts recorded so far, by layer path: in `finish`, the children's are there too. */
  facts: FactsTable;
  /** AnalyseOptions.crc32: codecs/checksums.ts `crc32` where the platform has a faster one. */
  crc32?: ((data: Uint8Array, initial?: number) => number) | undefined;
  /**
   * False when AnalyseOptions.kernelContents is: a kernel layer is not searched through (for its
   * banner, .config or built-in initramfs); what its headers point at is still read.
   */
  searchKernel: boolean;
  /** False when AnalyseOptions.reportDetails is: work only the report shows (a whole-file CRC-32) is skipped. */
  reportDetails: boolean;
}

/**
 * What a kernel format is to kimg, declared once on its parser; the registry derives its sets
 * (KERNEL_FORMATS, BOOTABLE_FORMATS, PLANNED_FORMATS, UNSUPPORTED_KERNEL_FORMATS) from it.
 */
export interface KernelRole {
  /** A boot loader (or kexec) loads a layer of this format as it is: `unpack` hands it out as `bootable`. */
  bootable: boolean;
  /**
   * `plan` boots this format; the rank orders the formats when a chain holds several (the
   * innermost layer of the lowest rank wins: an Image before a bzImage before its ELF vmlinux).
   * Null when kimg does not plan it.
   */
  planRank: number | null;
  /** A kernel kimg recognises but cannot plan or extract yet: its name in messages ("s390 kernel image"). Null when supported. */
  unsupported: string | null;
}

export interface FormatParser {
  format: LayerFormat;
  /** Set when layers of this format are Linux kernels (what `summary.kernelFormat` may name). */
  kernel?: KernelRole;
  /** True when the bytes look like this format. Must not throw and must be cheap. */
  probe(bytes: Uint8Array): boolean;
  /**
   * Fills `layer` (structures, info, pe, arch, title) as far as the data allows and returns the
   * children to descend into. May throw a KimgError: what it put into `layer` before stays.
   */
  parse(input: FormatInput, layer: Layer): ChildSpec[];
  /** Runs after the children were read, for checks that need them (zboot trailer rules). */
  finish?(input: FormatInput, layer: Layer, children: Layer[]): void;
}
