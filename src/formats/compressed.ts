/**
 * A compressed stream: recognised by its magic; the engine decompresses it and reads what is
 * inside as a child layer named "decompressed".
 */
import { hex } from "../io/layout.js";
import { sniffCodec } from "../codecs/sniff.js";
import type { ChildSpec, FormatParser } from "./types.js";

export const compressedFormat: FormatParser = {
  format: "compressed",
  probe: (bytes) => sniffCodec(bytes) !== null,
  parse(input, layer): ChildSpec[] {
    const sniffed = sniffCodec(input.bytes);
    layer.info.codec = sniffed?.codec ?? null;
    layer.info.compressedSize = input.bytes.length;
    const magic = input.bytes.subarray(0, Math.min(sniffed?.magicLength ?? 4, 16));
    layer.structures.push({
      name: "stream header",
      offset: input.base,
      size: magic.length,
      fields: [
        {
          name: "magic",
          offset: input.base,
          size: magic.length,
          value: Array.from(magic, (b) => b.toString(16).padStart(2, "0")).join(" "),
          meaning: sniffed?.describe ?? "no known magic",
        },
      ],
    });
    layer.title = `${sniffed?.codec ?? "unknown"} stream, ${input.bytes.length} bytes at ${hex(input.base)}`;
    return [];
  },
};
