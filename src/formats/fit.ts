/**
 * U-Boot FIT (Flattened Image Tree, `.itb`): a device tree whose /images nodes carry the kernel,
 * ramdisk, device trees and firmware, and whose /configurations nodes say which go together.
 * Sources: U-Boot doc/usage/fit/source_file_format.rst (the properties), boot/image-fit.c
 * (fit_image_get_data_and_size: an external `data-offset` counts from the end of the tree,
 * rounded up to 4 bytes, as `mkimage -E` writes; `data-position` counts from the start of the
 * FIT), include/image.h (the names of type, arch, os and compression).
 */
import { FDT_HEADER_SIZE, FDT_MAGIC, findNode, getProperty, parseFdt, readFdtHeader, stringListProperty, stringProperty, u32Property } from "../io/fdt.js";
import type { FdtNode, FdtProperty } from "../io/fdt.js";
import { hex, u32 } from "../io/layout.js";
import type { FitConfigurationFacts, FitFacts, FitHashFacts, FitImageFacts } from "../model/facts.js";
import type { Field, JsonValue, Layer, Structure } from "../model/report.js";
import type { ChildSpec, FormatParser } from "./types.js";
import { readFitSignatures, signatureInfo } from "./fit-signatures.js";

/** The compression names of include/image.h (`uimage_comp`), "none" included. */
export const FIT_COMPRESSIONS = ["none", "gzip", "bzip2", "lzma", "lzo", "lz4", "zstd"] as const;

/** The hash algorithms of boot/image-fit.c's hash table (`hash_algo`), which kimg checks where it can. */
export const FIT_HASH_ALGOS = ["crc32", "md5", "sha1", "sha256", "sha384", "sha512"] as const;

