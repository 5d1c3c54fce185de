/**
 * The kimg web page: read a file in the browser, analyse it in a worker with the same core the
 * CLI uses, and render the report, the pictures and the boot plan. No byte leaves the tab.
 */
import { findLayer, mapPathForLayer, renderText, type BootPlan, type Report } from "../src/index.js";
import type { AnalysisResult, PolicyBytes } from "./protocol.js";
import type { PolicyChoice } from "./ui/secure-boot.js";
import { AnalysisClient, WorkerError } from "./ui/client.js";
import { h, formatBytes } from "./ui/dom.js";
import { layerFileName, saveFile } from "./ui/download.js";
// Initramfs archives (issue 16)
import { archivesSection } from "./ui/archives.js";
import { layersSection } from "./ui/layers.js";
import { layoutFigure, memoryFigure, memoryMaps } from "./ui/pictures.js";
import { checksSection, entrySection, loadSection, noPlanNote } from "./ui/plan.js";
import { configSection } from "./ui/config.js";
import { measureSection } from "./ui/measure.js";
import { containersSection } from "./ui/containers.js";
import { signaturesSection } from "./ui/signatures.js";
import { reportJson, summarySection } from "./ui/summary.js";
import { clearSpans, recordSpan, wallClock } from "./ui/timing.js";

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

/** Saves a layer (null: the kernel) as `kimg extract` writes it, named as `kimg extract --all` would. */
async function downloadLayer(report: Report, path: string | null, trim: boolean): Promise<void> {
  const name = report.input.name ?? "image";
  try {
    const asked = wallClock();
    const got = await client.bytes(path, trim);
    const received = wallClock();
    recordSpan({ name: "download: bytes from the worker", start: asked, end: received });
    const layer = findLayer(report.root, got.path);
    saveFile(got.bytes, layer ? layerFileName(name, layer) : `${name}.bin`);
    recordSpan({ name: "download: hand to the browser", start: received, end: wallClock() });
  } catch (error) {
    showError(error instanceof WorkerError ? error.info.text : String(error));
  }
}

/** The picked policy files as the worker takes them. */
async function policyBytes(choice: PolicyChoice): Promise<PolicyBytes> {
  const read = async (f: File) => ({ name: f.name, bytes: await f.arrayBuffer() });
  return {
    db: await Promise.all(choice.db.map(read)),
    dbx: await Promise.all(choice.dbx.map(read)),
    sbatLevel: choice.sbatLevel ? await read(choice.sbatLevel) : null,
  };
}

/** The signatures section: a placeholder now, the verdicts when the worker has them. */
function signaturesPlaceholder(): HTMLElement {
  let shown = signaturesSection(null, { checkChains: () => undefined });
  let lastTrusted: File[] = [];
  let policy: PolicyChoice | null = null; // issue 17: the Secure Boot policy files last picked
  const verify = async (trusted: File[]): Promise<void> => {
    let next: HTMLElement;
    lastTrusted = trusted;
    try {
      const result = await client.verify(await Promise.all(trusted.map((f) => f.arrayBuffer())), policy ? await policyBytes(policy) : undefined);
      next = signaturesSection(result, {
        checkChains: (files) => void verify(files),
        checkPolicy: (choice) => {
          policy = choice;
          void verify(lastTrusted);
        },
      });
    } catch (error) {
      if (error instanceof Error && error.message === "cancelled") return;
      const info = error instanceof WorkerError ? error.info : { code: "E_INTERNAL", message: String(error), offset: null, text: String(error) };
      next = signaturesSection({ verify: null, error: info, ranges: [] }, { checkChains: () => undefined });
    }
    shown.replaceWith(next);
    shown = next;
  };
  queueMicrotask(() => void verify([]));
  return shown;
}

/**
 * Measured boot (issue 17): an empty placeholder now, replaced by the section (or removed, when
 * there is nothing to measure) once the worker has hashed the PE images, after the report is
 * shown (issue 14: those hashes cost a tenth of a second per 30 MB).
 */
function measurePlaceholder(report: Report): HTMLElement {
  const placeholder = h("div", { hidden: true, "data-pending": "measure" });
  const name = report.input.name ?? "image";
  void client.measure().then(
    (measure) => {
      const shown = measure
        ? measureSection(measure, {
            downloadJson: () => saveFile(new TextEncoder().encode(JSON.stringify(measure, null, 2) + "\n"), `${name}.pcr.json`, "application/json"),
          })
        : null;
      if (shown) placeholder.replaceWith(shown);
      else placeholder.remove();
    },
    () => placeholder.remove(),
  );
  return placeholder;
}

function memorySection(report: Report, plan: BootPlan | null): { section: HTMLElement | null; paths: Set<string> } {
  const maps = memoryMaps(report, plan);
  const paths = new Set(maps.map((m) => m.path));
  if (!maps.length) return { section: null, paths };
  const legend = h(
    "p",
    { class: "muted" },
    "Each image as its loader maps it, coloured by permission: ",
    ...[
      ["rx", "r-x code"],
      ["rw", "rw- data"],
      ["r", "r-- read-only"],
      ["rwx", "rwx"],
      ["gap", "not mapped"],
    ].flatMap(([cls, text]) => [h("span", { class: `key ${cls}` }, text), " "]),
  );
  return { section: section("memory", "Memory map at boot", legend, ...maps.map(memoryFigure)), paths };
}

