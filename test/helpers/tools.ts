/**
 * The system tools the tests run to compare kimg against, each with the Debian package that
 * installs it. A test that runs one says so in its options:
 *
 *   test("decodes what lzop -9 writes", { skip: needs("lzop") }, () => { ... });
 *
 * When a tool is missing the test is skipped with a one-line reason naming the package
 * ("needs lzop (Debian package lzop)"), so `npm test` passes on a machine without them. With
 * KIMG_REQUIRE_TOOLS=1 (which .ci/run sets) a missing tool is an error instead, so CI can
 * never skip silently.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Tool } from "../../support/builders/compress.js";

export interface ToolNeed {
  /** A command looked up on PATH (an executable), or an absolute path (a file that must exist). */
  command: string;
  /** The Debian package that installs it. */
  package: string;
}

/** Debian's multiarch folder names (/usr/lib/<triplet>) by Node's process.arch. */
const MULTIARCH: Partial<Record<string, string>> = {
  x64: "x86_64-linux-gnu",
  arm64: "aarch64-linux-gnu",
  riscv64: "riscv64-linux-gnu",
  loong64: "loongarch64-linux-gnu",
};

export const TOOLS = {
  gzip: { command: "gzip", package: "gzip" },
  zstd: { command: "zstd", package: "zstd" },
  xz: { command: "xz", package: "xz-utils" },
  lzma: { command: "lzma", package: "xz-utils" },
  lz4: { command: "lz4", package: "lz4" },
  lzop: { command: "lzop", package: "lzop" },
  bzip2: { command: "bzip2", package: "bzip2" },
  openssl: { command: "openssl", package: "openssl" },
  sbsign: { command: "sbsign", package: "sbsigntool" },
  sbverify: { command: "sbverify", package: "sbsigntool" },
  osslsigncode: { command: "osslsigncode", package: "osslsigncode" },
  pesign: { command: "pesign", package: "pesign" },
  dtc: { command: "dtc", package: "device-tree-compiler" },
  // U-Boot FIT and uImage (test/fit.test.ts, test/uimage.test.ts)
  mkimage: { command: "mkimage", package: "u-boot-tools" },
  dumpimage: { command: "dumpimage", package: "u-boot-tools" },
  cpio: { command: "cpio", package: "cpio" },
  "qemu-system-aarch64": { command: "qemu-system-aarch64", package: "qemu-system-arm" },
  "qemu-system-x86_64": { command: "qemu-system-x86_64", package: "qemu-system-x86" },
  // issue 18 (kexec loaders): the RISC-V entry stub's SHA-256 check runs bare metal in QEMU's virt machine.
  "qemu-system-riscv64": { command: "qemu-system-riscv64", package: "qemu-system-misc" },
  "apt-get": { command: "apt-get", package: "apt" },
  "dpkg-deb": { command: "dpkg-deb", package: "dpkg" },
  "debian-archive-keyring": { command: "/usr/share/keyrings/debian-archive-keyring.gpg", package: "debian-archive-keyring" },
  // Secure Boot db/dbx lists (issue 17, test/secure-boot.test.ts)
  "cert-to-efi-sig-list": { command: "cert-to-efi-sig-list", package: "efitools" },
  "hash-to-efi-sig-list": { command: "hash-to-efi-sig-list", package: "efitools" },
  "sign-efi-sig-list": { command: "sign-efi-sig-list", package: "efitools" },
  objcopy: { command: "objcopy", package: "binutils" },
  // What the CLI syncs at exit (test/files.test.ts)
  strace: { command: "strace", package: "strace" },
  objdump: { command: "objdump", package: "binutils" },
  // Android boot images (issue 15)
  mkbootimg: { command: "mkbootimg", package: "mkbootimg" },
  unpack_bootimg: { command: "unpack_bootimg", package: "mkbootimg" },
  // Measured boot (issue 17): UKIs built with objcopy from Debian's stub, PCR 11 from systemd-measure
  "systemd-measure": { command: "/usr/lib/systemd/systemd-measure", package: "systemd" },
  "systemd-stub": { command: "/usr/lib/systemd/boot/efi/linuxx64.efi.stub", package: "systemd-boot-efi" },
  // The kernel's scripts/diffconfig is Python 3 (issue 16, test/kconfig-real.test.ts)
  python3: { command: "python3", package: "python3" },
  // Initramfs archives (issue 16): the real initramfs builders and listers
  mkinitramfs: { command: "mkinitramfs", package: "initramfs-tools" },
  lsinitramfs: { command: "lsinitramfs", package: "initramfs-tools" },
  unmkinitramfs: { command: "unmkinitramfs", package: "initramfs-tools" },
  dracut: { command: "dracut", package: "dracut-core" },
  unshare: { command: "unshare", package: "util-linux" },
  as: { command: "as", package: "binutils" },
  ld: { command: "ld", package: "binutils" },
  // kexec crash kernels: the elfcorehdr checked with readelf (issue 18)
  readelf: { command: "readelf", package: "binutils" },
  // The system's libzstd, which the CLI decodes zstd with where Node carries none (src/node/libzstd.ts)
  libzstd: { command: `/usr/lib/${MULTIARCH[process.arch] ?? "unknown"}/libzstd.so.1`, package: "libzstd1" },
  // The system's zlib, which extract streams gzip through (src/node/libz.ts)
  libz: { command: `/usr/lib/${MULTIARCH[process.arch] ?? "unknown"}/libz.so.1`, package: "zlib1g" },
} as const satisfies Record<string, ToolNeed>;

