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
