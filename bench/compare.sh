#!/usr/bin/env bash
# Side-by-side, in one run on this machine: the floor (redis-benchmark MGET of
# 3 keys, 1 client), rowcache's cached 3-id read over HTTP (1 client: p50;
# 16 clients: throughput), rowcache uncached, and the Python peer
# (bench/python_peer.py) at 16 clients. Prints a table with the ratios.
#
#   bench/compare.sh [SECONDS per run, default 10]    (ROUNDS=3: rounds, medians reported)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
# shellcheck source=bench/setup.sh
source bench/setup.sh
TABLE=bench_heroes
work=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT

mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $TABLE"
./build/rowcache load --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --from data/mp6input.csv --quiet >/dev/null
redis-cli -p "$RP" --scan --pattern 'bench:*' | xargs -r redis-cli -p "$RP" DEL >/dev/null
redis-cli -p "$RP" MSET k1 v1 k2 v2 k3 v3 >/dev/null

./build/rowcache serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --cache "$ROWCACHE_TEST_REDIS" \
  --key-prefix bench:heroes: --ttl 3600 --threads 8 >"$work/rc.out" 2>&1 &
pids+=($!)
/usr/bin/python3 bench/python_peer.py --port 0 --mysql-port "$MP" --redis-port "$RP" --table "$TABLE" \
  >"$work/py.out" 2>&1 &
pids+=($!)
# The same service with busy polling off (--busy-poll-us 0 --busy-poll-redis-us 0), for the A/B.
./build/rowcache serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --cache "$ROWCACHE_TEST_REDIS" \
  --key-prefix bench:heroes: --ttl 3600 --threads 8 --busy-poll-us 0 --busy-poll-redis-us 0 >"$work/rc0.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/rc.out" 2>/dev/null && grep -q listening "$work/rc0.out" && break; sleep 0.1; done
RC_PORT=$(grep -o '127.0.0.1:[0-9]*' "$work/rc.out" | head -1 | cut -d: -f2)
RC0_PORT=$(grep -o '127.0.0.1:[0-9]*' "$work/rc0.out" | head -1 | cut -d: -f2)

# The peer binds a port the OS picks only through --port 0 with http.server; read it back.
for _ in $(seq 50); do grep -q listening "$work/py.out" 2>/dev/null && break; sleep 0.1; done
PY_PORT=$(grep -o '127.0.0.1:[0-9]*' "$work/py.out" | head -1 | cut -d: -f2)

lua() { printf 'wrk.method = "POST"\nwrk.body = %s\n' "'$1'" >"$work/$2.lua"; }
lua '{"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2, 3]}' cached
lua '{"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1, 2, 3]}' uncached

# wrk: p50 (us) and requests/s.
wrk_run() { # url script conns
  wrk -t"$([ "$3" -ge 2 ] && echo 2 || echo 1)" -c"$3" -d"${DUR}s" --latency -s "$work/$2.lua" "$1" >"$work/wrk.txt"
  local p50 rps
  p50=$(awk '$1=="50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1e6}}' "$work/wrk.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  echo "$p50 $rps"
}
# Warm the caches.
curl -s "http://127.0.0.1:$RC_PORT/" -d '{"REQUEST": "read", "SQLS": [1, 2, 3]}' >/dev/null
curl -s "http://127.0.0.1:$RC0_PORT/" -d '{"REQUEST": "read", "SQLS": [1, 2, 3]}' >/dev/null
curl -s "http://127.0.0.1:$PY_PORT/" -d '{"REQUEST": "read", "SQLS": [1, 2, 3]}' >/dev/null

# ROUNDS rounds, each running every measurement once, one after the other,
# so that a slow minute on this shared VM hits all of them alike; the table
# shows the median of the rounds.
ROUNDS=${ROUNDS:-3}
n=$((DUR * 20000))
declare -A all
add() { all[$1]="${all[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"${all[$1]}" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
for r in $(seq "$ROUNDS"); do
  add rb_p50 "$(redis-benchmark -p "$RP" -c 1 -n "$n" --csv MGET k1 k2 k3 | awk -F'"' 'NR==2 {print $10*1000}')"
  read -r p rps < <(wrk_run "http://127.0.0.1:$RC_PORT/" cached 1); add rc1_p50 "$p"; add rc1_rps "$rps"
  read -r p rps < <(wrk_run "http://127.0.0.1:$RC_PORT/" cached 16); add rc16_p50 "$p"; add rc16_rps "$rps"
  read -r p rps < <(wrk_run "http://127.0.0.1:$RC0_PORT/" cached 1); add rc01_p50 "$p"; add rc01_rps "$rps"
  read -r p rps < <(wrk_run "http://127.0.0.1:$RC0_PORT/" cached 16); add rc016_p50 "$p"; add rc016_rps "$rps"
  read -r p rps < <(wrk_run "http://127.0.0.1:$RC_PORT/" uncached 1); add rcu1_p50 "$p"; add rcu1_rps "$rps"
  read -r p rps < <(wrk_run "http://127.0.0.1:$RC_PORT/" uncached 16); add rcu16_p50 "$p"; add rcu16_rps "$rps"
  read -r p rps < <(wrk_run "http://127.0.0.1:$PY_PORT/" cached 16); add py16_p50 "$p"; add py16_rps "$rps"
  read -r p rps < <(wrk_run "http://127.0.0.1:$PY_PORT/" cached 1); add py1_p50 "$p"; add py1_rps "$rps"
  echo "round $r: redis-benchmark p50 ${all[rb_p50]##* } us, rowcache 1 client p50 ${all[rc1_p50]##* } us," \
    "16 clients ${all[rc16_rps]##* } req/s, python peer 16 clients ${all[py16_rps]##* } req/s" >&2
done

printf '\n%-48s %12s %12s\n' "run (median of $ROUNDS rounds, $DUR s each, $(date -u +%F))" "p50 (us)" "req/s"
row() {
  local rps=-
  [ "$2" = rb ] || rps=$(median "$2_rps")
  printf '%-48s %12s %12s\n' "$1" "$(median "$2_p50")" "$rps"
}
row "redis-benchmark -c 1 MGET k1 k2 k3" rb
row "rowcache cached read of 3 ids, 1 client" rc1
row "rowcache cached read of 3 ids, 16 clients" rc16
row "  the same, busy polling off, 1 client" rc01
row "  the same, busy polling off, 16 clients" rc016
row "rowcache uncached read of 3 ids, 1 client" rcu1
row "rowcache uncached read of 3 ids, 16 clients" rcu16
row "python peer cached read of 3 ids, 1 client" py1
row "python peer cached read of 3 ids, 16 clients" py16
for k in rb_p50 rc1_p50 rc01_p50 rc16_rps rc016_rps py16_rps; do echo "rounds $k:${all[$k]}"; done
awk -v a="$(median rc1_p50)" -v b="$(median rb_p50)" \
  'BEGIN {printf "ratio: rowcache 1-client p50 / redis-benchmark p50 = %.2f (target <= 2)\n", a/b}'
awk -v a="$(median rc16_rps)" -v b="$(median py16_rps)" \
  'BEGIN {printf "ratio: rowcache / python peer throughput at 16 clients = %.1f (target >= 10)\n", a/b}'
awk -v a="$(median rcu1_p50)" -v b="$(median rc1_p50)" 'BEGIN {printf "ratio: uncached / cached p50 at 1 client = %.2f\n", a/b}'
