# Sourced by the bench scripts: installs the benchmark tools, builds
# build/rowcache (Release), starts MariaDB and Redis on loopback
# (scripts/servers.sh) and sets RP / MP to their ports.
# ROWCACHE_BENCH_NO_BUILD=1: use build/rowcache as it is (no cmake).
# shellcheck shell=bash
scripts/deps.sh bench
if [ "${ROWCACHE_BENCH_NO_BUILD:-0}" = 1 ]; then
  [ -x build/rowcache ] || { echo "bench: no build/rowcache (ROWCACHE_BENCH_NO_BUILD=1 builds nothing)" >&2; exit 1; }
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target rowcache >/dev/null
fi
env_file=$(scripts/servers.sh start)
# shellcheck disable=SC1090
source "$env_file"
RP=$ROWCACHE_TEST_REDIS_PORT
MP=$ROWCACHE_TEST_MYSQL_PORT
export RP MP
