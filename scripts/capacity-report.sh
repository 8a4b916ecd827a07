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
#   --backends "socket dpdk"  backends to try (default both)
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
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START_TIME=$(date +%s)

QUICK=0
OUT=./capacity-report
BUILD=${BUILD_DIR:-build}
DIFFICULTY=8
IDENTITIES=""
WORKERS=""
PEERS=""
PAYLOADS=""
DURATION=""
SEND_UNITES=-1
TRY_DPDK=1
TRY_SOCKET=1
ATTACKS="none forged sybil garbage tcp-idle replay"
ATTACK_SECONDS=""
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#*=} ;;
    --build) BUILD=$2; shift ;;
    --build=*) BUILD=${1#*=} ;;
    --difficulty) DIFFICULTY=$2; shift ;;
    --difficulty=*) DIFFICULTY=${1#*=} ;;
    --identities) IDENTITIES=$2; shift ;;
    --identities=*) IDENTITIES=${1#*=} ;;
    --workers) WORKERS=$2; shift ;;
    --workers=*) WORKERS=${1#*=} ;;
    --peers) PEERS=$2; shift ;;
    --peers=*) PEERS=${1#*=} ;;
    --payloads) PAYLOADS=$2; shift ;;
    --payloads=*) PAYLOADS=${1#*=} ;;
    --duration) DURATION=$2; shift ;;
    --duration=*) DURATION=${1#*=} ;;
    --send-unites) SEND_UNITES=$2; shift ;;
    --send-unites=*) SEND_UNITES=${1#*=} ;;
    --no-dpdk) TRY_DPDK=0 ;;
    --attacks) ATTACKS=$2; shift ;;
    --attacks=*) ATTACKS=${1#*=} ;;
    --attack-seconds) ATTACK_SECONDS=$2; shift ;;
    --attack-seconds=*) ATTACK_SECONDS=${1#*=} ;;
    --backends|--backends=*)
      if [[ $1 == --backends ]]; then list=$2; shift; else list=${1#*=}; fi
      TRY_SOCKET=0; TRY_DPDK=0
      for b in $list; do
        case "$b" in
          socket) TRY_SOCKET=1 ;;
          dpdk) TRY_DPDK=1 ;;
          *) echo "capacity-report: unknown backend '$b'" >&2; exit 2 ;;
        esac
      done ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "capacity-report: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if ((QUICK)); then
  : "${WORKERS:=1 2}" "${PEERS:=1000 20000}" "${PAYLOADS:=64 1024}" "${DURATION:=1}"
  REFINE=2; FLOOD_MS=1000; : "${ATTACK_SECONDS:=3}"
else
  : "${WORKERS:=1 2}" "${PEERS:=1000 10000 100000 1000000}" "${PAYLOADS:=64 512 1400}" "${DURATION:=3}"
  REFINE=3; FLOOD_MS=3000; : "${ATTACK_SECONDS:=10}"
fi
CACHE=${DRASYL_LOADGEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drasyl-loadgen}
mkdir -p "$CACHE" "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
: "${IDENTITIES:=$CACHE/identities-d$DIFFICULTY.bin}"
SP_IDENTITY="$CACHE/super-peer-d$DIFFICULTY.identity"
RUNS="$OUT/logs/runs.jsonl"
: >"$RUNS"
rm -f "$OUT/capacity.json" "$OUT/capacity.md" "$OUT/capacity.png" "$OUT"/logs/attack-*

