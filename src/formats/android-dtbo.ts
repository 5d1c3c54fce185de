/**
 * Android DTBO / DT table image (`dtbo.img`, and the recovery DTBO of a boot.img v1/v2): a table
 * of device-tree blobs (overlays) with an id and revision each. Source: AOSP
 * system/libufdt/utils/src/dt_table.h and mkdtboimg.py (all fields big-endian, as fdt32):
 *
 *   #define DT_TABLE_MAGIC 0xd7b7ab1e
 *   struct dt_table_header {
 *     uint32_t magic;             // DT_TABLE_MAGIC
 *     uint32_t total_size;        // includes dt_table_header + all dt_table_entry and all dtb/dtbo
 *     uint32_t header_size;       // sizeof(dt_table_header)
 *     uint32_t dt_entry_size;     // sizeof(dt_table_entry)
 *     uint32_t dt_entry_count;    // number of dt_table_entry
 *     uint32_t dt_entries_offset; // offset to the first dt_table_entry from head of dt_table_header
 *     uint32_t page_size;         // flash page size we assume
 *     uint32_t version;           // DTBO image version, the current version is 0.
 *   };
 *   struct dt_table_entry {
 *     uint32_t dt_size;
 *     uint32_t dt_offset;         // offset from head of dt_table_header
 *     uint32_t id;                // optional, must be zero if unused
 *     uint32_t rev;               // optional, must be zero if unused
 *     uint32_t custom[4];         // optional, must be zero if unused
 *   };
 *   // version 1 (mkdtboimg --version=1): custom[0] becomes `flags`, bits 0-3 the compression
 *   // (0 none, 1 zlib, 2 gzip) of that entry's blob.
 */
import { defineLayout, hex, readStruct, u32 } from "../io/layout.js";
import type { AndroidDtboEntry, AndroidDtboFacts } from "../model/facts.js";
import type { ChildSpec, FormatParser } from "./types.js";

export const DT_TABLE_MAGIC = 0xd7b7ab1e;
/** Most entries read from one table (a device's dtbo.img holds a few dozen overlays). */
export const MAX_DT_TABLE_ENTRIES = 1024;
const HEADER_SIZE = 32;
const ENTRY_SIZE = 32;

export const DT_TABLE_HEADER = defineLayout("dt_table_header", HEADER_SIZE, [
  { name: "magic", offset: 0, type: "u32" },
  { name: "total_size", offset: 4, type: "u32" },
  { name: "header_size", offset: 8, type: "u32" },
  { name: "dt_entry_size", offset: 12, type: "u32" },
  { name: "dt_entry_count", offset: 16, type: "u32" },
  { name: "dt_entries_offset", offset: 20, type: "u32" },
  { name: "page_size", offset: 24, type: "u32" },
  { name: "version", offset: 28, type: "u32" },
] as const);

export const DT_TABLE_ENTRY = defineLayout("dt_table_entry", ENTRY_SIZE, [
  { name: "dt_size", offset: 0, type: "u32" },
  { name: "dt_offset", offset: 4, type: "u32" },
  { name: "id", offset: 8, type: "u32" },
  { name: "rev", offset: 12, type: "u32" },
  { name: "custom[0]", offset: 16, type: "u32" },
  { name: "custom[1]", offset: 20, type: "u32" },
  { name: "custom[2]", offset: 24, type: "u32" },
  { name: "custom[3]", offset: 28, type: "u32" },
] as const);

const COMPRESSION = ["none", "zlib", "gzip"] as const;

/** The magic and a header of the sizes mkdtboimg writes. */
export function isDtTable(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER_SIZE && u32(bytes, 0, false) === DT_TABLE_MAGIC && u32(bytes, 8, false) === HEADER_SIZE && u32(bytes, 12, false) === ENTRY_SIZE;
}

export const androidDtboFormat: FormatParser = {
  format: "android-dtbo",
  probe: isDtTable,
  parse(input, layer): ChildSpec[] {
    const { bytes, base } = input;
    const h = readStruct(DT_TABLE_HEADER, bytes, 0, { base, littleEndian: false });
    layer.structures.push(h.structure);
    const r = h.record;
    if (r.total_size > bytes.length)
      input.diagnose("ANDROID_DTBO_BAD", "error", `total_size ${r.total_size} runs past the ${bytes.length} bytes of the table`, 4);
    let count = r.dt_entry_count;
    if (count > MAX_DT_TABLE_ENTRIES) {
      input.diagnose("ANDROID_DTBO_BAD", "error", `dt_entry_count ${count} exceeds MAX_DT_TABLE_ENTRIES (${MAX_DT_TABLE_ENTRIES}): none read`, 16);
      count = 0;
    }
    const entries: AndroidDtboEntry[] = [];
    const children: ChildSpec[] = [];
    for (let i = 0; i < count; i++) {
      const at = r.dt_entries_offset + i * ENTRY_SIZE;
      if (at + ENTRY_SIZE > bytes.length) {
        input.diagnose("ANDROID_DTBO_BAD", "error", `entry ${i} at ${hex(at)} runs past the end of the table`, Math.min(at, bytes.length));
        break;
      }
      const e = readStruct(DT_TABLE_ENTRY, bytes, at, { base, littleEndian: false });
      e.structure.name = `dt_table_entry ${i}`;
      const er = e.record;
      const compression = r.version >= 1 ? (COMPRESSION[er["custom[0]"] & 0xf] ?? `unknown (${er["custom[0]"] & 0xf})`) : "none";
      if (r.version >= 1)
        e.structure.fields[4] = {
          ...(e.structure.fields[4] ?? { offset: base + at + 16, size: 4, value: 0 }),
          name: "flags",
          meaning: `compression ${compression}`,
        };
      layer.structures.push(e.structure);
      entries.push({
        index: i,
        size: er.dt_size,
        offset: er.dt_offset,
        id: er.id,
        rev: er.rev,
        custom: [er["custom[0]"], er["custom[1]"], er["custom[2]"], er["custom[3]"]],
        compression,
      });
      if (er.dt_size === 0) continue;
      if (er.dt_offset + er.dt_size > bytes.length) {
        input.diagnose("ANDROID_DTBO_BAD", "error", `entry ${i}: its blob [${hex(er.dt_offset)}, +${hex(er.dt_size)}) runs past the end of the table`, at);
        continue;
      }
      const child: ChildSpec = { name: `dt${i}`, offset: er.dt_offset, length: er.dt_size };
      if (compression === "none") child.format = "dtb";
      else if (compression === "gzip") child.compressed = { declaredCodec: "gzip" };
      children.push(child);
    }
    const facts: AndroidDtboFacts = {
      kind: "android-dtbo",
      totalSize: r.total_size,
      entryCount: r.dt_entry_count,
      entriesOffset: r.dt_entries_offset,
      pageSize: r.page_size,
      version: r.version,
      entries,
    };
    input.setFacts(facts);
    layer.info.totalSize = facts.totalSize;
    layer.info.pageSize = facts.pageSize;
    layer.info.version = facts.version;
    layer.info.entries = entries.map((e) => ({
      index: e.index,
      offset: base + e.offset,
      size: e.size,
      id: hex(e.id),
      rev: hex(e.rev),
      compression: e.compression,
    }));
    layer.title = `Android DT table (DTBO) image v${r.version}: ${r.dt_entry_count} device tree${r.dt_entry_count === 1 ? "" : "s"}`;
    return children;
  },
};
