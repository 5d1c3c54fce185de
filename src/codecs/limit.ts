/** The error every decoder without its own output buffer gives when the output cap is reached. */
import { ErrorCode, KimgError } from "../io/errors.js";

export function outputLimitError(codec: string, maxOutputBytes: number, actual?: number): KimgError {
  return new KimgError(ErrorCode.LIMIT, `${codec} output exceeds maxOutputBytes (${maxOutputBytes} bytes); raise it with --max-size if the image is genuine`, {
    structure: `${codec} stream`,
    limit: "maxOutputBytes",
    expected: maxOutputBytes,
    ...(actual === undefined ? {} : { actual }),
  });
}
