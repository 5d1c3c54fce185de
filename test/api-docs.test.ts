/**
 * Every symbol the package exports (`kimg` and `kimg/node`) carries TSDoc: a newcomer reading the
 * API in an editor sees what each function takes and returns, and what each type holds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import ts from "typescript";

const ENTRIES = ["src/index.ts", "src/node/index.ts"];

function undocumentedExports(entry: string): string[] {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  assert.ok(source, `no source file ${entry}`);
  const module = checker.getSymbolAtLocation(source);
  assert.ok(module, `${entry} is not a module`);
  const missing: string[] = [];
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const text = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
    if (text === "") missing.push(`${symbol.name} (${target.declarations?.[0]?.getSourceFile().fileName ?? "?"})`);
  }
  return missing;
}

for (const entry of ENTRIES) {
  test(`every export of ${entry} has a doc comment`, () => {
    assert.deepEqual(undocumentedExports(entry), []);
  });
}

test("the check sees a missing doc comment", () => {
  // The checker itself: a module with one documented and one bare export.
  const dir = "test/fixtures/api-docs";
  assert.deepEqual(undocumentedExports(`${dir}/entry.ts`), [`bare (${dir}/entry.ts)`]);
});
