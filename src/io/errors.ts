/**
 * The one error family of kimg. Every fatal problem with an input is a KimgError with a
 * stable string `code`, the file offset it concerns (when there is one) and structured data;
 * the message is built from those. Errors serialise to JSON so they cross a Worker boundary.
 */

/** Stable error codes. Scripts may rely on these strings; never rename one. */
export const ErrorCode = {
  /** A read would run past the end of the data. */
  TRUNCATED: "E_TRUNCATED",
  /** A magic number or signature is not what the format requires. */
  BAD_MAGIC: "E_BAD_MAGIC",
  /** No known format matches the input. */
  UNKNOWN_FORMAT: "E_UNKNOWN_FORMAT",
  /** An offset or size from the file points outside the data or is absurd. */
  BAD_OFFSET: "E_BAD_OFFSET",
  /** A header field has a value the format does not allow. */
  BAD_FIELD: "E_BAD_FIELD",
  /** A named limit (output size, depth, count, ratio) was exceeded. */
  LIMIT: "E_LIMIT",
  /** The compressed stream is corrupt or ends early. */
  CORRUPT_STREAM: "E_CORRUPT_STREAM",
  /** The codec is unknown or not available here. */
  UNSUPPORTED_CODEC: "E_UNSUPPORTED_CODEC",
  /** A check value (CRC, adler32, size trailer) does not match. */
  CHECKSUM: "E_CHECKSUM",
  /** The decompressed size does not match what the container declares. */
  SIZE_MISMATCH: "E_SIZE_MISMATCH",
  /** A requested layer does not exist. */
  NO_SUCH_LAYER: "E_NO_SUCH_LAYER",
  /** Something the format allows but kimg does not handle. */
  UNSUPPORTED: "E_UNSUPPORTED",
  /** The command line is wrong. */
  USAGE: "E_USAGE",
  /** Reading or writing a file failed. */
  IO: "E_IO",
  /** An output file exists and --force was not given, or would overwrite the input. */
  OUTPUT_EXISTS: "E_OUTPUT_EXISTS",
  /** A signature or certificate could not be parsed. */
  BAD_SIGNATURE: "E_BAD_SIGNATURE",
  /** A system call or environment precondition failed (kexec). */
  SYSTEM: "E_SYSTEM",
} as const;

/** The stable error codes ("E_TRUNCATED", "E_LIMIT", ...), one per entry of ErrorCode. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Each error code's meaning in one line, for the README's table (`npm run docs:codes`); a code
 * missing here is a compile error. A diagnostic may carry an error code too: the fatal error of
 * one layer, caught and recorded, while the rest of the tree is still read.
 */
export const ERROR_CODE_MEANINGS = {
  [ErrorCode.TRUNCATED]: "a read would run past the end of the data",
  [ErrorCode.BAD_MAGIC]: "a magic number or signature is not what the format requires",
  [ErrorCode.UNKNOWN_FORMAT]: "no known format matches the input",
  [ErrorCode.BAD_OFFSET]: "an offset or size from the file points outside the data or is absurd",
  [ErrorCode.BAD_FIELD]: "a header field has a value the format does not allow",
  [ErrorCode.LIMIT]: "a named limit (output size, depth, count, ratio) was exceeded",
  [ErrorCode.CORRUPT_STREAM]: "the compressed stream is corrupt or ends early",
  [ErrorCode.UNSUPPORTED_CODEC]: "the codec is unknown or not available here",
  [ErrorCode.CHECKSUM]: "a check value (CRC, adler32, size trailer) does not match",
  [ErrorCode.SIZE_MISMATCH]: "the decompressed size does not match what the container declares",
  [ErrorCode.NO_SUCH_LAYER]: "a requested layer does not exist",
  [ErrorCode.UNSUPPORTED]: "something the format allows but kimg does not handle",
  [ErrorCode.USAGE]: "the command line is wrong",
  [ErrorCode.IO]: "reading or writing a file failed",
  [ErrorCode.OUTPUT_EXISTS]: "an output file exists and --force was not given, or would overwrite the input",
  [ErrorCode.BAD_SIGNATURE]: "a signature or certificate could not be parsed",
  [ErrorCode.SYSTEM]: "a system call or environment precondition failed (kexec)",
} as const satisfies { readonly [C in ErrorCodeValue]: string };

/** The structured data of a KimgError: what was being read, where, what was expected and found, and which limit stopped it. */
export interface KimgErrorData {
  /** The structure being read, e.g. "zboot header". */
  structure?: string;
  /** Offset in the data the error concerns (file offset for the outer file). */
  offset?: number;
  expected?: string | number;
  actual?: string | number;
  [key: string]: unknown;
}

/** The one error kimg throws for bad input and refused requests: a stable `code` (ErrorCode), the file `offset` where known, and structured `data`; serialises to JSON (`toJSON`), so it crosses a worker boundary. */
export class KimgError extends Error {
  readonly code: ErrorCodeValue;
  readonly offset: number | undefined;
  readonly data: KimgErrorData;

  constructor(code: ErrorCodeValue, message: string, data: KimgErrorData = {}) {
    super(message);
    this.name = "KimgError";
    this.code = code;
    this.offset = data.offset;
    this.data = data;
  }

  /** One line: `E_TRUNCATED at 0x40: zboot header needs 64 bytes, 12 left`. */
  describe(): string {
    const where = this.offset === undefined ? "" : ` at 0x${this.offset.toString(16)}`;
    return `${this.code}${where}: ${this.message}`;
  }

  toJSON(): { code: string; message: string; offset: number | null; data: KimgErrorData } {
    return { code: this.code, message: this.message, offset: this.offset ?? null, data: this.data };
  }
}

const STABLE_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Diagnostics may carry format-specific codes ("UKI_SECTION_OUTSIDE"); only these may end in a KimgError. */
export function isErrorCode(value: string): value is ErrorCodeValue {
  return STABLE_CODES.has(value);
}

/** True for a KimgError, also one that crossed a realm or a worker as JSON. */
export function isKimgError(value: unknown): value is KimgError {
  return value instanceof KimgError;
}

/**
 * Turns anything thrown into a KimgError. Code that is not ours (a codec library, WebCrypto)
 * may throw plain errors; those become `fallback` errors so no stack trace reaches the user.
 */
export function asKimgError(value: unknown, fallback: ErrorCodeValue, context: KimgErrorData = {}): KimgError {
  if (value instanceof KimgError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new KimgError(fallback, message || "unknown failure", context);
}
