/**
 * U-Boot FIT images made by the real `mkimage -f` (Debian u-boot-tools), from an arm64 Image
 * (raw and gzip'd), a device tree compiled by dtc, and a small ramdisk, with two configurations.
 * Variants: embedded data, external data after the tree (`mkimage -E`), and external data at
 * absolute positions (`mkimage -E -p 0x1000`).
 */
import { cpioArchive } from "./cpio.js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "../../src/codecs/checksums.js";
import type { FdtNode, FdtProperty } from "../../src/io/fdt.js";
import { serializeFdt, stringValue } from "../../src/kexec/fdt.js";
import { compressWith } from "./compress.js";
import { buildArm64Image } from "./images.js";

export type FitVariant = "embedded" | "external" | "position";

export const FIT_MKIMAGE_FLAGS: Readonly<Record<FitVariant, string[]>> = {
  embedded: [],
  external: ["-E"],
  position: ["-E", "-p", "0x1000"],
};

export const FIT_BOARD_DTS = `/dts-v1/;
/ {
	model = "kimg test board";
	compatible = "kimg,test-board", "arm,foo";
	#address-cells = <2>;
	#size-cells = <2>;
	memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x10000000>; };
};
`;

/** The image sources by FIT node name, in /images order. */
export interface FitInputs {
  "kernel-1": Uint8Array;
  "kernel-2": Uint8Array;
  "fdt-1": Uint8Array;
  "ramdisk-1": Uint8Array;
}

export const FIT_ITS = `/dts-v1/;
/ {
	description = "kimg test FIT";
	#address-cells = <1>;
	images {
		kernel-1 {
			description = "arm64 Image, gzip";
			data = /incbin/("kernel-1");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "gzip";
			load = <0x40080000>; entry = <0x40080000>;
			hash-1 { algo = "sha256"; };
			hash-2 { algo = "crc32"; };
		};
		kernel-2 {
			description = "arm64 Image, raw";
			data = /incbin/("kernel-2");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x40080000>; entry = <0x40080000>;
			hash-1 { algo = "sha1"; };
			hash-2 { algo = "md5"; };
		};
		fdt-1 {
			description = "board";
			data = /incbin/("fdt-1");
			type = "flat_dt"; arch = "arm64"; compression = "none";
			hash-1 { algo = "sha512"; };
		};
		ramdisk-1 {
			description = "initramfs";
			data = /incbin/("ramdisk-1");
			type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x48000000>;
			hash-1 { algo = "sha384"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 { description = "gzip kernel"; kernel = "kernel-1"; fdt = "fdt-1"; ramdisk = "ramdisk-1"; };
		conf-2 { description = "raw kernel"; kernel = "kernel-2"; fdt = "fdt-1"; };
	};
};
`;

