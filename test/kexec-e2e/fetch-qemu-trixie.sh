#!/bin/bash
# Trixie's QEMU 10.0 on a bookworm host, for the machines bookworm's QEMU 7.2 cannot emulate:
#   fetch-qemu-trixie.sh OUT_DIR
# - LoongArch: Debian's loong64 kernel under EDK2.
# - RISC-V with the RVA23 extensions (Zicond, Zfa, Zcb, Zvbb, ...): koffi 3.3.4's riscv64 build
#   (@koromix/koffi-linux-riscv64, Tag_RISCV_arch rv64..._zicond_..._zfa_..._zcb_..._zvbb...) dies
#   with SIGILL on QEMU 7.2's rv64 CPU; QEMU 10's `-cpu rva23s64` runs it.
# LoongArch on 7.2:
# Bookworm's qemu-system-loongarch64 (QEMU 7.2) cannot: it takes a firmware of at most 4 MiB as
# ROM ("Could not load ROM image" for Debian's 16 MiB EDK2 build) and has no pflash, and its
# direct -kernel boot wants an ELF vmlinux, which Debian does not ship (its kernel is a zstd
# EFI zboot image). Trixie has QEMU 10.0 (qemu-system-misc) and EDK2 for LoongArch
# (qemu-efi-loongarch64, pflash images). This script downloads both with a private apt
# configuration (never the host's dpkg state), unpacks them, and writes OUT_DIR/qemu-system-loongarch64
# and OUT_DIR/qemu-system-riscv64 (with trixie's OpenSBI as -bios default):
# a wrapper that runs trixie's binary with trixie's own dynamic loader and libraries and, in a
# private mount namespace, trixie's module directory over the host's (QEMU loads modules from its
# built-in path and refuses those of another build). Needs root (unshare -m, mount --bind).
# Also OUT_DIR/QEMU_EFI.fd and OUT_DIR/QEMU_VARS.fd (copy the latter per run: it is written).
set -euo pipefail
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -x "$out/qemu-system-loongarch64" ] && [ -x "$out/qemu-system-riscv64" ] && [ -f "$out/QEMU_EFI.fd" ] && exit 0

apt_dir=$out/apt
mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial,etc/preferences.d} "$out/debs"
touch "$apt_dir/status"
echo "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$apt_dir/sources.list"
cat >"$apt_dir/apt.conf" <<CONF
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
Dir::State "$apt_dir";
Dir::State::Lists "$apt_dir/lists";
Dir::State::status "$apt_dir/status";
Dir::Cache "$apt_dir/cache";
Dir::Etc::Preferences "$apt_dir/etc/preferences";
Dir::Etc::PreferencesParts "$apt_dir/etc/preferences.d";
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "/dev/null";
CONF
export APT_CONFIG=$apt_dir/apt.conf
if [ ! -f "$apt_dir/.updated" ]; then
  apt-get update -q >"$out/apt-update.log" 2>&1 || { cat "$out/apt-update.log"; exit 1; }
  touch "$apt_dir/.updated"
fi

# qemu-system-misc's library closure; the rest of its dependencies (the other split QEMU
# packages, maintainer-script tools) are not needed to run the binary.
skip='^(debconf|perl-base|dpkg|tar|coreutils|base-files|debianutils|sensible-utils|libdebconfclient0|install-info|adduser|passwd|login|init-system-helpers|systemd|udev|libsystemd0|libpam.*|mount|util-linux|bash|ca-certificates|openssl|qemu-system-s390x|cdebconf|base-passwd|login.defs|libdebian-installer4|libnewt0.52|libslang2|libtextwrap1)$'
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
  --no-enhances qemu-system-misc qemu-system-riscv | grep -v '^ ' | grep -v '^<' | sort -u | grep -Ev "$skip")
cd "$out/debs"
for p in $pkgs qemu-efi-loongarch64; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -q "$p" >>"$out/apt-download.log" 2>&1 \
    || { echo "apt-get download $p failed" >&2; tail -5 "$out/apt-download.log" >&2; exit 1; }
done
rm -rf "$out/root" && mkdir -p "$out/root"
for f in ./*.deb; do dpkg-deb -x "$f" "$out/root"; done

r=$out/root
cp "$r/usr/share/qemu-efi-loongarch64/QEMU_EFI.fd" "$r/usr/share/qemu-efi-loongarch64/QEMU_VARS.fd" "$out/"
for q in loongarch64 riscv64; do
  cat >"$out/qemu-system-$q" <<WRAP
#!/bin/sh
exec unshare -m sh -c 'mount --bind $r/usr/lib/x86_64-linux-gnu/qemu /usr/lib/x86_64-linux-gnu/qemu && exec $r/usr/lib64/ld-linux-x86-64.so.2 --library-path $r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu $r/usr/bin/qemu-system-$q -L $r/usr/share/qemu "\$@"' qemu "\$@"
WRAP
  chmod 755 "$out/qemu-system-$q"
done
"$out/qemu-system-loongarch64" --version | head -n1 >"$out/version"
