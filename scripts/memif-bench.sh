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
set -euo pipefail
cd "$(dirname "$0")/.."
START_TIME=$(date +%s)

BUILD=${BUILD_DIR:-build}
OUT=""
NODES=1000
PAYLOAD=64
DURATION=2
DIFFICULTY=8
SEARCH=1
RAW=1
FLOOR_RATE=5000000
ROUNDS=1
GOAL_PCT=70  # issue #4: the super peer relays at least this share of testpmd's figure
ARGS=("$@")
while (($#)); do
  case "$1" in
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#*=} ;;
    --build) BUILD=$2; shift ;;
    --build=*) BUILD=${1#*=} ;;
    --nodes) NODES=$2; shift ;;
    --nodes=*) NODES=${1#*=} ;;
    --payload) PAYLOAD=$2; shift ;;
    --payload=*) PAYLOAD=${1#*=} ;;
    --duration) DURATION=$2; shift ;;
    --duration=*) DURATION=${1#*=} ;;
    --difficulty) DIFFICULTY=$2; shift ;;
    --difficulty=*) DIFFICULTY=${1#*=} ;;
    --no-search) SEARCH=0 ;;
    --no-raw) RAW=0 ;;
    --floor-rate) FLOOR_RATE=$2; shift ;;
    --floor-rate=*) FLOOR_RATE=${1#*=} ;;
    --rounds) ROUNDS=$2; shift ;;
    --rounds=*) ROUNDS=${1#*=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "memif-bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
: "${OUT:=$BUILD/memif-bench.json}"

log() { echo "memif-bench: $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
[[ $DURATION =~ ^([1-9]|10)(\.[0-9]+)?$ ]] || fail "--duration must be 1..10 seconds"
[[ $NODES =~ ^[0-9]+$ && $NODES -ge 2 && $NODES -le 100000 ]] || fail "--nodes must be 2..100000"
[[ $PAYLOAD =~ ^[0-9]+$ ]] || fail "--payload must be a number"
[[ $FLOOR_RATE =~ ^[1-9][0-9]*$ ]] || fail "--floor-rate must be a positive number of messages/s"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 20 ]] || fail "--rounds must be 1..20"

if ((ROUNDS > 1)); then
  # Each round is a complete run of this script (its own processes, sockets
  # and logs); the --rounds and --out given last win over those in ARGS.
  mkdir -p "$(dirname "$OUT")"
  round_files=()
  for ((k = 1; k <= ROUNDS; k++)); do
    log "round $k/$ROUNDS"
    "$0" "${ARGS[@]}" --rounds=1 --out="${OUT%.json}.round$k.json" | sed 's/^/    /'
    round_files+=("${OUT%.json}.round$k.json")
  done
  python3 - "$OUT" "$GOAL_PCT" "${round_files[@]}" <<'EOF' || fail "could not write $OUT"
import json, statistics, sys
out, goal, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rounds = [json.load(open(p)) for p in paths]
def med(get):
    xs = [x for x in (get(r) for r in rounds) if x is not None]
    return round(statistics.median(xs), 4) if xs else None
