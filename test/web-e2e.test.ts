/**
 * The web page end to end in Debian's Chromium (playwright-core): build the page with Vite,
 * serve it from 127.0.0.1 on an ephemeral port, drop images made by our builders and the real
 * compressors, and compare what the page shows and downloads with the core run in Node.
 * Needs Debian's chromium at /usr/bin/chromium, openssl, sbsign, gzip, zstd and xz (skipped without them).
 */
import { cpioArchive } from "../support/builders/cpio.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import {
  allLayers,
  analyse,
  authenticodeLayout,
  findLayer,
  inspect,
  measureImage,
  planFromTree,
  renderMeasureText,
  unpack,
  verifyImage,
  type Analysis,
  type Report,
} from "../src/index.js";
import { layoutRegions, mapPathForLayer, memoryMapsFromPlan } from "../src/report/svg.js";
import { checkStatus } from "../src/model/plan.js";
import { buildPage, CHROMIUM_ARGS, CHROMIUM_PATH, serveFolder, type StaticServer } from "../web/tools/serve.js";
import { compressWith } from "../support/builders/compress.js";
import {
  buildArm64Image,
  buildBzImage,
  buildElf,
  buildLoongArchImage,
  buildRiscvImage,
  buildUki,
  buildZboot,
  zbootInputs,
} from "../support/builders/images.js";
import { MACHINE } from "../support/builders/pe.js";
import { buildFit, fitInputs, removeDir } from "../support/builders/fit.js";
import { needs } from "./helpers/tools.js";
import { kernelWithConfig, SAMPLE_CONFIG } from "../support/builders/ikconfig.js";
import { kernelConfigLine } from "../src/report/config-text.js";

const SAMPLE = new Uint8Array(readFileSync(new URL("../samples/arm64-zboot-gzip.efi", import.meta.url)));

interface Fixture {
  name: string;
  bytes: Uint8Array;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function zboot(image: Uint8Array, machine: number, compType: string, tool: Parameters<typeof compressWith>[0]): Uint8Array {
  const { toCompress, trailer } = zbootInputs(image, "v6.4", compType);
  const payload = compressWith(tool, toCompress);
  return buildZboot({ machine, compType, payload, trailer: trailer(payload) }).bytes;
}

const skip = needs({ command: CHROMIUM_PATH, package: "chromium" }, "openssl", "sbsign", "gzip", "zstd", "xz");

/** Runs a real tool. */
function tool(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
}

/** Signs a PE image with sbsign and the test key, as a distro signs its kernels. */
async function sbsign(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  const input = join(work, name);
  await writeFile(input, bytes);
  tool("sbsign", ["--key", join(work, "key.pem"), "--cert", join(work, "cert.pem"), "--output", `${input}.signed`, input]);
  return new Uint8Array(await readFile(`${input}.signed`));
}

function cpioLike(): Uint8Array {
  // A whole newc archive (issue 16 reads every header)
  return cpioArchive([
    { name: "init", mode: 0o100755, data: "#!/bin/sh\nexec /bin/sh\n" },
    { name: "bin", mode: 0o120777, data: "usr/bin" },
  ]);
}

let work: string;
let server: StaticServer;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), "kimg-web-e2e-"));
  await buildPage(join(work, "site"));
  server = await serveFolder(join(work, "site"));
  tool("openssl", [
    "req",
    "-new",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=kimg web test signer",
    "-days",
    "3650",
    "-keyout",
    join(work, "key.pem"),
    "-out",
    join(work, "cert.pem"),
  ]);
  context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(server.url) && !url.startsWith("data:") && !url.startsWith("blob:")) problems.push(`request to ${url}`);
  });
  await page.goto(server.url);
});

after(async () => {
  await context?.close();
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Drops a file on the page the way a user does: a DataTransfer with a File, dragenter/over/drop. */
async function drop(fixture: Fixture): Promise<void> {
  await page.evaluate(() => {
    const results = document.querySelector<HTMLElement>("#results");
    if (results) results.dataset.state = "waiting";
  });
  await page.evaluate(
    ({ name, base64 }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], name));
      for (const type of ["dragenter", "dragover", "drop"])
        document.body.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    },
    { name: fixture.name, base64: Buffer.from(fixture.bytes).toString("base64") },
  );
  await waitForReport();
}

async function waitForReport(): Promise<string> {
  const handle = await page.waitForFunction(
    () => {
      const state = document.querySelector<HTMLElement>("#results")?.dataset.state;
      return state === "done" || state === "error" ? state : null;
    },
    undefined,
    { timeout: 60_000 },
  );
  return (await handle.jsonValue()) as string;
}

