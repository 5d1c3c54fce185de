#!/usr/bin/env bash
# Builds tiny real kernels with the kernel's own build system, for the real-kernel tests
# (test/real-kernels.test.ts): Debian's linux-source-6.1 and linux-source-6.12, `make tinyconfig`
# plus the few options an EFI zboot needs, for arm64, RISC-V and LoongArch, one build per codec.
#
#   scripts/build-test-kernels.sh                 build everything not yet in the cache
#   scripts/build-test-kernels.sh 6.1:loongarch:zstd,gzip 6.1:arm64:gzip
#   scripts/build-test-kernels.sh 6.1:arm64:gzip+ikconfig   a variant: CONFIG_IKCONFIG=y on top
#   scripts/build-test-kernels.sh --fixtures      copy the committed fixtures from the cache
#
# Needs root (apt-get, debootstrap, chroot, mount). arm64 and RISC-V use bookworm's cross
# compilers on the host; LoongArch uses trixie's, in a debootstrap chroot under the cache.
# Everything lives outside the clone in $KIMG_KERNEL_CACHE (default /var/cache/kimg-kernels):
#   src/linux-source-V/              the unpacked source package
#   build/V-ARCH/                    one object tree per (version, arch), reused across codecs
#   build/V-ARCH+VARIANT/            the object tree of a variant (ikconfig: CONFIG_IKCONFIG=y)
#   out/V/ARCH/CODEC/                vmlinuz.efi, Image or vmlinux.efi, vmlinux.bin (v6.4+: the
#                                    padded image the zboot compresses), vmlinux, System.map,
#                                    config, facts.json (written last: its presence means done)
#   trixie-root/                     the LoongArch build chroot
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KIMG_KERNEL_CACHE:-/var/cache/kimg-kernels}
jobs=${KIMG_KERNEL_JOBS:-2}
chroot_dir=$cache/trixie-root
mkdir -p "$cache"/{src,build,out,logs}

# Fixed build identity, so the banner and the facts do not depend on who built when.
export KBUILD_BUILD_USER=kimg KBUILD_BUILD_HOST=kimg
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026"

# In priority order: LoongArch 6.1 (the first generation of its header) first.
default_jobs=(
  6.1:loongarch:zstd,gzip,xz,lzma,lz4,lzo
  6.1:arm64:gzip,zstd,xz,lzma,lz4,lzo
  6.1:riscv:gzip,zstd,xz,lzma,lz4,lzo
  6.12:arm64:gzip,zstd
  6.12:riscv:gzip,zstd
  6.12:loongarch:gzip,zstd
  6.1:arm64:gzip+ikconfig
)

log() { echo "[$(date -u +%H:%M:%S)] $*"; }

ensure_source() { # V: the unpacked tree of linux-source-V
  local v=$1 pkg=linux-source-$1
  dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -qq; apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; }
  if [ ! -f "$cache/src/$pkg/.unpacked" ]; then
    rm -rf "${cache:?}/src/$pkg"
    tar -C "$cache/src" -xf "/usr/src/$pkg.tar.xz"
    touch "$cache/src/$pkg/.unpacked"
  fi
  patch_source "$cache/src/$pkg"
}

# Debian's 6.1.192 LoongArch traps.c uses FIELD_GET without <linux/bitfield.h>, which only
# larger configs pull in by chance: tinyconfig does not build without this one include.
patch_source() { # SRC
  local t=$1/arch/loongarch/kernel/traps.c
  if grep -q FIELD_GET "$t" && ! grep -q '<linux/bitfield.h>' "$t"; then
    sed -i 's|^#include <linux/bitops.h>$|#include <linux/bitfield.h>\n#include <linux/bitops.h>|' "$t"
    grep -q '<linux/bitfield.h>' "$t" || { echo "cannot patch $t" >&2; return 1; }
    log "patched $t: added #include <linux/bitfield.h>"
  fi
}

