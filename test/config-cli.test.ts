/** `kimg config` as a user runs it (issue 16): the exact bytes, --json, -o, two files compared, exit codes. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { text } from "../support/builders/bytes.js";
import { kernelWithConfig, SAMPLE_CONFIG } from "../support/builders/ikconfig.js";
import { buildArm64Image } from "../support/builders/images.js";
import { needs } from "./helpers/tools.js";

const dir = mkdtempSync(join(tmpdir(), "kimg-config-cli-"));
const skip = needs("gzip");

function kimg(...args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const zboot = join(dir, "vmlinuz.efi");
const plain = join(dir, "plain.efi");
const other = join(dir, "other.config");
if (!skip) {
  writeFileSync(zboot, kernelWithConfig("zboot"));
  writeFileSync(plain, buildArm64Image());
  writeFileSync(other, `${SAMPLE_CONFIG.replace("CONFIG_MODULES=y", "# CONFIG_MODULES is not set")}CONFIG_NEW="x"\n`);
}

test("kimg config FILE prints the .config byte for byte; --json maps each option to its value", { skip }, () => {
  const r = kimg("config", zboot);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(new Uint8Array(r.stdout), text(SAMPLE_CONFIG));
  const j = kimg("config", zboot, "--json");
  assert.equal(j.status, 0, j.stderr);
  const options = JSON.parse(j.stdout.toString()) as Record<string, string>;
  assert.equal(options.CONFIG_IKCONFIG, "y");
  assert.equal(options.CONFIG_IKCONFIG_PROC, "n");
  assert.equal(options.CONFIG_LOCALVERSION, '""');
  assert.equal(options.CONFIG_LOG_BUF_SHIFT, "17");
  assert.equal(Object.keys(options).length, SAMPLE_CONFIG.split("\n").filter((l) => /^(CONFIG_\w+=|# CONFIG_\w+ is not set$)/.test(l)).length);
});

test("kimg config FILE -o OUT writes the file, and refuses to replace it without --force", { skip }, () => {
  const out = join(dir, "out.config");
  assert.equal(kimg("config", zboot, "-o", out).status, 0);
  assert.equal(readFileSync(out, "utf8"), SAMPLE_CONFIG);
  const again = kimg("config", zboot, "-o", out);
  assert.equal(again.status, 4, again.stderr);
  assert.match(again.stderr, /E_OUTPUT_EXISTS/);
  assert.equal(kimg("config", zboot, "-o", out, "--force").status, 0);
});

test("kimg config A B: diffconfig's lines, -m its merge style, --json the three groups", { skip }, () => {
  const r = kimg("config", zboot, other);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), ' MODULES y -> n\n+NEW "x"\n');
  assert.equal(kimg("config", zboot, other, "-m").stdout.toString(), '# CONFIG_MODULES is not set\nCONFIG_NEW="x"\n');
  const j = JSON.parse(kimg("config", other, zboot, "--json").stdout.toString());
  assert.deepEqual(j.diff, { removed: [{ name: "NEW", value: '"x"' }], changed: [{ name: "MODULES", old: "n", new: "y" }], added: [] });
  assert.equal(j.a.source, "text");
  assert.equal(j.b.source, "kernel");
  assert.equal(j.b.location.layer, "/payload/decompressed");
});

test("a kernel without an embedded .config: exit 3 and E_NO_SUCH_LAYER naming the marker", { skip }, () => {
  const r = kimg("config", plain);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /E_NO_SUCH_LAYER.*IKCFG_ST.*CONFIG_IKCONFIG/);
  assert.equal(r.stdout.length, 0);
});
