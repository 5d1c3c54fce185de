/**
 * The seam between kexec and kimg's unpacker: what kexec needs from a file the user names is
 * the innermost bootable kernel and, for a UKI, its initrd and command line.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { unpack } from "../api/index.js";
import type { CodecTable } from "../codecs/registry.js";
import { ARM64_MAGIC } from "./arm64-image.js";

export interface UnpackedKernel {
  kernel: Uint8Array;
  /** "arm64-image", "bzimage", "riscv-image", "loongarch-image". */
  kernelFormat: string;
  /** "arm64", "x86_64", "riscv64", "loongarch64", or null when unknown. */
  arch: string | null;
  /** The layers walked, e.g. "zboot > gzip > arm64-image". */
  path: string;
  /** Format of the outer file. */
  format: string;
  /** Codec of the payload, when one was decompressed. */
  compression: string | null;
  initrd?: Uint8Array | undefined;
  cmdline?: string | undefined;
  /** Errors the unpacker found that a careful loader should not ignore (plan checks). */
  problems?: string[] | undefined;
}

export type Unpacker = (bytes: Uint8Array) => Promise<UnpackedKernel>;

function u32(bytes: Uint8Array, offset: number): number | undefined {
  if (offset + 4 > bytes.length) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

/**
 * Accepts kernels that need no unpacking: an arm64 Image or an x86 bzImage. Used when the core
 * unpacker is not given, and by tests.
 */
export const plainKernelUnpacker: Unpacker = async (bytes) => {
  if (u32(bytes, 0x38) === ARM64_MAGIC) {
    return { kernel: bytes, kernelFormat: "arm64-image", arch: "arm64", path: "arm64-image", format: "arm64-image", compression: null };
  }
  // x86 boot protocol: boot_flag 0xAA55 at 0x1FE, "HdrS" at 0x202.
  if (bytes.length > 0x206 && bytes[0x1fe] === 0x55 && bytes[0x1ff] === 0xaa && u32(bytes, 0x202) === 0x53726448) {
    return { kernel: bytes, kernelFormat: "bzimage", arch: "x86_64", path: "bzimage", format: "bzimage", compression: null };
  }
  throw new KimgError(ErrorCode.UNKNOWN_FORMAT, "not a plain arm64 Image or bzImage, and no unpacker was given", { structure: "kexec source" });
};

/**
 * kimg's own unpacker: zboot (every codec), UKI (.linux, .initrd, .cmdline), compressed Images.
 * `codecs` adds or replaces decoders (Node passes node:zlib for gzip).
 */
export function createCoreUnpacker(options: { codecs?: CodecTable } = {}): Unpacker {
  return (bytes) => unpackForKexec(bytes, options.codecs);
}

export const coreUnpacker: Unpacker = createCoreUnpacker();

async function unpackForKexec(bytes: Uint8Array, codecs: CodecTable | undefined): Promise<UnpackedKernel> {
  // A shallow pass first: a UKI or bzImage is bootable as it is, and decompressing the vmlinux
  // inside a bzImage would only cost time. zboot and compressed Images need the full pass.
  // trim: a signed inner Image loses the v6.4+ zboot zero padding, which would break
  // kexec_file_load's signature check (kexec-tools does the same).
  const shallow = await unpack(bytes, { trim: true, shallow: true, codecs }).catch(() => null);
  const result = shallow?.bootable ? shallow : await unpack(bytes, { trim: true, codecs });
  const bootable = result.bootable;
  if (!bootable) {
    throw new KimgError(ErrorCode.UNSUPPORTED, `no kernel a loader can boot directly inside this ${result.report.summary.format} file (innermost: ${result.format})`, { structure: "kexec source" });
  }
  const kernel = bootable.path === result.path ? result.data : bootable.data;
  const summary = result.report.summary;
  // Only problems on the way to the bootable kernel matter, not inside it (a bzImage's payload).
  const onPath = (layer: string): boolean => layer === bootable.path || layer === "/" || bootable.path.startsWith(layer + "/");
  return {
    kernel,
    kernelFormat: bootable.format,
    arch: summary.arch ?? result.arch,
    path: layerPath(result.report.root, bootable.path),
    format: summary.format,
    compression: summary.compression,
    initrd: result.initrd ?? undefined,
    cmdline: result.cmdline ?? undefined,
    problems: result.report.diagnostics.filter((d) => d.severity === "error" && onPath(d.layer)).map((d) => `${d.layer}: ${d.message}`),
  };
}

interface PathLayer {
  path: string;
  format: string;
  children: PathLayer[];
}

/** "zboot > compressed > arm64-image": the formats from the root down to `path`. */
function layerPath(root: PathLayer, path: string): string {
  const names: string[] = [];
  let layer: PathLayer | undefined = root;
  while (layer) {
    names.push(layer.format);
    if (layer.path === path) break;
    layer = layer.children.find((c) => path === c.path || path.startsWith(c.path === "/" ? "/" : c.path + "/"));
  }
  return names.join(" > ");
}
