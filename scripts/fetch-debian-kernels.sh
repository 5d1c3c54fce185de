#!/usr/bin/env bash
# Downloads Debian's kernel for every architecture Debian builds and keeps only the boot image
# (/boot/vmlinu[xz]-*) and its .config (/boot/config-*), for test/debian-kernels.test.ts,
# test/kconfig-real.test.ts and for trying kimg by hand.
#
#   scripts/fetch-debian-kernels.sh [--refresh] [ARCH[/FLAVOUR][:SUITE] ...]   (default: all below)
#
# Cache: $KIMG_DEBIAN_CACHE (default /var/cache/kimg-debian), outside the clone so CI runs on the
# same machine reuse it. Each kernel lands in $CACHE/<suite>/<arch>-<flavour>/ with
#   vmlinu[xz]-<release>   the image as Debian installs it
#   config-<release>       its .config, where the package has one
#   package                "<arch> <flavour> <package> <version> <suite> <sha256 of the image>"
# and $CACHE/manifest.tsv lists them all; $CACHE/kconfig-tools/ holds the kernel's scripts/diffconfig
# and scripts/extract-ikconfig (from linux-source-6.1, see fetch_kconfig_tools). Packages are resolved from the suite's current Packages
# index through the flavour's metapackage (linux-image-<flavour> -> linux-image-<abi>-<flavour>), so
# the versions move with Debian's point releases; the manifest records which were taken. A kernel
# already in the cache is not fetched again (--refresh re-resolves and replaces it).
#
# apt runs with a private configuration per suite and architecture (lists, cache and an empty
# dpkg status under the cache), so the host's apt and dpkg state is never touched.
set -euo pipefail
cache=${KIMG_DEBIAN_CACHE:-/var/cache/kimg-debian}
refresh=0
if [ "${1:-}" = "--refresh" ]; then refresh=1; shift; fi

# arch/flavour:suite. Bookworm is the newest release with every architecture (trixie dropped the
# i386 kernel, mipsel and mips64el); riscv64 became a release architecture in trixie; loong64 is
# built in sid only. mips builds different image formats per flavour, so each is listed. Trixie's
# 6.12 kernels follow for amd64, arm64 and armhf, a second kernel generation of each (trixie's
# armel, ppc64el and s390x packages were missing from the mirror here: 404).
all=(
  amd64/amd64:bookworm
  arm64/arm64:bookworm
  armel/marvell:bookworm
  armel/rpi:bookworm
  armhf/armmp:bookworm
  armhf/armmp-lpae:bookworm
  i386/686:bookworm
  i386/686-pae:bookworm
  mips64el/5kc-malta:bookworm
  mips64el/loongson-3:bookworm
  mips64el/octeon:bookworm
  mipsel/4kc-malta:bookworm
  ppc64el/powerpc64le:bookworm
  s390x/s390x:bookworm
  riscv64/riscv64:trixie
  loong64/loong64:sid
  amd64/amd64:trixie
  arm64/arm64:trixie
  armhf/armmp:trixie
)

apt_config() { # arch suite -> path of an apt.conf for a private apt state
  local arch=$1 suite=$2 dir=$cache/apt/$1-$2
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
  echo "$dir/apt.conf"
}

declare -A updated=()

