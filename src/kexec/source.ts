/**
 * The seam between kexec and kimg's unpacker: what kexec needs from a file the user names is
 * the innermost bootable kernel and, for a UKI, its initrd and command line.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import { unpack } from "../api/index.js";
import { findLayer } from "../analysis/tree.js";
import type { CodecTable } from "../codecs/registry.js";
import { readPeAlone } from "../formats/pe.js";
import { probeFormat } from "../formats/registry.js";
import type { Layer, PeInfo } from "../model/report.js";

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
  /**
   * The kernel's PE view has a certificate table (Authenticode-signed), as the core's PE parser
   * reads it; undefined when the unpacker does not say ({@link isAuthenticodeSigned} decides then).
   */
  signed?: boolean | undefined;
}

export type Unpacker = (bytes: Uint8Array) => Promise<UnpackedKernel>;

/** Whether a PE view carries a certificate table (data directory 4 non-empty): an Authenticode signature. */
function peSigned(pe: PeInfo | undefined): boolean {
  return pe?.certificateTable != null;
}

/** The PE view of a report layer: the layer itself, or its "pe" child (an Image's PE header). */
function peView(layer: Layer | undefined): PeInfo | undefined {
  return layer?.pe ?? layer?.children.find((c) => c.format === "pe")?.pe;
}

/**
 * Whether a kernel is Authenticode-signed, read with the core's PE parser (formats/pe.ts): its
 * certificate table directory entry is non-empty. False when the bytes have no valid PE header.
 */
export function isAuthenticodeSigned(kernel: Uint8Array): boolean {
  try {
    return peSigned(readPeAlone(kernel));
  } catch {
    return false;
  }
}

/** The kernels a loader takes without unpacking, by the core's format id. */
const PLAIN_KERNELS: Readonly<Record<string, string>> = { "arm64-image": "arm64", bzimage: "x86_64" };

/**
 * Accepts kernels that need no unpacking: an arm64 Image or an x86 bzImage, recognised by the
 * core's format probes (formats/registry.ts). Used when the core unpacker is not given, and by tests.
 */
export const plainKernelUnpacker: Unpacker = async (bytes) => {
  const format = probeFormat(bytes)?.format;
  const arch = format === undefined ? undefined : PLAIN_KERNELS[format];
  if (format !== undefined && arch !== undefined) {
    return { kernel: bytes, kernelFormat: format, arch, path: format, format, compression: null, signed: isAuthenticodeSigned(bytes) };
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
  // kernelContents: false: a loader needs neither the kernel's .config nor its built-in
  // initramfs, whose searches read the whole kernel (slow in an emulated machine).
  const shallow = await unpack(bytes, { trim: true, shallow: true, codecs, kernelContents: false }).catch(() => null);
  const result = shallow?.bootable ? shallow : await unpack(bytes, { trim: true, codecs, kernelContents: false });
  const bootable = result.bootable;
  if (!bootable) {
    throw new KimgError(
      ErrorCode.UNSUPPORTED,
      `no kernel a loader can boot directly inside this ${result.report.summary.format} file (innermost: ${result.format})`,
      { structure: "kexec source" },
    );
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
    // The report already parsed the kernel's PE header: its certificate table says whether it is signed.
    signed: peSigned(peView(findLayer(result.report.root, bootable.path))),
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
