#!/usr/bin/env bash
# Capacity report: how much a super peer relays on this machine, how fast it
# registers nodes, and how much memory a registered peer costs.
#
#   scripts/capacity-report.sh --quick          # < 2 minutes, self-checking (CI)
#   scripts/capacity-report.sh                  # full sweep for operators (long)
#   scripts/capacity-report.sh --out DIR ...    # default ./capacity-report
#
# For every backend available (kernel sockets; DPDK when both binaries support
# it, else skipped with the reason), every worker count and peer count, it
# starts build/drasyl-sp on loopback (ephemeral ports, MAX_PEERS=0,
# PEERS_PRINT_INTERVAL=0, MIN_POW_DIFFICULTY = the identities' difficulty),
# lets build/drasyl-loadgen register the peers (measuring registrations/s and
# the super peer's RSS growth per peer), flood HELLOs (HELLO/s for known
# peers), and search the highest APP rate with loss < 0.1 % (an open-loop
# probe, a ladder of fractions of what it offered or, when it lost messages,
# of what the super peer relayed under it, then bisection).
#
# The capacity rows turn the per-source limits off (MAX_PEERS_PER_SOURCE,
# CONTROL_RATE_PER_SOURCE, MAX_TCP_CONNECTIONS_PER_SOURCE = 0): the generator
# plays many nodes from a few addresses. The attack rows keep every default
# (MIN_POW_DIFFICULTY = the identities' difficulty, TCP on 127.0.0.1) and
# measure, for each attack from one address (bench/loadgen/attack.h), how
# fresh nodes register and registered nodes' HELLOs are answered meanwhile
# (scripts/capacity/attacks.py makes their rows and table).
#
# Writes DIR/capacity.json (one object per backend and configuration, and
# one per attack, which has an "attack" key),
# DIR/capacity.md (for operators), DIR/capacity.png (relayed Mpps and p99
# latency against offered load, one curve per backend and worker count) and
# DIR/logs/. Exits non-zero when a run fails or a report file is missing or
# malformed; the last line says which.
#
# Options:
#   --quick              small sweep (CI): 1000 peers (+ 20000 for memory), 1 s steps
#   --out DIR            output directory (default ./capacity-report)
#   --build DIR          build directory with drasyl-sp and drasyl-loadgen
#                        (default $BUILD_DIR or build; built when missing)
#   --difficulty N       proof-of-work difficulty of the node identities and the
#                        super peer's MIN_POW_DIFFICULTY (default 8: 1 000 000
#                        identities take about a minute; 24 takes seconds each)
#   --identities FILE    identity cache (default ~/.cache/drasyl-loadgen/identities-d<N>.bin)
#   --workers "1 2"      worker counts
#   --peers "1000 ..."   registered peer counts (the first one also sweeps --payloads)
#   --payloads "64 ..."  APP payload sizes at the first peer count
#   --duration S         seconds per traffic step
#   --send-unites N      super peer SEND_UNITES (default -1: relay only; UNITEs
#                        are control-plane work the generator cannot answer)
#   --backends "socket dpdk"  backends to try (default both; "af_xdp" only when
#                        named: --af_xdp on a veth pair, the generator in a
#                        network namespace, its receiving on its own CPU)
#   --no-dpdk            same as --backends socket
#   --attacks "forged ..."  attack rows (default: none forged sybil garbage
#                        tcp-idle replay; "" skips them): one super peer with
#                        default limits each, drasyl-loadgen --attack=KIND
#   --attack-seconds S   duration of each attack (default 3 with --quick, else 10)
#
# The DPDK backend runs when both binaries have DPDK, we are root and
# /dev/net/tun exists: the super peer gets a net_memif server port (plus the
# TAP its DPDK backend makes) with address 10.99.78.1/24, the generator the
# memif client with 10.99.78.2, one worker lcore. The generator's traffic
# loop runs to completion on one CPU (its EAL -l): the first one no super
# peer worker lcore uses, else CPU 0 (next to the super peer's control
# thread). It is skipped, with the reason, when a prerequisite is missing or
# the super peer does not come up with its DPDK backend.
#
# The logic is Python, in scripts/capacity/ (report.py runs it; the backends
# are one table in backends.py; unit tests *_test.py, run first and by ctest);
# the super peer is started by scripts/super_peer.py.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh  # (the working directory is the repository root)
build_dir_and_help "$@"
log() { echo "capacity-report: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
command -v python3 >/dev/null || fail "python3 is missing (scripts/setup.sh installs it)"
ensure_sp_and_loadgen "$BUILD"
exec python3 scripts/capacity/report.py "$@" --sp-bin "$SP_BIN" --lg-bin "$LG_BIN"
