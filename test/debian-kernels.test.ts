/**
 * Debian's kernel for every architecture Debian builds, as a new user would try them: each is
 * identified right (format chain, arch, codec, the banner's release and Debian version), or, where
 * kimg does not support the format yet, named as that format with UNSUPPORTED_FORMAT, and refused
 * by `plan` and `extract` with E_UNSUPPORTED naming it. Never another format, never a wrong arch.
 *
 * The kernels come from scripts/fetch-debian-kernels.sh, cached in $KIMG_DEBIAN_CACHE (default
 * /var/cache/kimg-debian: <suite>/<arch>-<flavour>/vmlinu[xz]-<release>) with a manifest.tsv of
 * packages and versions. Without a cache the test
 * skips, unless KIMG_REQUIRE_TOOLS=1 (CI), where a missing kernel fails.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { analyse, plan, unpack } from "../src/api/index.js";
import { findLayer } from "../src/analysis/tree.js";
import { KimgError } from "../src/io/errors.js";
import { NODE_CODECS } from "../src/node/codecs.js";
import type { Layer } from "../src/model/report.js";
import { needs } from "./helpers/tools.js";

const CACHE = process.env.KIMG_DEBIAN_CACHE ?? "/var/cache/kimg-debian";
const REQUIRED = process.env.KIMG_REQUIRE_TOOLS === "1";

interface Expected {
  /** Formats from the root down to the kernel layer (summary.kernelPath). */
  chain: string[];
  arch: string;
  compression: string | null;
  /** The unsupported format's name as kimg reports it; null when supported. */
  unsupported: string | null;
  /** The PE view an EFI stub adds: its machine. */
  peMachine?: string;
}

const ZIMAGE: Expected = { chain: ["arm-zimage", "compressed", "raw-kernel"], arch: "arm", compression: "xz", unsupported: null };
const MIPS_VMLINUZ = (arch: string): Expected => ({ chain: ["elf", "compressed", "raw-kernel"], arch, compression: "xz", unsupported: null });

/** What each of scripts/fetch-debian-kernels.sh's kernels is: arch/flavour@suite, as in the manifest. */
const EXPECTED: Record<string, Expected> = {
  "amd64/amd64@bookworm": { chain: ["bzimage", "compressed", "elf"], arch: "x86_64", compression: "xz", unsupported: null, peMachine: "AMD64" },
  "arm64/arm64@bookworm": { chain: ["arm64-image"], arch: "arm64", compression: null, unsupported: null, peMachine: "ARM64" },
  "armel/marvell@bookworm": ZIMAGE,
  "armel/rpi@bookworm": ZIMAGE,
  "armhf/armmp@bookworm": { ...ZIMAGE, peMachine: "THUMB" },
  "armhf/armmp-lpae@bookworm": { ...ZIMAGE, peMachine: "THUMB" },
  "i386/686@bookworm": { chain: ["bzimage", "compressed", "elf"], arch: "x86", compression: "xz", unsupported: null, peMachine: "I386" },
  "i386/686-pae@bookworm": { chain: ["bzimage", "compressed", "elf"], arch: "x86", compression: "xz", unsupported: null, peMachine: "I386" },
  "mips64el/5kc-malta@bookworm": MIPS_VMLINUZ("mips64el"),
  "mips64el/loongson-3@bookworm": MIPS_VMLINUZ("mips64el"),
  "mips64el/octeon@bookworm": { chain: ["elf"], arch: "mips64el", compression: null, unsupported: null },
  "mipsel/4kc-malta@bookworm": MIPS_VMLINUZ("mipsel"),
  "ppc64el/powerpc64le@bookworm": { chain: ["elf"], arch: "ppc64le", compression: null, unsupported: null },
  "s390x/s390x@bookworm": { chain: ["s390-image", "compressed", "raw-kernel"], arch: "s390x", compression: "xz", unsupported: "s390 kernel image" },
  "riscv64/riscv64@trixie": { chain: ["riscv-image"], arch: "riscv64", compression: null, unsupported: null, peMachine: "RISCV64" },
  "loong64/loong64@sid": {
    chain: ["zboot", "compressed", "loongarch-image"],
    arch: "loongarch64",
    compression: "zstd",
    unsupported: null,
    peMachine: "LOONGARCH64",
  },
  "amd64/amd64@trixie": { chain: ["bzimage", "compressed", "elf"], arch: "x86_64", compression: "zstd", unsupported: null, peMachine: "AMD64" },
  "arm64/arm64@trixie": { chain: ["arm64-image"], arch: "arm64", compression: null, unsupported: null, peMachine: "ARM64" },
  "armhf/armmp@trixie": { ...ZIMAGE, peMachine: "THUMB" },
};

