/**
 * The page is static: `npm run web` serves it, `npm run build:web` writes web-dist/ with
 * relative URLs so it can be hosted from any folder. The built page carries a Content Security
 * Policy that allows no network access beyond its own files, so "nothing is uploaded" is
 * enforced by the browser, not only promised.
 */
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * connect-src 'self': the sample is fetched from the page's own folder; nothing else.
 * 'wasm-unsafe-eval': the zstd decoder is WebAssembly. Workers get their policy from their own
 * response, so the decoder's fetch of its inlined data: URL in the worker is not blocked.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self' data:",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

function contentSecurityPolicy(): Plugin {
  return {
    name: "kimg-csp",
    apply: "build",
    transformIndexHtml: () => [{ tag: "meta", attrs: { "http-equiv": "Content-Security-Policy", content: CONTENT_SECURITY_POLICY }, injectTo: "head-prepend" }],
  };
}

export default defineConfig({
  root,
  base: "./",
  publicDir: false,
  plugins: [contentSecurityPolicy()],
  worker: { format: "es" },
  build: {
    outDir: fileURLToPath(new URL("../web-dist", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // The sample is small; keep it a separate file rather than a data: URL.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: { host: "127.0.0.1", fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] } },
  preview: { host: "127.0.0.1" },
});