export type ToolName = keyof typeof TOOLS;

/** The tool behind each of support/builders/compress.ts's kernel compressors. */
const COMPRESSOR_TOOL: Record<Tool, ToolName> = {
  gzip: "gzip",
  zstd: "zstd",
  xz: "xz",
  "xz-arm64": "xz",
  "xz-x86": "xz",
  "xz-arm": "xz",
  lzma: "lzma",
  lz4: "lz4",
  lzo: "lzop",
  bzip2: "bzip2",
};

const installed = new Map<string, boolean>();

/** Looked up once per command, as `command -v` would (without running a shell). */
function isInstalled(command: string): boolean {
  let answer = installed.get(command);
  if (answer === undefined) {
    const absolute = command.startsWith("/");
    const candidates = absolute
      ? [command]
      : (process.env.PATH ?? "")
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, command));
    answer = candidates.some((path) => {
      try {
        accessSync(path, absolute ? constants.F_OK : constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    installed.set(command, answer);
  }
  return answer;
}

/**
 * The `skip` option for a test that runs these tools: false when all are installed, else the
 * reason naming the Debian packages. Throws instead of skipping when KIMG_REQUIRE_TOOLS=1.
 */
export function requireTool(...needs: ToolNeed[]): string | false {
  const missing = needs.filter((need, i) => needs.findIndex((n) => n.command === need.command) === i && !isInstalled(need.command));
  if (missing.length === 0) return false;
  const reason = `needs ${missing.map((m) => `${m.command} (Debian package ${m.package})`).join(", ")}`;
  if (process.env.KIMG_REQUIRE_TOOLS === "1") {
    const packages = [...new Set(missing.map((m) => m.package))].join(" ");
    throw new Error(`KIMG_REQUIRE_TOOLS=1, but a test ${reason}: apt-get install ${packages}`);
  }
  return reason;
}

/** requireTool by name: the tools above, support/builders/compress.ts's compressors ("xz-arm64", "lzo"), or a ToolNeed. */
export function needs(...tools: Array<ToolName | Tool | ToolNeed>): string | false {
  return requireTool(
    ...tools.map((tool) => (typeof tool === "object" ? tool : TOOLS[tool in COMPRESSOR_TOOL ? COMPRESSOR_TOOL[tool as Tool] : (tool as ToolName)])),
  );
}