log() { echo "capacity-report: $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
command -v python3 >/dev/null || fail "python3 is missing (scripts/setup.sh installs it)"
command -v gnuplot >/dev/null || fail "gnuplot is missing (scripts/setup.sh installs gnuplot-nox)"
python3 -m unittest -q scripts/capacity/attacks_test.py 2>"$OUT/logs/attacks_test.log" ||
  fail "scripts/capacity/attacks_test.py: $(tail -3 "$OUT/logs/attacks_test.log")"

# --- binaries
# shellcheck source=scripts/lib.sh
source scripts/lib.sh  # (the working directory is the repository root)
ensure_sp_and_loadgen "$BUILD"

# --- backends
BACKENDS=()
((TRY_SOCKET)) && BACKENDS+=(socket)
SKIPPED=()
dpdk_reason=""
if ((!TRY_DPDK)); then
  dpdk_reason="not selected (--no-dpdk / --backends)"
elif ! "$LG_BIN" --list_backends 2>"$OUT/logs/backends.err" | grep -qx dpdk; then
  dpdk_reason="drasyl-loadgen: $(head -1 "$OUT/logs/backends.err" | sed 's/^dpdk: //')"
elif (($(id -u) != 0)); then
  dpdk_reason="needs root (DPDK memif port and the super peer's TAP interface)"
elif [[ ! -c /dev/net/tun ]]; then
  dpdk_reason="no /dev/net/tun for the super peer's TAP interface"
else
  BACKENDS+=(dpdk)
fi
if [[ -n $dpdk_reason ]]; then
  SKIPPED+=("dpdk: $dpdk_reason")
  log "skipping backend dpdk: $dpdk_reason"
fi
MEMIF_SOCK=/tmp/drasyl-capacity-$$.memif
DPDK_SP_ADDR=10.99.78.1
DPDK_LG_ADDR=10.99.78.2

# --- super peer control
SP_PID=""
cleanup() {
  if [[ -n $SP_PID ]] && kill -0 "$SP_PID" 2>/dev/null; then
    kill -TERM "$SP_PID" 2>/dev/null || true
    wait "$SP_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# start_sp TAG BACKEND WORKERS HELLO_TIMEOUT_MS [attack]: sets SP_PID, SP_URL,
# SP_METRICS; returns 1 (with SP_ERROR) when the super peer does not come up
# with BACKEND. "attack": default limits and a TCP listener (HELLO_TIMEOUT_MS
# is ignored); else the capacity settings (no table limit, no per-source ones).
start_sp() {
  local tag=$1 backend=$2 workers=$3 hello_timeout=$4 mode=${5:-capacity}
  local -a env_extra=(DRASYL_UDP4_LISTEN=127.0.0.1:0)
  local -a env_mode=(DRASYL_TCP4_LISTEN= DRASYL_MAX_PEERS=0 DRASYL_HELLO_TIMEOUT="$hello_timeout"
                     DRASYL_MAX_PEERS_PER_SOURCE=0 DRASYL_CONTROL_RATE_PER_SOURCE=0
                     DRASYL_MAX_TCP_CONNECTIONS_PER_SOURCE=0)
  [[ $mode == attack ]] && env_mode=(DRASYL_TCP4_LISTEN=127.0.0.1:0)
  if [[ $backend == dpdk ]]; then
    rm -f "$MEMIF_SOCK"
    env_extra=(DRASYL_UDP4_LISTEN=$DPDK_SP_ADDR:22527 DRASYL_DPDK_ADDR=$DPDK_SP_ADDR/24
               "DRASYL_DPDK_EAL=--no-pci -l 0-$workers --vdev=net_memif0,role=server,socket=$MEMIF_SOCK")
  fi
  env DRASYL_IDENTITY_FILE="$SP_IDENTITY" "${env_extra[@]}" \
  DRASYL_UDP6_LISTEN= DRASYL_TCP6_LISTEN= "${env_mode[@]}" \
  DRASYL_PROMETHEUS_LISTEN=127.0.0.1:0 DRASYL_MIN_POW_DIFFICULTY="$DIFFICULTY" \
  DRASYL_PEERS_PRINT_INTERVAL=0 DRASYL_WORKERS="$workers" \
  DRASYL_SEND_UNITES="$SEND_UNITES" RUST_LOG=info \
    "$SP_BIN" >"$OUT/logs/sp-$tag.out" 2>"$OUT/logs/sp-$tag.err" &
  SP_PID=$!
  SP_URL=""
  for _ in $(seq 100); do
    SP_URL=$(grep -o 'udp://[^ ]*' "$OUT/logs/sp-$tag.out" 2>/dev/null | head -1 || true)
    [[ -n $SP_URL ]] && break
    kill -0 "$SP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $SP_URL ]]; then
    SP_ERROR="drasyl-sp did not start: $(grep -v '^I' "$OUT/logs/sp-$tag.err" | tail -1)"
    [[ $backend == dpdk ]] && SP_ERROR+=" (with DRASYL_DPDK_EAL; no DPDK support in this drasyl-sp?)"
    stop_sp
    return 1
  fi
  for _ in $(seq 50); do
    grep -q 'backend [a-z]* with' "$OUT/logs/sp-$tag.err" && break
    sleep 0.1
  done
  if ! grep -q "backend $backend with" "$OUT/logs/sp-$tag.err"; then
    SP_ERROR="drasyl-sp runs backend '$(grep -o 'backend [a-z]* with' "$OUT/logs/sp-$tag.err" | head -1 | cut -d' ' -f2)' instead of '$backend' (no DPDK support in this drasyl-sp?)"
    stop_sp
    return 1
  fi
  SP_METRICS=$(grep -o 'http://[0-9.:]*/metrics' "$OUT/logs/sp-$tag.err" | head -1 || true)
}
stop_sp() {
  if [[ -n $SP_PID ]]; then
    kill -TERM "$SP_PID" 2>/dev/null || true
    wait "$SP_PID" 2>/dev/null || true
  fi
  SP_PID=""
  rm -f "$MEMIF_SOCK"
}

# The super peer's own counters, as a JSON object (empty when unavailable).
scrape_metrics() {
  [[ -n ${SP_METRICS:-} ]] || { echo '{}'; return; }
  python3 - "$SP_METRICS" <<'EOF'
import json, re, sys, urllib.request
try:
    text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
except Exception:
    print("{}"); sys.exit(0)
out = {"peers": 0, "relayed_packets": 0, "drops": {}}
for line in text.splitlines():
    m = re.match(r'^(\w+)(\{[^}]*\})?\s+([0-9.eE+-]+)$', line)
    if not m:
        continue
    name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
    if name == "drasyl_peers" and 'transport="udp"' in labels:
        out["peers"] = int(value)
    elif name == "drasyl_relayed_packets_total":
        out["relayed_packets"] += int(value)
    elif name == "drasyl_drops_total" and value > 0:
        r = re.search(r'reason="([^"]*)"', labels)
        key = r.group(1) if r else "?"
        out["drops"][key] = out["drops"].get(key, 0) + int(value)
print(json.dumps(out))
EOF
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "output $OUT; identities $IDENTITIES (difficulty $DIFFICULTY); workers [$WORKERS]; peers [$PEERS]; payloads [$PAYLOADS] at the first peer count; ${DURATION}s steps; load average $LOAD_START"

first_peers=${PEERS%% *}
max_workers=$(printf '%s\n' $WORKERS | sort -n | tail -1)
failures=0
for backend in "${BACKENDS[@]}"; do
  backend_workers=$WORKERS
  backend_peers=$PEERS
  if [[ $backend == dpdk ]]; then
    # A DPDK worker is an EAL lcore of its own next to the main lcore
    # (-l 0-W): one worker unless the machine has cores to spare.
    backend_workers=1
    if (($(nproc) > 2)); then backend_workers=$WORKERS; fi
    if ((QUICK)); then backend_peers=$first_peers; fi
  fi
  for workers in $backend_workers; do
    for peers in $backend_peers; do
      # --quick: larger tables only with the most workers.
      if ((QUICK)) && [[ $backend == socket && $peers != "$first_peers" && $workers != "$max_workers" ]]; then
        continue
      fi
      # The payload sweep at the first peer count (in --quick with the most
      # workers only).
      payloads=64
      if [[ $peers == "$first_peers" ]] && { ((!QUICK)) || [[ $workers == "$max_workers" ]]; }; then
        payloads=$PAYLOADS
      fi
      # Big tables: registering takes longer than the default 30 s HELLO
      # timeout, and a re-HELLO every 5 s from a million nodes would be the
      # whole load; nodes re-HELLO every peers/20000 s (>= 5 s) instead.
      hello_interval=$((peers / 20 > 5000 ? peers / 20 : 5000))
      hello_timeout=$((hello_interval * 6 > 600000 ? hello_interval * 6 : 600000))
      tag="$backend-w$workers-p$peers"
      if ! start_sp "$tag" "$backend" "$workers" "$hello_timeout"; then
        if [[ $backend == dpdk ]]; then
          SKIPPED+=("dpdk: $SP_ERROR")
          log "skipping backend dpdk: $SP_ERROR"
          continue 3
        fi
        fail "$SP_ERROR (see $OUT/logs/sp-$tag.err)"
      fi
      first_run=1
      for payload in $payloads; do
        run="$tag-b$payload"
        log "run $run: $peers peers, $workers worker(s), $payload-byte payload"
        extra=()
        if [[ $backend == dpdk ]]; then
          # Not on a worker's CPU (lcores 1..workers busy-poll theirs).
          lg_cpu=0
          if (($(nproc) > workers + 1)); then lg_cpu=$((workers + 1)); fi
          extra+=(--backend=dpdk
                  "--dpdk_eal=--no-pci -l $lg_cpu --vdev=net_memif0,role=client,socket=$MEMIF_SOCK,rsize=14"
                  "--dpdk_local_ip=$DPDK_LG_ADDR")
        fi
        ((first_run)) && extra+=("--sp_pid=$SP_PID")
        rc=0
        "$LG_BIN" --url "$SP_URL" --nodes="$peers" --identities="$IDENTITIES" \
          --difficulty="$DIFFICULTY" --payload="$payload" --pattern=all --search \
          --search_refine="$REFINE" --duration="$DURATION" --hello_flood_ms="$FLOOD_MS" \
          --hello_interval_ms="$hello_interval" --json "${extra[@]}" \
          >"$OUT/logs/$run.json" 2>"$OUT/logs/$run.log" || rc=$?
        grep -E '^loadgen: (registered|HELLO flood|highest|super peer)' "$OUT/logs/$run.log" |
          sed 's/^/    /' >&2 || true
        if ((rc != 0)) || ! [[ -s $OUT/logs/$run.json ]]; then
          log "run $run FAILED (exit $rc), see $OUT/logs/$run.log"
          tail -5 "$OUT/logs/$run.log" | sed 's/^/    /' >&2
          failures=$((failures + 1))
          continue
        fi
        metrics=$(scrape_metrics)
        python3 - "$OUT/logs/$run.json" "$backend" "$workers" "$first_run" "$metrics" >>"$RUNS" <<'EOF'
import json, sys
path, backend, workers, first, metrics = sys.argv[1:6]
lg = json.loads(open(path).read().strip().splitlines()[-1])
print(json.dumps({"backend": backend, "workers": int(workers), "first_run": first == "1",
                  "metrics": json.loads(metrics or "{}"), "loadgen": lg}))
EOF
        first_run=0
      done
      stop_sp
    done
  done
done
# --- attack rows: one super peer with default limits per attack
attack_workers=$max_workers
if ((TRY_SOCKET == 0)); then ATTACKS=""; fi
for kind in $ATTACKS; do
  tag="attack-$kind"
  start_sp "$tag" socket "$attack_workers" 0 attack || fail "$SP_ERROR (see $OUT/logs/sp-$tag.err)"
  log "run $tag: drasyl-loadgen --attack=$kind for ${ATTACK_SECONDS}s, $attack_workers worker(s)"
  rc=0
  "$LG_BIN" --url "$SP_URL" --attack="$kind" --attack_seconds="$ATTACK_SECONDS" \
    --identities="$IDENTITIES" --difficulty="$DIFFICULTY" --json \
    >"$OUT/logs/$tag.json" 2>"$OUT/logs/$tag.log" || rc=$?
  grep -E '^attack: [a-z-]+:|^attack: (fresh|registered nodes|replay of)' "$OUT/logs/$tag.log" |
    sed 's/^/    /' >&2 || true
  if ((rc != 0)) || ! [[ -s $OUT/logs/$tag.json ]]; then
    log "run $tag FAILED (exit $rc), see $OUT/logs/$tag.log"
    tail -5 "$OUT/logs/$tag.log" | sed 's/^/    /' >&2
    failures=$((failures + 1))
  fi
  scrape_metrics >"$OUT/logs/$tag.metrics.json"
  stop_sp
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- capacity.json, capacity.md, plot data
export OUT QUICK DIFFICULTY SEND_UNITES DURATION LOAD_START LOAD_END IDENTITIES
SKIPPED_TEXT=$(printf '%s\n' "${SKIPPED[@]+"${SKIPPED[@]}"}")
export SKIPPED_TEXT
python3 - <<'EOF' || fail "could not write the report"
import json, os, platform, time
out = os.environ["OUT"]
runs = [json.loads(l) for l in open(os.path.join(out, "logs", "runs.jsonl")) if l.strip()]

rows = []
first_by_sp = {}
for r in runs:
    lg = r["loadgen"]
    key = (r["backend"], r["workers"], lg["nodes"])
    if r["first_run"]:
        first_by_sp[key] = lg
    first = first_by_sp.get(key, lg)
    best = lg.get("max_lossless") or {}
    msg_bits = lg["message_bytes"] * 8
    steps = sorted(lg["steps"], key=lambda s: s["offered_pps"])
    rows.append({
        "backend": r["backend"],
        "workers": r["workers"],
        "peers": lg["nodes"],
        "payload_bytes": lg["payload_bytes"],
        "max_mpps": round(best.get("relayed_pps", 0) / 1e6, 4),
        "max_gbps": round(best.get("relayed_bps", 0) / 1e9, 4),
        "p99_us": best.get("latency_us", {}).get("p99"),
        "bytes_per_peer": first.get("bytes_per_peer") or None,
        "hello_per_s": lg["hello_flood"]["per_s"],
        # extras
        "registrations_per_s": first["registration"]["per_s"],
        "registered": first["registration"]["registered"],
        "p50_us": best.get("latency_us", {}).get("p50"),
        "p999_us": best.get("latency_us", {}).get("p999"),
        "loss_pct_at_max": best.get("loss_pct"),
        "open_loop_offered_mpps": round(max([s["offered_pps"] for s in lg["steps"] if s["target_pps"] == 0] or [0]) / 1e6, 4),
        "generator_limited": lg["generator_limited"],
        "hello_rtt_p99_us": lg["hello_rtt_traffic_us"]["p99"],
        "message_bytes": lg["message_bytes"],
        "sockets": lg["sockets"],
        "pattern": lg["pattern"],
        "difficulty": lg["difficulty"],
        "hello_interval_ms": lg["hello_interval_ms"],
        "sp_rss_kb": first["sp_rss_kb"],
        "sp_peers": r["metrics"].get("peers"),
        "sp_drops": r["metrics"].get("drops", {}),
        "steps": [{"target_pps": s["target_pps"], "offered_mpps": round(s["offered_pps"] / 1e6, 5),
                   "relayed_mpps": round(s["relayed_pps"] / 1e6, 5), "loss_pct": s["loss_pct"],
                   "p50_us": s["latency_us"]["p50"], "p99_us": s["latency_us"]["p99"],
                   "reordered": s["reordered"]} for s in steps],
    })
with open(os.path.join(out, "capacity.json"), "w") as f:
    json.dump(rows, f, indent=1)
    f.write("\n")

# Plot data: one curve per backend and worker count, at the first peer count
# and the smallest payload.
curves = []
if rows:
    base_peers = min(r["peers"] for r in rows)
    base_payload = min(r["payload_bytes"] for r in rows if r["peers"] == base_peers)
    for r in rows:
        if r["peers"] != base_peers or r["payload_bytes"] != base_payload:
            continue
        name = f'{r["backend"]}, {r["workers"]} worker{"s" if r["workers"] > 1 else ""}'
        path = os.path.join(out, "logs", f'curve-{r["backend"]}-w{r["workers"]}.dat')
        with open(path, "w") as f:
            f.write("# offered_mpps relayed_mpps p99_us loss_pct\n")
            for s in r["steps"]:
                f.write(f'{s["offered_mpps"]} {s["relayed_mpps"]} {max(s["p99_us"] or 0, 0.1)} {s["loss_pct"]}\n')
        curves.append((name, path))
    with open(os.path.join(out, "logs", "curves.txt"), "w") as f:
        f.write(f"{base_peers} peers, {base_payload}-byte payload\n")
        for name, path in curves:
            f.write(f"{path}\t{name}\n")

# capacity.md
def fmt(v):
    if v is None:
        return "–"
    return f"{int(round(v)):,}".replace(",", " ")

def us(v):
    if v is None:
        return "–"
    return f"{v:.1f}" if v < 100 else fmt(v)

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

md = []
md.append("# Super peer capacity report\n")
md.append(f"{time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node()}: {os.cpu_count()} cores ({cpu_model()}), "
          f"Linux {platform.release()}; {'quick' if os.environ['QUICK'] == '1' else 'full'} sweep. "
          f"Load average {os.environ['LOAD_START']} at the start, {os.environ['LOAD_END']} at the end "
          "(other work on the machine lowers every figure).\n")
md.append("Super peer and load generator share this machine and talk over loopback, so every "
          "figure is a floor for a super peer on its own cores and NICs. Node identities have "
          f"proof-of-work difficulty {os.environ['DIFFICULTY']} (the super peer's MIN_POW_DIFFICULTY is set to match; "
          "checking a proof costs the same at any difficulty). "
          f"SEND_UNITES={os.environ['SEND_UNITES']}; APP traffic between every ordered pair of nodes in turn; "
          f"{os.environ['DURATION']} s per step.\n")
md.append("| backend | workers | peers | payload B | max Mpps | max Gbit/s | p50 µs | p99 µs | HELLO/s (known) | registrations/s | bytes/peer | limit |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    limit = "generator" if r["generator_limited"] else "super peer"
    md.append(f'| {r["backend"]} | {r["workers"]} | {fmt(r["peers"])} | {r["payload_bytes"]} | '
              f'{r["max_mpps"]:.3f} | {r["max_gbps"]:.3f} | {us(r["p50_us"])} | {us(r["p99_us"])} | '
              f'{fmt(r["hello_per_s"])} | {fmt(r["registrations_per_s"])} | {fmt(r["bytes_per_peer"])} | {limit} |')
md.append("")
md.append("* **max Mpps / Gbit/s**: the highest relayed rate at which less than 0.1 % of the offered "
          "APP messages were lost (Gbit/s counts whole drasyl messages: 79-byte header + payload). "
          "**p50/p99**: one-way latency node → super peer → node at that rate (sockets: send time "
          "to the kernel's receive timestamp; DPDK: TSC when the burst is handed to the port to TSC "
          "when the burst comes back, the generator polling without pause). Over DPDK, messages the "
          "port refuses (memif's ring to the super peer full, where a NIC would overflow) count as "
          "lost. **limit** says who gave out first: *generator* means the load generator "
          "could not offer more and the super peer lost nothing, so the super peer can do more.")
md.append("* **HELLO/s (known)**: HELLOs of registered nodes answered per second (control thread). "
          "**registrations/s**: new peers per second during the initial HELLO wave (each costs the "
          "control thread an X25519 key exchange). **bytes/peer**: growth of the super peer's VmRSS "
          "from start to all peers registered, divided by the peers (meaningful from ~100 000 peers; "
          "small tables are dominated by fixed costs and page granularity).")
md.append("")
md.append("## Goals\n")
def goal(name, target, got, ok):
    md.append(f"| {name} | {target} | {got} | {ok} |")
md.append("| goal | target | measured | met |")
md.append("|---|---|---|---|")
# The control-thread goals are judged per backend at the largest table it
# was measured with (small tables finish their HELLO wave in milliseconds
# and fit in cache).
for backend in sorted({r["backend"] for r in rows}, key=lambda b: (b != "socket", b)):
    mine = [r for r in rows if r["backend"] == backend]
    top = max(r["peers"] for r in mine)
    at_top = [r for r in mine if r["peers"] == top]
    h = max(r["hello_per_s"] for r in at_top)
    g = max(r["registrations_per_s"] for r in at_top)
    goal(f"control thread, HELLO/s of registered nodes ({backend})", "≥ 100 000",
         f"{fmt(h)} (at {fmt(top)} peers)", "yes" if h >= 100000 else "no")
    goal(f"control thread, new registrations/s ({backend})", "≥ 10 000",
         f"{fmt(g)} (at {fmt(top)} peers)", "yes" if g >= 10000 else "no")
mem = [r for r in rows if r["workers"] == 2 and r["peers"] >= 1000000 and r["bytes_per_peer"]]
if mem:
    for r in mem:
        b = r["bytes_per_peer"]
        goal(f'memory per registered peer, 2 workers, 1 000 000 peers ({r["backend"]})', "≤ 512 B",
             f"{fmt(b)} B", "yes" if b <= 512 else "no")
else:
    big = sorted([r for r in rows if r["bytes_per_peer"]], key=lambda r: (-r["peers"], -r["workers"]))
    got = f'{fmt(big[0]["bytes_per_peer"])} B at {fmt(big[0]["peers"])} peers, {big[0]["workers"]} worker(s)' if big else "–"
    goal("memory per registered peer, 2 workers, 1 000 000 peers", "≤ 512 B", got,
         "not measured at 1 000 000 peers (run the full sweep)")
md.append("")
skipped = [s for s in os.environ.get("SKIPPED_TEXT", "").splitlines() if s.strip()]
if skipped:
    md.append("## Skipped\n")
    for s in skipped:
        md.append(f"* {s}")
    md.append("")
md.append("## Files\n")
md.append("* `capacity.json`: these rows, with every step of each rate search (`steps`) and the "
          "super peer's own counters (`sp_peers`, `sp_drops`).")
md.append("* `capacity.png`: relayed Mpps and p99 latency against offered load"
          + (f" ({open(os.path.join(out, 'logs', 'curves.txt')).readline().strip()})" if curves else "") + ".")
md.append("* `logs/`: the super peer's and the load generator's output of every run.")
with open(os.path.join(out, "capacity.md"), "w") as f:
    f.write("\n".join(md) + "\n")
EOF

python3 scripts/capacity/attacks.py collect "$OUT" || fail "could not add the attack rows"

# --- capacity.png
if [[ -s $OUT/logs/curves.txt ]]; then
  TERM_LINE="set terminal pngcairo size 1000,800 font ',10'"
  gnuplot -e 'set terminal pngcairo' 2>/dev/null </dev/null || TERM_LINE="set terminal png size 1000,800"
  {
    echo "$TERM_LINE"
    echo "set output '$OUT/capacity.png'"
    echo "set multiplot layout 2,1 title 'drasyl-sp capacity: $(head -1 "$OUT/logs/curves.txt")'"
    echo "set grid; set key left top; set xlabel 'offered load (Mpps)'"
    echo "set ylabel 'relayed (Mpps)'"
    plot="plot "
    while IFS=$'\t' read -r path name; do
      plot+="'$path' using 1:2 with linespoints title '$name', "
    done < <(tail -n +2 "$OUT/logs/curves.txt")
    echo "${plot%, }"
    echo "set logscale y; set ylabel 'p99 latency (µs)'"
    plot="plot "
    while IFS=$'\t' read -r path name; do
      plot+="'$path' using 1:3 with linespoints title '$name', "
    done < <(tail -n +2 "$OUT/logs/curves.txt")
    echo "${plot%, }"
    echo "unset multiplot"
  } >"$OUT/logs/capacity.gp"
  gnuplot "$OUT/logs/capacity.gp" 2>"$OUT/logs/gnuplot.err" || fail "gnuplot failed: $(head -3 "$OUT/logs/gnuplot.err")"
fi

# --- self-check: the report must exist and be well-formed
python3 - <<'EOF' || fail "the report is incomplete or malformed (see above)"
import json, os, sys
out = os.environ["OUT"]
errors = []
try:
    rows = json.load(open(os.path.join(out, "capacity.json")))
except Exception as e:
    rows = None
    errors.append(f"capacity.json: {e}")
need = {"backend": str, "workers": int, "peers": int, "payload_bytes": int, "max_mpps": (int, float),
        "max_gbps": (int, float), "p99_us": (int, float), "bytes_per_peer": (int, float, type(None)),
        "hello_per_s": (int, float)}
if rows is not None:
    if not isinstance(rows, list) or not rows:
        errors.append("capacity.json: expected a non-empty array")
    else:
        rows = [r for r in rows if "attack" not in r]  # (checked by attacks.py)
        for i, r in enumerate(rows):
            for k, t in need.items():
                if k not in r:
                    errors.append(f"capacity.json[{i}]: missing {k}")
                elif not isinstance(r[k], t) or isinstance(r[k], bool):
                    errors.append(f"capacity.json[{i}].{k}: bad value {r[k]!r}")
        if not any(r.get("max_mpps", 0) > 0 for r in rows):
            errors.append("capacity.json: no configuration relayed anything without loss")
        if not any(isinstance(r.get("bytes_per_peer"), (int, float)) and r["bytes_per_peer"] > 0 for r in rows):
            errors.append("capacity.json: no memory-per-peer figure")
try:
    md = open(os.path.join(out, "capacity.md")).read()
    lines = [l for l in md.splitlines() if l.startswith("| ") and " | " in l]
    if "| backend | workers | peers |" not in md or (rows and len(lines) < len(rows) + 1):
        errors.append("capacity.md: table missing or short")
except OSError as e:
    errors.append(f"capacity.md: {e}")
try:
    png = open(os.path.join(out, "capacity.png"), "rb").read()
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 2000:
        errors.append("capacity.png: not a PNG image")
except OSError as e:
    errors.append(f"capacity.png: {e}")
for e in errors:
    print(f"capacity-report: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
python3 scripts/capacity/attacks.py check "$OUT" "$ATTACKS" || fail "the attack rows are incomplete"

elapsed=$(($(date +%s) - START_TIME))
if ((failures)); then
  fail "$failures run(s) failed; report written to $OUT in ${elapsed}s"
fi
rows=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sum('attack' not in x for x in r), 'configuration(s),', sum('attack' in x for x in r), 'attack row(s)')" "$OUT/capacity.json")
echo "capacity-report: OK: $rows in ${elapsed}s -> $OUT/capacity.json, capacity.md, capacity.png"
