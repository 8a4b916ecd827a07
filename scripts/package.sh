#!/usr/bin/env bash
# Builds the Debian package build/drasyl-sp_<version>_amd64.deb (CPack DEB,
# dependencies from dpkg-shlibdeps) from a Release build with prefix /usr,
# then checks it with lintian (fails on errors; warnings are printed).
#   scripts/package.sh             # build + lintian
#   scripts/package.sh --no-lintian
set -euo pipefail
cd "$(dirname "$0")/.."
LINTIAN=1
for a in "$@"; do
  case $a in
    --no-lintian) LINTIAN=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "package: unknown option '$a'" >&2; exit 2 ;;
  esac
done
command -v help2man >/dev/null || { echo "package: help2man missing (scripts/setup.sh)" >&2; exit 1; }
BUILD_DIR=${BUILD_DIR:-build}
# The package's paths: /usr, /etc, /lib/systemd/system (only the install prefix changes;
# compiled code does not depend on it, so nothing is recompiled).
BUILD_DIR=$BUILD_DIR scripts/build.sh -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD_DIR/CPackConfig.cmake")
binary_version=$("$BUILD_DIR/drasyl-sp" --version | awk '{print $NF}')
[[ $version == "$binary_version" ]] ||
  { echo "package: CMake version $version but drasyl-sp --version says $binary_version" >&2; exit 1; }
deb="$BUILD_DIR/drasyl-sp_${version}_$(dpkg --print-architecture).deb"
rm -f "$deb"
(cd "$BUILD_DIR" && cpack -G DEB --config CPackConfig.cmake >/dev/null)
[[ -f $deb ]] || { echo "package: cpack did not write $deb" >&2; exit 1; }
if ((LINTIAN)); then
  # Errors fail the build; warnings and info are shown.
  lintian --fail-on error "$deb" >&2 || { echo "package: lintian reports errors" >&2; exit 1; }
fi
echo "$deb"