ensure_host_tools() {
  local pkgs=(make gcc libc6-dev flex bison bc libelf-dev cpio kmod gzip zstd xz-utils lz4 lzop
    bsdextrautils gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu debootstrap) missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# In the chroot: trixie's LoongArch cross compiler, and hexdump (bsdextrautils), which v6.4+
# Makefile.zboot uses to read the image size it pads the payload to.
chroot_packages=(gcc-loongarch64-linux-gnu binutils-loongarch64-linux-gnu bsdextrautils)

ensure_chroot() { # trixie with its LoongArch cross compiler
  if [ ! -x "$chroot_dir/usr/bin/apt-get" ]; then
    log "debootstrap trixie into $chroot_dir"
    debootstrap --variant=minbase \
      --include=make,gcc,libc6-dev,flex,bison,bc,libelf-dev,libssl-dev,cpio,kmod,perl,zstd,xz-utils,lz4,lzop,gzip,bzip2,ca-certificates \
      trixie "$chroot_dir" http://deb.debian.org/debian >"$cache/logs/debootstrap.log" 2>&1
  fi
  if ! chroot "$chroot_dir" dpkg -s "${chroot_packages[@]}" >/dev/null 2>&1; then
    chroot "$chroot_dir" apt-get update -qq
    chroot "$chroot_dir" apt-get install -y -qq --no-install-recommends "${chroot_packages[@]}" >/dev/null
  fi
  mkdir -p "$chroot_dir/kcache" "$chroot_dir/proc"
  if ! mountpoint -q "$chroot_dir/kcache"; then mount --bind "$cache" "$chroot_dir/kcache"; mounted+=("$chroot_dir/kcache"); fi
  if ! mountpoint -q "$chroot_dir/proc"; then mount -t proc proc "$chroot_dir/proc"; mounted+=("$chroot_dir/proc"); fi
}

# Unmount only what this run mounted (another run may be building in the chroot).
mounted=()
release_chroot() {
  local m
  for m in "${mounted[@]}"; do umount "$m" || true; done
  return 0
}
trap release_chroot EXIT

# The object tree's name suffix of the variant being built ("+ikconfig"), or empty.
variant_suffix=""

# kmake V ARCH ARGS...: make in the (V, ARCH) object tree, on the host or in the chroot.
kmake() {
  local v=$1 arch=$2; shift 2
  case $arch in
    arm64) make -C "$cache/src/linux-source-$v" O="$cache/build/$v-$arch$variant_suffix" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- "$@" ;;
    riscv) make -C "$cache/src/linux-source-$v" O="$cache/build/$v-$arch$variant_suffix" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- "$@" ;;
    loongarch) chroot "$chroot_dir" env -i PATH=/usr/bin:/bin LC_ALL=C \
        KBUILD_BUILD_USER="$KBUILD_BUILD_USER" KBUILD_BUILD_HOST="$KBUILD_BUILD_HOST" KBUILD_BUILD_TIMESTAMP="$KBUILD_BUILD_TIMESTAMP" \
        make -C "/kcache/src/linux-source-$v" O="/kcache/build/$v-$arch$variant_suffix" ARCH=loongarch CROSS_COMPILE=loongarch64-linux-gnu- "$@" ;;
  esac
}

compiler_version() { # ARCH: the cross compiler's first --version line
  case $1 in
    arm64) aarch64-linux-gnu-gcc --version | head -n1 ;;
    riscv) riscv64-linux-gnu-gcc --version | head -n1 ;;
    loongarch) chroot "$chroot_dir" loongarch64-linux-gnu-gcc --version | head -n1 ;;
  esac
}

# The options on top of tinyconfig. Each must be in the final .config, or the build stops.
base_options() { # ARCH
  echo CONFIG_EFI CONFIG_EFI_STUB CONFIG_EFI_ZBOOT
  # The ikconfig variant: the .config gzipped into the kernel (kernel/configs.c), for kimg config.
  [ "$variant_suffix" = +ikconfig ] && echo CONFIG_IKCONFIG
  case $1 in
    riscv) echo CONFIG_MMU CONFIG_ARCH_RV64I CONFIG_64BIT ;;
  esac
}

