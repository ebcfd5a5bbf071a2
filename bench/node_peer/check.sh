#!/usr/bin/env bash
# Checks the node peer against rowcache on a scratch table: starts MariaDB and
# Redis on loopback if they are not running (scripts/servers.sh), loads
# data/mp6input.csv, starts build/rowcache serve and the node peer, and runs
# check_answers.py (reads, bad requests, writes read back through the other).
# Needs a built build/rowcache (it builds nothing) and node >= 20 with npm.
#
#   bench/node_peer/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWCACHE=${ROWCACHE_BIN:-./build/rowcache}
[[ -x $ROWCACHE ]] || { echo "check: no rowcache binary at $ROWCACHE (build it, or set ROWCACHE_BIN)" >&2; exit 1; }
node_path=$(bench/node_peer/install.sh)
# The servers of scripts/servers.sh, started when they are not running (never
# with a narrowed ROWCACHE_SERVERS: that would rewrite the shared env file
# without the other servers' URLs).
env_file=${ROWCACHE_SERVERS_ENV:-/tmp/rowcache-servers/env}
# shellcheck disable=SC1090
if ! { [[ -f $env_file ]] && (source "$env_file" && redis-cli -p "$ROWCACHE_TEST_REDIS_PORT" ping &&
  mariadb -h127.0.0.1 -P"$ROWCACHE_TEST_MYSQL_PORT" -urowcache -prowcache rowcache -e 'SELECT 1') >/dev/null 2>&1; }; then
  env_file=$(scripts/servers.sh start)
fi
# shellcheck disable=SC1090
source "$env_file"
MP=$ROWCACHE_TEST_MYSQL_PORT RP=$ROWCACHE_TEST_REDIS_PORT
TABLE=nodecheck_$$
PREFIX=nodecheck:$$
work=$(mktemp -d)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $TABLE" 2>/dev/null || true
  redis-cli -p "$RP" --scan --pattern "$PREFIX:*" | xargs -r redis-cli -p "$RP" DEL >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$ROWCACHE" load --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --from data/mp6input.csv --quiet >/dev/null
"$ROWCACHE" serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --cache "$ROWCACHE_TEST_REDIS" \
  --key-prefix "$PREFIX:rc:" >"$work/rc.out" 2>&1 &
pids+=($!)
NODE_PATH=$node_path node bench/node_peer/server.js --port 0 --mysql-port "$MP" --redis-port "$RP" --table "$TABLE" \
  --key-prefix "$PREFIX:node:" >"$work/node.out" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q listening "$work/rc.out" && grep -q listening "$work/node.out" && break; sleep 0.1; done
rc_url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/rc.out" | head -1)
node_url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/node.out" | head -1)
[[ -n $rc_url && -n $node_url ]] || { echo "check: a server did not start:" >&2; cat "$work/rc.out" "$work/node.out" >&2; exit 1; }
python3 bench/node_peer/check_answers.py --rowcache "$rc_url/" --peer "$node_url/" --writes
