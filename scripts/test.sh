#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit and integration tests
# (ctest), each fuzz target for a bounded time (FUZZ_SECONDS, default 20), and
# the quick capacity report (self-checking, so the operator report never rots).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
scripts/capacity-report.sh --quick --out build/capacity-report
