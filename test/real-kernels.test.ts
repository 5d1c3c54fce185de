/**
 * Real kernels, built by the kernel's own build system (scripts/build-test-kernels.sh: Debian's
 * linux-source-6.1 / 6.12, tinyconfig + EFI zboot, arm64 / RISC-V / LoongArch, one build per
 * codec). Every fact checked here comes from the build, not from kimg: the inner Image or
 * vmlinux.efi the build wrote, the System.map symbols, the kernel release, and the payload as
 * the native tool (gzip, zstd, xz, lzma, lz4, lzop) decodes it.
 *
 * The committed fixtures (test/fixtures/kernels/*.efi with a JSON sidecar of those facts) always
 * run. The full set of builds lives in the cache outside the clone ($KIMG_KERNEL_CACHE, default
 * /var/cache/kimg-kernels: `npm run build:kernels`); those tests are skipped when it is empty.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DEFAULT_LIMITS, inspect, kernelChain, plan, unpack } from "../src/index.js";
import { elfSymbols } from "../src/formats/elf-symbols.js";

/** What the build script records about one build (facts.json, or a fixture's sidecar). */
interface Facts {
  arch: "arm64" | "riscv" | "loongarch";
  codec: string;
  kernelRelease: string;
  sourcePackage: string;
  sourceVersion: string;
  zboot: { file: string; size: number; sha256: string };
  inner: { file: string; size: number; sha256: string };
  /**
   * The bytes the zboot compresses: the inner image itself in v6.1; from v6.4 vmlinux.bin, the
   * image zero-padded to the size in its header at 0x10 (Makefile.zboot: copy_and_pad).
   */
  payload: { file: string; size: number; sha256: string };
  /** System.map addresses, hex. */
  symbols: Record<string, string>;
  fixture?: string;
  fixtureIs?: "zboot" | "inner";
}

/** One file to test: a zboot or the plain inner image, with its build's facts. */
interface Case {
  name: string;
  path: string;
  kind: "zboot" | "inner";
  facts: Facts;
  /** The build's inner image, payload and vmlinux, for cached builds. */
  innerPath: string | null;
  payloadPath: string | null;
  vmlinuxPath: string | null;
}

const FIXTURES = new URL("./fixtures/kernels/", import.meta.url).pathname;
const CACHE = process.env.KIMG_KERNEL_CACHE ?? "/var/cache/kimg-kernels";

const IMAGE_FORMAT = { arm64: "arm64-image", riscv: "riscv-image", loongarch: "loongarch-image" } as const;
const ARCH = { arm64: "arm64", riscv: "riscv64", loongarch: "loongarch64" } as const;
/** The image start and the entry the loader must reach, per arch (head.S). */
const ENTRY = { arm64: ["_text", "primary_entry"], riscv: ["_start", "_start_kernel"], loongarch: ["_text", "kernel_entry"] } as const;
/** The kernel's tools, decoding the zboot payload on their own. */
const NATIVE: Record<string, string[]> = {
  gzip: ["gzip", "-dc"],
  zstd: ["zstd", "-dc"],
  xz: ["xz", "-dc"],
  lzma: ["xz", "--format=lzma", "-dc"],
  lz4: ["lz4", "-dc"],
  lzo: ["lzop", "-dc"],
};

function fixtureCases(): Case[] {
  if (!existsSync(FIXTURES)) return [];
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const facts = JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as Facts;
      assert.ok(facts.fixture && facts.fixtureIs, `${f}: not a fixture sidecar`);
      return {
        name: `fixture ${facts.fixture}`,
        path: join(FIXTURES, facts.fixture),
        kind: facts.fixtureIs,
        facts,
        innerPath: null,
        payloadPath: null,
        vmlinuxPath: null,
      };
    });
}

/** Every finished build in the cache (out/V/ARCH/CODEC/facts.json), as its zboot and its inner image. */
function cachedCases(): Case[] {
  const out = join(CACHE, "out");
  if (!existsSync(out)) return [];
  const cases: Case[] = [];
  for (const v of readdirSync(out).sort())
    for (const arch of readdirSync(join(out, v)).sort())
      for (const codec of readdirSync(join(out, v, arch)).sort()) {
        const dir = join(out, v, arch, codec);
        if (!existsSync(join(dir, "facts.json"))) continue;
        const facts = JSON.parse(readFileSync(join(dir, "facts.json"), "utf8")) as Facts;
        const common = { facts, innerPath: join(dir, facts.inner.file), payloadPath: join(dir, facts.payload.file), vmlinuxPath: join(dir, "vmlinux") };
        cases.push({ name: `${v} ${arch} ${codec} vmlinuz.efi`, path: join(dir, facts.zboot.file), kind: "zboot", ...common });
        cases.push({ name: `${v} ${arch} ${codec} ${facts.inner.file}`, path: join(dir, facts.inner.file), kind: "inner", ...common });
      }
  return cases;
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const symbol = (f: Facts, name: string): bigint => {
  const v = f.symbols[name];
  assert.ok(v, `the build recorded no ${name}`);
  return BigInt(v);
};

/** The zboot header read here, field by field (zboot-header.S), not by kimg. */
function zbootPayload(bytes: Uint8Array): { compType: string; payload: Uint8Array } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(4, 8)), "zimg", "zboot magic at 0x04");
  const offset = v.getUint32(0x08, true);
  const size = v.getUint32(0x0c, true);
  const type = bytes.subarray(0x18, 0x18 + 32);
  const compType = new TextDecoder().decode(type.subarray(0, type.indexOf(0)));
  return { compType, payload: bytes.subarray(offset, offset + size) };
}

