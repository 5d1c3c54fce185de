/**
 * Golden reports: the whole report of a few fixtures, compared field by field with the JSON
 * committed beside them. Any change to the report shape shows up here. Regenerate on purpose
 * with UPDATE_GOLDEN=1 and review the diff.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { buildElf, buildLoongArchImage, buildRiscvImage, buildUki } from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { inspect } from "./helpers/report.js";

const FIXTURES: Array<[string, () => Uint8Array]> = [
  ["arm64-zboot-gzip", () => new Uint8Array(readFileSync("samples/arm64-zboot-gzip.efi"))],
  ["riscv64-image", () => buildRiscvImage()],
  ["loongarch64-image-dmw", () => buildLoongArchImage({ entryForm: "dmw" })],
  ["elf32-be", () => buildElf({ is64: false, bigEndian: true, machine: 20, entry: 0xc0001000n })],
  ["uki-arm64", () => buildUki({ machine: MACHINE.ARM64, linux: buildRiscvImage(), cmdline: "console=ttyAMA0" })],
];

for (const [name, make] of FIXTURES) {
  test(`golden report: ${name}`, async () => {
    const report = JSON.parse(JSON.stringify(await inspect(make(), { name })));
    const file = `test/fixtures/golden/${name}.report.json`;
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
    assert.ok(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`);
    assert.deepEqual(report, JSON.parse(readFileSync(file, "utf8")));
  });
}
