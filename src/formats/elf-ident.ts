/**
 * The ELF identification bytes (e_ident), in a file of their own so that the symbol reader
 * (elf-symbols.ts) and the built-in initramfs search can use them without importing the ELF
 * format parser, which imports them.
 */
import { startsWith } from "../io/layout.js";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** "\x7fELF", then EI_CLASS 1 or 2 (32/64-bit) and EI_DATA 1 or 2 (little/big endian). */
export function isElf(bytes: Uint8Array): boolean {
  return startsWith(bytes, ELF_MAGIC) && (bytes[4] === 1 || bytes[4] === 2) && (bytes[5] === 1 || bytes[5] === 2);
}
