#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cc) with clang into
# build-fuzz/ and runs each for FUZZ_SECONDS (default 30) on a copy of its
# seed corpus in a temporary directory: tests/fuzz/corpus/<target>/ when
# there is one, else the messages in tests/fuzz/corpus/.
# Exits non-zero when a build fails or any target finds a crash, leak,
# timeout or sanitizer report; reproducers are kept in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh                     # all targets, 30 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh    # longer
#   scripts/fuzz.sh wire_parse_fuzz     # selected targets only
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
if [[ $# -gt 0 ]]; then
  TARGETS=("$@")
else
  TARGETS=(wire_parse_fuzz wire_disarm_fuzz dpdk_frame_fuzz ip_reassembly_fuzz text_input_fuzz
    tcp_stream_fuzz control_plane_fuzz)
fi

GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DDRASYL_FUZZ=ON -DDRASYL_TESTS=ON \
    -DDRASYL_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${TARGETS[@]}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/drasyl-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ARTIFACTS="$ROOT/$BUILD_DIR/artifacts"
mkdir -p "$ARTIFACTS"
# Leak checks stay on; UBSan findings abort so that libFuzzer reports them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

failed=()
for target in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/tests/$target"
  corpus="$WORK/$target"
  mkdir -p "$corpus"
  seeds="$ROOT/tests/fuzz/corpus"
  [[ -d $seeds/$target ]] && seeds="$seeds/$target"
  find "$seeds" -maxdepth 1 -type f -exec cp {} "$corpus"/ \;
  log="$WORK/$target.log"
  touch "$WORK/$target.start"
  echo "fuzz: $target for ${FUZZ_SECONDS}s on $(ls "$corpus" | wc -l) seeds"
  status=0
  "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/$target-" "$corpus" >"$log" 2>&1 || status=$?
  # Summary: the last status line and the final stats.
  grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  if [[ $status -ne 0 ]] || grep -qE 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error:' "$log"; then
    echo "fuzz: $target FAILED (exit $status); log tail:"
    tail -n 60 "$log"
    find "$ARTIFACTS" -name "$target-*" -newer "$WORK/$target.start" | sed 's|^|  artifact: |'
    failed+=("$target")
  else
    echo "fuzz: $target ok"
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: all targets passed"