interface Cached {
  key: string;
  pkg: string;
  version: string;
  suite: string;
  path: string;
  /** The release in the installed file name: vmlinuz-<release>. */
  release: string;
  sha256: string;
}

function readManifest(): Cached[] {
  const manifest = join(CACHE, "manifest.tsv");
  if (!existsSync(manifest)) return [];
  return readFileSync(manifest, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [arch = "", flavour = "", pkg = "", version = "", suite = "", image = "", , sha256 = ""] = line.split("\t");
      return {
        key: `${arch}/${flavour}@${suite}`,
        pkg,
        version,
        suite,
        path: join(CACHE, suite, `${arch}-${flavour}`, image),
        release: image.replace(/^vmlinu[xz]-/, ""),
        sha256,
      };
    });
}

const cached = readManifest();
const skip =
  cached.length === 0 && !REQUIRED
    ? `no Debian kernels in ${CACHE}: run scripts/fetch-debian-kernels.sh (KIMG_DEBIAN_CACHE to put them elsewhere)`
    : needs("xz");

/** The native decompressor for a codec, reading stdin. */
const NATIVE: Record<string, string[]> = {
  xz: ["xz", "-dc"],
  gzip: ["gzip", "-dc"],
  zstd: ["zstd", "-dc"],
  lzma: ["xz", "--format=lzma", "-dc"],
  lzo: ["lzop", "-dc"],
  bzip2: ["bzip2", "-dc"],
};

function chainOf(root: Layer, path: string): string[] {
  const formats: string[] = [];
  for (let at = root; ; ) {
    formats.push(at.format);
    if (at.path === path) return formats;
    const next = at.children.find((c) => path === c.path || path.startsWith(c.path + "/"));
    if (!next) return formats;
    at = next;
  }
}

async function rejection(promise: Promise<unknown>): Promise<KimgError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KimgError, String(error));
    return error;
  }
  assert.fail("expected a KimgError");
}

