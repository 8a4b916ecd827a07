#!/usr/bin/env bash
# The socket backend's relay rate with the recipient on "another host": what
# a worker core relays when the recipient's receive path is not counted as
# the worker's, as it is on loopback (bench/socket_relay_bench.cc).
#
#   scripts/socket-relay-remote.sh                  # NIC without UDP segmentation offload
#   scripts/socket-relay-remote.sh --uso            # NIC with it
#   scripts/socket-relay-remote.sh -- --benchmark_filter=payload:1024   # other bench flags
#
# Root. Creates network namespace drasyl-srb-$$ and a veth pair: the super
# peer listens on 10.203.0.1 (srb0-$$, this namespace), the recipient at
# 10.203.0.2 (srb1-$$, the other namespace). The recipient's veth end takes
# frames through NAPI (GRO and UDP GRO forwarding on) in a kernel thread of
# its own (threaded NAPI), which the scheduler runs on the other core, as the
# recipient's host would. Without --uso the super peer's end cannot segment
# UDP, so the worker's kernel splits its GSO sends in software before the
# "driver" (veth) takes each segment, as for a NIC without USO. Removes all
# of it on exit. Default bench filter: the bulk flows (gso:1/gro:1).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN=$BUILD_DIR/bench/socket_relay_bench
log() { echo "socket-relay-remote: $*" >&2; }
fail() { log "$*"; exit 1; }

USO=0
ARGS=()
while (($#)); do
  case $1 in
    --uso) USO=1 ;;
    --) shift; ARGS=("$@"); break ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument $1 (see --help)" ;;
  esac
  shift
done
((${#ARGS[@]})) || ARGS=(--benchmark_filter=gso:1/gro:1)
[[ $(id -u) == 0 ]] || fail "needs root (network namespace, veth)"
for tool in ip ethtool; do command -v $tool >/dev/null || fail "$tool missing (scripts/setup.sh)"; done
[[ -x $BIN ]] || fail "$BIN missing (scripts/build.sh)"

NS=drasyl-srb-$$
A=srb0-$$
B=srb1-$$
cleanup() {
  ip link del "$A" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "$A" type veth peer name "$B"
ip link set "$B" netns "$NS"
ip addr add 10.203.0.1/30 dev "$A"
ip link set "$A" up
ip -n "$NS" addr add 10.203.0.2/30 dev "$B"
ip -n "$NS" link set "$B" up
ip -n "$NS" link set lo up
# NAPI on the recipient's end (veth uses it for GSO frames only with UDP GRO
# forwarding), in a thread of its own.
ip netns exec "$NS" ethtool -K "$B" gro on rx-udp-gro-forwarding on >/dev/null
ip netns exec "$NS" sh -c "echo 1 > /sys/class/net/$B/threaded" ||
  fail "threaded NAPI not available on this kernel"
if ((USO)); then
  log "recipient in $NS behind veth with threaded NAPI; super peer's end segments UDP (USO)"
else
  ethtool -K "$A" tx-udp-segmentation off >/dev/null
  log "recipient in $NS behind veth with threaded NAPI; no USO: the worker's kernel segments"
fi
SOCKET_RELAY_BENCH_REMOTE=/var/run/netns/$NS,10.203.0.1,10.203.0.2 "$BIN" "${ARGS[@]}"
