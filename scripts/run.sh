#!/usr/bin/env bash
# Sets up, builds and runs the super peer. Arguments go to drasyl-sp; the
# DRASYL_*/NETSODY_* environment variables apply as with the reference.
# Without --dpdk_eal it runs on kernel sockets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
exec build/drasyl-sp "$@"
