#!/usr/bin/env bash
# Fuzz the request parser and validator (the core over embedded backends) with
# libFuzzer + ASan/UBSan, starting from tests/fuzz/corpus.
#
#   scripts/fuzz.sh [SECONDS]     # default 60; CI runs a short run from make test
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DROWCACHE_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target request_fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp tests/fuzz/corpus/* "$work/corpus/"
# The whole output is kept; on success only its end is shown, on failure all
# of it (the sanitizer report and the crashing input are above the stats).
log="$work/fuzz.log"
if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$BUILD/tests/fuzz/request_fuzz" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="${FUZZ_ARTIFACTS:-$PWD/build-fuzz/}" "$work/corpus" >"$log" 2>&1; then
  cat "$log"
  echo "fuzz: FAILED (whole output above; the crashing input is in ${FUZZ_ARTIFACTS:-build-fuzz/})" >&2
  exit 1
fi
tail -n 25 "$log"
echo "fuzz: no crash in ${SECONDS_TO_RUN}s"
