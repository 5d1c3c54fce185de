/** Options shared by several commands. */
import { Option } from "commander";
import { ErrorCode, KimgError } from "../io/errors.js";

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  if (!m) throw new KimgError(ErrorCode.USAGE, `not a size: "${text}" (use e.g. 512M, 2G, 1048576)`);
  const unit = (m[2] ?? "b").toLowerCase()[0];
  const scale = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * scale);
}

export const maxSizeOption = (): Option =>
  new Option("--max-size <bytes>", "largest output of one decompression (default 512M)").argParser((v) => parseSize(v));
