/**
 * Messages between the page and the analysis worker. Reports cross as structured clones (plain
 * JSON values); the file crosses as a transferred ArrayBuffer, so a 50 MB image is never copied,
 * and a layer comes back as a Blob, a handle to the one copy made for its download.
 */
import type { Span } from "./ui/timing.js";
import type { AuthenticodeLayout, BootPlan, MeasureReport, Report, VerifyReport } from "../src/index.js";

export type Request =
  | {
      type: "analyse";
      id: number;
      name: string;
      bytes: ArrayBuffer;
      /** Wall-clock ms when the page posted it (issue 14). */
      sentAt?: number;
    }
  /** A layer's bytes, as `kimg extract --layer PATH [--trim]` writes them; path null: the kernel. */
  | { type: "bytes"; id: number; path: string | null; trim: boolean }
  /** Verify every signature of the last image, chains checked against `trusted` certificate files. */
  | { type: "verify"; id: number; trusted: ArrayBuffer[]; policy?: PolicyBytes }
  /** Measured boot of the last image (issue 17), asked for after the report is shown (issue 14). */
  | { type: "measure"; id: number };

/** Secure Boot policy files for a verify request (issue 17): db and dbx lists, an SbatLevel. */
export interface PolicyBytes {
  db: Array<{ name: string; bytes: ArrayBuffer }>;
  dbx: Array<{ name: string; bytes: ArrayBuffer }>;
  sbatLevel: { name: string; bytes: ArrayBuffer } | null;
}

/** A KimgError as the CLI prints it, with its parts for the page. */
export interface ErrorInfo {
  code: string;
  message: string;
  offset: number | null;
  /** `E_CODE at 0x..: message`, KimgError.describe(). */
  text: string;
}

export interface AnalysisResult {
  report: Report;
  /** The layer `kimg extract -o` writes by default: the innermost kernel, or null. */
  kernelPath: string | null;
  /** The boot plan, or why there is none. */
  plan: BootPlan | null;
  planError: ErrorInfo | null;
  /** Time from receiving the bytes to the finished report, in milliseconds. */
  elapsedMs: number;
  /** The embedded .config as built, exact bytes (issue 16); null when the kernel has none (see report.kernelConfig). */
  kernelConfig?: Uint8Array<ArrayBuffer> | null;
}

export interface SignatureResult {
  /** What `kimg verify --json` prints, or null when verification itself failed. */
  verify: VerifyReport | null;
  error: ErrorInfo | null;
  /** Per PE layer: the ranges the digest covers, for the picture. */
  ranges: Array<{ path: string; length: number; layout: AuthenticodeLayout | null; error: string | null }>;
}

export type Response =
  | { type: "progress"; id: number; layer: string; codec: string; outputBytes: number; expectedBytes: number | null }
  | { type: "result"; id: number; result: AnalysisResult /** The worker's phases and when it posted this (issue 14). */; spans?: Span[]; postedAt?: number }
  | { type: "bytes"; id: number; path: string; bytes: Blob; trimmedBytes: number }
  | { type: "verify"; id: number; result: SignatureResult }
  /** Measured boot (issue 17): what `kimg pcr --json` prints for the same file; null when it could not be computed. */
  | { type: "measure"; id: number; measure: MeasureReport | null }
  | { type: "error"; id: number; error: ErrorInfo };