/** The FDT header fields, as the dtb format shows them (Devicetree Specification §5.2). */
const HEADER_NAMES = [
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

/** A FIT: a valid device-tree header within the bytes, and a root with an /images node. */
export function isFit(bytes: Uint8Array): boolean {
  if (bytes.length < FDT_HEADER_SIZE) return false;
  if (u32(bytes, 0, false) !== FDT_MAGIC) return false;
  try {
    const fdt = parseFdt(bytes, { maxBytes: bytes.length, views: true });
    return findNode(fdt, "/images") !== undefined;
  } catch {
    return false;
  }
}

/** A property holding #address-cells cells (1 or 2), as U-Boot's fit_image_get_address reads it. */
function addressProperty(node: FdtNode, name: string): bigint | null {
  const value = getProperty(node, name);
  if (!value || value.length === 0 || value.length % 4 !== 0 || value.length > 8) return null;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return value.length === 8 ? view.getBigUint64(0) : BigInt(view.getUint32(0));
}

function hexBytes(value: Uint8Array): string {
  return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
}

function prop(node: FdtNode, name: string): FdtProperty | undefined {
  return node.properties.find((p) => p.name === name);
}

/** The properties of a node as fields, at their value offsets; strings and cells decoded. */
function fieldsOf(node: FdtNode, base: number): Field[] {
  const fields: Field[] = [];
  for (const p of node.properties) {
    const offset = base + (p.offset ?? 0);
    let value: string | number;
    let hexValue: string | undefined;
    if (p.name === "data") value = `${p.value.length} bytes`;
    else if (p.name === "value") value = hexBytes(p.value);
    else if (p.value.length === 4 && !isString(p.value)) {
      value = new DataView(p.value.buffer, p.value.byteOffset, 4).getUint32(0);
      hexValue = hex(value);
    } else if (p.value.length === 8 && !isString(p.value)) {
      const v = new DataView(p.value.buffer, p.value.byteOffset, 8).getBigUint64(0);
      value = `0x${v.toString(16)}`;
    } else if (isString(p.value)) value = new TextDecoder("latin1").decode(p.value.subarray(0, p.value.length - 1)).replaceAll("\0", ", ");
    else value = hexBytes(p.value.subarray(0, 64)) + (p.value.length > 64 ? "…" : "");
    const field: Field = { name: p.name, offset, size: p.value.length, value };
    if (hexValue) field.hex = hexValue;
    if (p.name === "timestamp" && typeof value === "number") field.meaning = new Date(value * 1000).toISOString();
    fields.push(field);
  }
  return fields;
}

/** A string or string list: printable, NUL-terminated, no empty string in it. */
function isString(value: Uint8Array): boolean {
  if (value.length === 0 || value[value.length - 1] !== 0 || value[0] === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const b = value[i] ?? 0;
    if (b === 0 ? value[i - 1] === 0 : b < 0x20 || b > 0x7e) return false;
  }
  return true;
}

/** A node's properties as one structure, spanning its first to its last value. */
function nodeStructure(name: string, node: FdtNode, base: number): Structure {
  const fields = fieldsOf(node, base);
  const first = fields[0];
  const last = fields[fields.length - 1];
  const offset = first?.offset ?? base;
  return { name, offset, size: last ? last.offset + last.size - offset : 0, fields };
}

export const fitFormat: FormatParser = {
  format: "fit",
  probe: isFit,
  parse(input, layer): ChildSpec[] {
    const bytes = input.bytes;
    const header = readFdtHeader(bytes, bytes.length);
    const fields: Field[] = HEADER_NAMES.map((name, i) => {
      const v = new DataView(bytes.buffer, bytes.byteOffset + i * 4, 4).getUint32(0);
      return { name, offset: input.base + i * 4, size: 4, value: v, hex: hex(v) };
    });
    layer.structures.push({ name: "fdt header", offset: input.base, size: FDT_HEADER_SIZE, fields });
    const fdt = parseFdt(bytes, { maxBytes: bytes.length, views: true });
    const root = fdt.root;
    const timestamp = u32Property(root, "timestamp") ?? null;
    const addressCells = u32Property(root, "#address-cells") ?? null;
    layer.structures.push(nodeStructure("FIT /", root, input.base));
    // image-fit.c fit_get_end / fit_image_get_data_and_size: external data-offset counts from the 4-byte aligned end of the tree.
    const externalBase = (header.totalSize + 3) & ~3;

    const children: ChildSpec[] = [];
    const images: FitImageFacts[] = [];
    for (const node of findNode(fdt, "/images")?.children ?? []) {
      const type = stringProperty(node, "type") ?? null;
      const compression = stringProperty(node, "compression") ?? null;
      const embedded = prop(node, "data");
      const dataOffsetProp = u32Property(node, "data-offset");
      const dataPositionProp = u32Property(node, "data-position");
      const dataSizeProp = u32Property(node, "data-size");
      let location: FitImageFacts["dataLocation"] = "none";
      let dataOffset: number | null = null;
      let dataSize: number | null = null;
      if (embedded) {
        location = "embedded";
        dataOffset = embedded.offset ?? null;
        dataSize = embedded.value.length;
      } else if (dataPositionProp !== undefined || dataOffsetProp !== undefined) {
        location = dataPositionProp !== undefined ? "external-position" : "external-offset";
        dataOffset = dataPositionProp ?? externalBase + (dataOffsetProp ?? 0);
        dataSize = dataSizeProp ?? null;
      }
      const hashes: FitHashFacts[] = [];
      for (const h of node.children.filter((c) => c.name === "hash" || c.name.startsWith("hash-") || c.name.startsWith("hash@"))) {
        const value = getProperty(h, "value");
        hashes.push({ node: h.name, algo: stringProperty(h, "algo") ?? null, value: value ? hexBytes(value) : null });
      }
      const image: FitImageFacts = {
        name: node.name,
        description: stringProperty(node, "description") ?? null,
        type,
        arch: stringProperty(node, "arch") ?? null,
        os: stringProperty(node, "os") ?? null,
        compression,
        load: addressProperty(node, "load"),
        entry: addressProperty(node, "entry"),
        dataLocation: location,
        dataOffset,
        dataSize,
        hashes,
        signatures: readFitSignatures(node),
      };
      images.push(image);
      layer.structures.push(nodeStructure(`FIT /images/${node.name}`, node, input.base));
      for (const h of node.children) layer.structures.push(nodeStructure(`FIT /images/${node.name}/${h.name}`, h, input.base));

      if (location === "none" || dataOffset === null || dataSize === null) {
        input.diagnose("FIT_IMAGE_NO_DATA", "error", `image ${node.name} has no data, data-offset or data-position with data-size`, embedded?.offset);
        continue;
      }
      if (dataOffset + dataSize > bytes.length) {
        input.diagnose(
          "FIT_DATA_OUTSIDE",
          "error",
          `image ${node.name}: data [${hex(input.base + dataOffset)}, +${hex(dataSize)}) runs past the ${bytes.length} bytes of the file`,
          dataOffset,
        );
        continue;
      }
      if (dataSize === 0) continue;
      const child: ChildSpec = { name: node.name, offset: dataOffset, length: dataSize };
      if (compression !== null && compression !== "none") child.compressed = { declaredCodec: compression };
      else if (type === "flat_dt") child.format = "dtb";
      children.push(child);
    }

    const configurations: FitConfigurationFacts[] = [];
    const configsNode = findNode(fdt, "/configurations");
    const defaultConfiguration = configsNode ? (stringProperty(configsNode, "default") ?? null) : null;
    const imageNames = new Set(images.map((i) => i.name));
    for (const node of configsNode?.children ?? []) {
      const config: FitConfigurationFacts = {
        name: node.name,
        description: stringProperty(node, "description") ?? null,
        isDefault: node.name === defaultConfiguration,
        kernel: stringProperty(node, "kernel") ?? null,
        fdt: stringListProperty(node, "fdt") ?? [],
        ramdisk: stringProperty(node, "ramdisk") ?? null,
        loadables: stringListProperty(node, "loadables") ?? [],
        firmware: stringProperty(node, "firmware") ?? null,
        signatures: readFitSignatures(node),
      };
      configurations.push(config);
      layer.structures.push(nodeStructure(`FIT /configurations/${node.name}`, node, input.base));
      for (const s of node.children) layer.structures.push(nodeStructure(`FIT /configurations/${node.name}/${s.name}`, s, input.base));
      for (const used of [config.kernel, ...config.fdt, config.ramdisk, ...config.loadables, config.firmware]) {
        if (used !== null && !imageNames.has(used))
          input.diagnose(
            "FIT_CONFIG_MISSING_IMAGE",
            "error",
            `configuration ${node.name} names image ${used}, which /images does not have`,
            node.properties[0]?.offset,
          );
      }
    }
    if (defaultConfiguration !== null && !configurations.some((c) => c.isDefault))
      input.diagnose("FIT_CONFIG_MISSING_IMAGE", "error", `the default configuration ${defaultConfiguration} is not under /configurations`);

    const facts: FitFacts = {
      kind: "fit",
      description: stringProperty(root, "description") ?? null,
      timestamp,
      addressCells,
      totalSize: header.totalSize,
      images,
      configurations,
      defaultConfiguration,
    };
    input.setFacts(facts);
    fillInfo(layer, facts, input.base);
    const kernel = images.find((i) => i.type === "kernel" || i.type === "kernel_noload");
    layer.arch = kernel?.arch ?? null;
    layer.title = `U-Boot FIT image${facts.description ? ` "${facts.description}"` : ""}: ${images.length} images, ${configurations.length} configurations`;
    return children;
  },
};

function addressText(value: bigint | null): string | null {
  return value === null ? null : `0x${value.toString(16)}`;
}

/** The report's `info` of a FIT layer: the facts, addresses as hex, the timestamp as an ISO date. */
function fillInfo(layer: Layer, facts: FitFacts, base: number): void {
  layer.info.description = facts.description;
  layer.info.timestamp = facts.timestamp === null ? null : new Date(facts.timestamp * 1000).toISOString();
  layer.info.addressCells = facts.addressCells;
  layer.info.defaultConfiguration = facts.defaultConfiguration;
  layer.info.images = facts.images.map(
    (i): JsonValue => ({
      name: i.name,
      description: i.description,
      type: i.type,
      arch: i.arch,
      os: i.os,
      compression: i.compression,
      load: addressText(i.load),
      entry: addressText(i.entry),
      data: i.dataLocation,
      dataOffset: i.dataOffset === null ? null : base + i.dataOffset,
      dataSize: i.dataSize,
      hashes: i.hashes.map((h) => ({ node: h.node, algo: h.algo, value: h.value, checked: false, ok: null, reason: "not checked yet" })),
      signatures: i.signatures.map((s) => signatureInfo(s, base)),
    }),
  );
  layer.info.configurations = facts.configurations.map(
    (c): JsonValue => ({
      name: c.name,
      description: c.description,
      default: c.isDefault,
      kernel: c.kernel,
      fdt: c.fdt,
      ramdisk: c.ramdisk,
      loadables: c.loadables,
      firmware: c.firmware,
      signatures: c.signatures.map((s) => signatureInfo(s, base)),
    }),
  );
}
