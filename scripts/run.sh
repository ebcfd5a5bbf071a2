#!/usr/bin/env bash
# Build and run rowcache on the embedded defaults (SQLite file + in-process
# cache) with the sample data loaded: http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target rowcache
DB=${ROWCACHE_DB:-sqlite:rowcache.db}
./build/rowcache load --db "$DB" --from data/mp6input.csv
exec ./build/rowcache serve --db "$DB" --cache "${ROWCACHE_CACHE:-memory://}" --listen "${ROWCACHE_LISTEN:-127.0.0.1:8080}"
