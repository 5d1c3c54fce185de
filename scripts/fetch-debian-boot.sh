#!/usr/bin/env bash
# Downloads Debian's signed boot loaders for amd64 (shim, systemd-boot, GRUB) and keeps only their
# EFI binaries, for test/secure-boot-debian.test.ts and the README's Secure Boot example.
#
#   scripts/fetch-debian-boot.sh [--refresh]
#
# Cache: $KIMG_DEBIAN_CACHE (default /var/cache/kimg-debian, the cache of fetch-debian-kernels.sh),
# in $CACHE/boot/<suite>-<arch>/:
#   <package>/<file>.efi[.signed]  the binaries as the package installs them (paths flattened)
#   <package>/package              "<package> <version> <suite> <arch>"
# apt runs with the same private per-suite configuration as fetch-debian-kernels.sh, so the
# host's apt and dpkg state is never touched. A package already cached is not fetched again.
set -euo pipefail
cache=${KIMG_DEBIAN_CACHE:-/var/cache/kimg-debian}
refresh=0
if [ "${1:-}" = "--refresh" ]; then refresh=1; shift; fi
arch=amd64 suite=trixie
# package -> the files kept (paths inside the .deb)
declare -A files=(
  [shim-signed]="./usr/lib/shim/shimx64.efi.signed"
  [systemd-boot-efi]="./usr/lib/systemd/boot/efi/systemd-bootx64.efi ./usr/lib/systemd/boot/efi/linuxx64.efi.stub"
  [grub-efi-amd64-signed]="./usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
)

dir=$cache/apt/$arch-$suite
mkdir -p "$dir"/{lists/partial,archives/partial,etc/preferences.d,etc/sources.list.d}
touch "$dir/status"
echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$dir/etc/sources.list"
cat >"$dir/apt.conf" <<CONF
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Dir::State "$dir";
Dir::State::Lists "$dir/lists";
Dir::State::status "$dir/status";
Dir::Cache "$dir";
Dir::Cache::Archives "$dir/archives";
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "$dir/etc/sources.list.d";
Dir::Etc::Preferences "$dir/etc/preferences";
Dir::Etc::PreferencesParts "$dir/etc/preferences.d";
Debug::NoLocking "1";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order { "gz"; };
APT::Sandbox::User "root";
CONF
conf=$dir/apt.conf
updated=0
failed=0
for pkg in "${!files[@]}"; do
  out=$cache/boot/$suite-$arch/$pkg
  if [ $refresh = 0 ] && [ -s "$out/package" ]; then
    echo "$pkg: cached ($(cut -d' ' -f2 "$out/package"))"
    continue
  fi
  if [ $updated = 0 ]; then
    APT_CONFIG=$conf apt-get update -qq || { echo "apt-get update failed" >&2; exit 1; }
    updated=1
  fi
  version=$(APT_CONFIG=$conf apt-cache show "$pkg:$arch" | sed -n 's/^Version: //p' | head -n1)
  work=$cache/tmp-boot-$pkg
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && APT_CONFIG=$conf apt-get download -qq "$pkg:$arch") || { echo "$pkg: apt-get download failed" >&2; rm -rf "$work"; failed=1; continue; }
  deb=$(ls "$work"/*.deb)
  # shellcheck disable=SC2086
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ${files[$pkg]} || { echo "$pkg: unpacking failed" >&2; rm -rf "$work"; failed=1; continue; }
  rm -rf "$out" && mkdir -p "$out"
  for f in ${files[$pkg]}; do mv "$work/${f#./}" "$out/"; done
  echo "$pkg $version $suite $arch" >"$out/package"
  echo "$pkg: $version ($(stat -c %s "$deb")-byte .deb): $(ls "$out" | grep -v '^package$' | tr '\n' ' ')"
  rm -rf "$work"
done
exit $failed
