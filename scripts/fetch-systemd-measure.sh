#!/usr/bin/env bash
# Downloads a newer systemd's systemd-measure and stubs than the host's (Debian 12 has systemd 252,
# which knows no .ucode, .uname, .sbat or .profile), for test/measure.test.ts's multi-profile and
# .pcrsig comparisons. Nothing is installed: the packages are unpacked under the cache and
# systemd-measure runs through the unpacked glibc's dynamic loader.
#
#   scripts/fetch-systemd-measure.sh [SUITE]          (default trixie: systemd 257)
#
# Cache: $KIMG_UKI_CACHE (default /var/cache/kimg-uki), outside the clone. It holds
#   <suite>/debs/*.deb               the packages (about 15 MB)
#   <suite>/root/                    their files
#   <suite>/systemd-measure          a wrapper that runs root/usr/lib/systemd/systemd-measure
#   <suite>/linuxx64.efi.stub, <suite>/addonx64.efi.stub   the suite's systemd-stub and add-on stub
# A suite already in the cache is not fetched again. apt runs with a private state under the
# cache, so the host's apt and dpkg are never touched.
set -euo pipefail
cache=${KIMG_UKI_CACHE:-/var/cache/kimg-uki}
suite=${1:-trixie}
out=$cache/$suite
if [ -x "$out/systemd-measure" ] && "$out/systemd-measure" --version >/dev/null 2>&1; then
  echo "systemd-measure ($suite): cached ($("$out/systemd-measure" --version | head -n1))"
  exit 0
fi
apt=$cache/apt-$suite
mkdir -p "$apt"/{lists/partial,archives/partial,etc/preferences.d,etc/sources.list.d} "$out/debs"
touch "$apt/status"
echo "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$apt/etc/sources.list"
cat >"$apt/apt.conf" <<CONF
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt";
Dir::Cache::Archives "$apt/archives";
Dir::Etc::SourceList "$apt/etc/sources.list";
Dir::Etc::SourceParts "$apt/etc/sources.list.d";
Dir::Etc::Preferences "$apt/etc/preferences";
Dir::Etc::PreferencesParts "$apt/etc/preferences.d";
Debug::NoLocking "1";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order { "gz"; };
APT::Sandbox::User "root";
CONF
export APT_CONFIG=$apt/apt.conf
apt-get update -qq
# systemd-measure, libsystemd-shared and what they link or dlopen (OpenSSL, the TPM2 marshalling
# libraries `sign` computes the PolicyPCR digest with), with the suite's glibc.
pkgs=(systemd-boot-efi systemd libsystemd-shared libsystemd0 libc6 libssl3t64 libacl1 libapparmor1 libmount1 libblkid1
  libpam0g libseccomp2 libselinux1 libpcre2-8-0 libcap2 libaudit1 libcap-ng0 libcrypt1 libzstd1 liblz4-1 liblzma5 libgcc-s1
  libtss2-esys-3.0.2-0t64 libtss2-mu-4.0.1-0t64 libtss2-rc0t64 libtss2-sys1t64)
(cd "$out/debs" && apt-get download -qq "${pkgs[@]/%/:amd64}")
rm -rf "$out/root" && mkdir -p "$out/root"
for d in "$out"/debs/*.deb; do dpkg-deb -x "$d" "$out/root"; done
lib=$out/root/usr/lib/x86_64-linux-gnu
cat >"$out/systemd-measure" <<WRAP
#!/bin/sh
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$lib/systemd" "$out/root/usr/lib/systemd/systemd-measure" "\$@"
WRAP
chmod +x "$out/systemd-measure"
cp "$out/root/usr/lib/systemd/boot/efi/linuxx64.efi.stub" "$out/root/usr/lib/systemd/boot/efi/addonx64.efi.stub" "$out/"
echo "systemd-measure ($suite): $("$out/systemd-measure" --version | head -n1)"
