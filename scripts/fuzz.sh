#!/usr/bin/env bash
# Fuzz every parser of bytes from others with libFuzzer + ASan/UBSan (UBSan
# fatal), each target from its seed corpus tests/fuzz/corpus/NAME/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   # SECONDS per target, default 60;
#                                           # targets: tests/fuzz/targets.txt
# make test runs every target for 10 s; make fuzz for 120 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(grep -E '^[a-z_0-9]+$' tests/fuzz/targets.txt)
fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DROWCACHE_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target "${targets[@]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=${FUZZ_ARTIFACTS:-$PWD/$BUILD/}
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp -r tests/fuzz/corpus/"$t"/. "$work/$t/"
  # The whole output is kept; on success only its end is shown, on failure
  # all of it (the sanitizer report and the crashing input are above the stats).
  log="$work/$t.log"
  if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$BUILD/tests/fuzz/$t" \
      -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts$t-" "$work/$t" >"$log" 2>&1; then
    cat "$log"
    echo "fuzz: $t FAILED (whole output above; the crashing input is in $artifacts)" >&2
    exit 1
  fi
  tail -n 6 "$log"
  echo "fuzz: $t: no crash in ${SECONDS_TO_RUN}s"
done
