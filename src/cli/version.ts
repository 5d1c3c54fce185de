/** `kimg --version`: the version package.json declares, never a copy of it. */
import { readFileSync } from "node:fs";

/** Set by scripts/bundle-cli.mjs (esbuild `define`): the bundle may run far from package.json. */
declare const KIMG_PACKAGE_VERSION: string | undefined;

/**
 * The package's version. The bundle (dist/bundle, what bin/kimg.js runs) has it built in; from
 * the sources (tsx src/cli/run.ts) and tsc's dist/cli it is read from package.json, two folders up.
 */
export function packageVersion(): string {
  if (typeof KIMG_PACKAGE_VERSION === "string") return KIMG_PACKAGE_VERSION;
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}
