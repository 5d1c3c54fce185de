/** kimg for Node: the core plus file helpers and the faster node:zlib gzip. */
export * from "../index.js";
export { NODE_CODECS } from "./codecs.js";
export { readInput, writeAtomic, prepareOutputDir, insideDir } from "./files.js";
export { unpackStream, unpackFile } from "./stream.js";
export type { UnpackStreamOptions } from "./stream.js";
