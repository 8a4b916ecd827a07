#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit and integration tests
# (ctest), each fuzz target for a bounded time (FUZZ_SECONDS, default 20), and
# the quick capacity report (self-checking, so the operator report never rots),
# the Debian package and alert rules (scripts/package-test.sh), one minute of
# the soak test (scripts/soak.sh)
# and one run of scripts/socket-relay-remote.sh (root: its namespace setup).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
log=build/ctest.log
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)" | tee "$log"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
scripts/capacity-report.sh --quick --out build/capacity-report
scripts/package-test.sh
scripts/soak.sh --minutes 1 --out build/soak
if [[ $(id -u) == 0 ]]; then
  remote=$(scripts/socket-relay-remote.sh -- \
    '--benchmark_filter=workers:1/payload:1024/gso:1/gro:1/sink_gro:0/' 2>&1) ||
    { echo "$remote"; echo "socket-relay-remote.sh failed" >&2; exit 1; }
  echo "$remote" | grep -q 'relayed_per_worker_cpu_s=[1-9].*recipient in ' ||
    { echo "$remote"; echo "socket-relay-remote.sh: nothing relayed to the namespace" >&2; exit 1; }
  echo "$remote" | grep '^BM_'
else
  echo "note: not root: scripts/socket-relay-remote.sh not run"
fi

# One closing line for the whole run (ctest's summary scrolled past above).
total=$(sed -n 's/.* tests failed out of \([0-9]*\)$/\1/p' "$log" | tail -1)
failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of .*/\1/p' "$log" | tail -1)
skipped=$(grep -c '(Skipped)$' "$log" || true)
echo "ctest: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