function render(result: AnalysisResult): void {
  const { report, plan } = result;
  const parts: HTMLElement[] = [
    summarySection(result, {
      downloadKernel: (trim) => void downloadLayer(report, null, trim),
      downloadJson: () => saveFile(reportJson(report), `${report.input.name ?? "image"}.kimg.json`, "application/json"),
    }),
    section(
      "layout",
      "File layout",
      h("p", { class: "muted" }, "Headers, sections, inner layers, the certificate table and padding, drawn to scale."),
      layoutFigure(report.root),
    ),
  ];
  const kernel = result.kernelPath === null ? undefined : findLayer(report.root, result.kernelPath);
  if (kernel && kernel !== report.root) {
    parts.push(
      section("kernel-layout", "Kernel layout", h("p", { class: "muted" }, `The unpacked kernel, ${kernel.path}, drawn the same way.`), layoutFigure(kernel)),
    );
  }
  // Boot containers (issue 15): a FIT's configurations -> images, uImage/Android/zImage headers.
  const containers = containersSection(report, plan);
  if (containers) parts.push(containers);
  const memory = memorySection(report, plan);
  if (memory.section) parts.push(memory.section);
  if (plan) {
    parts.push(entrySection(plan), loadSection(plan));
    const other = checksSection(plan, (c) => c.layer !== undefined && mapPathForLayer(c.layer, memory.paths) !== null);
    if (other) parts.push(other);
  } else if (result.planError) {
    parts.push(section("plan", "Boot plan", noPlanNote(result.planError)));
  }
  parts.push(signaturesPlaceholder());
  // The embedded .config (issue 16): searchable, with the download kimg config writes.
  if (report.kernelConfig) {
    const bytes = result.kernelConfig ?? null;
    const text = bytes === null ? null : new TextDecoder().decode(bytes);
    parts.push(configSection(report.kernelConfig, text, { download: () => bytes && saveFile(bytes, `${report.input.name ?? "kernel"}.config`, "text/plain") }));
  }
  // Measured boot (issue 17): the PCR predictions `kimg pcr` prints, filled in when the worker has them.
  parts.push(measurePlaceholder(report));
  parts.push(layersSection(report, result.kernelPath, { download: (layer, trim) => void downloadLayer(report, layer.path, trim) }));
  // Initramfs archives (issue 16): a file's bytes are a slice of its archive layer's bytes
  const archives = archivesSection(report, {
    downloadEntry: (layer, entry) =>
      void client
        .bytes(layer.path, false)
        .then((got) => {
          const at = entry.dataOffset - layer.offset;
          saveFile(got.bytes.slice(at, at + entry.size), entry.name.split("/").pop() || "file");
        })
        .catch((error: unknown) => showError(error instanceof WorkerError ? error.info.text : String(error))),
  });
  if (archives) parts.push(archives);
  parts.push(
    section("text", "Text report", h("details", {}, h("summary", {}, "As kimg inspect prints it"), h("pre", { class: "text-report" }, renderText(report)))),
  );
  results.replaceChildren(...parts);
  results.dataset.state = "done";
  document.getElementById("summary-title")?.focus();
}

/**
 * The report's sections are first laid out only near the screen (content-visibility: auto in
 * styles.css), which shows the report sooner. Once the page is idle they are all laid out
 * ("settled"), so that a full-page screenshot, printing or a jump to a section finds them drawn.
 */
function settleWhenIdle(): void {
  const settle = (): void => {
    if (results.dataset.state === "done") results.classList.add("settled");
  };
  if (typeof requestIdleCallback === "function") requestIdleCallback(settle, { timeout: 2000 });
  else setTimeout(settle, 500);
}
addEventListener("beforeprint", () => results.classList.add("settled"));

async function open(name: string, bytes: ArrayBuffer): Promise<void> {
  byId<HTMLElement>("open").classList.add("compact");
  showError(null);
  results.classList.remove("settled");
  results.replaceChildren();
  results.dataset.state = "busy";
  setStatus(`Reading ${name} (${formatBytes(bytes.byteLength)})…`, null);
  try {
    const result = await client.analyse(name, bytes, (p) => {
      const of = p.expectedBytes ? ` of ${formatBytes(p.expectedBytes)}` : "";
      setStatus(`Decompressing ${p.layer} (${p.codec}): ${formatBytes(p.outputBytes)}${of}`, p.expectedBytes ? p.outputBytes / p.expectedBytes : null);
    });
    setStatus(null);
    const rendering = wallClock();
    render(result);
    const rendered = wallClock();
    recordSpan({ name: "render the report", start: rendering, end: rendered });
    requestAnimationFrame(() =>
      setTimeout(() => {
        recordSpan({ name: "style, layout and paint", start: rendered, end: wallClock() });
        settleWhenIdle();
      }),
    );
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
  clearSpans();
  const reading = wallClock();
  const bytes = await file.arrayBuffer();
  recordSpan({ name: "read the file", start: reading, end: wallClock() });
  await open(file.name, bytes);
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
