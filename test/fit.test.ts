/**
 * U-Boot FIT images made by the real `mkimage -f` (u-boot-tools), compared with what
 * `dumpimage -l` lists and what `dumpimage -T flat_dt -p N -o` extracts: embedded data,
 * external data after the tree (`-E`) and at absolute positions (`-E -p`); hash nodes checked
 * and a changed byte caught; truncated and hostile trees ending in coded errors, never a crash.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildFit, fitInputs, removeDir, type FitInputs, type FitVariant } from "../support/builders/fit.js";
import { ErrorCode, KimgError } from "../src/io/errors.js";
import { FDT_MAX_DEPTH, FDT_MAX_NODES, FDT_MAX_PROPERTY_BYTES, FDT_MAX_STRINGS_BYTES, parseFdt } from "../src/io/fdt.js";
import { serializeFdt, stringValue } from "../src/kexec/fdt.js";
import type { FdtNode } from "../src/io/fdt.js";
import { isFit } from "../src/formats/fit.js";
import { analyse, codes, layerAt } from "./helpers/report.js";
import { needs } from "./helpers/tools.js";

const skip = needs("mkimage", "dumpimage", "dtc", "gzip");
const VARIANTS: FitVariant[] = ["embedded", "external", "position"];
const NAMES = ["kernel-1", "kernel-2", "fdt-1", "ramdisk-1"] as const;

interface Listed {
  description: string;
  images: Array<Record<string, string | string[]>>;
  defaultConfiguration: string;
  configurations: Array<Record<string, string>>;
}

/** Parses `dumpimage -l` (boot/image-fit.c fit_print_contents). */
function dumpimageList(path: string): Listed {
  const text = execFileSync("dumpimage", ["-l", path], { encoding: "utf8" });
  const listed: Listed = { description: "", images: [], defaultConfiguration: "", configurations: [] };
  let current: Record<string, string | string[]> | null = null;
  for (const line of text.split("\n")) {
    let m = /^FIT description: (.*)$/.exec(line);
    if (m) listed.description = m[1] ?? "";
    m = /^ Image \d+ \((.*)\)$/.exec(line);
    if (m) listed.images.push((current = { name: m[1] ?? "", hashAlgos: [], hashValues: [] }));
    m = /^ Configuration \d+ \((.*)\)$/.exec(line);
    if (m) listed.configurations.push((current = { name: m[1] ?? "" }) as Record<string, string>);
    m = /^ Default Configuration: '(.*)'$/.exec(line);
    if (m) listed.defaultConfiguration = m[1] ?? "";
    m = /^ {2}([A-Za-z ]+):\s+(.*)$/.exec(line);
    if (m && current) {
      const key = m[1] ?? "";
      const value = m[2] ?? "";
      if (key === "Hash algo") (current.hashAlgos as string[]).push(value);
      else if (key === "Hash value") (current.hashValues as string[]).push(value);
      else current[key] = value;
    }
  }
  return listed;
}

const TYPE_NAMES: Record<string, string> = { kernel: "Kernel Image", flat_dt: "Flat Device Tree", ramdisk: "RAMDisk Image" };