res = {
    "rounds": len(rounds), "round_files": paths,
    "ceiling_mpps": med(lambda r: r["ceiling"]["forwarded_mpps"]),
    "super_peer_open_loop_mpps": med(lambda r: r["super_peer"]["open_loop"]["relayed_mpps"]),
    "super_peer_max_lossless_mpps": med(lambda r: r["super_peer"]["max_lossless_mpps"]),
    # the median of the per-round ratios: each round's two figures ran seconds apart
    "ratio_pct": med(lambda r: r["ratio_pct"]),
    "ratio_pct_per_round": [r["ratio_pct"] for r in rounds],
    "ratio_lossless_pct": med(lambda r: r["ratio_lossless_pct"]),
    "goal_pct": goal,
}
res["goal_met"] = res["ratio_pct"] is not None and res["ratio_pct"] >= goal
with open(out, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
print(f"{len(rounds)} rounds, medians: ceiling {res['ceiling_mpps']} Mpps, super peer open loop "
      f"{res['super_peer_open_loop_mpps']} Mpps"
      + (f", loss < 0.1 % {res['super_peer_max_lossless_mpps']} Mpps"
         if res["super_peer_max_lossless_mpps"] is not None else ""))
print(f"ratio: median {res['ratio_pct']} % of the ceiling (rounds: "
      f"{', '.join(str(x) for x in res['ratio_pct_per_round'])}) "
      f"(goal >= {goal} %: {'met' if res['goal_met'] else 'not met'})")
EOF
  log "OK: $ROUNDS rounds -> $OUT"
  exit 0
fi

# --- prerequisites
command -v python3 >/dev/null || fail "python3 is missing"
TESTPMD=$(command -v dpdk-testpmd || true)
[[ -n $TESTPMD ]] || fail "dpdk-testpmd is missing (Debian: apt-get install dpdk-dev)"
(($(id -u) == 0)) || fail "needs root (DPDK memif ports, the super peer's TAP interface)"
[[ -c /dev/net/tun ]] || fail "no /dev/net/tun for the super peer's TAP interface"
(($(nproc) >= 2)) || fail "needs 2 cores (lcore 0: generator, lcore 1: forwarder)"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh  # (the working directory is the repository root)
ensure_sp_and_loadgen "$BUILD"
"$LG_BIN" --list_backends 2>/dev/null | grep -qx dpdk || fail "$LG_BIN has no DPDK backend"

mkdir -p "$(dirname "$OUT")"
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
LOGS=${OUT%.json}.logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
rm -f "$OUT"

CACHE=${DRASYL_LOADGEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drasyl-loadgen}
mkdir -p "$CACHE"
IDENTITIES="$CACHE/identities-d$DIFFICULTY.bin"
SP_IDENTITY="$CACHE/super-peer-d$DIFFICULTY.identity"

# Our own memif sockets (abstract by default in DPDK 22.11, removed anyway),
# EAL file prefix for testpmd, and addresses (not the capacity report's
# 10.99.78.0/24, so that both can run at once).
TAG=drasyl-memif-bench-$$
LG_SOCK=/tmp/$TAG-lg.memif   # testpmd (server) <-> loadgen (client)
SP_SOCK=/tmp/$TAG-sp.memif   # super peer (server) <-> testpmd or loadgen (client)
FIFO=$LOGS/testpmd.stdin
TP_PREFIX=$TAG
SP_ADDR=10.99.79.1
LG_ADDR=10.99.79.2
RUNDIR_EXISTED=0
[[ -d /var/run/dpdk/rte ]] && RUNDIR_EXISTED=1
DPDK_DIR_EXISTED=0
[[ -d /var/run/dpdk ]] && DPDK_DIR_EXISTED=1

SP_PID=""
TP_PID=""
LG_PID=""
TP_FD_OPEN=0
RAW_PIDS=()
stop_pid() {  # PID: TERM (after CONT), wait up to 5 s, then KILL
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# Commands to testpmd (a subshell ignores SIGPIPE should testpmd be gone).
tp() { (trap '' PIPE; printf '%s\n' "$@" >&7) 2>/dev/null || true; }
stop_testpmd() {
  if ((TP_FD_OPEN)); then
    if [[ -n $TP_PID ]] && kill -0 "$TP_PID" 2>/dev/null; then
      tp stop quit
      for _ in $(seq 50); do
        kill -0 "$TP_PID" 2>/dev/null || break
        sleep 0.1
      done
    fi
    exec 7>&-
    TP_FD_OPEN=0
  fi
  stop_pid "$TP_PID"
  TP_PID=""
  rm -f "$FIFO"
  rm -rf "/var/run/dpdk/$TP_PREFIX"
}
cleanup() {
  stop_pid "$LG_PID"
  LG_PID=""
  local pid
  for pid in "${RAW_PIDS[@]+"${RAW_PIDS[@]}"}"; do stop_pid "$pid"; done
  RAW_PIDS=()
  rm -rf "/var/run/dpdk/$TP_PREFIX-rs" "/var/run/dpdk/$TP_PREFIX-rc" "/tmp/$TAG-raw.memif"
  stop_testpmd
  stop_pid "$SP_PID"
  SP_PID=""
  rm -f "$LG_SOCK" "$SP_SOCK" "$FIFO"
  rm -rf "/var/run/dpdk/$TP_PREFIX"
  # The EAL of drasyl-sp / drasyl-loadgen (--no-shconf) leaves an empty
  # default runtime directory: remove it when it was not there before.
  if ((!RUNDIR_EXISTED)); then rmdir /var/run/dpdk/rte 2>/dev/null || true; fi
  if ((!DPDK_DIR_EXISTED)); then rmdir /var/run/dpdk 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Waits until FILE has a line matching the ERE, at most SECONDS, while PID
# lives; returns 1 otherwise.
wait_for() {
  local file=$1 re=$2 seconds=$3 pid=${4:-}
  local end=$((SECONDS + ${seconds%.*} + 1))
  while ((SECONDS < end)); do
    grep -qE "$re" "$file" 2>/dev/null && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      grep -qE "$re" "$file" 2>/dev/null && return 0
      return 1
    fi
    sleep 0.05
  done
  return 1
}

# start_sp TAG: a super peer with its DPDK backend (one worker: -l 0-1) on a
# memif server port at $SP_SOCK, as scripts/capacity-report.sh starts it.
# Sets SP_PID and SP_URL.
start_sp() {
  local tag=$1
  rm -f "$SP_SOCK"
  env DRASYL_IDENTITY_FILE="$SP_IDENTITY" DRASYL_UDP4_LISTEN=$SP_ADDR:22527 \
    DRASYL_DPDK_ADDR=$SP_ADDR/24 \
    "DRASYL_DPDK_EAL=--no-pci -l 0-1 --vdev=net_memif0,role=server,socket=$SP_SOCK" \
    DRASYL_UDP6_LISTEN= DRASYL_TCP4_LISTEN= DRASYL_TCP6_LISTEN= \
    DRASYL_PROMETHEUS_LISTEN=127.0.0.1:0 DRASYL_MIN_POW_DIFFICULTY="$DIFFICULTY" \
    DRASYL_PEERS_PRINT_INTERVAL=0 DRASYL_MAX_PEERS=0 DRASYL_WORKERS=1 \
    DRASYL_SEND_UNITES=-1 DRASYL_HELLO_TIMEOUT=600000 RUST_LOG=info \
    "$SP_BIN" >"$LOGS/sp-$tag.out" 2>"$LOGS/sp-$tag.err" &
  SP_PID=$!
  wait_for "$LOGS/sp-$tag.out" 'udp://' 10 "$SP_PID" ||
    fail "drasyl-sp ($tag) did not start: $(grep -v '^I' "$LOGS/sp-$tag.err" | tail -1) (see $LOGS/sp-$tag.err)"
  SP_URL=$(grep -o 'udp://[^ ]*' "$LOGS/sp-$tag.out" | head -1)
  wait_for "$LOGS/sp-$tag.err" 'backend [a-z]* with' 5 "$SP_PID" || true
  grep -q 'backend dpdk with' "$LOGS/sp-$tag.err" ||
    fail "drasyl-sp ($tag) did not come up with its DPDK backend (see $LOGS/sp-$tag.err)"
}

# The loadgen: pinned to lcore 0, memif client with rsize=14.
LG_RUN=(timeout -s INT 90 taskset -c 0 "$LG_BIN")
LG_COMMON=(--url=__URL__ --nodes="$NODES" --identities="$IDENTITIES" --difficulty="$DIFFICULTY"
           --payload="$PAYLOAD" --pattern=all --hello_flood_ms=0 --json --backend=dpdk
           "--dpdk_local_ip=$LG_ADDR")
lg_args() {  # SOCKET URL: the common flags for a memif client of SOCKET
  local sock=$1 url=$2 a
  for a in "${LG_COMMON[@]}"; do
    [[ $a == --url=__URL__ ]] && a="--url=$url"
    printf '%s\n' "$a"
  done
  printf '%s\n' "--dpdk_eal=--no-pci -l 0 --vdev=net_memif0,role=client,socket=$sock,rsize=14"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "$NODES nodes, $PAYLOAD-byte payloads, ${DURATION}s steps; logs in $LOGS; load average $LOAD_START"

# ============================================================ 0. the link alone
FRAME=$((14 + 20 + 8 + 79 + PAYLOAD))
RAW_JSON=null
# raw_pair NAME SERVER_MODE CLIENT_MODE: a testpmd memif server (forwarding
# lcore on CPU 1) and a client (forwarding lcore on CPU 0, rsize=14); both
# ports' rates over $RAW_WINDOW s from testpmd's "show port stats 0" (the
# second answer's "since last show" figures, timed by testpmd's TSC).
RAW_WINDOW=$(python3 -c "print(round(max(1.0, float('$DURATION')), 2))")
raw_cmd() {  # FD TEXT...: commands to a testpmd (ignores SIGPIPE should it be gone)
  local fd=$1
  shift
  (trap '' PIPE; printf '%s\n' "$@" >&"$fd") 2>/dev/null || true
}
raw_pair() {
  local name=$1 smode=$2 cmode=$3
  local sock=/tmp/$TAG-raw.memif sfifo=$LOGS/raw-$name-server.stdin cfifo=$LOGS/raw-$name-client.stdin
  rm -f "$sock" "$sfifo" "$cfifo"
  mkfifo "$sfifo" "$cfifo"
  exec 8<>"$sfifo" 9<>"$cfifo"
  timeout -s INT 60 stdbuf -oL -eL "$TESTPMD" --lcores=0@0,1@1 --no-huge -m 512 --no-pci \
    --file-prefix="$TP_PREFIX-rs" --no-telemetry "--vdev=net_memif0,role=server,socket=$sock" \
    -- -i --nb-cores=1 "--forward-mode=$smode" "--txpkts=$FRAME" --total-num-mbufs=32768 \
    <"$sfifo" >"$LOGS/raw-$name-server.out" 2>&1 &
  RAW_PIDS+=($!)
  wait_for "$LOGS/raw-$name-server.out" 'Checking link statuses' 20 "${RAW_PIDS[-1]}" ||
    fail "dpdk-testpmd ($name, server) did not start (see $LOGS/raw-$name-server.out)"
  timeout -s INT 60 stdbuf -oL -eL "$TESTPMD" --lcores=0@1,1@0 --no-huge -m 512 --no-pci \
    --file-prefix="$TP_PREFIX-rc" --no-telemetry \
    "--vdev=net_memif0,role=client,socket=$sock,rsize=14" \
    -- -i --nb-cores=1 "--forward-mode=$cmode" "--txpkts=$FRAME" --total-num-mbufs=32768 \
    <"$cfifo" >"$LOGS/raw-$name-client.out" 2>&1 &
  RAW_PIDS+=($!)
  wait_for "$LOGS/raw-$name-client.out" 'Checking link statuses' 20 "${RAW_PIDS[-1]}" ||
    fail "dpdk-testpmd ($name, client) did not start (see $LOGS/raw-$name-client.out)"
  sleep 1  # the memif connection
  raw_cmd 8 start
  sleep 0.2
  raw_cmd 9 start
  sleep 1
  raw_cmd 8 "show port stats 0"
  raw_cmd 9 "show port stats 0"
  sleep "$RAW_WINDOW"
  raw_cmd 8 "show port stats 0"
  raw_cmd 9 "show port stats 0"
  sleep 0.5
  # Both stop polling before either leaves: a memif server still polling
  # when its client disconnects may crash (testpmd 22.11).
  raw_cmd 9 stop
  raw_cmd 8 stop
  sleep 0.5
  raw_cmd 9 quit
  sleep 0.5
  raw_cmd 8 quit
  local pid
  for pid in "${RAW_PIDS[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_pid "$pid"
  done
  RAW_PIDS=()
  exec 8>&- 9>&-
  rm -f "$sock" "$sfifo" "$cfifo"
  rm -rf "/var/run/dpdk/$TP_PREFIX-rs" "/var/run/dpdk/$TP_PREFIX-rc"
}
if ((RAW)); then
  log "0/2 the link alone: dpdk-testpmd against dpdk-testpmd, $FRAME-byte frames"
  raw_pair oneway rxonly txonly
  raw_pair roundtrip io flowgen
  RAW_JSON=$(python3 - "$LOGS" "$FRAME" <<'EOF'
import json, re, sys
logs, frame = sys.argv[1], int(sys.argv[2])
def rates(path):
    text = open(path, errors="replace").read()
    blocks = re.findall(r"NIC statistics for port 0\s+#+(.*?)#{20,}", text, re.S)
    if len(blocks) < 2:
        sys.exit(f"expected 2 'show port stats 0' answers in {path}, found {len(blocks)}")
    def get(name):
        m = re.search(name + r":\s+(\d+)", blocks[1])
        if not m:
            sys.exit(f"no {name} in {path}")
        return int(m.group(1)) / 1e6
    return get("Rx-pps"), get("Tx-pps")
o_rx, _ = rates(f"{logs}/raw-oneway-server.out")
_, o_tx = rates(f"{logs}/raw-oneway-client.out")
_, r_fwd = rates(f"{logs}/raw-roundtrip-server.out")
r_rx, r_tx = rates(f"{logs}/raw-roundtrip-client.out")
print(json.dumps({
    "frame_bytes": frame,
    "one_way": {"modes": "txonly (client, CPU 0) -> rxonly (server, CPU 1)",
                "received_mpps": round(o_rx, 4), "sent_mpps": round(o_tx, 4)},
    "round_trip": {"modes": "flowgen (client, CPU 0: sends and receives) <-> io (server, CPU 1)",
                   "returned_mpps": round(r_rx, 4), "sent_mpps": round(r_tx, 4),
                   "forwarded_mpps": round(r_fwd, 4)},
}))
EOF
  ) || fail "could not read testpmd's statistics (see $LOGS/raw-*.out)"
  python3 - "$RAW_JSON" >&2 <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
print(f"memif-bench: the link alone, one way (testpmd txonly -> rxonly): "
      f"{r['one_way']['received_mpps']:.3f} Mpps")
print(f"memif-bench: the link alone, round trip (testpmd flowgen <-> io): "
      f"{r['round_trip']['returned_mpps']:.3f} Mpps back ({r['round_trip']['sent_mpps']:.3f} Mpps sent)")
EOF
fi

# ============================================================ 1. the ceiling
log "1/2 ceiling: dpdk-testpmd io forwarding, 1 forwarding lcore, memif server"
start_sp ceiling
rm -f "$FIFO" "$LG_SOCK"
mkfifo "$FIFO"
# testpmd reads its commands from the FIFO, held open read-write on fd 7 (an
# open that does not wait for testpmd, and no EOF for it); line-buffered
# output so that the script sees its answers as they come.
exec 7<>"$FIFO"
TP_FD_OPEN=1
timeout -s INT 120 stdbuf -oL -eL "$TESTPMD" -l 0,1 --no-huge -m 512 --no-pci \
  --file-prefix="$TP_PREFIX" --no-telemetry \
  "--vdev=net_memif0,role=server,socket=$LG_SOCK" \
  "--vdev=net_memif1,role=client,socket=$SP_SOCK" \
  -- -i --nb-cores=1 --forward-mode=io --port-topology=chained --total-num-mbufs=32768 \
  <"$FIFO" >"$LOGS/testpmd.out" 2>&1 &
TP_PID=$!
wait_for "$LOGS/testpmd.out" 'Checking link statuses' 20 "$TP_PID" ||
  fail "dpdk-testpmd did not start: $(tail -3 "$LOGS/testpmd.out" | tr '\n' ' ') (see $LOGS/testpmd.out)"
tp "start"
wait_for "$LOGS/testpmd.out" 'io packet forwarding - ports=2' 10 "$TP_PID" ||
  fail "dpdk-testpmd did not start forwarding: $(grep -E 'Fail|Not all|rror' "$LOGS/testpmd.out" | head -2 | tr '\n' ' ') (see $LOGS/testpmd.out)"

# A warm-up step at 20 kpps (the nodes register through testpmd before it,
# the switch happens during it), the floor step at --floor-rate (5tswap),
# then two open-loop steps: testpmd's plain io forwarding (a burst the memif
# ring cannot take is dropped), then io with TX retry (`set fwd io retry`: it
# waits for room in the ring, pushing back on the generator). Each open-loop
# step is measured by testpmd over a window in its middle.
mapfile -t args < <(lg_args "$LG_SOCK" "$SP_URL")
"${LG_RUN[@]}" "${args[@]}" --rates="20000,$FLOOR_RATE,0,0" --duration="$DURATION" --hello_interval_ms=0 \
  --dpdk_accept_reflected >"$LOGS/loadgen-ceiling.json" 2>"$LOGS/loadgen-ceiling.log" &
LG_PID=$!
wait_for "$LOGS/loadgen-ceiling.log" '^loadgen: registered' 60 "$LG_PID" ||
  fail "loadgen (ceiling) did not register: $(tail -2 "$LOGS/loadgen-ceiling.log" | tr '\n' ' ') (see $LOGS/loadgen-ceiling.log)"
grep -q '^loadgen: registered [1-9]' "$LOGS/loadgen-ceiling.log" ||
  fail "no node registered through testpmd (see $LOGS/loadgen-ceiling.log, $LOGS/testpmd.out)"
# Loop the loadgen's port back onto itself, addresses swapped for the floor
# step; the super peer sleeps meanwhile.
tp "stop" "set portlist 0" "set fwd 5tswap" "start"
wait_for "$LOGS/testpmd.out" '5tswap packet forwarding - ports=1' 5 "$TP_PID" ||
  fail "dpdk-testpmd did not switch to the loadgen's port alone (see $LOGS/testpmd.out)"
kill -STOP "$SP_PID"
WINDOW=$(python3 -c "print(round(max(0.5, float('$DURATION') - 0.8), 2))")
STEP_WAIT=$((${DURATION%.*} + 10))
# measure_window NAME: testpmd's rates over $WINDOW s (the second answer's
# "since last show" figures, timed by testpmd's TSC); the script's clock too.
measure_window() {
  sleep 0.4
  tp "show port stats 0"
  local t0
  t0=$(date +%s.%N)
  sleep "$WINDOW"
  tp "show port stats 0"
  echo "$1 $t0 $(date +%s.%N)" >>"$LOGS/windows.txt"
}
: >"$LOGS/windows.txt"
wait_for "$LOGS/loadgen-ceiling.log" '^loadgen: step 1 ' "$STEP_WAIT" "$LG_PID" ||
  fail "loadgen (ceiling) did not finish its warm-up step (see $LOGS/loadgen-ceiling.log)"
wait_for "$LOGS/loadgen-ceiling.log" '^loadgen: step 2 ' "$STEP_WAIT" "$LG_PID" ||
  fail "loadgen (ceiling) did not finish its floor step (see $LOGS/loadgen-ceiling.log)"
tp "stop" "set fwd io" "start"
wait_for "$LOGS/testpmd.out" 'io packet forwarding - ports=1' 5 "$TP_PID" ||
  fail "dpdk-testpmd did not switch to io forwarding (see $LOGS/testpmd.out)"
measure_window io
tp "stop" "set fwd io retry" "start"
wait_for "$LOGS/testpmd.out" 'io packet forwarding with retry - ports=1' 5 "$TP_PID" ||
  fail "dpdk-testpmd did not switch to io forwarding with retry (see $LOGS/testpmd.out)"
wait_for "$LOGS/loadgen-ceiling.log" '^loadgen: step 3 ' "$STEP_WAIT" "$LG_PID" ||
  fail "loadgen (ceiling) did not finish its first open-loop step (see $LOGS/loadgen-ceiling.log)"
measure_window io_retry
rc=0
wait "$LG_PID" || rc=$?
LG_PID=""
tp "stop"
sleep 0.3
kill -CONT "$SP_PID" 2>/dev/null || true
stop_testpmd
stop_pid "$SP_PID"
SP_PID=""
((rc == 0)) || fail "loadgen (ceiling) exited $rc (see $LOGS/loadgen-ceiling.log)"
[[ -s $LOGS/loadgen-ceiling.json ]] || fail "loadgen (ceiling) wrote no JSON (see $LOGS/loadgen-ceiling.log)"
CEILING=$(python3 - "$LOGS/testpmd.out" "$LOGS/loadgen-ceiling.json" "$LOGS/windows.txt" "$FLOOR_RATE" <<'EOF'
import json, re, sys
out, lg_path, windows_path, floor_rate = sys.argv[1:5]
text = open(out, errors="replace").read()
blocks = re.findall(r"NIC statistics for port 0\s+#+(.*?)#{20,}", text, re.S)
windows = [l.split() for l in open(windows_path) if l.strip()]
if len(windows) != 2 or len(blocks) != 4:
    sys.exit(f"expected 4 'show port stats 0' answers in testpmd's output, found {len(blocks)}")
def field(block, name):
    m = re.search(name + r":\s+(\d+)", block)
    if not m:
        sys.exit(f"no {name} in testpmd's port statistics")
    return int(m.group(1))
lg = json.loads(open(lg_path).read().strip().splitlines()[-1])
open_loop = [s for s in lg["steps"] if s["target_pps"] == 0]
if len(open_loop) != 2:
    sys.exit("the loadgen did not run both open-loop steps")
modes = {}
for i, (name, t0, t1) in enumerate(windows):
    a, b = blocks[2 * i], blocks[2 * i + 1]
    dt = float(t1) - float(t0)
    rx = field(b, "RX-packets") - field(a, "RX-packets")
    tx = field(b, "TX-packets") - field(a, "TX-packets")
    modes[name] = {
        "window_s": round(dt, 3),
        # testpmd's own rates between the two answers (its TSC)
        "forwarded_mpps": round(field(b, "Tx-pps") / 1e6, 4),
        "received_mpps": round(field(b, "Rx-pps") / 1e6, 4),
        # the same from the counters over the script's clock
        "forwarded_mpps_counters": round(tx / dt / 1e6, 4),
        "received_mpps_counters": round(rx / dt / 1e6, 4),
        # io forwarding: what was received and not sent back was dropped at TX
        "tx_dropped_pct": round(100 * (rx - tx) / rx, 2) if rx else None,
        "loadgen_offered_mpps": round(open_loop[i]["offered_pps"] / 1e6, 4),
        "loadgen_tx_errors": open_loop[i]["tx_errors"],
    }
best = max(modes, key=lambda m: modes[m]["forwarded_mpps"])
floor = [s for s in lg["steps"] if s["target_pps"] == float(floor_rate)]
if len(floor) != 1:
    sys.exit("the loadgen did not run the floor step")
f = floor[0]
print(json.dumps({
    "tool": "dpdk-testpmd", "forward_mode": "io", "forwarding_lcores": 1,
    "forwarded_mpps": modes[best]["forwarded_mpps"], "best_of": best,
    "modes": modes, "registered": lg["registration"]["registered"],
    # the path without the super peer (testpmd 5tswap), measured by the loadgen
    "floor": {"forward_mode": "5tswap", "target_mpps": round(f["target_pps"] / 1e6, 4),
              "offered_mpps": round(f["offered_pps"] / 1e6, 4),
              "returned_mpps": round(f["relayed_pps"] / 1e6, 4), "loss_pct": f["loss_pct"],
              "p50_us": f["latency_us"]["p50"], "p99_us": f["latency_us"]["p99"],
              "p999_us": f["latency_us"]["p999"]},
}))
EOF
) || fail "could not read testpmd's statistics (see $LOGS/testpmd.out)"
echo "$CEILING" >"$LOGS/ceiling.json"
python3 - "$CEILING" >&2 <<'EOF'
import json, sys
c = json.loads(sys.argv[1])
f = c["floor"]
print(f"memif-bench: floor, testpmd 5tswap at {f['target_mpps']:.3f} Mpps: {f['returned_mpps']:.3f} Mpps back, "
      f"loss {f['loss_pct']} %, latency p50 {f['p50_us']} us, p99 {f['p99_us']} us")
for name, m in c["modes"].items():
    print(f"memif-bench: ceiling, testpmd {name.replace('_', ' ')}: forwarded {m['forwarded_mpps']:.3f} Mpps "
          f"(received {m['received_mpps']:.3f}, {m['tx_dropped_pct']} % dropped at TX; "
          f"loadgen offered {m['loadgen_offered_mpps']:.3f} Mpps)")
EOF

# ============================================================ 2. the super peer
log "2/2 super peer: DPDK backend, 1 worker, memif server"
start_sp relay
mapfile -t args < <(lg_args "$SP_SOCK" "$SP_URL")
if ((SEARCH)); then
  mode=(--search --search_probes=2 --search_refine=2)
else
  mode=(--rates=0,0)
fi
rc=0
"${LG_RUN[@]}" "${args[@]}" "${mode[@]}" --duration="$DURATION" --hello_interval_ms=5000 \
  >"$LOGS/loadgen-sp.json" 2>"$LOGS/loadgen-sp.log" &
LG_PID=$!
wait "$LG_PID" || rc=$?
LG_PID=""
stop_pid "$SP_PID"
SP_PID=""
grep -E '^loadgen: (registered|step|highest)' "$LOGS/loadgen-sp.log" | sed 's/^/    /' >&2 || true
((rc == 0)) || fail "loadgen (super peer) exited $rc (see $LOGS/loadgen-sp.log)"
[[ -s $LOGS/loadgen-sp.json ]] || fail "loadgen (super peer) wrote no JSON (see $LOGS/loadgen-sp.log)"

# ============================================================ 3. report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - START_TIME))
python3 - "$OUT" "$LOGS/loadgen-sp.json" "$CEILING" "$NODES" "$PAYLOAD" "$DURATION" \
  "$LOAD_START" "$LOAD_END" "$ELAPSED" "$SEARCH" "$RAW_JSON" "$GOAL_PCT" <<'EOF' || fail "could not write $OUT"
import json, os, platform, sys, time
out, lg_path, ceiling, nodes, payload, duration, load0, load1, elapsed, search, raw, goal = sys.argv[1:13]
goal = int(goal)
raw = json.loads(raw)
c = json.loads(ceiling)
lg = json.loads(open(lg_path).read().strip().splitlines()[-1])
ol = max((s for s in lg["steps"] if s["target_pps"] == 0), key=lambda s: s["relayed_pps"])
best = lg.get("max_lossless") or {}
ceil = c["forwarded_mpps"]
sp_ol = ol["relayed_pps"] / 1e6
sp_ll = best.get("relayed_pps", 0) / 1e6 if best else None
def ratio(x):
    return round(100 * x / ceil, 1) if ceil > 0 and x is not None else None
res = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(), "cpus": os.cpu_count(),
    "load_average": {"start": load0, "end": load1}, "elapsed_s": int(elapsed),
    "nodes": int(nodes), "payload_bytes": int(payload), "message_bytes": lg["message_bytes"],
    "step_seconds": float(duration), "memif": {"loadgen_role": "client", "rsize": 14},
    "pinning": {"lcore1": "testpmd forwarding lcore / super peer worker",
                "lcore0": "loadgen (taskset -c 0, EAL -l 0), testpmd main lcore, super peer control thread"},
    "link_alone": raw,
    "ceiling": c,
    "super_peer": {
        "workers": 1,
        "open_loop": {"offered_mpps": round(ol["offered_pps"] / 1e6, 4),
                      "relayed_mpps": round(sp_ol, 4), "loss_pct": ol["loss_pct"],
                      "p99_us": ol["latency_us"]["p99"]},
        "max_lossless_mpps": round(sp_ll, 4) if sp_ll is not None and search == "1" else None,
        "max_lossless_p99_us": best.get("latency_us", {}).get("p99") if search == "1" else None,
        "max_lossless_p50_us": best.get("latency_us", {}).get("p50") if search == "1" else None,
        "generator_limited": lg["generator_limited"] if search == "1" else None,
        "steps": [{"target_pps": s["target_pps"], "offered_mpps": round(s["offered_pps"] / 1e6, 4),
                   "relayed_mpps": round(s["relayed_pps"] / 1e6, 4), "loss_pct": s["loss_pct"]}
                  for s in lg["steps"]],
    },
    # the super peer's open-loop relayed rate against the best testpmd mode
    "ratio_pct": ratio(sp_ol),
    "ratio_lossless_pct": ratio(sp_ll) if search == "1" else None,
    "ratio_vs_plain_io_pct": round(100 * sp_ol / c["modes"]["io"]["forwarded_mpps"], 1)
                             if c["modes"]["io"]["forwarded_mpps"] > 0 else None,
    "note": "the generator sends and receives on lcore 0 alone, so both figures can be "
            "bounded by what it absorbs (compare received_mpps with forwarded_mpps)",
    "goal_pct": goal,
}
res["goal_met"] = res["ratio_pct"] is not None and res["ratio_pct"] >= goal
with open(out, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
if raw:
    print(f"link alone, testpmd txonly -> rxonly:    {raw['one_way']['received_mpps']:.3f} Mpps one way")
    print(f"link alone, testpmd flowgen <-> io:      {raw['round_trip']['returned_mpps']:.3f} Mpps round trip")
fl = c["floor"]
print(f"floor, loadgen <-> testpmd 5tswap:       {fl['returned_mpps']:.3f} Mpps at {fl['target_mpps']:.3f}, "
      f"loss {fl['loss_pct']} %, p50 {fl['p50_us']} us, p99 {fl['p99_us']} us")
for name, m in c["modes"].items():
    label = f"testpmd {name.replace('_', ' ')}, 1 lcore:"
    print(f"ceiling, {label:<32}{m['forwarded_mpps']:.3f} Mpps forwarded "
          f"(loadgen offered {m['loadgen_offered_mpps']:.3f} Mpps)")
print(f"super peer (DPDK, 1 worker), open loop:  {sp_ol:.3f} Mpps relayed "
      f"(offered {ol['offered_pps'] / 1e6:.3f} Mpps, loss {ol['loss_pct']:.2f} %)")
if search == "1":
    print(f"super peer, loss < 0.1 %:                {sp_ll or 0:.3f} Mpps relayed"
          + (f", p50 {best['latency_us']['p50']} us, p99 {best['latency_us']['p99']} us" if best else "")
          + (" (generator-limited)" if lg["generator_limited"] else ""))
print(f"ratio: {res['ratio_pct']} % of the ceiling ({ceil:.3f} Mpps, testpmd {c['best_of'].replace('_', ' ')}) open loop"
      + (f", {res['ratio_lossless_pct']} % without loss" if search == "1" else "")
      + f"; {res['ratio_vs_plain_io_pct']} % of plain io"
      + f" (goal >= {goal} %: {'met' if res['goal_met'] else 'not met'})")
EOF
log "OK in ${ELAPSED}s -> $OUT"
