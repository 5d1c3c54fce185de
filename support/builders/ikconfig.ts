/**
 * The embedded .config as kernel/configs.c lays it out in .rodata: "IKCFG_ST", the .config
 * gzipped the way kernel/Makefile does it (`gzip -n -f -9`, the real gzip), "IKCFG_ED"; and
 * kernels that carry it, in every layer kind kimg reaches (raw Image, zboot, bzImage's vmlinux,
 * ELF, UKI .linux).
 */
import { compressWith } from "./compress.js";
import { concat, text } from "./bytes.js";
import { buildArm64Image, buildBzImage, buildElf, buildLoongArchImage, buildRiscvImage, buildUki, buildZboot, zbootInputs } from "./images.js";
import { MACHINE } from "./pe.js";

/** A small but real-looking .config: the header kconfig writes, set options, "is not set" lines, a string, a number. */
export const SAMPLE_CONFIG = [
  "#",
  "# Automatically generated file; DO NOT EDIT.",
  "# Linux/arm64 6.1.192 Kernel Configuration",
  "#",
  'CONFIG_CC_VERSION_TEXT="aarch64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0"',
  "CONFIG_CC_IS_GCC=y",
  "CONFIG_GCC_VERSION=120200",
  "",
  "#",
  "# General setup",
  "#",
  'CONFIG_LOCALVERSION=""',
  "# CONFIG_LOCALVERSION_AUTO is not set",
  "CONFIG_IKCONFIG=y",
  "# CONFIG_IKCONFIG_PROC is not set",
  "CONFIG_LOG_BUF_SHIFT=17",
  "CONFIG_MODULES=y",
  "CONFIG_EXT4_FS=m",
  "# end of General setup",
  "",
].join("\n");

/** "IKCFG_ST" + gzip -n -9 of `config` + "IKCFG_ED", as kernel/configs.c places them. */
export function ikconfigBlob(config: string | Uint8Array = SAMPLE_CONFIG, stream?: Uint8Array): Uint8Array {
  const gz = stream ?? compressWith("gzip", typeof config === "string" ? text(config) : config);
  return concat(text("IKCFG_ST"), gz, text("IKCFG_ED"));
}

/** A copy of `image` with `blob` written at `at` (inside a loaded part of the kernel). */
export function withBlob(image: Uint8Array, blob: Uint8Array, at: number): Uint8Array {
  if (at + blob.length > image.length) throw new Error(`blob of ${blob.length} bytes does not fit at 0x${at.toString(16)} in ${image.length} bytes`);
  const out = image.slice();
  out.set(blob, at);
  return out;
}

/** Where the builders' .data (arm64, RISC-V) or the ELF's code segment has room: after the banner. */
function afterBanner(image: Uint8Array): number {
  const needle = text("Linux version ");
  for (let i = 0; i + needle.length <= image.length; i++) {
    if (needle.every((b, j) => image[i + j] === b)) {
      let end = i;
      while (image[end] !== 0) end++;
      return end + 16;
    }
  }
  throw new Error("no banner in the built image");
}

/** The layer kinds with a synthetic kernel carrying the .config. */
export type IkconfigCarrier = "arm64-image" | "riscv-image" | "loongarch-image" | "zboot" | "elf" | "bzimage" | "uki";

/** A kernel of kind `carrier` carrying `blob` (default: ikconfigBlob()) in its loaded bytes. */
export function kernelWithConfig(carrier: IkconfigCarrier, blob: Uint8Array = ikconfigBlob()): Uint8Array {
  const room = blob.length + 0x100;
  const arm64 = (): Uint8Array => {
    const image = buildArm64Image({ dataSize: room });
    return withBlob(image, blob, afterBanner(image));
  };
  const elf = (): Uint8Array => {
    // The code segment (PT_LOAD at 0x1000, 0x2000 bytes) stands in for .rodata.
    if (blob.length > 0x1e00) throw new Error("blob too large for the ELF builder's code segment");
    return withBlob(buildElf(), blob, 0x1100);
  };
  switch (carrier) {
    case "arm64-image":
      return arm64();
    case "riscv-image": {
      const image = buildRiscvImage({ dataSize: room });
      return withBlob(image, blob, afterBanner(image));
    }
    case "loongarch-image": {
      const image = buildLoongArchImage({ dataSize: room });
      return withBlob(image, blob, afterBanner(image));
    }
    case "zboot": {
      const { toCompress, trailer } = zbootInputs(arm64(), "v6.4", "gzip");
      const payload = compressWith("gzip", toCompress);
      return buildZboot({ machine: MACHINE.ARM64, compType: "gzip", payload, trailer: trailer(payload) }).bytes;
    }
    case "elf":
      return elf();
    case "bzimage":
      return buildBzImage({ payload: compressWith("gzip", elf()) });
    case "uki":
      return buildUki({ machine: MACHINE.ARM64, linux: arm64(), cmdline: "console=ttyAMA0" });
  }
}
