/**
 * The structure declarations themselves: every layout any module of src/ declares (collected
 * from the modules' exports, so a new one is checked without being listed here) keeps its fields
 * inside its declared size, in order, without overlaps, each with a size, and with unique names.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { defineLayout, defineVariants, fieldSize, readVariant, type Layout, type LayoutVariants } from "../src/io/layout.js";

const SRC = new URL("../src/", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function isLayout(value: unknown): value is Layout {
  const v = value as Partial<Layout> | null;
  return typeof v === "object" && v !== null && typeof v.name === "string" && typeof v.size === "number" && Array.isArray(v.fields);
}

function isVariants(value: unknown): value is LayoutVariants {
  const v = value as Partial<LayoutVariants> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.name === "string" &&
    typeof v.variants === "object" &&
    v.variants !== null &&
    Object.values(v.variants).every(isLayout)
  );
}

/** Every layout and variant set exported by a module that declares one, and how many each file declares. */
async function collect(): Promise<{
  layouts: Map<Layout, string>;
  variants: Map<LayoutVariants, string>;
  declared: Map<string, { layouts: number; variants: number }>;
}> {
  const layouts = new Map<Layout, string>();
  const variants = new Map<LayoutVariants, string>();
  const declared = new Map<string, { layouts: number; variants: number }>();
  for (const file of sourceFiles(SRC)) {
    const rel = relative(SRC, file);
    if (rel === join("io", "layout.ts")) continue;
    const text = readFileSync(file, "utf8");
    const count = { layouts: text.split("defineLayout(").length - 1, variants: text.split("defineVariants(").length - 1 };
    if (count.layouts + count.variants === 0) continue;
    declared.set(rel, count);
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (isLayout(value)) layouts.set(value, `${rel}: ${name}`);
      else if (isVariants(value)) variants.set(value, `${rel}: ${name}`);
    }
  }
  return { layouts, variants, declared };
}

/** The problems of one layout, as sentences; none when it is sound. */
function layoutProblems(layout: Layout): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(layout.size) || layout.size <= 0) problems.push(`size ${layout.size} is not a positive integer`);
  const names = new Set<string>();
  let end = 0;
  let previous = "(start)";
  for (const f of layout.fields) {
    const size = fieldSize(f);
    if (names.has(f.name)) problems.push(`${f.name} is declared twice`);
    names.add(f.name);
    if (!Number.isSafeInteger(f.offset) || f.offset < 0) problems.push(`${f.name}: offset ${f.offset} is not a non-negative integer`);
    if (!(size > 0)) problems.push(`${f.name}: a ${f.type} field needs a size`);
    if (f.size !== undefined && f.size !== size) problems.push(`${f.name}: a ${f.type} field is ${size} bytes, not ${f.size}`);
    if (f.offset < end) problems.push(`${f.name} at 0x${f.offset.toString(16)} overlaps or precedes ${previous}, which ends at 0x${end.toString(16)}`);
    if (f.offset + size > layout.size) problems.push(`${f.name} [0x${f.offset.toString(16)}, +${size}) runs past the size 0x${layout.size.toString(16)}`);
    end = Math.max(end, f.offset + size);
    previous = f.name;
  }
  return problems;
}

test("every declared layout is exported, so this test can see it", async () => {
  const { layouts, variants, declared } = await collect();
  assert.ok(layouts.size >= 15, `only ${layouts.size} layouts found`);
  for (const [file, count] of declared) {
    const exported = [...layouts.values()].filter((where) => where.startsWith(`${file}:`)).length;
    assert.equal(exported, count.layouts, `${file} declares ${count.layouts} layouts with defineLayout but exports ${exported}`);
    const exportedVariants = [...variants.values()].filter((where) => where.startsWith(`${file}:`)).length;
    assert.equal(exportedVariants, count.variants, `${file} declares ${count.variants} variant sets with defineVariants but exports ${exportedVariants}`);
  }
});

test("every declared layout: fields inside the size, in order, not overlapping, sized, uniquely named", async () => {
  const { layouts } = await collect();
  const problems = [...layouts].flatMap(([layout, where]) => layoutProblems(layout).map((p) => `${where} (${layout.name}): ${p}`));
  assert.deepEqual(problems, []);
});

test("every variant of a variant set is itself a declared, exported layout", async () => {
  const { layouts, variants } = await collect();
  assert.ok(variants.size >= 3, `only ${variants.size} variant sets found`);
  for (const [set, where] of variants) {
    for (const [key, layout] of Object.entries(set.variants))
      assert.ok(layouts.has(layout), `${where}: variant ${key} (${layout.name}) is not an exported layout`);
  }
});

test("the self-test catches a field past the size, an overlap, a field out of order and a missing size", () => {
  const bad = defineLayout("bad", 8, [
    { name: "a", offset: 0, type: "u32" },
    { name: "b", offset: 2, type: "u16" },
    { name: "c", offset: 6, type: "u32" },
    { name: "d", offset: 1, type: "u8" },
    { name: "e", offset: 7, type: "bytes" },
  ] as const);
  const problems = layoutProblems(bad).join("\n");
  assert.match(problems, /b at 0x2 overlaps or precedes a/);
  assert.match(problems, /c \[0x6, \+4\) runs past the size 0x8/);
  assert.match(problems, /d at 0x1 overlaps or precedes c/);
  assert.match(problems, /e: a bytes field needs a size/);
});

test("readVariant reads the variant named and says which it read", () => {
  const narrow = defineLayout("narrow", 4, [{ name: "value", offset: 0, type: "u32" }] as const);
  const wide = defineLayout("wide", 8, [{ name: "value", offset: 0, type: "u64" }] as const);
  const both = defineVariants("value", { narrow, wide });
  const bytes = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 2]);
  const a = readVariant(both, "narrow", bytes, 0);
  const b = readVariant(both, "wide", bytes, 0, { base: 0x100 });
  assert.equal(a.variant, "narrow");
  assert.equal(a.record.value, 1);
  assert.equal(b.variant, "wide");
  assert.equal(b.record.value, 0x0200000000000001n);
  assert.equal(b.structure.offset, 0x100);
  assert.equal(b.structure.size, 8);
});
