/**
 * Start-up: what the bundled CLI loads before it knows what the image needs. At start only the
 * command line is defined (commander, each command's options and help); a command's code (its
 * action: the analysis, kexec, the signature stack...) is a chunk of its own, loaded by dynamic
 * import when that command runs, and within it the signature stack (pkijs, asn1js) and every codec
 * stay behind dynamic imports, so `kimg inspect` of an unsigned, uncompressed image is not slowed
 * by code it never runs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../src/cli/main.js";
import { buildArm64Image } from "../support/builders/images.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-bundle-"));
const built = spawnSync(process.execPath, ["scripts/bundle-cli.mjs", dir, join(dir, "meta.json")], { encoding: "utf8" });

/** esbuild's metafile: each output file, the sources it holds and the files it imports. */
interface Metafile {
  outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }>; inputs: Record<string, unknown>; entryPoint?: string }>;
}
const meta = (): Metafile => JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as Metafile;

/** The output `start` and every output it imports statically, transitively: what Node loads with it. */
function outputsLoadedWith(m: Metafile, start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (out: string): void => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of m.outputs[out]?.imports ?? []) if (i.kind === "import-statement" && !i.external) visit(i.path);
  };
  visit(start);
  return seen;
}

/** The sources those outputs hold. */
const loadedWith = (m: Metafile, start: string): string[] => [...outputsLoadedWith(m, start)].flatMap((out) => Object.keys(m.outputs[out]?.inputs ?? {}));

/** The output that holds the source `source` (a command's action is the entry of its own chunk). */
function outputHolding(m: Metafile, source: string): string {
  const out = Object.keys(m.outputs).find((o) => Object.keys(m.outputs[o]?.inputs ?? {}).some((i) => i.endsWith(source)));
  assert.ok(out, `no output holds ${source}`);
  return out;
}

const startup = (m: Metafile): string[] => loadedWith(m, outputHolding(m, "src/cli/run.ts"));

test("the CLI bundle's start-up modules define the commands, and hold none of their code", () => {
  assert.equal(built.status, 0, built.stderr);
  const m = meta();
  const sources = startup(m);
  // Positive controls: the definitions are there, commander with them.
  for (const s of ["src/cli/main.ts", "src/cli/inspect.ts", "src/cli/kexec.ts", "src/cli/verify.ts", "node_modules/commander/lib/command.js"])
    assert.ok(
      sources.some((x) => x.endsWith(s)),
      `${s} is loaded at start`,
    );
  // Only the command line: errors, exit codes, stdout and stderr, option parsers. No action, no core layer, no
  // other Node code but node/koffi.ts's flag for koffi's exit hook (koffi itself is required on first use).
  const unwanted = sources.filter(
    (s) =>
      /^src\/(api|analysis|formats|isa|kexec|measure|signatures|codecs|report|boot|model)\/|^src\/cli\/(actions\/|read-image\.ts|progress\.ts)|^src\/node\/(?!(stdout|stderr|koffi)\.ts$)/.test(
        s,
      ) || /node_modules\/(?!commander\/)/.test(s),
  );
  assert.deepEqual(unwanted, [], "loaded only when a command runs");
  // Few chunks, each a file to read and a script to compile: the bundle's entry, commander, and the
  // start-up modules the actions share (errors, exit codes, the koffi loader) as one chunk.
  const outputs = outputsLoadedWith(m, outputHolding(m, "src/cli/run.ts"));
  assert.equal(outputs.size, 3, `at start: ${[...outputs].join(" ")}`);
  assert.equal(new Set(["src/io/errors.ts", "src/cli/exit-codes.ts", "src/node/koffi.ts"].map((s) => outputHolding(m, s))).size, 1);
});

test("extract loads the zstd frame walk for Node's native zstd, not the WebAssembly decoder, nor the planners", () => {
  assert.equal(built.status, 0, built.stderr);
  const m = meta();
  const sources = loadedWith(m, outputHolding(m, "src/cli/actions/extract.ts"));
  assert.ok(sources.some((s) => s.endsWith("src/node/codecs.ts")) && sources.some((s) => s.endsWith("src/codecs/zstd-frame.ts")));
  assert.deepEqual(
    sources.filter((s) => /node_modules\/zstddec\/|src\/codecs\/zstd\.ts$/.test(s)),
    [],
  );
  // extract asks for no boot plan (reportDetails: false): the planners and instruction decoders stay out.
  assert.deepEqual(
    sources.filter((s) => /^src\/(analysis\/plan|isa|boot)\/|^src\/analysis\/protection\.ts$/.test(s)),
    [],
  );
  const outputs = outputsLoadedWith(m, outputHolding(m, "src/cli/actions/extract.ts"));
  assert.ok(outputs.size <= 13, `kimg extract loads ${outputs.size} modules`);
});

