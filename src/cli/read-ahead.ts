/** `readAhead`: the command definitions start reading the image before their action has loaded. */
import type { ImageFlags } from "./options.js";
import type { Image, ReadHow } from "./read-image.js";

/**
 * Starts reading the image FILE now, while the command's action loads (for a big kernel both
 * take tens of milliseconds, one in the thread pool, the other on the main thread). The action
 * awaits the promise after its own checks, so a usage error still comes first; until then a
 * failed read is held, not reported as unhandled.
 */
export function readAhead(file: string, flags: ImageFlags, how: ReadHow): Promise<Image> {
  const reading = import("./read-image.js").then((m) => m.readImage(file, flags, how));
  reading.catch(() => undefined);
  return reading;
}
