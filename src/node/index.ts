/** kimg for Node: the core plus file helpers and the faster node:zlib gzip. */
export * from "../index.js";
export { NODE_CODECS } from "./codecs.js";
export { readInput, writeAtomic, prepareOutputDir, insideDir } from "./files.js";
export { unpackStream, unpackFile } from "./stream.js";
export type { UnpackStreamOptions } from "./stream.js";
// Initramfs archives (issue 16): carry out an archive's extraction plan in a new folder
export { writeArchive } from "./archive-writer.js";
export type { ArchiveWriteResult } from "./archive-writer.js";
