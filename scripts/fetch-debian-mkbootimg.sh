#!/usr/bin/env bash
# Downloads trixie's mkbootimg (the Android boot image tools, Python, arch: all) and keeps
# mkbootimg and unpack_bootimg, for test/android-v4-real.test.ts.
# Bookworm's mkbootimg (1:29.0.6, which .ci/run installs) refuses --header_version 4; trixie's
# (1:34.0.5) writes boot.img v4 and vendor_boot v4 and runs on bookworm's python3.
#
#   scripts/fetch-debian-mkbootimg.sh [--refresh]
#
# Cache: $KIMG_DEBIAN_CACHE (default /var/cache/kimg-debian), in $CACHE/tools/trixie-all/mkbootimg/:
#   mkbootimg, unpack_bootimg   the scripts (run as `python3 FILE`)
#   gki/                        the Python module mkbootimg imports, when the package has one
#                               (1:34.0.5 has none: its mkbootimg cannot sign, no --gki_signing_*)
#   package                     "mkbootimg <version> trixie all"
# apt runs with the private per-suite configuration of fetch-debian-boot.sh
# ($CACHE/apt/amd64-trixie), so the host's apt and dpkg state is never touched. One ~25 kB .deb,
# fetched once.
set -euo pipefail
cache=${KIMG_DEBIAN_CACHE:-/var/cache/kimg-debian}
refresh=0
if [ "${1:-}" = "--refresh" ]; then refresh=1; shift; fi
arch=amd64 suite=trixie pkg=mkbootimg
out=$cache/tools/$suite-all/$pkg
if [ $refresh = 0 ] && [ -s "$out/package" ]; then
  echo "$pkg: cached ($(cut -d' ' -f2 "$out/package"))"
  exit 0
fi

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
work=$cache/tmp-tools-$pkg
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
# The lists fetch-debian-boot.sh left are used as they are; when they lack the package or name a
# version the mirror no longer has, they are updated once and the download retried.
download() { (cd "$work" && APT_CONFIG=$conf apt-get download -qq "$pkg") 2>/dev/null; }
if ! APT_CONFIG=$conf apt-cache show "$pkg" >/dev/null 2>&1 || ! download; then
  APT_CONFIG=$conf apt-get update -qq || { echo "apt-get update failed" >&2; exit 1; }
  download || { echo "$pkg: apt-get download failed" >&2; exit 1; }
fi
version=$(APT_CONFIG=$conf apt-cache show "$pkg" | sed -n 's/^Version: //p' | head -n1)
deb=$(ls "$work"/*.deb)
mkdir -p "$work/x"
dpkg-deb -x "$deb" "$work/x"
rm -rf "$out" && mkdir -p "$out"
for f in mkbootimg unpack_bootimg; do
  [ -f "$work/x/usr/bin/$f" ] && [ ! -L "$work/x/usr/bin/$f" ] || { echo "$pkg: no usr/bin/$f script in the package" >&2; exit 1; }
  cp "$work/x/usr/bin/$f" "$out/$f"
done
gki=$(find "$work/x" -type d -name gki | head -n1)
if [ -n "$gki" ]; then cp -r "$gki" "$out/gki"; fi
echo "$pkg $version $suite all" >"$out/package"
echo "$pkg: $version ($(stat -c %s "$deb")-byte .deb): $(ls "$out" | grep -v '^package$' | tr '\n' ' ')"
