/** Small leaf formats that appear inside UKIs and initrds: device trees, text (cpio archives: cpio.ts). */
import { isKimgError } from "../io/errors.js";
import { parseFdt, stringListProperty, stringProperty } from "../io/fdt.js";
import type { FdtNode } from "../io/fdt.js";
import { hex, printable, u32 } from "../io/layout.js";
import type { ChildSpec, FormatParser } from "./types.js";

/** struct fdt_header (big-endian), Devicetree Specification §5.2. */
export const dtbFormat: FormatParser = {
  format: "dtb",
  probe: (bytes) => u32(bytes, 0, false) === 0xd00dfeed,
  parse(input, layer): ChildSpec[] {
    const names = [
      "magic",
      "totalsize",
      "off_dt_struct",
      "off_dt_strings",
      "off_mem_rsvmap",
      "version",
      "last_comp_version",
      "boot_cpuid_phys",
      "size_dt_strings",
      "size_dt_struct",
    ];
    const fields = [];
    for (let i = 0; i < names.length; i++) {
      const v = u32(input.bytes, i * 4, false);
      if (v === undefined) break;
      fields.push({ name: names[i] ?? "", offset: input.base + i * 4, size: 4, value: v, hex: hex(v) });
    }
    layer.structures.push({ name: "fdt header", offset: input.base, size: fields.length * 4, fields });
    const total = u32(input.bytes, 4, false) ?? 0;
    if (total > input.bytes.length) input.diagnose("DTB_TRUNCATED", "warning", `totalsize ${total} exceeds the ${input.bytes.length} bytes present`, 4);
    layer.info.totalSize = total;
    // The board it describes, from the root's model and compatible (io/fdt.ts, bounded); absent when the tree does not read.
    let board: FdtNode | undefined;
    try {
      board = parseFdt(input.bytes, { maxBytes: input.bytes.length, views: true }).root;
    } catch (e) {
      board = undefined;
      // A tree past a named limit (a FIT too: it is then read as a plain device tree) says so (issue 15).
      if (isKimgError(e) && total <= input.bytes.length)
        input.diagnose("DTB_TREE_REFUSED", "warning", `the tree is not read: ${e.message}`, typeof e.data.offset === "number" ? e.data.offset : 0);
    }
    const model = board ? stringProperty(board, "model") : undefined;
    const compatible = board ? stringListProperty(board, "compatible") : undefined;
    if (model !== undefined) layer.info.model = model;
    if (compatible !== undefined) layer.info.compatible = compatible;
    layer.title = `flattened device tree, ${total} bytes${model !== undefined ? ` (${model})` : ""}`;
    return [];
  },
};

/** Printable text (UKI .cmdline, .osrel, .uname, .sbat ...). */
export function isText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 4096);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if (b === 0 && i === bytes.length - 1) continue;
    if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) return false;
  }
  return true;
}

export const textFormat: FormatParser = {
  format: "text",
  probe: isText,
  parse(input, layer): ChildSpec[] {
    const max = input.limits.maxStringBytes;
    let end = input.bytes.length;
    while (end > 0 && input.bytes[end - 1] === 0) end--;
    const shown = input.bytes.subarray(0, Math.min(end, max));
    const text = printable(shown) + (end > max ? "…" : "");
    layer.info.text = text;
    if (end > max) input.diagnose("TEXT_TRUNCATED", "info", `text of ${end} bytes shown up to maxStringBytes (${max})`, max);
    layer.structures.push({ name: "text", offset: input.base, size: end, fields: [{ name: "text", offset: input.base, size: end, value: text }] });
    layer.title = `text, ${end} bytes`;
    return [];
  },
};

export const dataFormat: FormatParser = {
  format: "data",
  probe: () => true,
  parse(input, layer): ChildSpec[] {
    layer.title = `data, ${input.bytes.length} bytes`;
    return [];
  },
};
