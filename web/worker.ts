/**
 * The analysis runs here, off the page's thread: decompressing a 50 MB kernel takes long
 * enough to freeze a page. The worker keeps the last layer tree so downloads are served from
 * the very bytes the report describes, without analysing twice.
 */
import {
  ErrorCode,
  KimgError,
  analyse,
  authenticodeLayout,
  findLayer,
  kernelChain,
  planFromTree,
  trimAfterCertificates,
  verifyImage,
  type Analysis,
  type VerifyOptions,
  measureImage,
  prepareZstd,
} from "../src/index.js";
import type { ErrorInfo, PolicyBytes, Request, Response, SignatureResult } from "./protocol.js";
import { wallClock, type Span } from "./ui/timing.js";
import { ZSTD_WARMUP_BASE64 } from "./zstd-warmup.generated.js";

/** The worker global, typed by hand: the page's tsconfig uses the DOM lib, not WebWorker. */
interface WorkerScope {
  postMessage(message: Response, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<Request>) => void): void;
}
const scope = self as unknown as WorkerScope;

/** Progress more often than this only costs messages. */
const PROGRESS_INTERVAL_MS = 50;

// Issue 14: compile the zstd decoder while the user picks a file, not after, and run it on a
// small frame until the engine has optimised it: a first 27 MB kernel then decodes in about 300 ms
// instead of 550 (20 rounds of 16 KiB take about 20 ms).
void prepareZstd({ frame: Uint8Array.from(atob(ZSTD_WARMUP_BASE64), (c) => c.charCodeAt(0)), rounds: 20 });

let last: { analysis: Analysis; input: Uint8Array } | null = null;

function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof KimgError) return { code: error.code, message: error.message, offset: error.offset ?? null, text: error.describe() };
  const message = error instanceof Error ? error.message : String(error);
  return { code: "E_INTERNAL", message, offset: null, text: `internal error: ${message}` };
}

async function analyseRequest(id: number, name: string, bytes: ArrayBuffer, sentAt: number): Promise<void> {
  last = null;
  const started = performance.now();
  // Issue 14: the phases, for the page's performance timeline.
  const spans: Span[] = [];
  let mark = wallClock();
  spans.push({ name: "post the file to the worker", start: sentAt, end: mark });
  const span = (name: string): void => {
    const now = wallClock();
    spans.push({ name, start: mark, end: now });
    mark = now;
  };
  let lastProgress = 0;
  // When the last decompressed byte came out (a codec reports its total when it finishes).
  let decodedAt: number | null = null;
  const input = new Uint8Array(bytes);
  const analysis = await analyse(input, {
    name,
    onProgress: (e) => {
      decodedAt = wallClock();
      const now = performance.now();
      if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      scope.postMessage({ type: "progress", id, layer: e.layer, codec: e.codec, outputBytes: e.outputBytes, expectedBytes: e.expectedBytes });
    },
  });
  if (decodedAt !== null) {
    spans.push({ name: "analyse: probe and decompress", start: mark, end: decodedAt });
    mark = decodedAt;
    span("analyse: parse and scan the layers");
  } else span("analyse: parse and scan the layers");
  last = { analysis, input };
  const kernel = kernelChain(analysis.tree.root).at(-1) ?? null;
  let plan = null;
  let planError: ErrorInfo | null = null;
  try {
    plan = planFromTree(analysis.tree);
  } catch (error) {
    planError = errorInfo(error);
  }
  span("boot plan");
  const elapsedMs = performance.now() - started;
  // The embedded .config (issue 16), a copy (the tree keeps its own) for the page's search and download.
  const kernelConfig = analysis.kernelConfig ? analysis.kernelConfig.slice() : null;
  scope.postMessage({
    type: "result",
    id,
    result: { report: analysis.report, kernelPath: kernel?.path ?? null, plan, planError, elapsedMs, kernelConfig },
    spans,
    postedAt: wallClock(),
  });
}

