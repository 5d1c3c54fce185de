/** `inspect`: the report of an image. */
import type { Report } from "../model/report.js";
import { analyse, type InspectOptions } from "./analyse.js";

/**
 * Reads any kernel boot image into the report tree, descending through compressed layers.
 * Problems in the image become `report.diagnostics`; a KimgError is thrown only when nothing can
 * be read (a limit exceeded, an unreadable input).
 *
 * @example
 * const report = await inspect(bytes, { name: "vmlinuz.efi" });
 * console.log(report.summary.format, report.summary.arch); // "zboot" "arm64"
 */
export async function inspect(input: Uint8Array | ArrayBuffer, options: InspectOptions = {}): Promise<Report> {
  return (await analyse(input, options)).report;
}
