/**
 * The published JSON Schemas of the `--json` outputs (docs/*.schema.json, `npm run schema`):
 * they equal a fresh generation from the types, real reports validate against them (inspect,
 * plan and verify of the sample, the golden reports, the real kernel builds, Debian's signed
 * kernels when cached, truncated images, and what the CLI prints), and a broken report fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Ajv, type ValidateFunction } from "ajv";
import { generateSchemas, SCHEMAS, schemaText } from "../scripts/schema.js";
import { inspect, type VerifyReport, verifyImage } from "../src/index.js";
import { NODE_CODECS } from "../src/node/index.js";

type Kind = "Report" | "PlanReport" | "VerifyReport";

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validators = new Map<string, { file: string; validate: ValidateFunction }>();
for (const spec of SCHEMAS) {
  validators.set(spec.type, { file: spec.file, validate: ajv.compile(JSON.parse(readFileSync(spec.file, "utf8"))) });
}

/** The schema's verdict on a value: null when valid, else ajv's errors one per line. */
function problems(kind: Kind, value: unknown): string | null {
  const v = validators.get(kind);
  assert.ok(v, `no schema for ${kind}`);
  return v.validate(value) ? null : ajv.errorsText(v.validate.errors, { separator: "\n", dataVar: "report" });
}

function assertValid(kind: Kind, value: unknown, what: string): void {
  const found = problems(kind, value);
  assert.equal(found, null, `${what} does not match ${validators.get(kind)?.file}:\n${found}`);
}

/** As `--json` prints it: JSON.stringify drops undefined members, which the schema never sees. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/**
 * Every report an image gives: inspect, the plan as `kimg plan --json` prints it (the report's
 * plan is `plan()`'s with the default options; the CLI test below runs `plan()` itself), verify.
 */
async function validateImage(name: string, bytes: Uint8Array): Promise<VerifyReport> {
  const report = await inspect(bytes, { name, codecs: NODE_CODECS });
  assertValid("Report", asJson(report), `inspect ${name}`);
  if (report.plan) assertValid("PlanReport", asJson({ ...report.plan, diagnostics: report.diagnostics }), `plan ${name}`);
  const verified = await verifyImage(bytes, { name, codecs: NODE_CODECS });
  assertValid("VerifyReport", asJson(verified), `verify ${name}`);
  return verified;
}

const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));
const filesIn = (dir: string, suffix = ""): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(suffix))
        .sort()
    : [];

test("the committed schemas are what `npm run schema` generates from the types now", () => {
  for (const { spec, schema } of generateSchemas()) {
    const committed = readFileSync(spec.file, "utf8");
    assert.deepEqual(JSON.parse(committed), schema, `${spec.file} is stale: run npm run schema and commit it`);
    assert.equal(committed, schemaText(schema), `${spec.file} is not formatted as npm run schema writes it`);
  }
});

test("each schema has its $id, and a title and description for readers", () => {
  for (const spec of SCHEMAS) {
    const schema = JSON.parse(readFileSync(spec.file, "utf8")) as Record<string, unknown>;
    assert.equal(schema.$id, spec.id);
    assert.equal(schema.title, spec.title);
    assert.equal(typeof schema.description, "string");
  }
});

