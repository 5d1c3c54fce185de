/**
 * A raw kernel image: the kernel's memory image with no header (`objcopy -O binary vmlinux`, the
 * arch/arm/boot/Image, s390 and MIPS vmlinux.bin that their decompressors unpack). Nothing in it
 * says what it is, so it is never probed: only a container that knows (a zImage's payload) names
 * it. What can be read is the `Linux version` banner.
 */
import { addBanner } from "./arm64.js";
import type { ChildSpec, FormatParser } from "./types.js";

export const rawKernelFormat: FormatParser = {
  format: "raw-kernel",
  kernel: { bootable: false, planRank: null, unsupported: null },
  probe: () => false,
  parse(input, layer): ChildSpec[] {
    const banner = addBanner(input, layer);
    input.setFacts({ kind: "raw-kernel", banner });
    const release = banner ? `, ${banner.release}` : input.searchKernel ? ", no Linux version banner found" : "";
    layer.title = `raw kernel image (no header), ${input.bytes.length} bytes${release}`;
    return [];
  },
};
