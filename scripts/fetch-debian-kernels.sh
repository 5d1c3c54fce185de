#!/usr/bin/env bash
# Downloads Debian's kernel for every architecture Debian builds and keeps only the boot image
# (/boot/vmlinu[xz]-*), for test/debian-kernels.test.ts and for trying kimg by hand.
#
#   scripts/fetch-debian-kernels.sh [--refresh] [ARCH[/FLAVOUR] ...]     (default: all below)
#
# Cache: $KIMG_DEBIAN_CACHE (default /var/cache/kimg-debian), outside the clone so CI runs on the
# same machine reuse it. Each kernel lands in $CACHE/<arch>-<flavour>/ with
#   vmlinu[xz]-<release>   the image as Debian installs it
#   package                "<package> <version> <suite> <sha256 of the image>"
# and $CACHE/manifest.tsv lists them all. Packages are resolved from the suite's current Packages
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

# arch/flavour suite. Bookworm is the newest release with every architecture (trixie dropped the
# i386 kernel, mipsel and mips64el); riscv64 became a release architecture in trixie; loong64 is
# built in sid only. mips builds different image formats per flavour, so each is listed.
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
)

suite_of() { # arch/flavour -> suite from the table
  local e
  for e in "${all[@]}"; do [ "${e%%:*}" = "$1" ] && { echo "${e#*:}"; return; }; done
  return 1
}

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
APT::Sandbox::User "root";
CONF
  echo "$dir/apt.conf"
}

declare -A updated=()

fetch() { # arch flavour suite
  local arch=$1 flavour=$2 suite=$3 out=$cache/$1-$2
  if [ $refresh = 0 ] && [ -s "$out/package" ]; then
    echo "$arch/$flavour: cached ($(cut -d' ' -f1,2 "$out/package"))"
    return 0
  fi
  local conf
  conf=$(apt_config "$arch" "$suite")
  if [ -z "${updated[$arch-$suite]:-}" ]; then
    APT_CONFIG=$conf apt-get update -qq
    updated[$arch-$suite]=1
  fi
  # The metapackage depends on the current ABI's package; that package holds /boot/vmlinu[xz]
  # (where signing exists it is the signed one, as Debian installs it).
  local pkg
  pkg=$(APT_CONFIG=$conf apt-cache depends "linux-image-$flavour" | sed -n 's/^  Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
  [ -n "$pkg" ] || { echo "$arch/$flavour: no linux-image-$flavour in $suite" >&2; return 1; }
  # Since 6.17 (sid) linux-image-* is an empty package depending on linux-binary-*, which holds
  # the image.
  local binary
  binary=$(APT_CONFIG=$conf apt-cache depends "$pkg" | sed -n 's/^  Depends: \(linux-binary-[0-9][^ ]*\)$/\1/p' | head -n1)
  [ -z "$binary" ] || pkg=$binary
  local version
  version=$(APT_CONFIG=$conf apt-cache show "$pkg:$arch" | sed -n 's/^Version: //p' | head -n1)
  local work=$cache/tmp-$arch-$flavour
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && APT_CONFIG=$conf apt-get download -qq "$pkg:$arch")
  local deb member
  deb=$(ls "$work"/*.deb)
  member=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -E '^\./(boot/vmlinu[xz]-|usr/lib/modules/[^/]+/vmlinu[xz]$)' | head -n1 || true)
  [ -n "$member" ] || { echo "$arch/$flavour: $pkg has no /boot/vmlinu[xz]-*" >&2; return 1; }
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "$member"
  local image=$work/${member#./}
  # /usr/lib/modules/<release>/vmlinuz is named like /boot's.
  case $member in ./usr/lib/modules/*) mv "$image" "$work/$(basename "$image")-$(basename "$(dirname "$image")")"; image=$work/$(basename "$image")-$(basename "$(dirname "$image")") ;; esac
  rm -rf "$out" && mkdir -p "$out"
  mv "$image" "$out/"
  local name sum debsize
  debsize=$(stat -c %s "$deb")
  name=$(basename "$image")
  sum=$(sha256sum "$out/$name" | cut -d' ' -f1)
  echo "$pkg $version $suite $sum" >"$out/package"
  rm -rf "$work"
  echo "$arch/$flavour: $name from $pkg $version ($suite, $(stat -c %s "$out/$name") bytes, $debsize-byte .deb)"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]%%:*}")
mkdir -p "$cache"
failed=0
for w in "${want[@]}"; do
  case $w in
    */*) key=$w ;;
    *) key=$(printf '%s\n' "${all[@]%%:*}" | grep "^$w/" || true) ;;
  esac
  [ -n "$key" ] || { echo "unknown architecture $w" >&2; exit 2; }
  for k in $key; do
    suite=$(suite_of "$k") || { echo "unknown kernel $k" >&2; exit 2; }
    fetch "${k%/*}" "${k#*/}" "$suite" || failed=1
  done
done

# The manifest: one line per cached kernel.
{
  printf 'arch\tflavour\tpackage\tversion\tsuite\timage\tbytes\tsha256\n'
  for d in "$cache"/*-*/; do
    [ -s "$d/package" ] || continue
    read -r pkg version suite sum <"$d/package"
    img=$(ls "$d" | grep '^vmlinu' | head -n1)
    base=$(basename "$d")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${base%%-*}" "${base#*-}" "$pkg" "$version" "$suite" "$img" "$(stat -c %s "$d/$img")" "$sum"
  done
} >"$cache/manifest.tsv"
exit $failed