describe("real reports validate", () => {
  test("the bundled samples: inspect, plan, verify", async () => {
    const samples = filesIn("samples");
    assert.ok(samples.length > 0, "no samples");
    for (const f of samples) await validateImage(f, read(join("samples", f)));
  });

  test("the golden reports (test/fixtures/golden)", () => {
    const golden = filesIn("test/fixtures/golden", ".report.json");
    assert.ok(golden.length > 0, "no golden reports");
    for (const f of golden) assertValid("Report", JSON.parse(readFileSync(join("test/fixtures/golden", f), "utf8")), f);
  });

  test("the real kernel builds (test/fixtures/kernels): inspect, plan, verify", async () => {
    const kernels = filesIn("test/fixtures/kernels", ".efi");
    assert.ok(kernels.length > 0, "no kernel fixtures");
    for (const f of kernels) await validateImage(f, read(join("test/fixtures/kernels", f)));
  });

  test("truncated images: reports with error diagnostics", async () => {
    const sample = read("samples/arm64-zboot-gzip.efi");
    let reports = 0;
    for (const length of [0x40, 0x200, 0x1000, sample.length >> 1, sample.length - 1]) {
      const name = `truncated-${length}`;
      const report = await inspect(sample.subarray(0, length), { name }).catch(() => null);
      if (!report) continue; // too short to be read as anything: an error, not a report
      reports++;
      assertValid("Report", asJson(report), name);
      assertValid("VerifyReport", asJson(await verifyImage(sample.subarray(0, length), { name })), `verify ${name}`);
    }
    assert.ok(reports >= 3, `only ${reports} truncated images gave a report`);
  });

  // Debian's signed kernels (scripts/fetch-debian-kernels.sh) give the signature reports real
  // signatures and certificates; like test/debian-kernels.test.ts, skipped when not cached unless
  // KIMG_REQUIRE_TOOLS=1.
  const CACHE = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
  // One kernel per directory (scripts/fetch-debian-kernels.sh replaces it when the version moves).
  const signed = ["bookworm/arm64-arm64", "trixie/amd64-amd64"].map((dir) => {
    const image = filesIn(join(CACHE, dir)).find((f) => f.startsWith("vmlinu"));
    return { dir, path: image ? join(CACHE, dir, image) : null };
  });
  const skipDebian = signed.every((s) => s.path === null) && process.env.KIMG_REQUIRE_TOOLS !== "1" ? `no Debian kernels in ${CACHE}` : false;
  test("Debian's signed arm64 (bookworm) and amd64 (trixie, zstd) kernels: inspect, plan, verify", { skip: skipDebian }, async () => {
    for (const { dir, path } of signed) {
      assert.ok(path, `no kernel in ${join(CACHE, dir)}: run scripts/fetch-debian-kernels.sh`);
      const report = await validateImage(path, read(path));
      assert.ok(report.signatures.length > 0 && report.signatures[0]?.signer, `${path}: a signature with its signer, so the schema sees one`);
    }
  });

  test("what the CLI prints with --json: inspect, plan, verify", () => {
    const cli = (args: string[]): unknown => {
      const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { maxBuffer: 1 << 28, encoding: "utf8" });
      assert.ok(r.stdout, `kimg ${args.join(" ")}: no output (${r.stderr})`);
      return JSON.parse(r.stdout);
    };
    const sample = "samples/arm64-zboot-gzip.efi";
    assertValid("Report", cli(["inspect", sample, "--json"]), "kimg inspect --json");
    assertValid("PlanReport", cli(["plan", sample, "--json"]), "kimg plan --json");
    assertValid("VerifyReport", cli(["verify", sample, "--json"]), "kimg verify --json"); // unsigned: exit 5, still a report
  });
});

describe("a broken report fails", () => {
  // The golden report as parsed JSON, typed loosely so that the cases can break it.
  // biome-ignore lint/suspicious/noExplicitAny: the point is to write what the type forbids
  type Loose = Record<string, any>;
  const golden = (): Loose => JSON.parse(readFileSync("test/fixtures/golden/arm64-zboot-gzip.report.json", "utf8"));
  /** A mutation of the golden report and the words ajv's error must contain. */
  const cases: Array<[string, (r: Loose) => void, RegExp]> = [
    ["a required key removed", (r) => delete r.summary, /must have required property 'summary'/],
    ["an undeclared key added", (r) => (r.root.children[0].note = "x"), /report\/root\/children\/0 must NOT have additional properties/],
    ["an offset as a hex string", (r) => (r.root.structures[0].fields[0].offset = "0x0"), /report\/root\/structures\/0\/fields\/0\/offset must be number/],
    [
      "an unknown severity",
      (r) => (r.diagnostics = [{ code: "X", severity: "fatal", message: "m", offset: null, layer: "/" }]),
      /report\/diagnostics\/0\/severity must be equal to one of the allowed values/,
    ],
    ["an unknown layer format", (r) => (r.summary.format = "vmlinux"), /report\/summary\/format must be equal to one of the allowed values/],
    ["a check's ok as a word", (r) => (r.plan.checks[0].ok = "yes"), /report\/plan\/checks\/0\/ok must be boolean/],
    ["another schema version", (r) => (r.schema = 2), /report\/schema must be equal to constant/],
  ];
  for (const [what, mutate, expected] of cases) {
    test(what, () => {
      const report = golden();
      assert.equal(problems("Report", report), null, "the golden report itself is valid");
      mutate(report);
      assert.match(problems("Report", report) ?? "(valid)", expected);
    });
  }

  test("a plan or a signature report with a wrong field", () => {
    const report = golden();
    const planReport = { ...report.plan, diagnostics: report.diagnostics };
    assert.equal(problems("PlanReport", planReport), null);
    delete planReport.diagnostics;
    assert.match(problems("PlanReport", planReport) ?? "(valid)", /must have required property 'diagnostics'/);
    const verify = {
      tool: "kimg",
      input: { name: null, size: 1 },
      verdict: "unsigned",
      verified: false,
      accepted: false,
      integrityOnly: false,
      verdictLine: "v",
      trusted: [],
      layers: [],
      signatures: [],
      diagnostics: [],
    };
    assert.equal(problems("VerifyReport", verify), null);
    assert.match(problems("VerifyReport", { ...verify, verdict: "maybe" }) ?? "(valid)", /report\/verdict must be equal to one of the allowed values/);
  });
});
