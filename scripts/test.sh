#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit and integration tests
# (ctest), then each fuzz target for a bounded time (FUZZ_SECONDS, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
