#!/usr/bin/env bash
# Installs everything the super peer, its tests and benchmarks need, from
# Debian's archive. Idempotent: a second run changes nothing.
#
#   scripts/setup.sh                 # packages only
#   scripts/setup.sh --hugepages N   # also reserve N 2 MiB hugepages for DPDK (root) and
#                                    # mount hugetlbfs on /dev/hugepages if nothing is mounted
#
# Without hugepages the DPDK backend runs with --no-huge (and says so).
set -euo pipefail

HUGEPAGES=""
while (($#)); do
  case "$1" in
    --hugepages)
      [[ $# -ge 2 ]] || { echo "setup: --hugepages needs a number of 2 MiB pages" >&2; exit 2; }
      HUGEPAGES=$2
      shift ;;
    --hugepages=*) HUGEPAGES=${1#*=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n $HUGEPAGES && ! $HUGEPAGES =~ ^[0-9]+$ ]]; then
  echo "setup: --hugepages needs a number of 2 MiB pages, got '$HUGEPAGES'" >&2
  exit 2
fi

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libdpdk-dev dpdk dpdk-dev
  libsodium-dev libabsl-dev libgflags-dev libgoogle-glog-dev
  libbenchmark-dev libgtest-dev libgmock-dev googletest
  clang libclang-rt-14-dev
  # --af_xdp: our XDP program (clang -target bpf; linux-libc-dev's headers),
  # libbpf to fill its maps, DPDK's net_af_xdp (libxdp) for the sockets.
  libbpf-dev libxdp-dev librte-net-af-xdp23 linux-libc-dev
  iproute2 iputils-ping ethtool procps kmod gnuplot-nox python3 valgrind
  # The Debian package and its test (scripts/package-test.sh): man pages, lintian,
  # systemd-analyze, promtool and a Prometheus server for the scrape test. Where
  # systemd runs, Debian's prometheus package also enables prometheus.service
  # (`systemctl disable --now prometheus` if you do not want it).
  help2man lintian systemd prometheus
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

if [[ -n $HUGEPAGES ]]; then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
  [[ -e $nr ]] || { echo "setup: this kernel has no 2 MiB hugepages ($nr)" >&2; exit 1; }
  echo "$HUGEPAGES" | $SUDO tee "$nr" >/dev/null
  got=$(cat "$nr")
  # The kernel reserves what it can find contiguous; say so when it is less.
  if ((got < HUGEPAGES)); then
    echo "setup: asked for $HUGEPAGES hugepages, the kernel reserved $got" >&2
  fi
  if ! awk '$3 == "hugetlbfs" {found = 1} END {exit !found}' /proc/mounts; then
    $SUDO mkdir -p /dev/hugepages
    $SUDO mount -t hugetlbfs nodev /dev/hugepages
  fi
  echo "setup: $got hugepages of 2 MiB reserved; hugetlbfs on $(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts)"
fi
