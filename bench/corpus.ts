/**
 * What the benchmarks decode: ~40 MiB of real machine code and data (this machine's node binary
 * and shared libraries), made once per folder, and the shell helper they compress it with.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const CORPUS_BYTES = 40 * 1024 * 1024;

export function sh(command: string): void {
  const result = spawnSync("sh", ["-c", command], { stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${command}`);
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes `dir`/input.bin (bytes of /usr/bin/node and libraries) unless it is there; returns its path. */
export function realBinaryCorpus(dir: string, bytes = CORPUS_BYTES): string {
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, "input.bin");
  if (!existsSync(raw) || statSync(raw).size !== bytes) {
    const libDir = "/usr/lib/x86_64-linux-gnu";
    const libraries = readdirSync(libDir)
      .filter((name) => name.includes(".so"))
      .map((name) => join(libDir, name))
      .filter((path) => statSync(path).isFile())
      .slice(0, 200);
    sh(`cat /usr/bin/node ${libraries.map((p) => `'${p}'`).join(" ")} | head -c ${bytes} > '${raw}'`);
  }
  return raw;
}

/** Compresses the corpus with each case's command into `dir`/`file`, once. */
export function compressCorpus(dir: string, raw: string, cases: ReadonlyArray<{ file: string; compress: string }>): void {
  for (const c of cases) {
    const path = join(dir, c.file);
    if (!existsSync(path)) {
      console.log(`compressing ${c.file} with: ${c.compress}`);
      sh(`${c.compress} < '${raw}' > '${path}.tmp' && mv '${path}.tmp' '${path}'`);
    }
  }
}
