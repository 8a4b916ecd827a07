#!/usr/bin/env bash
# End-to-end memif benchmark (issue #4): how close the super peer's DPDK
# backend comes to what a DPDK application can forward at all over the same
# memif link on this machine.
#
#   scripts/memif-bench.sh                      # about 1 minute with the defaults
#   scripts/memif-bench.sh --out FILE           # default build/memif-bench.json
#
# 0. The link alone, no code of ours: two dpdk-testpmd with one forwarding
#    lcore each (the memif client's on CPU 0, the server's on CPU 1), frames
#    the size of our APP messages: txonly -> rxonly (one way: what the link
#    carries), and flowgen (client: sends and receives on one core, as
#    drasyl-loadgen does) <-> io forwarding (server): what a one-core
#    generator gets back through a forwarder that does nothing else.
# 1. Ceiling: dpdk-testpmd, io forwarding (no header rewrite), one forwarding
#    lcore, as the memif server; build/drasyl-loadgen is the memif client
#    (rsize=14, as in scripts/capacity-report.sh) and offers 64-byte-payload
#    APP messages open loop. What testpmd sends back is counted by testpmd
#    (`show port stats 0`, its Tx-pps over a window in the middle of the open
#    loop step).
#    The loadgen only sends traffic after at least one node registered (an
#    ACK from a real super peer), so testpmd starts with a second memif port,
#    a client of a super peer, in chained topology (0 -> 1, 1 -> 0): the
#    nodes register through testpmd. Then testpmd is switched to
#    `set portlist 0` (chained with one port: 0 -> 0, the loadgen's own
#    traffic straight back) and that super peer is stopped (SIGSTOP) for the
#    measurement, so that nothing but testpmd runs on lcore 1. The loadgen
#    takes its own frames back as relayed (--dpdk_accept_reflected): it
#    accounts for every returned message as it does for the super peer's,
#    so both figures include the same receive work on lcore 0.
#    Before the open-loop steps, a step at --floor-rate with testpmd in
#    5tswap mode (MACs, addresses and ports swapped: the loadgen counts what
#    comes back as relayed): loss and latency of the path without the super
#    peer, the floor under the super peer's figures at that rate.
# 2. Super peer: a fresh build/drasyl-sp with its DPDK backend, one worker,
#    memif server; the loadgen as memif client exactly as the capacity report
#    runs it: open-loop steps (relayed Mpps) and the loss < 0.1 % search.
#    Two open-loop probes, the better one counting (as the ceiling is the
#    better of two testpmd modes): the one-core generator also receives
#    everything relayed, and where it settles differs from probe to probe.
# 3. Prints both figures and their ratio (goal >= 70 %), writes JSON to --out.
#
# Pinning (2 cores): CPU 1 runs testpmd's forwarding lcore or the super
# peer's worker; CPU 0 the load generator (taskset -c 0 and EAL -l 0: its
# traffic loop runs to completion there), testpmd's main lcore (waiting on
# its command line) and the super peer's control thread.
#
# Options:
#   --out FILE        JSON result (default build/memif-bench.json); logs go to
#                     FILE's name without .json + .logs/
#   --build DIR       build directory with drasyl-sp and drasyl-loadgen
#                     (default $BUILD_DIR or build; built when missing)
#   --nodes N         simulated nodes (default 1000, as the quick capacity report)
#   --payload B       APP payload bytes (default 64)
#   --duration S      seconds per traffic step (default 2)
#   --difficulty N    proof-of-work difficulty of the identities (default 8)
#   --no-search       super peer: open loop only, no loss < 0.1 % search
#   --no-raw          skip step 0 (testpmd against testpmd)
#   --floor-rate PPS  rate of the 5tswap step of 1. (default 5000000)
#   --rounds N        run 1.-3. N times (default 1; 1..20) and report the
#                     medians: on a shared 2-core host one round can land
#                     anywhere between 65 and 150 %. Rounds go to FILE's name
#                     without .json + .roundK.json, the medians to FILE
#
# Needs root, /dev/net/tun (the super peer's TAP), dpdk-testpmd (Debian
# package dpdk-dev) and binaries built with DPDK. Exits non-zero when a run
# fails (the last line says which); not when the goal is missed.
#
# The logic is Python, in scripts/memif_bench/ (bench.py runs it, testpmd.py
# drives dpdk-testpmd, results.py computes the figures; unit tests
# *_test.py, run by ctest); the super peer is started by scripts/super_peer.py
# with the capacity report's settings.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh  # (the working directory is the repository root)
build_dir_and_help "$@"
log() { echo "memif-bench: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
command -v python3 >/dev/null || fail "python3 is missing"
ensure_sp_and_loadgen "$BUILD"
exec python3 scripts/memif_bench/bench.py "$@" --sp-bin "$SP_BIN" --lg-bin "$LG_BIN"