describe("Debian's kernels, every architecture", { skip }, () => {
  it("the cache holds every kernel the fetch script lists, each with the manifest's sha256", () => {
    const missing = Object.keys(EXPECTED).filter((k) => !cached.some((c) => c.key === k));
    if (REQUIRED) assert.deepEqual(missing, [], `missing from ${CACHE}: run scripts/fetch-debian-kernels.sh`);
    for (const c of cached) {
      assert.ok(EXPECTED[c.key], `${c.key} has no expectation in this test: add what kimg should say about it`);
      assert.equal(createHash("sha256").update(readFileSync(c.path)).digest("hex"), c.sha256, `${c.path} changed since it was fetched`);
    }
  });

  for (const c of cached) {
    const want = EXPECTED[c.key];
    if (!want) continue;
    it(`${c.key}: ${c.pkg} ${c.version} is ${want.chain.join(" > ")}, ${want.arch}${want.unsupported ? `, named "${want.unsupported}" and unsupported` : ""}`, async () => {
      const bytes = new Uint8Array(readFileSync(c.path));
      const { report, tree } = await analyse(bytes, { codecs: NODE_CODECS, name: c.path });
      const s = report.summary;
      assert.equal(s.format, want.chain[0]);
      assert.equal(s.arch, want.arch);
      assert.equal(s.compression, want.compression);
      assert.equal(s.kernelFormat, want.chain.at(-1));
      assert.deepEqual(chainOf(report.root, s.kernelPath ?? "/"), want.chain);
      // The banner names the release of the installed file and the package's Debian version.
      assert.ok(s.linuxVersion?.startsWith(`Linux version ${c.release} (`), `banner ${s.linuxVersion} for ${c.release}`);
      assert.ok(s.linuxVersion?.includes(`Debian ${c.version} (`), `banner ${s.linuxVersion} for Debian ${c.version}`);
      // An EFI stub is reported as the image's PE view, never as the image's format.
      const pe = report.root.children.find((l) => l.path === "/pe");
      assert.equal(pe?.pe?.machineName, want.peMachine);

      const errors = report.diagnostics.filter((d) => d.severity === "error");
      assert.deepEqual(errors, [], "no error diagnostics");
      const unsupported = report.diagnostics.filter((d) => d.code === "UNSUPPORTED_FORMAT");
      if (want.unsupported === null) {
        assert.deepEqual(unsupported, []);
        assert.ok(report.plan, "a boot plan");
        assert.equal((await unpack(bytes, { codecs: NODE_CODECS })).path, s.kernelPath);
      } else {
        assert.equal(unsupported.length, 1);
        assert.match(unsupported[0]?.message ?? "", new RegExp(`^${want.unsupported} \\(not supported yet\\)`));
        assert.ok(report.root.title.startsWith(`${want.unsupported} (not supported yet)`), report.root.title);
        assert.equal(report.plan, null);
        const planError = await rejection(plan(bytes, { codecs: NODE_CODECS }));
        assert.equal(planError.code, "E_UNSUPPORTED");
        assert.match(planError.message, new RegExp(want.unsupported));
        const extractError = await rejection(unpack(bytes, { codecs: NODE_CODECS }));
        assert.equal(extractError.code, "E_UNSUPPORTED");
        assert.match(extractError.message, new RegExp(`${want.unsupported}.*--layer /payload/decompressed`));
      }

      // A payload found by scanning (no header points at it) is exactly the stream: the native
      // tool decodes the carved bytes, with nothing left over, to kimg's bytes.
      const raw = findLayer(report.root, s.kernelPath ?? "/");
      if (raw?.format === "raw-kernel") {
        const payload = findLayer(report.root, "/payload");
        assert.ok(payload);
        const carved = bytes.subarray(payload.offset, payload.offset + payload.size);
        const [cmd = "", ...args] = NATIVE[String(payload.info.codec)] ?? [];
        const native = execFileSync(cmd, args, { input: carved, maxBuffer: 1 << 28 });
        const ours = tree.bytes.get(raw.path) ?? new Uint8Array(0);
        assert.equal(ours.length, native.length);
        assert.ok(Buffer.from(ours).equals(native), "kimg's decompressed kernel equals the native tool's");
      }
    });
  }

  it("the CLI: inspect exits 0 on an unsupported kernel and names it; plan and extract exit 3 with E_UNSUPPORTED", {
    skip: cached.some((c) => c.key === "s390x/s390x@bookworm") ? false : "no s390x kernel cached",
  }, () => {
    const c = cached.find((k) => k.key === "s390x/s390x@bookworm");
    assert.ok(c);
    const kimg = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/run.ts", ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
    const inspected = kimg("inspect", c.path);
    assert.equal(inspected.status, 0, inspected.stderr);
    assert.match(inspected.stdout, /format {7}s390-image/);
    assert.match(inspected.stdout, /warning UNSUPPORTED_FORMAT at 0x000000 \(\/\): s390 kernel image \(not supported yet\)/);
    const planned = kimg("plan", c.path);
    assert.equal(planned.status, 3);
    assert.equal(planned.stderr.trim(), "kimg: E_UNSUPPORTED: s390 kernel image (not supported yet): kimg cannot plan how this format boots");
    const out = join(mkdtempSync(join(tmpdir(), "kimg-debian-")), "Image");
    const extracted = kimg("extract", c.path, "-o", out);
    assert.equal(extracted.status, 3);
    assert.match(extracted.stderr, /^kimg: E_UNSUPPORTED: s390 kernel image \(not supported yet\): kimg does not extract this format/);
    assert.ok(!existsSync(out));
  });
});