fetch() { # arch flavour suite
  local arch=$1 flavour=$2 suite=$3 out=$cache/$3/$1-$2
  if [ $refresh = 0 ] && [ -s "$out/package" ]; then
    echo "$arch/$flavour ($suite): cached ($(cut -d' ' -f3,4 "$out/package"))"
    return 0
  fi
  local conf
  conf=$(apt_config "$arch" "$suite")
  if [ -z "${updated[$arch-$suite]:-}" ]; then
    APT_CONFIG=$conf apt-get update -qq || { echo "$arch/$flavour ($suite): apt-get update failed" >&2; return 1; }
    updated[$arch-$suite]=1
  fi
  # The metapackage depends on the current ABI's package; that package holds /boot/vmlinu[xz]
  # (where signing exists it is the signed one, as Debian installs it).
  local pkg
  pkg=$(APT_CONFIG=$conf apt-cache depends "linux-image-$flavour" | sed -n 's/^  Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
  [ -n "$pkg" ] || { echo "$arch/$flavour ($suite): no linux-image-$flavour in $suite" >&2; return 1; }
  # Since 6.17 (sid) linux-image-* is an empty package depending on linux-binary-*, which holds
  # the image.
  local binary
  binary=$(APT_CONFIG=$conf apt-cache depends "$pkg" | sed -n 's/^  Depends: \(linux-binary-[0-9][^ ]*\)$/\1/p' | head -n1)
  [ -z "$binary" ] || pkg=$binary
  local version
  version=$(APT_CONFIG=$conf apt-cache show "$pkg:$arch" | sed -n 's/^Version: //p' | head -n1)
  local work=$cache/tmp-$arch-$flavour-$suite
  rm -rf "$work" && mkdir -p "$work"
  # fetch runs in `||` context, where set -e is off: every step checks for itself.
  (cd "$work" && APT_CONFIG=$conf apt-get download -qq "$pkg:$arch") || { echo "$arch/$flavour ($suite): apt-get download $pkg failed" >&2; rm -rf "$work"; return 1; }
  local deb member
  deb=$(ls "$work"/*.deb)
  member=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -E '^\./(boot/vmlinu[xz]-|usr/lib/modules/[^/]+/vmlinu[xz]$)' | head -n1 || true)
  [ -n "$member" ] || { echo "$arch/$flavour ($suite): $pkg has no /boot/vmlinu[xz]-*" >&2; rm -rf "$work"; return 1; }
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "$member" || { echo "$arch/$flavour ($suite): unpacking $member failed" >&2; rm -rf "$work"; return 1; }
  # The kernel's .config beside it (/boot/config-<release>), for kimg config's diffconfig test (issue 16).
  local config_member
  config_member=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -E '^\./boot/config-' | head -n1 || true)
  if [ -n "$config_member" ]; then
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "$config_member" || { echo "$arch/$flavour ($suite): unpacking $config_member failed" >&2; rm -rf "$work"; return 1; }
  fi
  local image=$work/${member#./}
  # /usr/lib/modules/<release>/vmlinuz is named like /boot's.
  case $member in ./usr/lib/modules/*) mv "$image" "$work/$(basename "$image")-$(basename "$(dirname "$image")")"; image=$work/$(basename "$image")-$(basename "$(dirname "$image")") ;; esac
  rm -rf "$out" && mkdir -p "$out"
  mv "$image" "$out/"
  [ -z "$config_member" ] || mv "$work/${config_member#./}" "$out/"
  local name sum debsize
  debsize=$(stat -c %s "$deb")
  name=$(basename "$image")
  sum=$(sha256sum "$out/$name" | cut -d' ' -f1)
  echo "$arch $flavour $pkg $version $suite $sum" >"$out/package"
  rm -rf "$work"
  echo "$arch/$flavour ($suite): $name from $pkg $version ($(stat -c %s "$out/$name") bytes, $debsize-byte .deb)"
}

# The .config of two kernels fetched before the configs were kept (issue 16): their package
# again, once, if the mirror still has the recorded version (about 150 MB of .debs, once per cache).
backfill_config() { # arch flavour suite
  local arch=$1 flavour=$2 suite=$3 out=$cache/$3/$1-$2
  [ -s "$out/package" ] || return 0
  ls "$out"/config-* >/dev/null 2>&1 && return 0
  local pkg version conf work deb member
  read -r _ _ pkg version _ _ <"$out/package"
  conf=$(apt_config "$arch" "$suite")
  if [ -z "${updated[$arch-$suite]:-}" ]; then
    APT_CONFIG=$conf apt-get update -qq || { echo "$arch/$flavour ($suite): apt-get update failed" >&2; return 1; }
    updated[$arch-$suite]=1
  fi
  work=$cache/tmp-config-$arch-$flavour-$suite
  rm -rf "$work" && mkdir -p "$work"
  if ! (cd "$work" && APT_CONFIG=$conf apt-get download -qq "$pkg:$arch=$version"); then
    echo "$arch/$flavour ($suite): $pkg $version is no longer on the mirror; no config (fetch --refresh $arch/$flavour:$suite)" >&2
    rm -rf "$work"
    return 0
  fi
  deb=$(ls "$work"/*.deb)
  member=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -E '^\./boot/config-' | head -n1 || true)
  [ -n "$member" ] && dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "$member" && mv "$work/${member#./}" "$out/"
  rm -rf "$work"
  echo "$arch/$flavour ($suite): kept ${member#./boot/} from $pkg $version"
}

# The kernel's own scripts/diffconfig and scripts/extract-ikconfig (test/kconfig-real.test.ts),
# taken once from Debian's linux-source-6.1 (a 150 MB package: the host's when installed, else
# downloaded into a temporary folder and removed); only the two scripts stay, in kconfig-tools/.
fetch_kconfig_tools() {
  local dir=$cache/kconfig-tools
  [ -s "$dir/diffconfig" ] && [ -s "$dir/extract-ikconfig" ] && { echo "kconfig tools: cached ($(cat "$dir/source"))"; return 0; }
  local work=$cache/tmp-kconfig-tools tarball source
  rm -rf "$work" && mkdir -p "$work"
  if dpkg -s linux-source-6.1 >/dev/null 2>&1 && [ -f /usr/src/linux-source-6.1.tar.xz ]; then
    tarball=/usr/src/linux-source-6.1.tar.xz
    source="linux-source-6.1 $(dpkg-query -W -f '${Version}' linux-source-6.1) (installed)"
  else
    local conf
    conf=$(apt_config amd64 bookworm)
    if [ -z "${updated[amd64-bookworm]:-}" ]; then
      APT_CONFIG=$conf apt-get update -qq || { echo "kconfig tools: apt-get update failed" >&2; rm -rf "$work"; return 1; }
      updated[amd64-bookworm]=1
    fi
    (cd "$work" && APT_CONFIG=$conf apt-get download -qq linux-source-6.1) || { echo "kconfig tools: apt-get download linux-source-6.1 failed" >&2; rm -rf "$work"; return 1; }
    local deb
    deb=$(ls "$work"/*.deb)
    source="$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/src/linux-source-6.1.tar.xz || { rm -rf "$work"; return 1; }
    rm -f "$deb"
    tarball=$work/usr/src/linux-source-6.1.tar.xz
  fi
  tar -xJf "$tarball" -C "$work" linux-source-6.1/scripts/diffconfig linux-source-6.1/scripts/extract-ikconfig || { rm -rf "$work"; return 1; }
  mkdir -p "$dir"
  install -m 755 "$work/linux-source-6.1/scripts/diffconfig" "$work/linux-source-6.1/scripts/extract-ikconfig" "$dir/"
  echo "$source" >"$dir/source"
  rm -rf "$work"
  echo "kconfig tools: diffconfig and extract-ikconfig from $source"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")
mkdir -p "$cache"
failed=0
for w in "${want[@]}"; do
  # ARCH, ARCH/FLAVOUR or either with :SUITE selects entries of the table.
  sel=${w%%:*} suite=
  case $w in *:*) suite=${w#*:} ;; esac
  matched=0
  for e in "${all[@]}"; do
    key=${e%%:*} esuite=${e#*:}
    case $sel in */*) [ "$key" = "$sel" ] || continue ;; *) [ "${key%%/*}" = "$sel" ] || continue ;; esac
    [ -z "$suite" ] || [ "$suite" = "$esuite" ] || continue
    matched=1
    fetch "${key%/*}" "${key#*/}" "$esuite" || failed=1
  done
  [ $matched = 1 ] || { echo "no kernel listed for $w" >&2; exit 2; }
done

# The embedded .config (issue 16): Debian's configs of two kernels, and the kernel's own tools.
if [ ${#want[@]} -eq ${#all[@]} ]; then
  backfill_config amd64 amd64 bookworm || failed=1
  backfill_config arm64 arm64 bookworm || failed=1
  fetch_kconfig_tools || failed=1
fi

# The manifest: one line per cached kernel.
{
  printf 'arch\tflavour\tpackage\tversion\tsuite\timage\tbytes\tsha256\n'
  for f in "$cache"/*/*/package; do
    [ -s "$f" ] || continue
    d=$(dirname "$f")
    read -r arch flavour pkg version suite sum <"$f"
    img=$(ls "$d" | grep '^vmlinu' | head -n1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$arch" "$flavour" "$pkg" "$version" "$suite" "$img" "$(stat -c %s "$d/$img")" "$sum"
  done
} >"$cache/manifest.tsv"
exit $failed
