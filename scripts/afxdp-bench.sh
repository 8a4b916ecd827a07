#!/usr/bin/env bash
# Side-by-side relay benchmark on one veth pair: kernel sockets, --af_xdp and
# DPDK's net_af_packet, the same offered load from drasyl-loadgen (issue #20).
#
#   scripts/afxdp-bench.sh [--build DIR] [--out FILE] [--rounds N] [--rates 100k,0]
#                          [--sink_rates 50k,...,0] ...
#
# Prints the relayed rates the generator saw (--rates) and the relay
# capacity per worker core (--sink_rates: relayed per CPU-1 second). The
# logic is in scripts/afxdp_bench.py and afxdp_percore.py (see --help);
# this takes the network-namespace lock and builds what is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ ${args[i]} == --build ]] && BUILD=${args[i + 1]}
  [[ ${args[i]} == --build=* ]] && BUILD=${args[i]#--build=}
done
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in scripts/
log() { echo "afxdp-bench: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
ensure_sp_and_loadgen "$BUILD"
python3 -m unittest -q "$ROOT/scripts/afxdp_bench_test.py" 2>&1 | tail -1 >&2
exec flock /tmp/drasyl-netns.lock python3 "$ROOT/scripts/afxdp_bench.py" --build "$BUILD" "$@"
