#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit and integration tests
# (ctest), each fuzz target for a bounded time (FUZZ_SECONDS, default 20), and
# the quick capacity report (self-checking, so the operator report never rots).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
log=build/ctest.log
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)" | tee "$log"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
scripts/capacity-report.sh --quick --out build/capacity-report

# One closing line for the whole run (ctest's summary scrolled past above).
total=$(sed -n 's/.* tests failed out of \([0-9]*\)$/\1/p' "$log" | tail -1)
failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of .*/\1/p' "$log" | tail -1)
skipped=$(grep -c '(Skipped)$' "$log" || true)
echo "ctest: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
