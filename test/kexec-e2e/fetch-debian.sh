#!/bin/bash
# Downloads Debian packages for one architecture with a private apt configuration (never the
# host's dpkg database) and unpacks them without maintainer scripts.
#   fetch-debian.sh ARCH OUT_DIR [SUITE]
# Produces OUT_DIR/root (nodejs + library closure + busybox-static, unpacked) and
# OUT_DIR/vmlinuz (the stock kernel of the host's Debian suite for ARCH, or of SUITE when given:
# riscv64 is a release architecture from trixie on). KIMG_FETCH_EXTRA adds packages to the root.
set -euo pipefail
arch=$1
out=$2
suite=${3:-}
mkdir -p "$out"
out=$(cd "$out" && pwd)
apt_dir=$out/apt
mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial,etc/preferences.d} "$out/debs"
touch "$apt_dir/status"

conf=$apt_dir/apt.conf
cat >"$conf" <<CONF
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Install-Recommends "false";
Dir::State "$apt_dir";
Dir::State::Lists "$apt_dir/lists";
Dir::State::status "$apt_dir/status";
Dir::Cache "$apt_dir/cache";
Dir::Etc::Preferences "$apt_dir/etc/preferences";
Dir::Etc::PreferencesParts "$apt_dir/etc/preferences.d";
CONF
if [ -n "$suite" ]; then
  echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$apt_dir/sources.list"
  printf 'Dir::Etc::SourceList "%s";\nDir::Etc::SourceParts "/dev/null";\n' "$apt_dir/sources.list" >>"$conf"
else
  printf 'Dir::Etc::SourceList "/dev/null";\nDir::Etc::SourceParts "/etc/apt/sources.list.d";\n' >>"$conf"
fi
export APT_CONFIG=$conf

stamp=$out/.fetched
if [ -f "$stamp" ] && [ -d "$out/root" ] && [ -f "$out/vmlinuz" ]; then
  exit 0
fi

if [ ! -f "$apt_dir/.updated" ]; then
  apt-get update -q >"$out/apt-update.log" 2>&1 || { cat "$out/apt-update.log"; exit 1; }
  touch "$apt_dir/.updated"
fi

# The userland: a static busybox for /init, Debian's node with its library closure.
roots="busybox-static nodejs ${KIMG_FETCH_EXTRA:-}"
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $roots | grep -v '^ ' | grep -v '^<' | sort -u)
# Packages that only matter to maintainer scripts or a full system, not to running node.
skip='^(debconf|perl-base|dpkg|tar|coreutils|base-files|debianutils|sensible-utils|libdebconfclient0|install-info|nodejs-doc|ca-certificates|openssl)$'
pkgs=$(echo "$pkgs" | grep -Ev "$skip")

# The stock kernel: the package the linux-image-ARCH metapackage points at.
meta=linux-image-$arch
kpkg=$(apt-cache depends "$meta" | sed -n 's/^  Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
[ -n "$kpkg" ] || { echo "cannot resolve $meta" >&2; exit 1; }
# Newer suites (sid's 7.x) split the image into linux-binary-*, which linux-image-* depends on.
kbin=$(apt-cache depends "$kpkg" | sed -n 's/^  Depends: \(linux-binary-[0-9].*\)$/\1/p' | head -n1)
[ -z "$kbin" ] || kpkg=$kbin

cd "$out/debs"
for p in $pkgs $kpkg; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -q "$p" >>"$out/apt-download.log" 2>&1 \
    || { echo "apt-get download $p failed" >&2; tail -5 "$out/apt-download.log" >&2; exit 1; }
done

rm -rf "$out/root" && mkdir -p "$out/root"
for p in $pkgs; do
  dpkg-deb -x "$(ls "${p}"_*.deb | head -n1)" "$out/root"
done
# Trixie's packages ship only /usr (merged /usr; base-files makes the links on a real system).
for d in bin sbin lib lib64; do
  [ -e "$out/root/$d" ] || [ ! -d "$out/root/usr/$d" ] || ln -s "usr/$d" "$out/root/$d"
done
rm -rf "$out"/root/usr/lib/*-linux-gnu/gconv "$out/root/usr/share/doc" "$out/root/usr/share/man" "$out/root/usr/share/locale" \
  "$out/root/usr/share/lintian" "$out/root/usr/share/info"

kdeb=$(ls "${kpkg}"_*.deb | head -n1)
# /boot/vmlinuz-* on most architectures, /boot/vmlinux-* (an uncompressed Image) on riscv64;
# sid's 7.x packages keep it as /usr/lib/modules/VERSION/vmlinuz.
rm -rf "$out/boot" "$out/usr"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$out" --wildcards './boot/vmlinu[xz]-*' 2>/dev/null \
  || dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$out" --wildcards './usr/lib/modules/*/vmlinu[xz]'
mv "$out"/boot/vmlinu[xz]-* "$out/vmlinuz" 2>/dev/null || mv "$out"/usr/lib/modules/*/vmlinu[xz] "$out/vmlinuz"
rm -rf "$out/boot" "$out/usr"
echo "$kpkg" >"$out/kernel-package"
echo "$pkgs" >"$out/packages"
touch "$stamp"