async function download(selector: string): Promise<Uint8Array> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const path = await file.path();
  return new Uint8Array(await readFile(path));
}

async function text(selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? "";
}

/** The checks every image gets: summary, tree, fields, pictures, boot plan, JSON and kernel downloads. */
async function checkAgainstNode(fixture: Fixture): Promise<Analysis> {
  const analysis = await analyse(fixture.bytes, { name: fixture.name });
  const { report } = analysis;
  await drop(fixture);
  assert.equal(await page.locator("#results").getAttribute("data-state"), "done");
  const s = report.summary;
  assert.equal(await text('#summary dd[data-key="format"]'), s.format);
  assert.equal(await text('#summary dd[data-key="arch"]'), s.arch ?? "unknown");
  assert.equal(await text('#summary dd[data-key="compression"]'), s.compression ?? "none");
  assert.equal(await text('#summary dd[data-key="kernel"]'), s.kernelFormat ? `${s.kernelFormat} at ${s.kernelPath}` : "not reached");
  assert.equal(await text('#summary dd[data-key="version"]'), s.linuxVersion ?? "—");

  // The tree lists every layer, in the report's order.
  const paths = await page.locator("#layers nav .tree-item").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.layerPath));
  assert.deepEqual(
    paths,
    [...allLayers(report.root)].map((l) => l.path),
  );

  // Each layer's panel shows each structure and every field, at its offset.
  for (const layer of allLayers(report.root)) {
    await page.click(`#layers nav .tree-item[data-layer-path="${layer.path}"]`);
    await page.waitForSelector(`#layer-panel[data-layer-path="${layer.path}"]`);
    const shown = await page.locator("#layer-panel table.fields").evaluateAll((tables) =>
      tables.map((t) => ({
        name: (t as HTMLElement).dataset.structure,
        fields: Array.from(t.querySelectorAll("tbody tr")).map((r) => [(r as HTMLElement).dataset.field, r.querySelector("td.num")?.textContent]),
      })),
    );
    assert.deepEqual(
      shown,
      layer.structures.map((st) => ({ name: st.name, fields: st.fields.map((f) => [f.name, "0x" + f.offset.toString(16)]) })),
      `fields of ${layer.path}`,
    );
  }

  // The layout picture has exactly the regions the report describes, at the same offsets.
  const drawn = await page.locator('#layout svg.kimg-layout[data-start="0"] rect.k-region').evaluateAll((rects) =>
    rects.map((r) => {
      const d = (r as SVGRectElement).dataset;
      return [d.kind, d.name, Number(d.offset), Number(d.size), (r as SVGRectElement).getBBox().width > 0, r.namespaceURI];
    }),
  );
  assert.deepEqual(
    drawn,
    layoutRegions(report.root).map((r) => [r.kind, r.name, r.offset, r.size, true, "http://www.w3.org/2000/svg"]),
  );

  // One memory map per table the boot plan read (a bzImage's ELF vmlinux included), with the
  // plan's verdicts as badges: the same checks `kimg plan` prints.
  const plan = planFromTree(analysis.tree);
  const maps = memoryMapsFromPlan(plan, report);
  const badgesFromPlan = maps.flatMap((m) => m.checks.map((c) => [c.id, c.status]));
  assert.deepEqual(
    badgesFromPlan,
    maps.flatMap((m) =>
      plan.checks
        .filter((c) => c.layer !== undefined && mapPathForLayer(c.layer, new Set(maps.map((x) => x.path))) === m.path)
        .map((c) => [c.id, checkStatus(c)]),
    ),
  );
  const shownMaps = await page.locator("#memory svg.kimg-memory").evaluateAll((svgs) =>
    svgs.map((svg) => ({
      path: (svg as SVGSVGElement).dataset.layer,
      regions: Array.from(svg.querySelectorAll("rect.k-region")).map((r) => [
        (r as SVGRectElement).dataset.name,
        Number((r as SVGRectElement).dataset.offset),
        (r as SVGRectElement).dataset.perms,
      ]),
      badges: Array.from(svg.querySelectorAll(".k-badge")).map((b) => [(b as SVGGElement).dataset.check, (b as SVGGElement).dataset.status]),
      marks: Array.from(svg.querySelectorAll(".k-mark")).map((m) => (m as SVGGElement).dataset.mark),
    })),
  );
  assert.deepEqual(
    shownMaps,
    maps.map((m) => ({
      path: m.path,
      regions: m.regions.map((r) => [r.name, r.offset, r.perms]),
      badges: m.checks.map((c) => [c.id, c.status]),
      marks: [...m.marks].sort((a, b) => a.offset - b.offset).map((k) => k.label),
    })),
  );
  const instructions = await page.locator("#entry table.instructions tbody tr td:nth-child(3)").allTextContents();
  assert.deepEqual(
    instructions,
    plan.entry.instructions.map((i) => i.text),
  );

  // Signatures: the same verdicts and digests as verifyImage, and the hashed ranges drawn.
  await page.waitForSelector('#signatures[aria-busy="false"]');
  const verified = await verifyImage(fixture.bytes, { analysis, name: fixture.name });
  const shownLayers = await page
    .locator("#signatures .signed-layer")
    .evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.layer, e.querySelector('code[data-digest="sha256"]')?.textContent]));
  assert.deepEqual(
    shownLayers,
    verified.layers.map((l) => [l.path, l.digest.sha256]),
  );
  const rows = await page
    .locator("#signatures tr[data-signature]")
    .evaluateAll((trs) => trs.map((r) => [(r as HTMLElement).dataset.signature, (r as HTMLElement).dataset.verified]));
  assert.deepEqual(
    rows,
    verified.signatures.map((s) => [`${s.layer}#${s.index}`, String(s.verified)]),
  );
  for (const l of verified.layers) {
    const layer = findLayer(report.root, l.path);
    const bytes = analysis.tree.bytes.get(l.path);
    assert.ok(layer?.pe && bytes);
    const ranges = authenticodeLayout(bytes, layer.pe);
    const drawnRanges = await page
      .locator(`#signatures .signed-layer[data-layer="${l.path}"] svg.kimg-hashed[data-start="0"]`)
      .first()
      .locator("rect.k-region")
      .evaluateAll((rects) =>
        rects.map((r) => [(r as SVGRectElement).dataset.kind, (r as SVGRectElement).dataset.name, Number((r as SVGRectElement).dataset.offset)]),
      );
    assert.deepEqual(drawnRanges, [...ranges.hashed.map((r) => ["hashed", r.label, r.start]), ...ranges.skipped.map((r) => ["skipped", r.label, r.start])]);
  }

  // The JSON report is the one `kimg inspect --json` prints, byte for byte.
  const json = await download("#download-json");
  assert.equal(new TextDecoder().decode(json), JSON.stringify(report, null, 2) + "\n");
  // The unpacked kernel is the one `kimg extract -o` writes.
  const kernel = await download("#download-kernel");
  const expected = (await unpack(fixture.bytes)).data;
  assert.equal(kernel.length, expected.length);
  assert.equal(sha256(kernel), sha256(expected));
  return analysis;
}

