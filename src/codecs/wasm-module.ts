/** Compiles the WebAssembly modules of our own decoders, which are committed as base64 (scripts/build-wasm.mjs). */

/**
 * A lazily compiled module: compiled synchronously on first use (the modules are 2-3 KB, small
 * enough even for a browser's main thread), null where WebAssembly or its SIMD is missing, so the
 * TypeScript loops do it all.
 */
export function lazyWasmModule(base64: string): () => WebAssembly.Module | null {
  let module: WebAssembly.Module | null | undefined;
  return () => {
    if (module === undefined) {
      try {
        const binary = atob(base64);
        const bytes = new Uint8Array(binary.length);
        for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
        module = new WebAssembly.Module(bytes);
      } catch {
        module = null;
      }
    }
    return module;
  };
}
