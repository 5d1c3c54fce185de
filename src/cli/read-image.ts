/** The image reader of the commands' actions (`actions/*.ts`): not loaded at start-up. */
import { basename } from "node:path";
import type { InspectOptions } from "../api/analyse.js";
import { useByteSearch } from "../io/layout.js";
import { scanMarkersAhead, searchMarkersAhead } from "../io/marker-scan.js";
import { memmemSearch, memmemSearchAsync } from "../node/byte-search.js";
import { crc32ForNode, NODE_CODECS } from "../node/codecs.js";
import { readInput } from "../node/files.js";
import { koffiIfLoaded } from "../node/koffi.js";
import { type ImageFlags, sizeLimits } from "./options.js";
import { progressReporter } from "./progress.js";

/**
 * Reads the image FILE through the CLI's one checked reader (a regular file, within
 * maxInputBytes) and builds the options every core call takes: the file's name for the report,
 * Node's codecs and CRC-32, the size limits the flags set, and a progress line on stderr when
 * `progress`.
 *
 * While a large file is read, the part that has arrived is scanned for the kernel's markers (the
 * banner, the .config, a built-in initramfs), which the analysis of a raw kernel asks for: the
 * scan then costs little more than the read. `scanAhead: false` skips it (extract, which does not
 * search the kernel). A file that is mapped (node/mapped-file.ts) arrives at once; its markers,
 * and those of the kernels unpacked from it, are found with memmem instead (node/byte-search.ts).
 * With `searchAhead`, the mapped file's markers are looked for at once on the thread pool, and
 * `markers` settles when they are known: the caller loads its code meanwhile, then awaits it.
 */
export async function readImage(
  file: string,
  flags: ImageFlags,
  how: { progress: boolean; whileReading?: () => void; scanAhead?: boolean; searchAhead?: boolean },
): Promise<{ bytes: Uint8Array; options: InspectOptions; markers: Promise<void> }> {
  const bytes = await readInput(file, {
    map: true,
    ...(how.whileReading ? { whileReading: how.whileReading } : {}),
    ...(how.scanAhead === false ? {} : { onArrived: scanMarkersAhead }),
  });
  // koffi is loaded once a large file was mapped: long searches (the kernel's markers, the magic
  // numbers of a compressed payload) then go through memmem.
  const koffi = koffiIfLoaded();
  if (koffi !== undefined) useByteSearch(memmemSearch(koffi));
  const search = koffi !== undefined && how.searchAhead ? memmemSearchAsync(koffi) : null;
  // A search that fails leaves the questions to the analysis's own searches.
  const markers = search ? searchMarkersAhead(bytes, search).catch(() => undefined) : Promise.resolve();
  const options = { name: basename(file), codecs: NODE_CODECS, crc32: crc32ForNode, ...sizeLimits(flags), onProgress: progressReporter(how.progress) };
  return { bytes, options, markers };
}
