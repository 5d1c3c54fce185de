/** The page's side of the worker: one promise per request, progress as a callback. */
import { recordSpan, wallClock } from "./timing.js";
import type { MeasureReport } from "../../src/index.js";
import type { AnalysisResult, ErrorInfo, PolicyBytes, Request, Response, SignatureResult } from "../protocol.js";

export class WorkerError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.text);
  }
}

type ProgressHandler = (p: Extract<Response, { type: "progress" }>) => void;

interface Pending {
  resolve: (r: Response) => void;
  reject: (e: Error) => void;
  onProgress?: ProgressHandler | undefined;
}

export class AnalysisClient {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = new Worker(new URL("../worker.ts", import.meta.url), { type: "module", name: "kimg-analysis" });
    worker.addEventListener("message", (event: MessageEvent<Response>) => this.receive(event.data));
    worker.addEventListener("error", (event) =>
      this.failAll(
        new WorkerError({
          code: "E_INTERNAL",
          message: event.message || "the analysis worker failed",
          offset: null,
          text: `internal error: ${event.message || "the analysis worker failed"}`,
        }),
      ),
    );
    return worker;
  }

  private receive(message: Response): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    if (message.type === "progress") {
      p.onProgress?.(message);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === "error") p.reject(new WorkerError(message.error));
    else p.resolve(message);
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private send(request: Request, transfer: Transferable[], onProgress?: ProgressHandler): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject, onProgress });
      this.worker.postMessage(request, transfer);
    });
  }

  /** Stops whatever runs (a new file was dropped) and starts a fresh worker. */
  cancel(): void {
    if (!this.pending.size) return;
    this.worker.terminate();
    this.failAll(new Error("cancelled"));
    this.worker = this.start();
  }

  async analyse(name: string, bytes: ArrayBuffer, onProgress: ProgressHandler): Promise<AnalysisResult> {
    this.cancel();
    const response = await this.send({ type: "analyse", id: this.nextId++, name, bytes, sentAt: wallClock() }, [bytes], onProgress);
    if (response.type !== "result") throw new Error(`unexpected ${response.type} message`);
    for (const span of response.spans ?? []) recordSpan(span);
    if (response.postedAt !== undefined) recordSpan({ name: "post the report to the page", start: response.postedAt, end: wallClock() });
    return response.result;
  }

  async verify(trusted: ArrayBuffer[], policy?: PolicyBytes): Promise<SignatureResult> {
    const response = await this.send({ type: "verify", id: this.nextId++, trusted, ...(policy ? { policy } : {}) }, []);
    if (response.type !== "verify") throw new Error(`unexpected ${response.type} message`);
    return response.result;
  }

  /** Measured boot of the last image (issue 17); null when it could not be computed. */
  async measure(): Promise<MeasureReport | null> {
    const response = await this.send({ type: "measure", id: this.nextId++ }, []);
    if (response.type !== "measure") throw new Error(`unexpected ${response.type} message`);
    return response.measure;
  }

  async bytes(path: string | null, trim: boolean): Promise<{ path: string; bytes: Blob; trimmedBytes: number }> {
    const response = await this.send({ type: "bytes", id: this.nextId++, path, trim }, []);
    if (response.type !== "bytes") throw new Error(`unexpected ${response.type} message`);
    return { path: response.path, bytes: response.bytes, trimmedBytes: response.trimmedBytes };
  }
}
