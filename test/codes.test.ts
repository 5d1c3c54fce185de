/**
 * The catalogues of stable ids (src/model/codes.ts, src/io/errors.ts, src/codecs/types.ts) and
 * the README agree, and no catalogue entry is dead. That every code used is catalogued is the
 * compiler's part: `Diagnostic.code`, `FormatInput.diagnose` and `Check.id` take only these.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BUILTIN_CODECS } from "../src/codecs/registry.js";
import { CODEC_NAMES } from "../src/codecs/types.js";
import { ERROR_CODE_MEANINGS, ErrorCode } from "../src/io/errors.js";
import { CHECK_IDS, DIAGNOSTIC_CODES, codesOf } from "../src/model/codes.js";
import { README, withCodeTables } from "../scripts/docs-codes.js";

const readme = readFileSync(README, "utf8");
const SRC = new URL("../src/", import.meta.url).pathname;

function sourceText(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) =>
      e.isDirectory() ? sourceText(join(dir, e.name)) : e.name.endsWith(".ts") && e.name !== "codes.ts" ? readFileSync(join(dir, e.name), "utf8") : "",
    )
    .join("\n");
}

test("the README's tables of error codes, diagnostic codes and check ids are the catalogues' (npm run docs:codes)", () => {
  assert.equal(withCodeTables(readme), readme, "README.md is stale: run npm run docs:codes");
});

test("the README's codec table lists exactly the codec names, in order", () => {
  const section = readme.slice(readme.indexOf("\n## Codecs\n"), readme.indexOf("\n## ", readme.indexOf("\n## Codecs\n") + 1));
  const rows = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| codec "));
  assert.deepEqual(
    rows.map((l) => l.split("|")[1]?.trim()),
    [...CODEC_NAMES],
  );
  assert.deepEqual(Object.keys(BUILTIN_CODECS), [...CODEC_NAMES]);
});

test("diagnostic codes and error codes are apart and spelled alike; error codes each have a meaning", () => {
  const errors = Object.values(ErrorCode);
  assert.deepEqual(codesOf(ERROR_CODE_MEANINGS), errors);
  for (const code of errors) assert.match(code, /^E_[A-Z0-9_]+$/);
  for (const code of codesOf(DIAGNOSTIC_CODES)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(!code.startsWith("E_"), `${code} looks like an error code`);
  }
  for (const id of codesOf(CHECK_IDS)) assert.match(id, /^[a-z][a-z0-9^-]*$/);
});

test("every catalogued diagnostic code and check id is used somewhere in src/", () => {
  const src = sourceText(SRC);
  const dead = [...codesOf(DIAGNOSTIC_CODES), ...codesOf(CHECK_IDS)].filter((code) => !src.includes(`"${code}"`));
  assert.deepEqual(dead, []);
});
