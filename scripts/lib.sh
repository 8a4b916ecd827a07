# Shared by the benchmark scripts (sourced; expects log and fail functions).

# The options every benchmark entry point reads itself, from its arguments
# (the rest are the Python tool's): --build DIR / --build=DIR into BUILD
# (default $BUILD_DIR, else build); -h / --help prints the calling script's
# head comment and exits.
build_dir_and_help() {
  BUILD=${BUILD_DIR:-build}
  while (($#)); do
    case "$1" in
      --build) BUILD=${2:?--build needs a directory}; shift ;;
      --build=*) BUILD=${1#*=} ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
    shift
  done
}

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