describe("the web page in Chromium", { skip }, () => {
  it("is keyboard reachable: skip link, file button, sample button; the sample loads with Enter", async () => {
    await page.goto(server.url);
    const focused: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press("Tab");
      focused.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || ""));
    }
    assert.deepEqual(focused, ["skip", "choose", "sample"]);
    await page.keyboard.press("Enter");
    assert.equal(await waitForReport(), "done");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "summary-title");
    assert.equal(await text('#summary dd[data-key="name"]'), "arm64-zboot-gzip.efi");
    // Every button has a name; every picture is an image with a label; every field table a caption.
    const unnamed = await page.locator("button").evaluateAll((bs) => bs.filter((b) => !(b.textContent ?? "").trim() && !b.getAttribute("aria-label")).length);
    assert.equal(unnamed, 0);
    const pictures = await page
      .locator("svg.kimg-svg")
      .evaluateAll((svgs) => svgs.map((s) => [s.getAttribute("role"), (s.getAttribute("aria-label") ?? "").length > 10]));
    assert.ok(pictures.length >= 4);
    assert.ok(pictures.every(([role, labelled]) => role === "img" && labelled));
    assert.equal(await page.locator("table.fields:not(:has(caption))").count(), 0);
  });

  it("shows the sample zboot: fields, payload region, entry and memory map, and downloads the Image", async () => {
    await checkAgainstNode({ name: "arm64-zboot-gzip.efi", bytes: SAMPLE });
    await page.click('#layers nav .tree-item[data-layer-path="/"]');
    assert.equal(await text('#layer-panel table.fields[data-structure="zboot header"] tr[data-field="payload_offset"] td.value'), "0x1400 (5120)");
    assert.equal(await text('#layer-panel table.fields[data-structure="zboot header"] tr[data-field="comp_type"] td.value'), '"gzip"');
    const payload = page.locator('#layout svg.kimg-layout rect[data-kind="layer"][data-name="payload"]').first();
    assert.deepEqual(
      [await payload.getAttribute("data-offset"), await payload.getAttribute("data-size"), await payload.getAttribute("data-format")],
      ["5120", "52758", "compressed"],
    );
    assert.equal(await payload.locator("title").textContent(), '/payload: gzip stream, 52758 bytes (declared "gzip") (0x1400 +0xce16, 51.5 KiB)');
    // Hover and keyboard focus both put a region's details under the picture.
    await payload.hover();
    assert.equal(await text("#layout .hover-detail"), '/payload: gzip stream, 52758 bytes (declared "gzip") (0x1400 +0xce16, 51.5 KiB)');
    await page.locator('#memory svg[data-layer="/pe"] .k-badge[data-check="nx-compat"]').focus();
    assert.equal(
      await text('#memory figure[data-layer="/pe"] .hover-detail'),
      "NX_COMPAT: pass. NX_COMPAT is set: firmware may map data non-executable and code read-only",
    );
    assert.equal(await page.locator('#memory svg[data-layer="/payload/decompressed/pe"] .k-badge[data-check="w^x"]').getAttribute("data-status"), "pass");
    assert.equal(await page.locator('#memory svg[data-layer="/payload/decompressed/pe"] .k-badge[data-check="nx-compat"]').getAttribute("data-status"), "pass");
    assert.equal(await page.locator('#memory svg[data-layer="/payload/decompressed/pe"] rect[data-name=".text"]').getAttribute("data-perms"), "r-x");
    // A layer's own download: the compressed payload, as `kimg extract --layer /payload` writes it.
    await page.click('#layers nav .tree-item[data-layer-path="/payload"]');
    const stream = await download('#layer-panel button[data-download-layer="/payload"]');
    const { tree } = await analyse(SAMPLE);
    assert.equal(sha256(stream), sha256(tree.bytes.get("/payload") ?? new Uint8Array()));
  });

  it("decodes zstd (WASM) under the page's CSP and verifies an sbsign-signed zboot and its signed, padded Image", async () => {
    const image = await sbsign(buildArm64Image({ codeSize: 0x8000, bssSize: 0x20000 }), "Image");
    const fixture = { name: "arm64-zboot-zstd22-signed.efi", bytes: await sbsign(zboot(image, MACHINE.ARM64, "zstd22", "zstd"), "zboot.efi") };
    const { report } = await checkAgainstNode(fixture);
    assert.equal(report.summary.compression, "zstd");
    const pe = findLayer(report.root, "/payload/decompressed/pe")?.pe;
    assert.ok(pe?.certificateTable);
    const signature = await page
      .locator(
        "#kernel-layout svg.kimg-layout[data-start='0'] rect[data-kind='certificates'], #kernel-layout svg.kimg-layout[data-start='0'] rect[data-kind='padding']",
      )
      .evaluateAll((rs) =>
        rs.map((r) => [(r as SVGRectElement).dataset.kind, Number((r as SVGRectElement).dataset.offset), Number((r as SVGRectElement).dataset.size)]),
      );
    assert.deepEqual(signature, [
      ["certificates", pe.certificateTable.offset, pe.certificateTable.size],
      ["padding", pe.certificateTable.offset + pe.certificateTable.size, pe.trailingZeroBytes],
    ]);
    assert.ok(pe.trailingZeroBytes > 0);
    // The page prints the report's own verdict line, as `kimg verify` does: intact is not verified.
    const untrusted = await verifyImage(fixture.bytes);
    assert.equal(await text("#signature-verdict"), untrusted.verdictLine);
    assert.match(untrusted.verdictLine, /^verified: no - 2 signatures intact \(digest matches, signature valid\)/);
    // --trim: cut after the certificate table gives back the signed Image exactly.
    await page.check("#kernel-trim");
    const trimmed = await download("#download-kernel");
    assert.equal(sha256(trimmed), sha256(image));
    assert.equal(sha256(trimmed), sha256((await unpack(fixture.bytes, { trim: true })).data));

    // Chains, against the signing certificate given as a PEM file.
    await page.setInputFiles("#trusted-certs", join(work, "cert.pem"));
    await page.waitForSelector('#signatures[aria-busy="false"] #signature-verdict:has-text("verified: yes")');
    const trusted = await verifyImage(fixture.bytes, { trustedCertificates: [new Uint8Array(await readFile(join(work, "cert.pem")))] });
    assert.equal(await text("#signature-verdict"), trusted.verdictLine);
    assert.match(trusted.verdictLine, /^verified: yes - 2 signatures intact .*; chain checked against /);
    const chains = await page.locator("#signatures tr[data-signature] td:nth-child(6)").allTextContents();
    assert.deepEqual(
      chains,
      trusted.signatures.map((s) => (s.chainValid ? "✓ reaches a trusted certificate" : "✗ no trusted chain")),
    );
    assert.ok(trusted.signatures.every((s) => s.chainValid));

    // Secure Boot policy (issue 17): the signing certificate as db, the page prints the report's verdict line.
    await page.setInputFiles("#policy-db", join(work, "cert.pem"));
    await page.waitForSelector('#signatures[aria-busy="false"] #secure-boot-verdict');
    const policy = await verifyImage(fixture.bytes, {
      trustedCertificates: [new Uint8Array(await readFile(join(work, "cert.pem")))],
      db: [{ name: "cert.pem", data: new Uint8Array(await readFile(join(work, "cert.pem"))) }],
    });
    assert.equal(await text("#secure-boot-verdict"), policy.secureBoot?.verdictLine);
    assert.match(policy.secureBoot?.verdictLine ?? "", /^secure boot: yes - \/pe would boot: signed by a chain to db/);

    // One byte changed in the outer image after signing: its signature fails, the inner one holds.
    const tampered = new Uint8Array(fixture.bytes);
    const data = findLayer(report.root, "/pe")?.pe?.sections.find((x) => x.name === ".data");
    assert.ok(data);
    tampered[data.pointerToRawData + 16] = (tampered[data.pointerToRawData + 16] ?? 0) ^ 0xff;
    await checkAgainstNode({ name: "tampered.efi", bytes: tampered });
    assert.equal(await text("#signature-verdict"), "verified: no - 1 of 2 signatures failed");
    assert.match(await text('#signatures tr[data-signature="/pe#0"] .reasons'), /the image was changed after signing/);
  });

  // Boot containers (issue 15)
  it("shows a FIT (mkimage -E -f) with its configurations -> images and what the plan took from the default", { skip: needs("mkimage", "dtc") }, async () => {
    const built = buildFit(fitInputs(), "external");
    try {
      const { report } = await checkAgainstNode({ name: "image.itb", bytes: built.itb });
      const relation = await page.locator("#containers table.fit-configurations tbody tr").evaluateAll((trs) =>
        trs.map((tr) => [
          (tr as HTMLElement).dataset.configuration,
          (tr as HTMLElement).dataset.default,
          ...Array.from(tr.querySelectorAll("td"))
            .slice(1)
            .map((td) =>
              Array.from(td.querySelectorAll("code[data-image]"))
                .map((c) => (c as HTMLElement).dataset.image)
                .join(","),
            ),
        ]),
      );
      assert.deepEqual(relation, [
        ["conf-1", "true", "kernel-1", "fdt-1", "ramdisk-1", "", ""],
        ["conf-2", "false", "kernel-2", "fdt-1", "", "", ""],
      ]);
      assert.match(await text('#containers tr[data-configuration="conf-1"] th'), /conf-1\s+default/);
      const images = await page
        .locator("#containers table.fit-images tbody tr")
        .evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.image, tr.querySelector("td[data-used-by]")?.textContent]));
      assert.deepEqual(images, [
        ["kernel-1", "conf-1 (kernel)"],
        ["kernel-2", "conf-2 (kernel)"],
        ["fdt-1", "conf-1 (fdt), conf-2 (fdt)"],
        ["ramdisk-1", "conf-1 (ramdisk)"],
      ]);
      assert.equal(report.plan?.container?.configuration, "conf-1");
      assert.equal(await text("#containers [data-planned-configuration]"), "conf-1");
      const addresses = await page
        .locator("#containers table.container-addresses tbody tr")
        .evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.address, tr.querySelector("td")?.textContent]));
      assert.deepEqual(
        addresses,
        (report.plan?.container?.addresses ?? []).map((a) => [a.name, a.value]),
      );
    } finally {
      removeDir(built.dir);
    }
  });

  it("reads a LoongArch zboot with an xz payload", async () => {
    const fixture = { name: "loongarch64-zboot-xzkern.efi", bytes: zboot(buildLoongArchImage(), MACHINE.LOONGARCH64, "xzkern", "xz") };
    const { report } = await checkAgainstNode(fixture);
    assert.deepEqual([report.summary.arch, report.summary.compression, report.summary.kernelFormat], ["loongarch64", "xz", "loongarch-image"]);
  });

  it("reads an x86 bzImage down to its ELF vmlinux", async () => {
    const bzImage = buildBzImage({ payload: compressWith("gzip", buildElf()) });
    const { report } = await checkAgainstNode({ name: "vmlinuz-x86", bytes: bzImage });
    assert.deepEqual([report.summary.format, report.summary.kernelFormat, report.summary.kernelPath], ["bzimage", "elf", "/payload/decompressed"]);
  });

  it("reads a UKI and downloads its .linux and .initrd layers", async () => {
    const linux = buildBzImage({ payload: compressWith("gzip", buildElf()) });
    const initrd = compressWith("gzip", cpioLike());
    const uki = buildUki({ linux, initrd, uname: "6.12.9-kimg-test" });
    const { tree } = await checkAgainstNode({ name: "linux.efi", bytes: uki });
    for (const path of ["/.linux", "/.initrd"]) {
      await page.click(`#layers nav .tree-item[data-layer-path="${path}"]`);
      const got = await download(`#layer-panel button[data-download-layer="${path}"]`);
      assert.equal(sha256(got), sha256(tree.bytes.get(path) ?? new Uint8Array()), path);
    }
    assert.equal(sha256(await download("#download-kernel")), sha256((await unpack(uki)).data));
    // Initramfs archives (issue 16): the .initrd's entries listed, a single file saved from it
    const rows = await page.locator("#archives table.archive-entries tbody tr").evaluateAll((trs) => trs.map((r) => (r as HTMLElement).dataset.name));
    assert.deepEqual(rows, ["init", "bin"]);
    const init = await download('#archives button[title="save init"]');
    assert.equal(new TextDecoder().decode(init), "#!/bin/sh\nexec /bin/sh\n");
    // Measured boot (issue 17): the page prints what `kimg pcr` prints, from the same library.
    assert.equal(await page.locator("#measure").getAttribute("data-ukis"), "1");
    assert.equal(await page.locator("#measure-text").textContent(), renderMeasureText(await measureImage(uki, { name: "linux.efi" })));
    const json = JSON.parse(new TextDecoder().decode(await download("#measure-download"))) as { images: unknown[]; pcr4: unknown[] };
    assert.deepEqual(json, JSON.parse(JSON.stringify(await measureImage(uki, { name: "linux.efi" }))));
  });

  it("reads a bare RISC-V Image and an ELF vmlinux", async () => {
    const riscv = await checkAgainstNode({ name: "Image-riscv64", bytes: buildRiscvImage() });
    assert.equal(riscv.report.summary.kernelPath, "/");
    const elf = await checkAgainstNode({ name: "vmlinux", bytes: buildElf({ entry: 0xffffffff81001040n }) });
    assert.equal(elf.report.summary.kernelFormat, "elf");
  });

  it("shows the CLI's error for a file that is no kernel, and diagnostics for damaged ones", async () => {
    const notKernel = new TextEncoder().encode("this is not a kernel image at all\n".repeat(20));
    const thrown = await inspect(notKernel).then(
      () => assert.fail("inspect accepted text"),
      (e: { describe(): string; code: string }) => e,
    );
    await drop({ name: "notes.txt", bytes: notKernel });
    assert.equal(await page.locator("#results").getAttribute("data-state"), "error");
    assert.equal(await text("#error"), thrown.describe());
    assert.equal(await page.locator("#error").getAttribute("data-code"), "E_UNKNOWN_FORMAT");
    assert.equal(await page.locator("#error").getAttribute("role"), "alert");

    const corrupt = new Uint8Array(SAMPLE);
    for (let i = 0x2000; i < 0x2100; i++) corrupt[i] = (corrupt[i] ?? 0) ^ 0x5a;
    const truncated = SAMPLE.slice(0, 0x3000);
    for (const [name, bytes] of [
      ["corrupt.efi", corrupt],
      ["truncated.efi", truncated],
    ] as const) {
      const report: Report = await inspect(bytes, { name });
      await drop({ name, bytes });
      const shown = await page.locator("#summary .diagnostics li").allTextContents();
      assert.deepEqual(
        shown,
        report.diagnostics.map(
          (d) => `${d.severity} ${d.code}${d.offset === null ? "" : ` at 0x${d.offset.toString(16).padStart(6, "0")}`} (${d.layer}): ${d.message}`,
        ),
      );
      assert.ok(
        report.diagnostics.some((d) => d.severity === "error"),
        name,
      );
      assert.equal(await page.locator("#download-kernel").count(), 0, `${name}: no kernel to download`);
    }
  });

  // Issue 14: "a 9 MB zstd zboot reported and unpacked in under 1 s in Chromium, logged by the
  // browser test". Debian sid's loong64 zboot (8.7 MB, zstd22) when the fetch script cached it,
  // else an arm64 zboot of about 9 MB made here; the time is logged (speed targets live in the
  // benchmark), the bytes are checked.
  it("reports and unpacks a 9 MB zstd zboot (time logged)", async (t) => {
    const debian = "/var/cache/kimg-debian/sid/loong64-loong64";
    const real = existsSync(debian) ? readdirSync(debian).find((n) => n.startsWith("vmlinuz-")) : undefined;
    let bytes: Uint8Array;
    let name: string;
    if (real) {
      bytes = new Uint8Array(readFileSync(join(debian, real)));
      name = `Debian sid ${real}`;
    } else {
      const image = buildArm64Image({
        codeSize: 0x1800000,
        dataSize: 0x100000,
        bssSize: 0x100000,
        banner: "Linux version 6.12.9-kimg (builder@kimg) (gcc 12.2.0) #1 SMP",
      });
      const { toCompress, trailer } = zbootInputs(image, "v6.4", "zstd22");
      // zstd -3 with the kernel's 128 MiB window: the same stream format as -22 --ultra, made in seconds.
      const out = execFileSync("zstd", ["-3", "--long=27", "-c"], { input: toCompress, maxBuffer: 1 << 30 });
      const payload = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      bytes = buildZboot({ machine: MACHINE.ARM64, compType: "zstd22", payload, trailer: trailer(payload) }).bytes;
      name = "arm64 zboot, zstd";
    }
    const path = join(work, "zstd-zboot.efi");
    await writeFile(path, bytes);
    const expected = await unpack(bytes);
    assert.equal(expected.report.summary.compression, "zstd");
    const start = Date.now();
    await page.setInputFiles("#file", path);
    assert.equal(await waitForReport(), "done");
    const reported = Date.now() - start;
    const kernel = await download("#download-kernel");
    const unpacked = Date.now() - start;
    assert.equal(sha256(kernel), sha256(expected.data));
    t.diagnostic(
      `${name}: ${(bytes.length / 1e6).toFixed(1)} MB zstd zboot reported in ${reported} ms, its ${(kernel.length / 1e6).toFixed(1)} MB kernel downloaded at ${unpacked} ms`,
    );
    // Where the time went: the page's "kimg: …" User Timing measures (web/ui/timing.ts).
    const phases = await page.evaluate(() =>
      performance
        .getEntriesByType("measure")
        .filter((m) => m.name.startsWith("kimg: "))
        .map((m) => `${m.name.slice(6)} ${Math.round(m.duration)} ms`),
    );
    assert.ok(
      phases.some((p) => p.startsWith("analyse")),
      phases.join(", "),
    );
    t.diagnostic(`phases: ${phases.join(", ")}`);
    // Sections far below the screen are laid out lazily at first (content-visibility: auto), and
    // all of them once the page is idle, so a full-page screenshot or a printout has them drawn.
    await page.waitForSelector("#results.settled", { state: "attached", timeout: 10_000 });
    const visibility = await page.evaluate(() => Array.from(document.querySelectorAll("#results > .card"), (c) => getComputedStyle(c).contentVisibility));
    assert.ok(visibility.length > 5, `${visibility.length} sections`);
    assert.deepEqual(new Set(visibility), new Set(["visible"]));
  });

  it("decompresses a 48 MB image in the worker with progress while the page keeps running", async (t) => {
    const image = buildArm64Image({
      codeSize: 0x2800000,
      dataSize: 0x100000,
      bssSize: 0x600000,
      banner: "Linux version 6.12.9-kimg-big (builder@kimg) (gcc 12.2.0) #1 SMP",
    });
    // gzip -1, not the kernel's -9: the same stream format, and -9 takes half a minute on 40 MiB
    // of code-like bytes. The ratio (about 2.5) is a kernel's, so output arrives steadily.
    const { toCompress, trailer } = zbootInputs(image, "v6.4", "gzip");
    const gzip = execFileSync("gzip", ["-n", "-1", "-c"], { input: toCompress, maxBuffer: 1 << 30 });
    const payload = new Uint8Array(gzip.buffer, gzip.byteOffset, gzip.byteLength);
    const bytes = buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes;
    const path = join(work, "big-zboot.efi");
    await writeFile(path, bytes);
    const expected = await unpack(bytes);
    assert.ok(expected.data.length > 45 * 1024 * 1024, `${expected.data.length} bytes`);
    // Anonymous callbacks only: tsx would wrap named functions in a helper the page lacks.
    await page.evaluate(() => {
      const w = window as unknown as { ticks: number[]; progress: Array<[number, number]>; timer: number };
      w.ticks = [];
      w.progress = [];
      w.timer = window.setInterval(() => w.ticks.push(performance.now()), 10);
      const bar = document.querySelector<HTMLProgressElement>("#progress");
      new MutationObserver(() => {
        if (bar && bar.position > 0) w.progress.push([performance.now(), bar.position]);
      }).observe(document.querySelector("#status-text") as Node, { childList: true, characterData: true, subtree: true });
      const results = document.querySelector<HTMLElement>("#results");
      if (results) results.dataset.state = "waiting";
    });
    await page.setInputFiles("#file", path);
    assert.equal(await waitForReport(), "done");
    const { ticks, progress } = await page.evaluate(() => {
      const w = window as unknown as { ticks: number[]; progress: Array<[number, number]>; timer: number };
      window.clearInterval(w.timer);
      return { ticks: w.ticks, progress: w.progress };
    });
    const inBetween = progress.filter(([, p]) => p > 0 && p < 1);
    assert.ok(inBetween.length >= 2, `progress seen: ${progress.map(([, p]) => p.toFixed(2)).join(", ")}`);
    // While the worker decompresses (first to last progress update) the page's own timer keeps
    // ticking: a page blocked by the decoder would show one gap as long as the whole window.
    const from = progress[0]?.[0] ?? 0;
    const to = progress[progress.length - 1]?.[0] ?? 0;
    const during = [from, ...ticks.filter((x) => x > from && x < to), to];
    const longest = Math.max(...during.slice(1).map((x, i) => x - (during[i] ?? x)));
    t.diagnostic(`${inBetween.length} progress updates over ${(to - from).toFixed(0)} ms; longest gap between 10 ms ticks meanwhile: ${longest.toFixed(0)} ms`);
    assert.ok(to - from > 0);
    assert.ok(longest < Math.max(100, (to - from) / 2), `the page stalled for ${longest.toFixed(0)} ms of ${(to - from).toFixed(0)} ms`);
    const kernel = await download("#download-kernel");
    assert.equal(kernel.length, expected.data.length);
    assert.equal(sha256(kernel), sha256(expected.data));
  });

  it("follows the dark colour scheme, in the page and in the pictures", async () => {
    const colours = async (): Promise<string[]> =>
      page.evaluate(() => [
        getComputedStyle(document.body).backgroundColor,
        getComputedStyle(document.querySelector("svg.kimg-layout rect.k-track") as Element).fill,
      ]);
    await page.emulateMedia({ colorScheme: "light" });
    assert.deepEqual(await colours(), ["rgb(246, 247, 249)", "rgb(238, 241, 244)"]);
    await page.emulateMedia({ colorScheme: "dark" });
    assert.deepEqual(await colours(), ["rgb(15, 20, 26)", "rgb(34, 44, 55)"]);
    await page.emulateMedia({ colorScheme: "light" });
  });

  // The embedded .config (issue 16)
  it("shows the embedded .config: the report's verdict line, searchable lines, the download kimg config prints", async () => {
    const bytes = kernelWithConfig("zboot");
    const { report, kernelConfig: config } = await analyse(bytes, { name: "ikconfig.efi" });
    await drop({ name: "ikconfig.efi", bytes });
    assert.equal(await page.locator("#config").getAttribute("data-present"), "true");
    assert.equal(await text("#config-verdict"), kernelConfigLine(report.kernelConfig));
    await page.fill("#config-search", "ikconfig");
    assert.deepEqual(
      (await text("#config-text")).split("\n"),
      SAMPLE_CONFIG.split("\n").filter((l) => l.toLowerCase().includes("ikconfig")),
    );
    assert.deepEqual(await download("#config-download"), config);
    const plain = buildArm64Image();
    await drop({ name: "plain.efi", bytes: plain });
    assert.equal(await page.locator("#config").getAttribute("data-present"), "false");
    assert.equal(await text("#config-verdict"), kernelConfigLine((await inspect(plain)).kernelConfig));
    assert.equal(await page.locator("#config-search").count(), 0);
  });

  it("sends nothing anywhere: a CSP in the built page, only GETs of its own files, no errors", async () => {
    const html = await (await fetch(server.url)).text();
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;self&#39;;[^"]*connect-src &#39;self&#39; data:;/);
    assert.deepEqual([...new Set(server.requests.map((r) => r.method))], ["GET"]);
    assert.ok(
      server.requests.every((r) => r.path === "/" || r.path.startsWith("/assets/")),
      server.requests.map((r) => r.path).join(" "),
    );
    assert.deepEqual(problems, []);
  });
});