test("kimg inspect loads the analysis, not the other commands' code, the signature stack or a codec", () => {
  assert.equal(built.status, 0, built.stderr);
  const m = meta();
  const atStart = new Set(startup(m));
  // The action reads the image, then imports the analysis (src/api/inspect.ts) while a large
  // image's markers are searched for; the text view's renderer only without --json.
  const [action, analysis] = ["src/cli/actions/inspect.ts", "src/api/inspect.ts"].map((s) => outputHolding(m, s)) as [string, string];
  assert.notEqual(action, analysis, "the analysis is a chunk of its own, imported by the action");
  const sources = [...loadedWith(m, action), ...loadedWith(m, analysis)].filter((s) => !atStart.has(s));
  assert.ok(
    sources.some((s) => s.endsWith("src/api/analyse.ts")),
    "the analysis is loaded with the inspect action",
  );
  assert.ok(!sources.some((s) => s.endsWith("src/report/text.ts")), "the text view is loaded without --json only");
  const unwanted = sources.filter((s) =>
    /node_modules\/(pkijs|asn1js|bytestreamjs|pvtsutils|zstddec|fflate)\/|src\/signatures\/(pkcs7|certificates|verify|signature-summary)\.ts$|src\/codecs\/(gzip|zstd|xz|lzma|lzma-decoder|lz4|lzo|bzip2|bcj)\.ts$|^src\/(kexec|measure)\/|^src\/node\/(kexec\/|archive-writer\.ts)|^src\/cli\/actions\/(?!inspect\.ts)|^src\/api\/(unpack|plan|verify|measure|config|archive)\.ts$|^src\/report\/(kexec|verify|measure|plan)-text\.ts$/.test(
      s,
    ),
  );
  assert.deepEqual(unwanted, [], "loaded only by the command that needs it, or when a signature or a stream of that codec is met");
  // Few chunks, each a file and a compile. The small core modules every chunk uses are one chunk (bundle-cli.mjs, SHARED).
  const shared = ["src/io/limits.ts", "src/io/layout.ts", "src/codecs/output.ts", "src/codecs/checksums.ts", "src/report/diagnostic.ts"].map((s) =>
    outputHolding(m, s),
  );
  assert.equal(new Set(shared).size, 1, `one chunk: ${shared.join(" ")}`);
  const outputs = new Set([...outputsLoadedWith(m, action), ...outputsLoadedWith(m, analysis)]);
  assert.ok(outputs.size <= 14, `kimg inspect loads ${outputs.size} modules`);
});

/** The entry chunk (run-<hash>.js), which launch.js runs. */
const entryChunk = (): string => readdirSync(dir).find((n) => /^run-\w+\.js$/.test(n)) ?? "no entry chunk";

