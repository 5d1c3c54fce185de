/**
 * The kimg web page: read a file in the browser, analyse it in a worker with the same core the
 * CLI uses, and render the report, the pictures and the boot plan. No byte leaves the tab.
 */
import { renderText, type Layer } from "../src/index.js";
import { mapPathForLayer } from "../src/report/svg.js";
import type { AnalysisResult } from "./protocol.js";
import { AnalysisClient, WorkerError } from "./ui/client.js";
import { h, formatBytes } from "./ui/dom.js";
import { layerFileName, saveFile } from "./ui/download.js";
import { layersSection } from "./ui/layers.js";
import { layoutFigure, memoryFigure, memoryMaps } from "./ui/pictures.js";
import { checksSection, entrySection, loadSection, noPlanNote } from "./ui/plan.js";
import { signaturesSection } from "./ui/signatures.js";
import { reportJson, summarySection } from "./ui/summary.js";

const SAMPLE_URL = new URL("../samples/arm64-zboot-gzip.efi", import.meta.url);

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

const client = new AnalysisClient();
const results = byId<HTMLDivElement>("results");
const statusBox = byId<HTMLDivElement>("status");
const statusText = byId<HTMLSpanElement>("status-text");
const progress = byId<HTMLProgressElement>("progress");
const errorBox = byId<HTMLDivElement>("error");
const fileInput = byId<HTMLInputElement>("file");

function setStatus(text: string | null, fraction?: number | null): void {
  statusBox.hidden = text === null;
  statusText.textContent = text ?? "";
  if (fraction === undefined || fraction === null) progress.removeAttribute("value");
  else progress.value = Math.min(1, fraction);
}

function showError(text: string | null): void {
  errorBox.hidden = text === null;
  errorBox.textContent = text ?? "";
}

function section(id: string, title: string, ...content: HTMLElement[]): HTMLElement {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), ...content);
}

function render(result: AnalysisResult): void {
  const { report, plan } = result;
  const name = report.input.name ?? "image";
  const download = async (path: string | null, trim: boolean, fileName: (layer: Layer) => string): Promise<void> => {
    try {
      const got = await client.bytes(path, trim);
      const layer = findIn(got.path);
      saveFile(got.bytes, layer ? fileName(layer) : `${name}.bin`);
    } catch (error) {
      showError(error instanceof WorkerError ? error.info.text : String(error));
    }
  };
  const findIn = (path: string): Layer | undefined => {
    const stack = [report.root];
    while (stack.length) {
      const l = stack.pop() as Layer;
      if (l.path === path) return l;
      stack.push(...l.children);
    }
    return undefined;
  };

  const parts: HTMLElement[] = [
    summarySection(result, {
      downloadKernel: (trim) => void download(null, trim, (l) => layerFileName(name, l)),
      downloadJson: () => saveFile(reportJson(report), `${name}.kimg.json`, "application/json"),
    }),
    section("layout", "File layout", h("p", { class: "muted" }, "Headers, sections, inner layers, the certificate table and padding, drawn to scale."), layoutFigure(report.root)),
  ];
  const kernel = result.kernelPath === null ? undefined : findIn(result.kernelPath);
  if (kernel && kernel !== report.root) {
    parts.push(section("kernel-layout", "Kernel layout", h("p", { class: "muted" }, `The unpacked kernel, ${kernel.path}, drawn the same way.`), layoutFigure(kernel)));
  }
  const maps = memoryMaps(report, plan);
  if (maps.length) {
    parts.push(
      section(
        "memory",
        "Memory map at boot",
        h("p", { class: "muted" }, "Each image as its loader maps it, coloured by permission: ", h("span", { class: "key rx" }, "r-x code"), " ", h("span", { class: "key rw" }, "rw- data"), " ", h("span", { class: "key r" }, "r-- read-only"), " ", h("span", { class: "key rwx" }, "rwx"), " ", h("span", { class: "key gap" }, "not mapped"), "."),
        ...maps.map(memoryFigure),
      ),
    );
  }
  if (plan) {
    const mapPaths = new Set(maps.map((m) => m.path));
    const other = checksSection(plan, (c) => c.layer !== undefined && mapPathForLayer(c.layer, mapPaths) !== null);
    parts.push(entrySection(plan), loadSection(plan));
    if (other) parts.push(other);
  }
  else if (result.planError) parts.push(section("plan", "Boot plan", noPlanNote(result.planError)));
  let signatures = signaturesSection(null, { checkChains: () => undefined });
  parts.push(signatures);
  const showSignatures = async (trusted: File[]): Promise<void> => {
    const buffers = await Promise.all(trusted.map((f) => f.arrayBuffer()));
    let next: HTMLElement;
    try {
      next = signaturesSection(await client.verify(buffers), { checkChains: (files) => void showSignatures(files) });
    } catch (error) {
      if (error instanceof Error && error.message === "cancelled") return;
      const info = error instanceof WorkerError ? error.info : { code: "E_INTERNAL", message: String(error), offset: null, text: String(error) };
      next = signaturesSection({ verify: null, error: info, ranges: [] }, { checkChains: () => undefined });
    }
    signatures.replaceWith(next);
    signatures = next;
  };
  parts.push(layersSection(report, result.kernelPath, { download: (layer, trim) => void download(layer.path, trim, (l) => layerFileName(name, l)) }));
  parts.push(section("text", "Text report", h("details", {}, h("summary", {}, "As kimg inspect prints it"), h("pre", { class: "text-report" }, renderText(report)))));
  results.replaceChildren(...parts);
  results.dataset.state = "done";
  document.getElementById("summary-title")?.focus();
  void showSignatures([]);
}

