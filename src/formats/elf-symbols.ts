/**
 * Symbol lookup in an ELF file's .symtab (gABI "Symbol Table"): used to check the boot plan
 * against a vmlinux with symbols (the arm64 branch target must be primary_entry - _text).
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { requireRange, viewOf } from "../io/layout.js";
import type { Limits } from "../io/limits.js";
import { isElf } from "./elf-ident.js";

const SHT_SYMTAB = 2;

/** Reads the values of the named symbols; names not found are absent from the result. */
export function elfSymbols(bytes: Uint8Array, names: readonly string[], limits: Limits): Map<string, bigint> {
  if (!isElf(bytes)) throw new KimgError(ErrorCode.BAD_MAGIC, "not an ELF file", { structure: "ELF header", offset: 0 });
  const is64 = bytes[4] === 2;
  const le = bytes[5] === 1;
  const v = viewOf(bytes);
  requireRange(bytes, 0, is64 ? 64 : 52, "ELF header");
  const shoff = is64 ? Number(v.getBigUint64(40, le)) : v.getUint32(32, le);
  const shentsize = v.getUint16(is64 ? 58 : 46, le);
  const shnum = v.getUint16(is64 ? 60 : 48, le);
  if (shnum > limits.maxElfHeaderCount)
    throw new KimgError(ErrorCode.LIMIT, `${shnum} section headers exceed maxElfHeaderCount`, { structure: "ELF header", offset: is64 ? 60 : 48 });
  if (shentsize < (is64 ? 64 : 40))
    throw new KimgError(ErrorCode.BAD_FIELD, `e_shentsize ${shentsize} is too small`, { structure: "ELF header", offset: is64 ? 58 : 46 });
  requireRange(bytes, shoff, shnum * shentsize, "section headers");
  const section = (i: number): { type: number; offset: number; size: number; link: number; entsize: number } => {
    const at = shoff + i * shentsize;
    return is64
      ? {
          type: v.getUint32(at + 4, le),
          offset: Number(v.getBigUint64(at + 24, le)),
          size: Number(v.getBigUint64(at + 32, le)),
          link: v.getUint32(at + 40, le),
          entsize: Number(v.getBigUint64(at + 56, le)),
        }
      : {
          type: v.getUint32(at + 4, le),
          offset: v.getUint32(at + 16, le),
          size: v.getUint32(at + 20, le),
          link: v.getUint32(at + 24, le),
          entsize: v.getUint32(at + 36, le),
        };
  };
  const wanted = new Map(names.map((n) => [n, new TextEncoder().encode(n)]));
  const found = new Map<string, bigint>();
  for (let i = 0; i < shnum && found.size < wanted.size; i++) {
    const symtab = section(i);
    if (symtab.type !== SHT_SYMTAB || symtab.link >= shnum) continue;
    const strtab = section(symtab.link);
    const entsize = symtab.entsize || (is64 ? 24 : 16);
    if (entsize < (is64 ? 24 : 16)) continue;
    requireRange(bytes, symtab.offset, symtab.size, "symbol table");
    requireRange(bytes, strtab.offset, strtab.size, "string table");
    for (let at = symtab.offset; at + entsize <= symtab.offset + symtab.size; at += entsize) {
      const nameOffset = strtab.offset + v.getUint32(at, le);
      for (const [name, encoded] of wanted) {
        if (found.has(name) || nameOffset + encoded.length >= strtab.offset + strtab.size) continue;
        if (bytes[nameOffset + encoded.length] !== 0 || bytes[nameOffset] !== encoded[0]) continue;
        let same = true;
        for (let j = 1; j < encoded.length && same; j++) same = bytes[nameOffset + j] === encoded[j];
        if (same) found.set(name, is64 ? v.getBigUint64(at + 8, le) : BigInt(v.getUint32(at + 4, le)));
      }
    }
  }
  return found;
}