/** The inputs: needs gzip and dtc. */
export function fitInputs(): FitInputs {
  const image = buildArm64Image();
  const dtb = new Uint8Array(execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb"], { input: FIT_BOARD_DTS }));
  // A newc cpio header's magic and a little data: enough for the archive reader's probe.
  // A whole newc archive (issue 16 reads every header)
  const ramdisk = cpioArchive([{ name: "init", mode: 0o100755, data: "#!/bin/sh\necho kimg-ramdisk\n" }]);
  return { "kernel-1": compressWith("gzip", image), "kernel-2": image, "fdt-1": dtb, "ramdisk-1": ramdisk };
}

/** Runs `mkimage -f` on FIT_ITS in a scratch directory; returns the .itb and the directory (for dumpimage). */
export function buildFit(
  inputs: FitInputs,
  variant: FitVariant,
  dir = mkdtempSync(join(tmpdir(), "kimg-fit-")),
): { itb: Uint8Array; path: string; dir: string } {
  for (const [name, bytes] of Object.entries(inputs)) writeFileSync(join(dir, name), bytes);
  writeFileSync(join(dir, "image.its"), FIT_ITS);
  const path = join(dir, `${variant}.itb`);
  execFileSync("mkimage", [...FIT_MKIMAGE_FLAGS[variant], "-f", join(dir, "image.its"), path], { cwd: dir, stdio: "pipe" });
  return { itb: new Uint8Array(readFileSync(path)), path, dir };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// --- A FIT written field by field, for fuzz seeds that must not need mkimage (issue 15) ---
export interface FitTreeInputs {
  kernel: Uint8Array;
  /** The kernel's compression property ("none", "gzip" ...). */
  kernelCompression: string;
  dtb: Uint8Array;
  ramdisk: Uint8Array;
  /** Image data after the tree at data-offset (as `mkimage -E` writes it) instead of embedded. */
  external?: boolean;
}

function cells(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => {
    new DataView(out.buffer).setUint32(i * 4, v >>> 0);
  });
  return out;
}

/**
 * A FIT as mkimage -f lays it out (two configurations, the first the default; a crc32 hash node
 * on each image), through kexec's device-tree serialiser; with `external`, the data follows the
 * tree 4-byte aligned and each image gives data-offset and data-size.
 */
export function buildFitTree(inputs: FitTreeInputs): Uint8Array {
  const images: Array<[string, Uint8Array, FdtProperty[]]> = [
    [
      "kernel-1",
      inputs.kernel,
      [
        { name: "type", value: stringValue("kernel") },
        { name: "arch", value: stringValue("arm64") },
        { name: "os", value: stringValue("linux") },
        { name: "compression", value: stringValue(inputs.kernelCompression) },
        { name: "load", value: cells(0x40200000) },
        { name: "entry", value: cells(0x40200000) },
      ],
    ],
    [
      "fdt-1",
      inputs.dtb,
      [
        { name: "type", value: stringValue("flat_dt") },
        { name: "arch", value: stringValue("arm64") },
        { name: "compression", value: stringValue("none") },
      ],
    ],
    [
      "ramdisk-1",
      inputs.ramdisk,
      [
        { name: "type", value: stringValue("ramdisk") },
        { name: "arch", value: stringValue("arm64") },
        { name: "os", value: stringValue("linux") },
        { name: "compression", value: stringValue("none") },
        { name: "load", value: cells(0x48000000) },
      ],
    ],
  ];
  const tree = (offsets: number[]): Uint8Array => {
    const nodes: FdtNode[] = images.map(([name, data, properties], i) => ({
      name,
      properties: [
        { name: "description", value: stringValue(name) },
        ...(inputs.external
          ? [
              { name: "data-offset", value: cells(offsets[i] ?? 0) },
              { name: "data-size", value: cells(data.length) },
            ]
          : [{ name: "data", value: data }]),
        ...properties,
      ],
      children: [
        {
          name: "hash-1",
          properties: [
            { name: "value", value: cells(crc32(data)) },
            { name: "algo", value: stringValue("crc32") },
          ],
          children: [],
        },
      ],
    }));
    const config = (name: string, kernel: string, fdt: string, ramdisk?: string): FdtNode => ({
      name,
      properties: [
        { name: "kernel", value: stringValue(kernel) },
        { name: "fdt", value: stringValue(fdt) },
        ...(ramdisk ? [{ name: "ramdisk", value: stringValue(ramdisk) }] : []),
      ],
      children: [],
    });
    const root: FdtNode = {
      name: "",
      properties: [
        { name: "timestamp", value: cells(1700000000) },
        { name: "description", value: stringValue("kimg FIT seed") },
        { name: "#address-cells", value: cells(1) },
      ],
      children: [
        { name: "images", properties: [], children: nodes },
        {
          name: "configurations",
          properties: [{ name: "default", value: stringValue("conf-1") }],
          children: [config("conf-1", "kernel-1", "fdt-1", "ramdisk-1"), config("conf-2", "kernel-1", "fdt-1")],
        },
      ],
    };
    return serializeFdt({ bootCpuidPhys: 0, reservations: [], root });
  };
  if (!inputs.external) return tree([]);
  const offsets: number[] = [];
  let at = 0;
  for (const [, data] of images) {
    offsets.push(at);
    at += (data.length + 3) & ~3;
  }
  const head = tree(offsets);
  const start = (head.length + 3) & ~3;
  const out = new Uint8Array(start + at);
  out.set(head);
  images.forEach(([, data], i) => {
    out.set(data, start + (offsets[i] ?? 0));
  });
  return out;
}