async function open(name: string, bytes: ArrayBuffer): Promise<void> {
  byId<HTMLElement>("open").classList.add("compact");
  showError(null);
  results.replaceChildren();
  results.dataset.state = "busy";
  setStatus(`Reading ${name} (${formatBytes(bytes.byteLength)})…`, null);
  try {
    const result = await client.analyse(name, bytes, (p) => {
      const of = p.expectedBytes ? ` of ${formatBytes(p.expectedBytes)}` : "";
      setStatus(`Decompressing ${p.layer} (${p.codec}): ${formatBytes(p.outputBytes)}${of}`, p.expectedBytes ? p.outputBytes / p.expectedBytes : null);
    });
    setStatus(null);
    render(result);
  } catch (error) {
    if (error instanceof Error && error.message === "cancelled") return;
    setStatus(null);
    results.dataset.state = "error";
    showError(error instanceof WorkerError ? error.info.text : `internal error: ${String(error)}`);
    errorBox.dataset.code = error instanceof WorkerError ? error.info.code : "E_INTERNAL";
  }
}

async function openFile(file: File): Promise<void> {
  results.dataset.state = "busy";
  await open(file.name, await file.arrayBuffer());
}

byId<HTMLButtonElement>("choose").addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => {
  const file = fileInput.files?.[0];
  if (file) void openFile(file);
  fileInput.value = "";
});
byId<HTMLButtonElement>("sample").addEventListener("click", async () => {
  setStatus("Loading the sample…", null);
  try {
    const response = await fetch(SAMPLE_URL);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await open("arm64-zboot-gzip.efi", await response.arrayBuffer());
  } catch (error) {
    setStatus(null);
    showError(`could not load the sample: ${String(error)}`);
  }
});

const overlay = byId<HTMLDivElement>("drop-overlay");
let dragDepth = 0;
window.addEventListener("dragenter", (e) => {
  if (!e.dataTransfer?.types.includes("Files")) return;
  dragDepth++;
  overlay.hidden = false;
});
window.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) overlay.hidden = true;
});
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  overlay.hidden = true;
  const file = e.dataTransfer?.files[0];
  if (file) void openFile(file);
});