inner_name() { case $1 in loongarch) echo vmlinux.efi ;; *) echo Image ;; esac; }

configure() { # V ARCH CODEC
  local v=$1 arch=$2 codec=$3 b=$cache/build/$1-$2$variant_suffix cfg
  cfg="$cache/src/linux-source-$v/scripts/config --file $b/.config"
  local upper
  upper=$(echo "$codec" | tr a-z A-Z)
  if [ ! -f "$b/.config" ]; then
    mkdir -p "$b"
    kmake "$v" "$arch" tinyconfig >/dev/null
  fi
  [ "$arch" = riscv ] && $cfg --disable ARCH_RV32I
  for o in $(base_options "$arch"); do $cfg --enable "${o#CONFIG_}"; done
  for c in GZIP BZIP2 LZMA XZ LZO LZ4 ZSTD; do $cfg --disable "KERNEL_$c"; done
  $cfg --enable "KERNEL_$upper"
  kmake "$v" "$arch" olddefconfig >/dev/null
  for o in $(base_options "$arch") "CONFIG_KERNEL_$upper"; do
    grep -qx "$o=y" "$b/.config" || { echo "$v $arch $codec: $o is not set after olddefconfig" >&2; return 1; }
  done
}

sym() { awk -v s="$2" '$3 == s { print "0x" $1; exit }' "$1"; }

write_facts() { # V ARCH CODEC OUT SECONDS
  local v=$1 arch=$2 codec=$3 out=$4 secs=$5 inner payload syms="" s
  inner=$(inner_name "$arch")
  payload=$inner
  [ -f "$out/vmlinux.bin" ] && payload=vmlinux.bin
  case $arch in
    arm64) s="_text primary_entry" ;;
    riscv) s="_start _start_kernel" ;;
    loongarch) s="_text kernel_entry" ;;
  esac
  for n in $s; do
    local a
    a=$(sym "$out/System.map" "$n")
    [ -n "$a" ] || { echo "no symbol $n in $out/System.map" >&2; return 1; }
    syms+="${syms:+, }\"$n\": \"$a\""
  done
  local opts
  opts=$(for o in $(base_options "$arch") "CONFIG_KERNEL_$(echo "$codec" | tr a-z A-Z)"; do printf '"%s=y", ' "$o"; done)
  cat >"$out/facts.json.tmp" <<JSON
{
  "arch": "$arch",
  "codec": "$codec",
  "kernelRelease": "$(cat "$cache/build/$v-$arch$variant_suffix/include/config/kernel.release")",
  "sourcePackage": "linux-source-$v",
  "sourceVersion": "$(dpkg-query -W -f '${Version}' "linux-source-$v")",
  "compiler": "$(compiler_version "$arch")",
  "config": ["tinyconfig", ${opts%, }],
  "zboot": { "file": "vmlinuz.efi", "size": $(stat -c %s "$out/vmlinuz.efi"), "sha256": "$(sha256sum "$out/vmlinuz.efi" | cut -d' ' -f1)" },
  "inner": { "file": "$inner", "size": $(stat -c %s "$out/$inner"), "sha256": "$(sha256sum "$out/$inner" | cut -d' ' -f1)" },
  "payload": { "file": "$payload", "size": $(stat -c %s "$out/$payload"), "sha256": "$(sha256sum "$out/$payload" | cut -d' ' -f1)" },
  "symbols": { $syms },
  "buildSeconds": $secs
}
JSON
  mv "$out/facts.json.tmp" "$out/facts.json"
}

