/**
 * The one codec signature. Every decoder takes the compressed bytes (exactly the stream, no
 * container trailer) and returns the decompressed bytes, or throws a KimgError with code
 * E_CORRUPT_STREAM, E_CHECKSUM or E_LIMIT. `maxOutputBytes` must be enforced while decoding,
 * not after, so a decompression bomb never allocates more than that.
 */
export interface DecodeOptions {
  /** The size the container declares, when it declares one (a hint to check, not to trust). */
  expectedSize?: number | undefined;
  /** Hard cap on the output, in bytes. */
  maxOutputBytes: number;
  /** Called now and then with the number of output bytes produced so far. */
  onProgress?: ((outputBytes: number) => void) | undefined;
  /** The same CRC-32 as codecs/checksums.ts `crc32`, faster where the platform has one (Node's zlib.crc32): for the checks over whole blocks. */
  crc32?: ((data: Uint8Array) => number) | undefined;
  /**
   * Called with a large output buffer as soon as it is allocated, before the decoder writes into
   * it (at most PREPARE_OUTPUT_MAX_RATIO times the input of it, codecs/output.ts); must not
   * change a byte. Node has the buffer's memory pages made ready on another thread meanwhile
   * (node/prefault.ts), so the decoder does not stop at the first write to each.
   */
  prepareOutput?: ((bytes: Uint8Array) => void) | undefined;
  /**
   * Called now and then while decoding, by the decoders whose output is final as soon as it is
   * written (lz4 and LZO blocks; not xz, whose filters rewrite it): `bytes[0, upTo)` are the
   * output's first `upTo` bytes for good. `bytes` may be replaced by a larger buffer later, which
   * holds the same bytes there. The CLI writes them to the output file while the rest decodes.
   */
  onOutput?: ((bytes: Uint8Array, upTo: number) => void) | undefined;
}

/** A decoder: the compressed stream in, the decompressed bytes out (or a promise of them), never more than `maxOutputBytes`. */
export type Decoder = (input: Uint8Array, options: DecodeOptions) => Uint8Array | Promise<Uint8Array>;

/**
 * The canonical codec names kimg reports (`summary.compression`), defined once: tables keyed by
 * codec are `Record<CodecName, ...>`, so a codec added here and missing there is a compile error,
 * and test/codes.test.ts checks the README's codec table against this list.
 */
export const CODEC_NAMES = ["gzip", "zstd", "xz", "lzma", "lz4", "lzo", "bzip2"] as const;

/** A codec kimg decodes (one of CODEC_NAMES). */
export type CodecName = (typeof CODEC_NAMES)[number];

export function isCodecName(value: unknown): value is CodecName {
  return (CODEC_NAMES as readonly unknown[]).includes(value);
}

export interface Codec {
  name: CodecName;
  decode: Decoder;
}