test("every chunk is a script for the launcher: no ES module syntax, Node's built-ins through require", () => {
  assert.equal(built.status, 0, built.stderr);
  const m = meta();
  for (const [out, o] of Object.entries(m.outputs)) {
    // The ES module build took no built-in with `import` (no facade even there).
    assert.deepEqual(
      o.imports.filter((i) => i.external && i.kind === "import-statement").map((i) => i.path),
      [],
      out,
    );
    const text = readFileSync(join(dir, out.slice(out.lastIndexOf("/") + 1)), "utf8");
    assert.doesNotMatch(text, /^\s*(import|export)\s|\bimport\s*\(|\bimport\.meta\b/m, out);
    // Other chunks by relative require, which the launcher serves; built-ins by name.
    for (const [, id] of text.matchAll(/\brequire\("([^"]+)"\)/g)) assert.match(id as string, /^(\.\/[\w-]+\.js|node:[\w/]+|koffi)$/, out);
  }
  // The launcher itself imports only node:module (for require).
  const launcher = readFileSync(join(dir, "launch.js"), "utf8");
  assert.deepEqual(
    [...launcher.matchAll(/^import .*?from ["']([^"']+)["']/gm)].map((x) => x[1]),
    ["node:module"],
  );
  // The stand-in never touches node:fs's getters (promises, ReadStream...), which load the streams code.
  assert.doesNotMatch(readFileSync(join(dir, entryChunk()), "utf8"), /\.(promises|ReadStream|WriteStream)\b/);
});

/** Runs the bundle with `args` and returns its output and the built-in modules Node loaded. */
function runLoaded(args: string[]): { status: number | null; stdout: string; stderr: string; loaded: string[] } {
  // Prints the built-in modules Node loaded, at exit (after the command's output).
  const hook = join(dir, "loaded.mjs");
  writeFileSync(hook, 'process.on("exit", () => process.stderr.write("\\nLOADED " + JSON.stringify(process.moduleLoadList) + "\\n"));\n');
  const r = spawnSync(process.execPath, ["--import", hook, join(dir, "launch.js"), ...args], { encoding: "utf8", env: { ...process.env, TMPDIR: dir } });
  const loaded = JSON.parse(r.stderr.split("\nLOADED ")[1] ?? "[]") as string[];
  assert.ok(loaded.includes("NativeModule fs"), "the hook saw the module list");
  return { ...r, loaded };
}

/** Node's crypto (node:crypto, or Web Crypto, which the first touch of globalThis.crypto loads), zlib, child_process. */
const LAZY = /^NativeModule (crypto|internal\/crypto\/.*|zlib|child_process)$/;

test("inspect of an unsigned, uncompressed Image loads no crypto, zlib, child_process or fs/promises", () => {
  assert.equal(built.status, 0, built.stderr);
  const image = join(dir, "Image");
  writeFileSync(image, buildArm64Image({ codeSize: 0x10000 }));
  const r = runLoaded(["inspect", "--json", image]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).summary.format, "arm64-image");
  // The input is read through node:fs's callbacks: node:fs/promises (8 ms on Node 24) is for the writes.
  assert.deepEqual(
    r.loaded.filter((m) => LAZY.test(m) || m === "NativeModule fs/promises"),
    [],
  );
  // Positive control: extract, which writes, loads it.
  const x = runLoaded(["extract", image, "-o", join(dir, "Image.out"), "--force"]);
  assert.equal(x.status, 0, x.stderr);
  assert.ok(x.loaded.includes("NativeModule fs/promises"));
});

test("inspect of an unsigned gzip zboot image loads zlib, and no crypto (Web Crypto included)", () => {
  assert.equal(built.status, 0, built.stderr);
  const r = runLoaded(["inspect", "--json", "samples/arm64-zboot-gzip.efi"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).summary.compression, "gzip");
  assert.deepEqual(
    r.loaded.filter((m) => LAZY.test(m)),
    ["NativeModule zlib"],
  );
});

test("--version and --help load no crypto, zlib, child_process or fs/promises", () => {
  assert.equal(built.status, 0, built.stderr);
  for (const args of [["--version"], ["--help"], ["inspect", "--help"]]) {
    const r = runLoaded(args);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.loaded.filter((m) => LAZY.test(m) || m === "NativeModule fs/promises"),
      [],
      args.join(" "),
    );
  }
});

test("the bundle knows its version away from package.json (built in, as bin/kimg.js runs it)", () => {
  assert.equal(built.status, 0, built.stderr);
  const r = spawnSync(process.execPath, [join(dir, "launch.js"), "--version"], { encoding: "utf8", cwd: tmpdir(), env: { ...process.env, TMPDIR: dir } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${JSON.parse(readFileSync("package.json", "utf8")).version}\n`);
});

test("kimg NAME defines only the commands of NAME's entry, each as the full program defines it", () => {
  const full = buildProgram();
  const names = full.commands.map((c) => c.name());
  assert.deepEqual(names, ["inspect", "extract", "plan", "verify", "digest", "pcr", "kexec", "config"]);
  /** Every command's help and option names, subcommands included. */
  const described = (c: Command): string[] => [c.helpInformation(), ...c.options.map((o) => o.flags), ...c.commands.flatMap(described)];
  for (const name of names) {
    const only = buildProgram([name, "FILE"]);
    // verify and digest are one entry of COMMANDS (src/cli/verify.ts): either brings both.
    const expected = name === "verify" || name === "digest" ? ["verify", "digest"] : [name];
    assert.deepEqual(
      only.commands.map((c) => c.name()),
      expected,
    );
    for (const c of only.commands) assert.deepEqual(described(c), described(full.commands.find((f) => f.name() === c.name()) as Command));
  }
  // No command, an option, help or an unknown name: every command, for the help and suggestions.
  for (const argv of [[], ["--help"], ["help", "inspect"], ["inspec"]])
    assert.deepEqual(
      buildProgram(argv).commands.map((c) => c.name()),
      names,
      argv.join(" "),
    );
});
