#!/usr/bin/env bash
# Soak test of the super peer under mixed traffic and faults (issue 16).
#
#   scripts/soak.sh [--minutes N] [--out DIR] [--build DIR]
#
# Runs build/drasyl-sp on loopback (kernel sockets, default limits) for N
# minutes (default 1) under relay traffic, HELLO floods, forged and Sybil
# HELLOs, garbage, replays and TCP clients that connect, stall and vanish
# (all from build/drasyl-loadgen), SIGKILLs and restarts it with the same
# identity, and checks: no crash; RSS flat after warm-up (<= 1.10 x the
# warm-up max + 2 MiB per process); per worker received = relayed + dropped
# + handed to the control thread; a probe node's HELLOs answered throughout.
# The logic is in scripts/soak.py, the checks and bounds in soak_checks.py
# (unit tests: soak_test.py, run first). Writes DIR/soak.json (default
# build/soak) and DIR/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=1
OUT=build/soak
BUILD=${BUILD_DIR:-build}
while (($#)); do
  case "$1" in
    --minutes) MINUTES=$2; shift ;;
    --minutes=*) MINUTES=${1#*=} ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#*=} ;;
    --build) BUILD=$2; shift ;;
    --build=*) BUILD=${1#*=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
log() { echo "soak: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_sp_and_loadgen "$BUILD"
python3 -m unittest -q scripts/soak_test.py 2>&1 | tail -3 >&2 || fail "soak_test.py"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 scripts/soak.py --minutes "$MINUTES" --out "$OUT" --sp-bin "$SP_BIN" --lg-bin "$LG_BIN"