/**
 * Measured boot (issue 17): what `kimg pcr` prints, from the same analysis; null when it fails.
 * Asked for once the report is shown: it hashes every PE image (issue 14).
 */
async function measureRequest(id: number): Promise<void> {
  const { analysis, input } = lastAnalysis();
  const measure = await measureImage(input, { name: analysis.report.input.name ?? "input", analysis }).catch(() => null);
  scope.postMessage({ type: "measure", id, measure });
}

function lastAnalysis(): { analysis: Analysis; input: Uint8Array } {
  if (!last) throw new KimgError(ErrorCode.USAGE, "no image has been analysed yet");
  return last;
}

function bytesRequest(id: number, path: string | null, trim: boolean): void {
  const { tree } = lastAnalysis().analysis;
  const wanted = path ?? kernelChain(tree.root).at(-1)?.path;
  const layer = wanted === undefined ? undefined : findLayer(tree.root, wanted);
  if (!layer)
    throw new KimgError(ErrorCode.NO_SUCH_LAYER, path === null ? "no kernel image inside this file" : `no layer "${path}" in this image`, {
      structure: "layer tree",
    });
  const full = tree.bytes.get(layer.path) ?? new Uint8Array(0);
  const data = trim ? trimAfterCertificates(layer, full) : full;
  // A Blob holds its own copy (the tree keeps its bytes for the next download) and crosses to the
  // page as a handle: one copy of a 50 MB kernel, not a copy here and another for the page's Blob.
  const blob = new Blob([data as Uint8Array<ArrayBuffer>]);
  scope.postMessage({ type: "bytes", id, path: layer.path, bytes: blob, trimmedBytes: full.length - data.length });
}

async function verifyRequest(id: number, trusted: ArrayBuffer[], policy?: PolicyBytes): Promise<void> {
  const { analysis, input } = lastAnalysis();
  const result: SignatureResult = { verify: null, error: null, ranges: [] };
  try {
    result.verify = await verifyImage(input, {
      analysis,
      name: analysis.report.input.name ?? "input",
      trustedCertificates: trusted.map((b) => new Uint8Array(b)),
      ...policyOptions(policy), // issue 17
    });
  } catch (error) {
    result.error = errorInfo(error);
  }
  for (const layer of result.verify?.layers ?? []) {
    const found = findLayer(analysis.tree.root, layer.path);
    const bytes = analysis.tree.bytes.get(layer.path);
    if (!found?.pe || !bytes) continue;
    try {
      result.ranges.push({ path: layer.path, length: bytes.length, layout: authenticodeLayout(bytes, found.pe), error: null });
    } catch (error) {
      result.ranges.push({ path: layer.path, length: bytes.length, layout: null, error: errorInfo(error).text });
    }
  }
  scope.postMessage({ type: "verify", id, result });
}

/** The verifyImage options for the Secure Boot policy files of a request. */
function policyOptions(policy: PolicyBytes | undefined): Pick<VerifyOptions, "db" | "dbx" | "sbatLevel"> {
  if (!policy) return {};
  const file = (f: { name: string; bytes: ArrayBuffer }) => ({ name: f.name, data: new Uint8Array(f.bytes) });
  return {
    ...(policy.db.length ? { db: policy.db.map(file) } : {}),
    ...(policy.dbx.length ? { dbx: policy.dbx.map(file) } : {}),
    ...(policy.sbatLevel ? { sbatLevel: file(policy.sbatLevel) } : {}),
  };
}

scope.addEventListener("message", (event) => {
  const request = event.data;
  const run =
    request.type === "analyse"
      ? analyseRequest(request.id, request.name, request.bytes, request.sentAt ?? wallClock())
      : request.type === "verify"
        ? verifyRequest(request.id, request.trusted, request.policy)
        : request.type === "measure"
          ? measureRequest(request.id)
          : Promise.resolve().then(() => bytesRequest(request.id, request.path, request.trim));
  run.catch((error: unknown) => scope.postMessage({ type: "error", id: request.id, error: errorInfo(error) }));
});
