#!/usr/bin/env bash
# Installs everything the super peer, its tests and benchmarks need, from
# Debian's archive. Idempotent: a second run changes nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libdpdk-dev dpdk dpdk-dev
  libsodium-dev libabsl-dev libgflags-dev libgoogle-glog-dev
  libbenchmark-dev libgtest-dev libgmock-dev googletest
  clang libclang-rt-14-dev
  iproute2 iputils-ping ethtool procps kmod gnuplot-nox python3 valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
