#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   installs dependencies, builds, starts a private MariaDB and Redis on
#   loopback, runs unit, integration and end-to-end tests (none may skip),
#   the deployment template checks, the Lambda package (static build) checks, then the unit and integration
#   tests again under ASan/UBSan, and a short libFuzzer run on the request parser.
#
# Environment: BUILD_DIR (build), ROWCACHE_SKIP_SANITIZE=1 to skip the sanitizer
# pass, ROWCACHE_FUZZ_SECONDS (30; 0 skips the fuzz run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
[ -x scripts/test-tools.sh ] && scripts/test-tools.sh

BUILD_DIR=${BUILD_DIR:-build}
JOBS=$(nproc)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"

env_file=$(scripts/servers.sh start)
# shellcheck disable=SC1090
source "$env_file"
export ROWCACHE_REQUIRE_SERVERS=1
trap 'scripts/servers.sh stop' EXIT

ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j2 --timeout 900

echo "== deployment: CloudFormation template validated offline, deploy scripts against a stand-in AWS CLI"
tests/deploy/test_template.sh

echo "== Lambda package: static build, zip, glibc and dependency checks, the unzipped bootstrap end to end"
tests/package/test_lambda_package.sh "$BUILD_DIR-lambda"

if [ "${ROWCACHE_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B "$BUILD_DIR-asan" -DCMAKE_BUILD_TYPE=Debug -DROWCACHE_SANITIZE=ON >/dev/null
  cmake --build "$BUILD_DIR-asan" -j"$JOBS" --target rowcache_unit_tests rowcache_integration_tests
  ASAN_OPTIONS=detect_leaks=1 ctest --test-dir "$BUILD_DIR-asan" --output-on-failure --no-tests=error -j2 \
    -L 'unit|integration' --timeout 900
fi

if [ "${ROWCACHE_FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== libFuzzer on the request parser and validator (${ROWCACHE_FUZZ_SECONDS:-30} s)"
  scripts/fuzz.sh "${ROWCACHE_FUZZ_SECONDS:-30}"
fi
