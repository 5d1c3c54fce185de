/** Options shared by several commands, and the one place that turns them into the core's options. */
import { basename } from "node:path";
import { Option, type Command } from "commander";
import type { InspectOptions } from "../api/index.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import type { Limits } from "../io/limits.js";
import { NODE_CODECS } from "../node/codecs.js";
import { readInput } from "../node/files.js";
import { progressReporter } from "./progress.js";

/**
 * A byte count: "1048576", "512M", "2G", "0.5M". It must come to at least one whole byte:
 * "0" or "0.5" must not quietly mean "no limit given".
 */
export function parseSize(text: string, flag = "size"): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  const usage = (why: string): KimgError => new KimgError(ErrorCode.USAGE, `${flag} ${JSON.stringify(text)}: ${why} (use e.g. 512M, 2G, 1048576)`);
  if (!m) throw usage("not a size");
  const unit = (m[2] ?? "b").toLowerCase()[0];
  const scale = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  const bytes = Number(m[1]) * scale;
  if (scale === 1 && !Number.isInteger(bytes)) throw usage("not a whole number of bytes");
  if (!(bytes >= 1)) throw usage("must be at least 1 byte");
  if (!Number.isSafeInteger(Math.floor(bytes))) throw usage("too large");
  return Math.floor(bytes);
}

export const maxSizeOption = (): Option =>
  new Option("--max-size <bytes>", "largest output of one decompression (default 512M)").argParser((v) => parseSize(v, "--max-size"));

export const maxTotalSizeOption = (): Option =>
  new Option("--max-total-size <bytes>", "largest sum of all decompressed layers (default 1G)").argParser((v) => parseSize(v, "--max-total-size"));

/** The limits the size options set (maxOutputBytes, maxTotalOutputBytes), to spread into a call's options. */
export function sizeLimits(opts: { maxSize?: number; maxTotalSize?: number }): { limits?: Partial<Limits> } {
  const limits: Partial<Limits> = {};
  if (opts.maxSize !== undefined) limits.maxOutputBytes = opts.maxSize;
  if (opts.maxTotalSize !== undefined) limits.maxTotalOutputBytes = opts.maxTotalSize;
  return Object.keys(limits).length ? { limits } : {};
}

/** The flags of every command that reads an image (see `imageOptions`). */
export interface ImageFlags {
  maxSize?: number;
  maxTotalSize?: number;
}

/** Adds the flags every command that reads an image takes (--max-size, --max-total-size), after its own. */
export function imageOptions(command: Command): Command {
  return command.addOption(maxSizeOption()).addOption(maxTotalSizeOption());
}

/**
 * Reads the image FILE through the CLI's one checked reader (a regular file, within
 * maxInputBytes) and builds the options every core call takes: the file's name for the report,
 * Node's codecs, the size limits the flags set, and a progress line on stderr when `progress`.
 */
export async function readImage(
  file: string,
  flags: ImageFlags,
  how: { progress: boolean; whileReading?: () => void },
): Promise<{ bytes: Uint8Array; options: InspectOptions }> {
  const bytes = await readInput(file, how.whileReading ? { whileReading: how.whileReading } : {});
  const options = { name: basename(file), codecs: NODE_CODECS, ...sizeLimits(flags), onProgress: progressReporter(how.progress) };
  return { bytes, options };
}

/** A non-negative integer, decimal or 0x hex (a RISC-V hart id). */
export function parseCount(text: string, flag: string): number {
  const t = text.trim();
  if (!/^(?:\d+|0x[0-9a-f]+)$/i.test(t) || !Number.isSafeInteger(Number(t))) {
    throw new KimgError(ErrorCode.USAGE, `${flag} ${JSON.stringify(text)}: not a non-negative integer (use e.g. 0, 3, 0x10)`);
  }
  return Number(t);
}
