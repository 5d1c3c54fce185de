/**
 * Screenshots of the page with a given kernel image, in the light or dark scheme:
 *   node --import tsx web/tools/screenshot.ts IMAGE OUT.png [--dark] [--full] [--height N] [--selector CSS]
 * Builds the page into a temporary folder, serves it on 127.0.0.1 and drives Debian's chromium.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { buildPage, CHROMIUM_ARGS, CHROMIUM_PATH, serveFolder } from "./serve.js";

const [image, out, ...flags] = process.argv.slice(2);
if (!image || !out) {
  console.error("usage: screenshot.ts IMAGE OUT.png [--dark] [--full] [--height N] [--selector CSS]");
  process.exit(2);
}
const heightFlag = flags.indexOf("--height");
const height = heightFlag >= 0 ? Number(flags[heightFlag + 1]) : 1400;

const work = await mkdtemp(join(tmpdir(), "kimg-shot-"));
try {
  await buildPage(join(work, "site"));
  const server = await serveFolder(join(work, "site"));
  const context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height },
    colorScheme: flags.includes("--dark") ? "dark" : "light",
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url);
    const started = Date.now();
    await page.setInputFiles("#file", image);
    await page.waitForSelector("#results[data-state='done'], #results[data-state='error']", { timeout: 120_000 });
    console.log(`report shown ${Date.now() - started} ms after the file was given`);
    await page.waitForSelector('#signatures[aria-busy="false"], #results[data-state="error"]', { timeout: 60_000 });
    const selectorFlag = flags.indexOf("--selector");
    const selector = selectorFlag >= 0 ? flags[selectorFlag + 1] : undefined;
    if (selector) await page.locator(selector).first().screenshot({ path: out });
    else await page.screenshot({ path: out, fullPage: flags.includes("--full") });
  } finally {
    await context.close();
    await server.close();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
