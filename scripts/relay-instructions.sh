#!/usr/bin/env bash
# Instructions per relayed packet on the DPDK relay path (parse, decide,
# rewrite: bench/dpdk_relay_bench.cc's RelayBurst), counted by valgrind's
# callgrind. Unlike ns/packet, the count does not depend on what else the
# machine is doing, so it shows what a change to dataplane/ costs or saves.
#
#   scripts/relay-instructions.sh                       # peers 1, 1000, 1000000; IPv4 and IPv6; verify
#   scripts/relay-instructions.sh 'peers:1000/ip:4/ring:32/verify:0'   # one benchmark (a --benchmark_filter)
#
# Needs valgrind (scripts/setup.sh installs it) and a build with DPDK
# (BUILD_DIR, default build). Prints one line per benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN=$BUILD_DIR/bench/dpdk_relay_bench
[[ -x $BIN ]] || { echo "relay-instructions: $BIN missing (scripts/build.sh)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "relay-instructions: valgrind missing (scripts/setup.sh)" >&2; exit 1; }
FILTERS=("$@")
((${#FILTERS[@]})) || FILTERS=(peers:1/ip:4/ring:32/verify:0 peers:1000/ip:4/ring:32/verify:0
                               peers:1000000/ip:4/ring:32/verify:0 peers:1000/ip:6/ring:32/verify:0
                               peers:1000/ip:4/ring:32/verify:1)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for f in "${FILTERS[@]}"; do
  DPDK_RELAY_BENCH_NO_HUGE=1 valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" "$BIN" \
    "--benchmark_filter=^BM_DpdkRelay/$f\$" \
    --benchmark_min_time=0.2 >"$OUT/bench.out" 2>"$OUT/valgrind.err" ||
    { echo "relay-instructions: $f: valgrind failed (see below)" >&2; tail -5 "$OUT/valgrind.err" >&2; exit 1; }
  python3 - "$OUT/cg" "$f" <<'EOF' || { grep -v "^==" "$OUT/bench.out" "$OUT/valgrind.err" | tail -5 >&2; exit 1; }
import re, sys
# Callgrind's format: a function is named once, "fn=(id) name" or
# "cfn=(id) name", then referred to as "(id)"; "cfn=" names a callee,
# "calls=N ..." follows, then the line with the call's inclusive cost.
path, name = sys.argv[1], sys.argv[2]
names, calls, cost = {}, 0, 0
pending = None
for line in open(path, errors="replace"):
    m = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3)
        # RelayBurst itself, not a callee whose template arguments name it.
        pending = m.group(1) == "c" and names.get(m.group(2), "").startswith(
            "drasyl::(anonymous namespace)::RelayBurst(")
        continue
    if pending and line.startswith("calls="):
        calls += int(line.split()[0][6:])
        pending = "cost"
        continue
    if pending == "cost":
        cost += int(line.split()[1])
        pending = None
if calls == 0:
    sys.exit(f"relay-instructions: {name}: no RelayBurst calls recorded; the benchmark said:")
print(f"{name}: {cost / calls / 32:.1f} instructions/packet ({calls} bursts of 32)")
EOF
done