describe("U-Boot FIT", { skip }, () => {
  let inputs: FitInputs;
  const built = new Map<FitVariant, { itb: Uint8Array; path: string; dir: string }>();
  before(() => {
    if (skip) return;
    inputs = fitInputs();
    for (const v of VARIANTS) built.set(v, buildFit(inputs, v));
  });
  after(() => {
    for (const b of built.values()) removeDir(b.dir);
  });

  for (const variant of VARIANTS) {
    it(`reads what mkimage ${variant === "embedded" ? "-f" : variant === "external" ? "-E -f" : "-E -p 0x1000 -f"} writes as dumpimage -l lists it`, async () => {
      const fit = built.get(variant);
      assert.ok(fit);
      const { report, tree } = await analyse(fit.itb, { name: `${variant}.itb` });
      const root = report.root;
      assert.equal(root.format, "fit");
      assert.equal(root.arch, "arm64");
      const listed = dumpimageList(fit.path);
      assert.equal(root.info.description, listed.description);
      assert.equal(root.info.addressCells, 1);
      assert.match(String(root.info.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      const images = root.info.images as Array<Record<string, unknown>>;
      assert.deepEqual(
        images.map((i) => i.name),
        listed.images.map((i) => i.name),
      );
      const expectedLocation = variant === "embedded" ? "embedded" : variant === "external" ? "external-offset" : "external-position";
      for (const [index, l] of listed.images.entries()) {
        const image = images[index] ?? {};
        assert.equal(image.description, l.Description);
        assert.equal(TYPE_NAMES[String(image.type)], l.Type);
        assert.equal(image.compression === "none" ? "uncompressed" : `${image.compression} compressed`, l.Compression);
        assert.equal(`${image.dataSize} Bytes`, String(l["Data Size"]).split(" = ")[0]);
        assert.equal(image.load ?? "unavailable", l["Load Address"] ?? "unavailable");
        if (l["Entry Point"] !== undefined) assert.equal(image.entry ?? "unavailable", l["Entry Point"]);
        assert.equal(image.data, expectedLocation);
        const hashes = image.hashes as Array<Record<string, unknown>>;
        assert.deepEqual(
          hashes.map((h) => h.algo),
          l.hashAlgos,
        );
        assert.deepEqual(
          hashes.map((h) => h.value),
          l.hashValues,
        );
        // Every hash checked and matching, md5 included (kimg's own MD5, codecs/md5.ts).
        for (const h of hashes) assert.deepEqual([h.checked, h.ok, h.algo], [true, true, h.algo]);
      }
      assert.equal(root.info.defaultConfiguration, listed.defaultConfiguration);
      const configurations = root.info.configurations as Array<Record<string, unknown>>;
      assert.deepEqual(
        configurations.map((c) => [c.name, c.description, c.kernel, c.ramdisk ?? undefined, (c.fdt as string[]).join(" "), c.default]),
        listed.configurations.map((c) => [c.name, c.Description, c.Kernel, c["Init Ramdisk"], c.FDT, c.name === listed.defaultConfiguration]),
      );

      // Each image's data byte-exact, as dumpimage extracts it, and as it went in.
      for (const [index, name] of NAMES.entries()) {
        const out = join(fit.dir, `${variant}-${name}.out`);
        execFileSync("dumpimage", ["-T", "flat_dt", "-p", String(index), "-o", out, fit.path], { stdio: "pipe" });
        const expected = new Uint8Array(readFileSync(out));
        assert.deepEqual(tree.bytes.get(`/${name}`), expected, name);
        assert.deepEqual(expected, inputs[name], name);
      }

      // The layers: the gzip'd kernel decompressed to its arm64 Image, the raw one read as it is, the DTB, the cpio.
      assert.equal(layerAt(report, "/kernel-1").format, "compressed");
      assert.equal(layerAt(report, "/kernel-1").info.declaredCodec, "gzip");
      assert.equal(layerAt(report, "/kernel-1/decompressed").format, "arm64-image");
      assert.deepEqual(tree.bytes.get("/kernel-1/decompressed"), inputs["kernel-2"]);
      assert.equal(layerAt(report, "/kernel-2").format, "arm64-image");
      assert.equal(layerAt(report, "/fdt-1").format, "dtb");
      assert.equal(layerAt(report, "/fdt-1").info.model, "kimg test board");
      assert.deepEqual(layerAt(report, "/fdt-1").info.compatible, ["kimg,test-board", "arm,foo"]);
      assert.equal(layerAt(report, "/ramdisk-1").format, "cpio");
      assert.equal(report.summary.kernelPath, "/kernel-1/decompressed");
      assert.ok(report.plan, "the arm64 Image inside is planned");
      assert.deepEqual(codes(report), []);

      // Every field of every node with its offset: the value at that offset is the property's.
      const kernel2 = root.structures.find((s) => s.name === "FIT /images/kernel-2");
      const load = kernel2?.fields.find((f) => f.name === "load");
      assert.equal(load?.value, 0x40080000);
      assert.equal(new DataView(fit.itb.buffer, fit.itb.byteOffset + (load?.offset ?? 0), 4).getUint32(0), 0x40080000);
    });
  }

  it("reports a changed byte of image data as FIT_HASH_MISMATCH on that image's hashes only", async () => {
    for (const variant of ["embedded", "external"] as const) {
      const fit = built.get(variant);
      assert.ok(fit);
      const { report } = await analyse(fit.itb);
      const images = report.root.info.images as Array<Record<string, unknown>>;
      const kernel2 = images.find((i) => i.name === "kernel-2");
      const at = Number(kernel2?.dataOffset) + 0x2000;
      const changed = fit.itb.slice();
      changed[at] = (changed[at] ?? 0) ^ 0x01;
      const bad = await analyse(changed);
      const mismatches = bad.report.diagnostics.filter((d) => d.code === "FIT_HASH_MISMATCH");
      assert.equal(mismatches.length, 2, variant);
      assert.match(mismatches[0]?.message ?? "", /kernel-2 hash-1: sha1/);
      assert.match(mismatches[1]?.message ?? "", /kernel-2 hash-2: md5/);
      const badImages = bad.report.root.info.images as Array<{ name: string; hashes: Array<{ ok: boolean | null; checked: boolean }> }>;
      assert.deepEqual(
        badImages.map((i) => [i.name, i.hashes.map((h) => h.ok)]),
        [
          ["kernel-1", [true, true]],
          ["kernel-2", [false, false]],
          ["fdt-1", [true]],
          ["ramdisk-1", [true]],
        ],
      );
    }
  });

  it("still reads a plain device tree as dtb, and a FIT's data outside the file as a diagnostic", async () => {
    const plain = await analyse(inputs["fdt-1"]);
    assert.equal(plain.report.root.format, "dtb");
    assert.equal(isFit(inputs["fdt-1"]), false);
    const fit = built.get("external");
    assert.ok(fit);
    // An external FIT cut after its tree: the tree reads, the data is missing.
    const totalSize = new DataView(fit.itb.buffer, fit.itb.byteOffset).getUint32(4);
    const cut = await analyse(fit.itb.subarray(0, totalSize + 100));
    assert.equal(cut.report.root.format, "fit");
    assert.ok(codes(cut.report).includes("FIT_DATA_OUTSIDE"));
    const hashes = (cut.report.root.info.images as Array<{ hashes: Array<{ checked: boolean; reason: string | null }> }>)[1]?.hashes;
    assert.equal(hashes?.[0]?.checked, false);
  });

  it("ends every truncation of a FIT in a report or a coded error, never a crash", async () => {
    const fit = built.get("embedded");
    assert.ok(fit);
    for (let length = 0; length < fit.itb.length; length += 997) {
      try {
        const { report } = await analyse(fit.itb.subarray(0, length));
        assert.notEqual(report.root.format, "fit", `a FIT cut to ${length} bytes has no valid tree`);
      } catch (error) {
        assert.ok(error instanceof KimgError, `cut to ${length}: ${String(error)}`);
      }
    }
  });
});

/** A minimal FIT tree, written by kexec's serialiser, for the hostile variants. */
function tinyFit(extra?: (root: FdtNode) => void): Uint8Array {
  const kernel: FdtNode = {
    name: "kernel-1",
    properties: [
      { name: "type", value: stringValue("kernel") },
      { name: "data", value: new Uint8Array(16) },
    ],
    children: [],
  };
  const root: FdtNode = {
    name: "",
    properties: [{ name: "description", value: stringValue("tiny") }],
    children: [{ name: "images", properties: [], children: [kernel] }],
  };
  extra?.(root);
  return serializeFdt({ bootCpuidPhys: 0, reservations: [], root });
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof KimgError && e.code === code);
}

describe("FIT hostile trees", () => {
  it("reads the tiny FIT", async () => {
    const bytes = tinyFit();
    assert.equal(isFit(bytes), true);
    const { report } = await analyse(bytes);
    assert.equal(report.root.format, "fit");
    assert.equal((report.root.info.images as unknown[]).length, 1);
  });

  it("refuses nesting deeper than FDT_MAX_DEPTH with E_LIMIT", async () => {
    // Built by hand: the serialiser refuses such a tree too.
    const bytes = tinyFit();
    const view = new DataView(bytes.buffer);
    const offStruct = view.getUint32(8);
    const sizeStruct = view.getUint32(36);
    const nest = FDT_MAX_DEPTH + 2;
    const deep = new Uint8Array(nest * 8 + nest * 4);
    const dv = new DataView(deep.buffer);
    for (let i = 0; i < nest; i++) {
      dv.setUint32(i * 8, 1); // FDT_BEGIN_NODE, name "" (4 zero bytes)
    }
    for (let i = 0; i < nest; i++) dv.setUint32(nest * 8 + i * 4, 2);
    // Insert the deep chain right after the root's FDT_BEGIN_NODE + "" name (8 bytes).
    const out = new Uint8Array(bytes.length + deep.length);
    out.set(bytes.subarray(0, offStruct + 8));
    out.set(deep, offStruct + 8);
    out.set(bytes.subarray(offStruct + 8), offStruct + 8 + deep.length);
    const ov = new DataView(out.buffer);
    ov.setUint32(4, out.length);
    ov.setUint32(12, view.getUint32(12) + deep.length);
    ov.setUint32(36, sizeStruct + deep.length);
    expectCode(() => parseFdt(out, { maxBytes: out.length }), ErrorCode.LIMIT);
    assert.equal(isFit(out), false);
    const { report } = await analyse(out);
    assert.equal(report.root.format, "dtb");
    assert.match(report.diagnostics.find((d) => d.code === "DTB_TREE_REFUSED")?.message ?? "", /FDT_MAX_DEPTH \(64\)/);
  });

  it("refuses a property length past the structure block and a name offset outside the strings with E_BAD_OFFSET", async () => {
    const bytes = tinyFit();
    const view = new DataView(bytes.buffer);
    const offStruct = view.getUint32(8);
    // The root's first property: FDT_BEGIN_NODE, "" padded (8 bytes), then FDT_PROP, len, nameoff.
    const prop = offStruct + 8;
    assert.equal(view.getUint32(prop), 3);
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(prop + 4, 0xfffffff0);
    expectCode(() => parseFdt(huge, { maxBytes: huge.length }), ErrorCode.BAD_OFFSET);
    const badName = bytes.slice();
    new DataView(badName.buffer).setUint32(prop + 8, 0x7fffffff);
    expectCode(() => parseFdt(badName, { maxBytes: badName.length }), ErrorCode.BAD_OFFSET);
    for (const hostile of [huge, badName]) {
      assert.equal(isFit(hostile), false);
      const { report } = await analyse(hostile);
      assert.equal(report.root.format, "dtb");
    }
  });

  // Each named limit: the tree is refused with E_LIMIT naming it, and the FIT is reported as a
  // device tree with the coded diagnostic DTB_TREE_REFUSED at the offending offset (issue 15).
  async function refusedAsDtb(bytes: Uint8Array, limit: string): Promise<void> {
    assert.throws(
      () => parseFdt(bytes, { maxBytes: bytes.length }),
      (e: unknown) => e instanceof KimgError && e.code === ErrorCode.LIMIT && e.message.includes(limit),
    );
    assert.equal(isFit(bytes), false);
    const { report } = await analyse(bytes);
    assert.equal(report.root.format, "dtb");
    const d = report.diagnostics.find((x) => x.code === "DTB_TREE_REFUSED");
    assert.ok(d, JSON.stringify(report.diagnostics));
    assert.match(d.message, new RegExp(limit));
  }

  it("refuses more than FDT_MAX_NODES nodes with E_LIMIT and DTB_TREE_REFUSED", async () => {
    const many: FdtNode[] = Array.from({ length: FDT_MAX_NODES }, (_, i) => ({ name: `n${i}`, properties: [], children: [] }));
    const bytes = tinyFit((root) => {
      root.children.push({ name: "many", properties: [], children: many });
    });
    await refusedAsDtb(bytes, "FDT_MAX_NODES");
  });

  it("refuses a property length past the structure block (before FDT_MAX_PROPERTY_BYTES, 512 MiB, could apply) with DTB_TREE_REFUSED", async () => {
    const bytes = tinyFit();
    const prop = new DataView(bytes.buffer).getUint32(8) + 8;
    new DataView(bytes.buffer).setUint32(prop + 4, FDT_MAX_PROPERTY_BYTES + 1);
    expectCode(() => parseFdt(bytes, { maxBytes: bytes.length }), ErrorCode.BAD_OFFSET);
    const { report } = await analyse(bytes);
    assert.equal(report.root.format, "dtb");
    const d = report.diagnostics.find((x) => x.code === "DTB_TREE_REFUSED");
    assert.equal(d?.offset, prop);
    assert.match(d?.message ?? "", /property value of 536870913 bytes runs past the structure block/);
  });

  it("refuses a strings block over FDT_MAX_STRINGS_BYTES with E_LIMIT and DTB_TREE_REFUSED", async () => {
    const bytes = tinyFit();
    const view = new DataView(bytes.buffer);
    // dtc's layout ends with the strings block: grow it (and totalsize) past the limit.
    assert.equal(view.getUint32(12) + view.getUint32(32), bytes.length);
    const grown = new Uint8Array(view.getUint32(12) + FDT_MAX_STRINGS_BYTES + 4);
    grown.set(bytes);
    const gv = new DataView(grown.buffer);
    gv.setUint32(4, grown.length);
    gv.setUint32(32, FDT_MAX_STRINGS_BYTES + 4);
    await refusedAsDtb(grown, "FDT_MAX_STRINGS_BYTES");
  });

  it("reports external data past the file (data-position near 2^32, data-offset past the end) as FIT_DATA_OUTSIDE at its offset", async () => {
    for (const [prop, value] of [
      ["data-position", 0xfffffff0],
      ["data-offset", 0x7fffffff],
    ] as const) {
      const bytes = tinyFit((root) => {
        const kernel = root.children[0]?.children[0];
        assert.ok(kernel);
        kernel.properties = [
          { name: "type", value: stringValue("kernel") },
          { name: prop, value: new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]) },
          { name: "data-size", value: new Uint8Array([0, 0, 0, 0x20]) },
        ];
      });
      const { report } = await analyse(bytes);
      assert.equal(report.root.format, "fit");
      const d = report.diagnostics.filter((x) => x.code === "FIT_DATA_OUTSIDE");
      assert.equal(d.length, 1, prop);
      assert.equal(report.root.children.length, 0, "no layer is cut from outside the file");
    }
  });

  it("reports an image without data and a configuration naming a missing image", async () => {
    const bytes = tinyFit((root) => {
      const images = root.children[0];
      images?.children.push({ name: "fdt-1", properties: [{ name: "type", value: stringValue("flat_dt") }], children: [] });
      root.children.push({
        name: "configurations",
        properties: [{ name: "default", value: stringValue("conf-9") }],
        children: [{ name: "conf-1", properties: [{ name: "kernel", value: stringValue("kernel-7") }], children: [] }],
      });
    });
    const { report } = await analyse(bytes);
    assert.equal(report.root.format, "fit");
    assert.deepEqual(codes(report).sort(), ["FIT_CONFIG_MISSING_IMAGE", "FIT_CONFIG_MISSING_IMAGE", "FIT_IMAGE_NO_DATA"]);
  });
});
