# Shared by the benchmark scripts (sourced; expects log and fail functions).

# Builds drasyl-sp and drasyl-loadgen into $1 unless both are there, and sets
# SP_BIN and LG_BIN.
ensure_sp_and_loadgen() {
  local build=$1
  SP_BIN="$build/drasyl-sp"
  LG_BIN="$build/drasyl-loadgen"
  if [[ ! -x $SP_BIN || ! -x $LG_BIN ]]; then
    log "building drasyl-sp and drasyl-loadgen in $build"
    if [[ -f $build/CMakeCache.txt ]]; then
      cmake --build "$build" --target drasyl-sp drasyl-loadgen -j"$(nproc)" >&2
    else
      BUILD_DIR=$build scripts/build.sh >&2
    fi
  fi
  [[ -x $SP_BIN && -x $LG_BIN ]] || fail "no $SP_BIN / $LG_BIN after building"
}
