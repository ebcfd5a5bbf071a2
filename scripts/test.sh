#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   installs dependencies, builds, starts a private MariaDB and Redis on
#   loopback, runs unit, integration and end-to-end tests (none may skip),
#   the deployment template checks, the Lambda package (static build) checks, then the unit, integration
#   and main end-to-end tests again against an ASan/UBSan build (which also carries the test-only
#   consistency mutations the checker must catch), the concurrency and HTTP tests against a
#   ThreadSanitizer build, and a short libFuzzer run of every fuzz target (UBSan fatal). First, the
#   formatting check (scripts/format.sh --check: every C++ file as .clang-format says) and clang-tidy
#   (scripts/lint.sh, the checks of .clang-tidy).
#
# Environment: BUILD_DIR (build), ROWCACHE_SKIP_SANITIZE=1 to skip the sanitizer
# pass, ROWCACHE_FUZZ_SECONDS (10 per target; 0 skips the fuzz run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
[ -x scripts/test-tools.sh ] && scripts/test-tools.sh
scripts/format.sh --check

BUILD_DIR=${BUILD_DIR:-build}
echo "== clang-tidy (scripts/lint.sh with .clang-tidy): any finding fails"
scripts/lint.sh >/tmp/rowcache-lint.log 2>&1 || { sed 's/\x1b\[[0-9;]*m//g' /tmp/rowcache-lint.log | grep -A3 'error: '; exit 1; }
JOBS=$(nproc)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"

env_file=$(scripts/servers.sh start)
# shellcheck disable=SC1090
source "$env_file"
export ROWCACHE_REQUIRE_SERVERS=1
trap 'scripts/servers.sh stop' EXIT

ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j2 --timeout 900

echo "== deployment: CloudFormation template validated offline, mapping templates run against the binary, deploy scripts against a stand-in AWS CLI"
ROWCACHE_BIN="$BUILD_DIR/rowcache" tests/deploy/test_template.sh

echo "== Lambda package: static build, zip, glibc and dependency checks, the unzipped bootstrap end to end"
tests/package/test_lambda_package.sh "$BUILD_DIR-lambda"

if [ "${ROWCACHE_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (with the test-only consistency mutations)"
  cmake -S . -B "$BUILD_DIR-asan" -DCMAKE_BUILD_TYPE=Debug -DROWCACHE_SANITIZE=ON -DROWCACHE_TEST_MUTATIONS=ON >/dev/null
  cmake --build "$BUILD_DIR-asan" -j"$JOBS" --target rowcache rowcache_unit_tests rowcache_integration_tests
  echo "== unit and integration tests under ASan/UBSan/LSan"
  ASAN_OPTIONS=detect_leaks=1 ctest --test-dir "$BUILD_DIR-asan" --output-on-failure --no-tests=error -j2 \
    -L 'unit|integration' --timeout 900
  echo "== end-to-end tests against the ASan/UBSan server"
  for t in test_api test_redis_modes test_fast_reads test_near_cache test_http test_errors test_auth test_secrets \
    test_redis_peers test_missing_ids; do
    ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      python3 "tests/e2e/$t.py" --binary "$BUILD_DIR-asan/rowcache"
  done
  echo "== the consistency checker catches each safeguard turned off (mutations)"
  ROWCACHE_MUTANT_BINARY="$BUILD_DIR-asan/rowcache" python3 tests/e2e/test_consistency_mutations.py \
    --binary "$BUILD_DIR/rowcache"

  echo "== ThreadSanitizer build: concurrency unit tests and the HTTP server end to end"
  cmake -S . -B "$BUILD_DIR-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROWCACHE_TSAN=ON >/dev/null
  cmake --build "$BUILD_DIR-tsan" -j"$JOBS" --target rowcache rowcache_unit_tests
  export TSAN_OPTIONS="halt_on_error=1 exitcode=66"
  "$BUILD_DIR-tsan/tests/rowcache_unit_tests" --gtest_brief=1
  for t in test_http test_fast_reads test_near_cache test_redis_modes; do
    python3 "tests/e2e/$t.py" --binary "$BUILD_DIR-tsan/rowcache"
  done
  unset TSAN_OPTIONS
fi

if [ "${ROWCACHE_FUZZ_SECONDS:-10}" != 0 ]; then
  echo "== libFuzzer on every parser of bytes from others (${ROWCACHE_FUZZ_SECONDS:-10} s)"
  scripts/fuzz.sh "${ROWCACHE_FUZZ_SECONDS:-10}"
fi
