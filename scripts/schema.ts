/**
 * The JSON Schemas of kimg's `--json` outputs, generated from the TypeScript types so that they
 * cannot drift from the code: `npm run schema` writes them to docs/, and test/schema.test.ts
 * fails when a committed schema differs from a fresh generation or a real report does not
 * validate against it.
 *
 * The schemas are strict (`additionalProperties: false`): every key a report carries is declared
 * in its type, so a field added to a report without its type (and its TSDoc) fails the test.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type CompletedConfig, createFormatter, createParser, createProgram, DEFAULT_CONFIG, SchemaGenerator } from "ts-json-schema-generator";

export interface SchemaSpec {
  /** Where the schema is committed, relative to the repository root. */
  file: string;
  /** The root type, declared or re-exported in scripts/schema-types.ts. */
  type: string;
  /** The schema's `$id`. Versioned like `Report.schema`: a breaking change to the shape gets a new one. */
  id: string;
  title: string;
  /** Which command prints it: the schema's description when the root type has no TSDoc. */
  description: string;
}

export const SCHEMAS: readonly SchemaSpec[] = [
  {
    file: "docs/report.schema.json",
    type: "Report",
    id: "urn:kimg:schema:report:1",
    title: "kimg inspect report",
    description: "What `kimg inspect --json` prints and `inspect()` returns (the `Report` type, src/model/report.ts).",
  },
  {
    file: "docs/plan-report.schema.json",
    type: "PlanReport",
    id: "urn:kimg:schema:plan-report:1",
    title: "kimg boot plan",
    description: "What `kimg plan --json` prints: the `BootPlan` (src/model/plan.ts) plus the diagnostics of reading the image.",
  },
  {
    file: "docs/verify-report.schema.json",
    type: "VerifyReport",
    id: "urn:kimg:schema:verify-report:1",
    title: "kimg signature report",
    description: "What `kimg verify --json` prints and `verifyImage()` returns (the `VerifyReport` type, src/signatures/types.ts).",
  },
  // Measured boot (issue 17)
  {
    file: "docs/measure-report.schema.json",
    type: "MeasureReport",
    id: "urn:kimg:schema:measure-report:1",
    title: "kimg measured-boot report",
    description: "What `kimg pcr --json` prints and `measureImage()` returns (the `MeasureReport` type, src/measure/types.ts).",
  },
];

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const CONFIG: CompletedConfig = {
  ...DEFAULT_CONFIG,
  path: fileURLToPath(new URL("schema-types.ts", import.meta.url)),
  tsconfig: `${ROOT}tsconfig.json`,
  // `npm run typecheck` checks the types; the generator only reads them.
  skipTypeCheck: true,
  additionalProperties: false,
  expose: "export",
  topRef: false,
  jsDoc: "extended",
  sortProps: false,
};

/** Every schema of SCHEMAS, freshly generated from the types, in the order of SCHEMAS. */
export function generateSchemas(): Array<{ spec: SchemaSpec; schema: Record<string, unknown> }> {
  const program = createProgram(CONFIG);
  const generator = new SchemaGenerator(program, createParser(program, CONFIG), createFormatter(CONFIG), CONFIG);
  return SCHEMAS.map((spec) => {
    const { $schema, description, ...rest } = generator.createSchema(spec.type);
    // The root type's own TSDoc when it has one, else the sentence saying which command prints it.
    const about = typeof description === "string" ? description : spec.description;
    return { spec, schema: { $schema, $id: spec.id, title: spec.title, description: about, ...rest } };
  });
}

/** The committed text of a schema: two-space JSON and a final newline, like the golden reports. */
export function schemaText(schema: Record<string, unknown>): string {
  return JSON.stringify(schema, null, 2) + "\n";
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const { spec, schema } of generateSchemas()) {
    writeFileSync(`${ROOT}${spec.file}`, schemaText(schema));
    console.log(`wrote ${spec.file} (${spec.type})`);
  }
}
