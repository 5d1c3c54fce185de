/** Exit codes of the kimg CLI (README, "Exit codes"). Stable: scripts rely on them. */
import { ErrorCode, type ErrorCodeValue } from "../io/errors.js";

export const EXIT = {
  OK: 0,
  /** A bug in kimg: an unexpected exception. */
  INTERNAL: 1,
  /** Wrong command line. */
  USAGE: 2,
  /** The input is damaged, unsupported or over a limit (fatal error or error diagnostics). */
  BAD_INPUT: 3,
  /** A file could not be read or written, or an output exists. */
  IO: 4,
  /** A signature did not verify (kimg verify). */
  NOT_VERIFIED: 5,
  /** A boot-plan check failed (kimg plan --strict). */
  CHECK_FAILED: 6,
  /** The system refused (kexec: not root, no syscall, lockdown...). */
  SYSTEM: 7,
  /** stdout's reader went away (EPIPE), e.g. `| head`: ends quietly with the status the shell shows for `cat` killed by SIGPIPE (128 + 13). */
  STDOUT_CLOSED: 141,
} as const;

export function exitCodeFor(code: ErrorCodeValue): number {
  switch (code) {
    case ErrorCode.USAGE:
      return EXIT.USAGE;
    case ErrorCode.IO:
    case ErrorCode.OUTPUT_EXISTS:
      return EXIT.IO;
    case ErrorCode.SYSTEM:
      return EXIT.SYSTEM;
    default:
      return EXIT.BAD_INPUT;
  }
}
