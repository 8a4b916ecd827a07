#!/usr/bin/env bash
# The Debian package and the observability files, tested for real (part of
# scripts/test.sh; ~1 min): builds build/drasyl-sp_<version>_amd64.deb
# (lintian), installs it, runs the super peer as its unit would, registers
# nodes, restarts, reinstalls, runs the DPDK unit on net_af_packet, purges
# (scripts/package_test.py; without root only the build and lintian); then
# promtool on the alert rules, and a real Prometheus scraping a super peer
# (scripts/observability_test.py).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/package_test.py "$@"
python3 scripts/observability_test.py
