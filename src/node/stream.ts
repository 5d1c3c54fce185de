/**
 * Streaming forms of unpack for Node: a Transform stream (bytes of an image in, the chosen
 * layer's bytes out, in chunks, honouring back-pressure) and a file-to-file helper with an
 * atomic write. The container formats point backwards and forwards (a zboot header names a
 * payload at the end of the file), so the input is gathered before decoding; the output flows.
 */
import { Transform, type TransformCallback } from "node:stream";
import { unpack, type UnpackOptions, type UnpackResult } from "../api/index.js";
import { ErrorCode, KimgError } from "../io/errors.js";
import { DEFAULT_LIMITS } from "../io/limits.js";
import { crc32ForNode, NODE_CODECS } from "./codecs.js";
import { readInput, writeAtomic, type WriteOptions } from "./files.js";

const OUTPUT_CHUNK_BYTES = 1024 * 1024;

/** What `unpackStream` takes: the `unpack` options, an input cap, and a callback with the result before its bytes. */
export interface UnpackStreamOptions extends UnpackOptions {
  /** Largest input accepted, in bytes (default: maxOutputBytes). */
  maxInputBytes?: number;
  /** Called once with the result's metadata before the first output chunk. */
  onResult?: (result: Omit<UnpackResult, "data" | "bootable" | "initrd">) => void;
}

/** A Transform stream: an image's bytes in, the chosen layer's bytes out (the innermost kernel by default), in chunks that honour back-pressure. */
export function unpackStream(options: UnpackStreamOptions = {}): Transform {
  const chunks: Uint8Array[] = [];
  let received = 0;
  const maxInput = options.maxInputBytes ?? options.limits?.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes;
  return new Transform({
    readableHighWaterMark: OUTPUT_CHUNK_BYTES,
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      received += chunk.length;
      if (received > maxInput) {
        callback(new KimgError(ErrorCode.LIMIT, `input exceeds ${maxInput} bytes (maxInputBytes)`, { offset: received - chunk.length }));
        return;
      }
      chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      callback();
    },
    flush(callback: TransformCallback) {
      const input = new Uint8Array(received);
      let at = 0;
      for (const c of chunks) {
        input.set(c, at);
        at += c.length;
      }
      chunks.length = 0;
      unpack(input, { codecs: NODE_CODECS, crc32: crc32ForNode, ...options }).then(
        (result) => {
          const { data, bootable: _b, initrd: _i, ...meta } = result;
          options.onResult?.(meta);
          for (let offset = 0; offset < data.length; offset += OUTPUT_CHUNK_BYTES) {
            this.push(data.subarray(offset, Math.min(data.length, offset + OUTPUT_CHUNK_BYTES)));
          }
          callback();
        },
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    },
  });
}

/** Unpacks the file at `inputPath` and writes the chosen layer to `outputPath` atomically. */
export async function unpackFile(inputPath: string, outputPath: string, options: UnpackOptions & WriteOptions = {}): Promise<UnpackResult> {
  const result = await unpack(await readInput(inputPath), { codecs: NODE_CODECS, crc32: crc32ForNode, ...options });
  await writeAtomic(outputPath, result.data, { force: options.force ?? false, protect: [inputPath, ...(options.protect ?? [])] });
  return result;
}
