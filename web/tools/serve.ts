/**
 * Node-only helpers for the e2e tests and the screenshot script: build the page with Vite's
 * JS API and serve a folder read-only on 127.0.0.1 with an ephemeral port.
 */
import { createServer, type Server } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DIR = fileURLToPath(new URL("..", import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** Builds the page into `outDir` (a temporary folder in tests, web-dist/ otherwise). */
export async function buildPage(outDir: string): Promise<void> {
  const { build } = await import("vite");
  await build({ configFile: join(WEB_DIR, "vite.config.ts"), logLevel: "warn", build: { outDir, emptyOutDir: true } });
}

export interface StaticServer {
  url: string;
  /** Every path requested, with its method, so tests can see that nothing was sent out. */
  requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

export async function serveFolder(root: string): Promise<StaticServer> {
  const base = resolve(root);
  const requests: StaticServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push({ method: req.method ?? "GET", path });
    const file = normalize(join(base, path.endsWith("/") ? path + "index.html" : path));
    if (req.method !== "GET" || (file !== base && !file.startsWith(base + sep))) {
      res.writeHead(405).end();
      return;
    }
    readFile(file).then(
      (data) => res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(data),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}/`,
    requests,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** The Chromium flags the tests and the screenshot use (Debian's chromium, run as root). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const CHROMIUM_PATH = "/usr/bin/chromium";
