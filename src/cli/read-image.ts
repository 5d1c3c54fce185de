/** The image reader of the commands' actions (`actions/*.ts`): not loaded at start-up. */
import { basename } from "node:path";
import type { InspectOptions } from "../api/analyse.js";
import { NODE_CODECS } from "../node/codecs.js";
import { prepareWrites, readInput } from "../node/files.js";
import { type ImageFlags, sizeLimits } from "./options.js";
import { progressReporter } from "./progress.js";

/** How an action reads its image: a progress line on stderr, and whether it will write files. */
export interface ReadHow {
  progress: boolean;
  /** Load what writing an output needs while the file is read. */
  prepareWrites?: boolean;
}

/** The image's bytes and the options every core call takes. */
export interface Image {
  bytes: Uint8Array;
  options: InspectOptions;
}

/**
 * Reads the image FILE through the CLI's one checked reader (a regular file, within
 * maxInputBytes) and builds the options every core call takes: the file's name for the report,
 * Node's codecs, the size limits the flags set, and a progress line on stderr when `progress`.
 */
export async function readImage(file: string, flags: ImageFlags, how: ReadHow): Promise<Image> {
  // Loading what writing needs (koffi) costs as much as reading a 10 MB image: do both at once.
  const bytes = await readInput(file, how.prepareWrites ? { whileReading: prepareWrites } : {});
  const options = { name: basename(file), codecs: NODE_CODECS, ...sizeLimits(flags), onProgress: progressReporter(how.progress) };
  return { bytes, options };
}