build_one() { # V ARCH CODEC[+VARIANT]
  local v=$1 arch=$2 codec=${3%%+*} out=$cache/out/$1/$2/$3 b inner start
  variant_suffix=""
  [ "$3" != "$codec" ] && variant_suffix="+${3#*+}"
  b=$cache/build/$v-$arch$variant_suffix
  inner=$(inner_name "$arch")
  if [ -f "$out/facts.json" ]; then log "$v $arch $codec: cached"; return 0; fi
  log "$v $arch $codec: building"
  start=$(date +%s)
  configure "$v" "$arch" "$codec"
  local targets="Image vmlinuz.efi"
  [ "$arch" = loongarch ] && targets="vmlinux.efi vmlinuz.efi"
  # shellcheck disable=SC2086
  kmake "$v" "$arch" -j"$jobs" $targets >"$cache/logs/build-$v-$arch-$3.log" 2>&1 \
    || { tail -n 30 "$cache/logs/build-$v-$arch-$3.log" >&2; return 1; }
  rm -rf "$out"; mkdir -p "$out"
  cp "$b/arch/$arch/boot/vmlinuz.efi" "$b/arch/$arch/boot/$inner" "$b/vmlinux" "$b/System.map" "$out/"
  cp "$b/.config" "$out/config"
  # The kernel's own readers of what the ikconfig variant embeds, for kimg's tests to compare with.
  if [ -n "$variant_suffix" ]; then
    cp "$cache/src/linux-source-$v/scripts/extract-ikconfig" "$cache/src/linux-source-$v/scripts/diffconfig" "$out/"
  fi
  # v6.4+ compresses vmlinux.bin: the image zero-padded to the size in its header at 0x10
  # (Makefile.zboot, copy_and_pad); v6.1 compresses the image itself.
  [ -f "$b/arch/$arch/boot/vmlinux.bin" ] && cp "$b/arch/$arch/boot/vmlinux.bin" "$out/"
  write_facts "$v" "$arch" "$codec" "$out" $(( $(date +%s) - start ))
  log "$v $arch $codec: done in $(( $(date +%s) - start )) s"
}

# --fixtures: the small committed set, each a file plus a JSON sidecar of the build's facts.
fixtures=(
  # name                       version arch      codec what
  "loongarch-6.1-zboot-zstd    6.1     loongarch zstd  zboot"
  "loongarch-6.1-vmlinux       6.1     loongarch zstd  inner"
  "arm64-6.1-zboot-gzip        6.1     arm64     gzip  zboot"
  "riscv-6.1-zboot-gzip        6.1     riscv     gzip  zboot"
  "arm64-6.1-zboot-ikconfig    6.1     arm64     gzip+ikconfig zboot"
  "loongarch-6.12-zboot-gzip   6.12    loongarch gzip  zboot"
)

copy_fixtures() {
  local dir=$repo/test/fixtures/kernels
  mkdir -p "$dir"
  for f in "${fixtures[@]}"; do
    # shellcheck disable=SC2086
    set -- $f
    local name=$1 out=$cache/out/$2/$3/$4 what=$5 file
    if [ ! -f "$out/facts.json" ]; then echo "skip $name: $out not built" >&2; continue; fi
    file=vmlinuz.efi
    [ "$what" = inner ] && file=$(inner_name "$3")
    install -m 644 "$out/$file" "$dir/$name.efi"
    # The sidecar: the build's facts, plus which of its files this fixture is.
    sed -e "1a\\  \"fixture\": \"$name.efi\", \"fixtureIs\": \"$what\"," "$out/facts.json" >"$dir/$name.json"
    # The ikconfig variant: the build's .config too, what kimg config must print byte for byte.
    case $4 in *+ikconfig) install -m 644 "$out/config" "$dir/$name.config" ;; esac
    log "fixture $name.efi ($(stat -c %s "$dir/$name.efi") bytes)"
  done
}

if [ "${1:-}" = --fixtures ]; then copy_fixtures; exit 0; fi

ensure_host_tools
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=("${default_jobs[@]}")
for spec in "${specs[@]}"; do
  IFS=: read -r v arch codecs <<<"$spec"
  ensure_source "$v"
  [ "$arch" = loongarch ] && ensure_chroot
  for codec in ${codecs//,/ }; do build_one "$v" "$arch" "$codec"; done
done