function nativeDecode(codec: string, payload: Uint8Array): Uint8Array {
  const cmd = NATIVE[codec];
  assert.ok(cmd, `no native tool for ${codec}`);
  const r = spawnSync(cmd[0]!, cmd.slice(1), { input: payload, maxBuffer: 512 * 1024 * 1024 });
  assert.equal(r.status, 0, `${cmd.join(" ")}: ${String(r.stderr)}`);
  return new Uint8Array(r.stdout);
}

function realKernelTests(c: Case): void {
  const f = c.facts;
  const format = IMAGE_FORMAT[f.arch];
  const [base, entry] = ENTRY[f.arch];

  test(`${c.name}: inspect finds the ${format} of Linux ${f.kernelRelease}`, async () => {
    const r = await inspect(readFileSync(c.path));
    const chain = kernelChain(r.root).map((l) => l.format);
    assert.deepEqual(chain, c.kind === "zboot" ? ["zboot", "compressed", format] : [format], JSON.stringify(r.diagnostics));
    assert.equal(r.summary.arch, ARCH[f.arch]);
    assert.equal(r.summary.kernelFormat, format);
    assert.equal(r.summary.compression, c.kind === "zboot" ? f.codec : null);
    assert.match(r.summary.linuxVersion ?? "", new RegExp(`^Linux version ${escapeRegExp(f.kernelRelease)} \\(kimg@kimg\\)`));
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === "error"),
      [],
    );
  });

  // A zboot holds the build's payload; a plain image is the build's inner image.
  const want = c.kind === "zboot" ? f.payload : f.inner;
  const wantPath = c.kind === "zboot" ? c.payloadPath : c.innerPath;
  test(`${c.name}: extract gives the build's ${want.file} byte for byte`, async () => {
    const u = await unpack(readFileSync(c.path));
    assert.equal(u.format, format);
    assert.equal(u.data.length, want.size);
    assert.equal(sha256(u.data), want.sha256);
    if (wantPath) assert.ok(Buffer.from(u.data).equals(readFileSync(wantPath)), `differs from ${wantPath}`);
    // Padded or not, the build's image is all of it up to its end; only zeros follow.
    const image = u.data.subarray(0, f.inner.size);
    assert.equal(sha256(image), f.inner.sha256, `the first ${f.inner.size} bytes are not the build's ${f.inner.file}`);
    assert.ok(
      u.data.subarray(f.inner.size).every((b) => b === 0),
      "non-zero bytes after the image",
    );
  });

  if (c.kind === "zboot") {
    test(`${c.name}: the ${f.codec} payload decoded by the native tool is the same ${f.payload.file}`, async () => {
      const bytes = new Uint8Array(readFileSync(c.path));
      const { compType, payload } = zbootPayload(bytes);
      assert.ok(compType.startsWith(f.codec), `comp_type ${compType} for a ${f.codec} build`);
      const native = nativeDecode(f.codec, payload);
      assert.equal(sha256(native), f.payload.sha256);
      const u = await unpack(bytes);
      assert.ok(Buffer.from(u.data).equals(native), "kimg and the native tool disagree");
    });
  }

  test(`${c.name}: plan enters at ${entry} - ${base} from the symbol table`, async () => {
    const expected = Number(symbol(f, entry) - symbol(f, base));
    const { plan: p } = await plan(readFileSync(c.path));
    assert.equal(p.arch, ARCH[f.arch]);
    if (f.arch === "loongarch") {
      // The header's kernel_entry, mapped into the image, is where kexec jumps.
      assert.equal(p.entry.offset, expected);
      if (c.kind === "inner") {
        // The build's own header agrees: kernel_entry at 0x08 (a DMW virtual address before
        // v6.10, physical after) is the symbol's address, the same 48 bits below the window.
        const header = new DataView(readFileSync(c.path).buffer);
        const low48 = (a: bigint): bigint => a & 0xffff_ffff_ffffn;
        assert.equal(low48(header.getBigUint64(8, true)), low48(symbol(f, entry)));
      }
    } else {
      // The image starts with the header's branch; it must land on the core entry.
      assert.equal(p.entry.offset, 0);
      assert.equal(p.entry.branchTarget, expected);
    }
  });

  if (c.vmlinuxPath && existsSync(c.vmlinuxPath)) {
    const vmlinux = c.vmlinuxPath;
    test(`${c.name}: the plan's entry-symbol check agrees with the build's vmlinux`, async () => {
      const symbols = elfSymbols(new Uint8Array(readFileSync(vmlinux)), [base, entry], DEFAULT_LIMITS);
      assert.equal(symbols.get(base), symbol(f, base), "kimg's ELF reader and System.map disagree");
      assert.equal(symbols.get(entry), symbol(f, entry));
      const { plan: p } = await plan(readFileSync(c.path), { vmlinuxSymbols: symbols });
      const check = p.checks.find((x) => x.id === "entry-symbol");
      assert.equal(check?.ok, true, check?.message);
    });
  }
}

describe("committed real-kernel fixtures", () => {
  const cases = fixtureCases();
  test("there are committed fixtures", () => assert.ok(cases.length > 0, `no fixtures in ${FIXTURES}`));
  for (const c of cases) realKernelTests(c);
});

describe(`cached real-kernel builds (${CACHE})`, () => {
  const cases = cachedCases();
  if (cases.length === 0) {
    test("cached builds", { skip: `no builds in ${CACHE}/out: run \`npm run build:kernels\` (takes about an hour), or set KIMG_KERNEL_CACHE` }, () => {});
    return;
  }
  for (const c of cases) realKernelTests(c);
});
