#!/usr/bin/env bash
# Builds the Lambda package from a static build and checks it
# (tests/package/check_lambda_package.py), then runs the unzipped bootstrap in
# a mount namespace laid out like Amazon Linux 2023's trust store, with no CA
# path configured (tests/package/check_al2023_trust.py; root). Needs the
# servers' environment (scripts/servers.sh) for the MariaDB + Redis parts.
#
#   tests/package/test_lambda_package.sh [BUILD_DIR, default build-lambda]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-lambda}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DROWCACHE_STATIC=ON -DROWCACHE_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target lambda-package
python3 tests/package/check_lambda_package.py --zip "$BUILD/lambda/rowcache-lambda.zip"
python3 tests/package/check_al2023_trust.py --zip "$BUILD/lambda/rowcache-lambda.zip"
