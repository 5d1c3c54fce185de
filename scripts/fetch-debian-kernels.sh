#!/usr/bin/env bash
# Downloads real Debian kernels for trying kimg: amd64 and arm64 (bookworm), riscv64 (trixie),
# loong64 (sid, a zstd EFI zboot image). Uses a private apt configuration under kernels/apt so
# the host's apt setup is untouched. Output: kernels/<arch>/vmlinuz-* (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD/kernels
mkdir -p "$top/apt/lists/partial" "$top/apt/cache/archives/partial" "$top/apt/etc"

fetch() { # arch suite package-pattern
  local arch=$1 suite=$2 pattern=$3
  local etc=$top/apt/etc/$arch-$suite
  mkdir -p "$etc/sources.list.d" "$etc/preferences.d" "$top/apt/lists-$arch-$suite/partial"
  cat >"$etc/sources.list" <<SRC
deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
SRC
  local opts=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o "Dir::Etc::SourceList=$etc/sources.list"
    -o "Dir::Etc::SourceParts=$etc/sources.list.d" -o "Dir::Etc::Preferences=$etc/preferences"
    -o "Dir::Etc::PreferencesParts=$etc/preferences.d" -o "Dir::State::Lists=$top/apt/lists-$arch-$suite"
    -o "Dir::Cache=$top/apt/cache" -o "Debug::NoLocking=1")
  # A mirror mid-sync can fail one index; the others may still be good enough.
  apt-get "${opts[@]}" update -qq || echo "warning: apt-get update for $arch/$suite reported errors" >&2
  local pkg
  pkg=$(apt-cache "${opts[@]}" search --names-only "$pattern" | awk '{print $1}' | grep -v -- '-dbg' | grep -v -- '-unsigned' | sort -V | tail -1 || true)
  [ -n "$pkg" ] || { echo "no package matches $pattern for $arch/$suite" >&2; return 1; }
  mkdir -p "$top/$arch"
  # Where no signed kernel exists the plain package is a stub depending on "-unsigned";
  # newer Debian kernels keep the image in linux-binary-*.
  local candidate found=""
  for candidate in "$pkg" "$pkg-unsigned" "linux-binary-${pkg#linux-image-}"; do
    (cd "$top/$arch" && apt-get "${opts[@]}" download "$candidate:$arch" >/dev/null 2>&1) || continue
    local deb
    deb=$(ls -t "$top/$arch"/*.deb | head -1)
    rm -rf "$top/$arch/root" && dpkg-deb -x "$deb" "$top/$arch/root"
    for k in "$top/$arch"/root/boot/vmlinu[xz]-* "$top/$arch"/root/usr/lib/modules/*/vmlinu[xz]; do
      [ -e "$k" ] || continue
      local name
      name=$(basename "$k")
      case $k in */usr/lib/modules/*) name="$name-$(basename "$(dirname "$k")")" ;; esac
      cp "$k" "$top/$arch/$name"
      echo "$arch: $name from $(basename "$deb")"
      found=1
    done
    [ -n "$found" ] && break
  done
  [ -n "$found" ] || { echo "no kernel image found for $arch/$suite" >&2; return 1; }
}

want=${*:-amd64 arm64 riscv64 loong64}
for a in $want; do
  case $a in
    amd64) fetch amd64 bookworm '^linux-image-[0-9.]+-[0-9]+-amd64$' ;;
    arm64) fetch arm64 bookworm '^linux-image-[0-9.]+-[0-9]+-arm64$' ;;
    riscv64) fetch riscv64 trixie '^linux-image-[0-9.]+[-+][0-9a-z.+-]*-riscv64$' || fetch riscv64 sid '^linux-image-[0-9.]+[-+][0-9a-z.+-]*-riscv64$' ;;
    loong64) fetch loong64 sid '^linux-image-[0-9.]+[-+][0-9a-z.+-]*-loong64$' ;;
    *) echo "unknown arch $a" >&2; exit 2 ;;
  esac
done
