#!/usr/bin/env bash
# Side-by-side, in one run on this machine, in interleaved rounds:
#   - the floor: redis-benchmark MGET of 3 keys, 1 client (p50);
#   - rowcache's cached 3-id read over HTTP (1 client: p50; 16 clients:
#     throughput), with busy polling on (the default) and off, and with
#     --near-cache; rowcache uncached;
#   - the Python peer (bench/python_peer.py) and the Node.js peer
#     (bench/node_peer/: fastify, ioredis auto-pipelining, mysql2, one worker
#     per core) at 1 and 16 clients;
#   - `rowcache bench trivial-server` (a fixed 2-byte answer; one thread per
#     core, as serve runs one I/O thread per core) at 16 clients: what the
#     HTTP round trip and wrk cost by themselves on this machine.
# Beside every throughput figure, the server's CPU per request: utime + stime
# from /proc/PID/stat over the wrk window (the Node peer: its primary and its
# workers), divided by the requests wrk counted. Before measuring, the Node
# peer's answers are checked byte for byte against rowcache's
# (bench/node_peer/check_answers.py). Prints a table with the ratios.
#
#   bench/compare.sh [SECONDS per run, default 10]    (ROUNDS=3: rounds, medians reported)
#   ROWCACHE_BENCH_NO_BUILD=1: use build/rowcache as it is (no cmake), just start the servers
#   WARMUP=S: seconds of load on each server before the rounds (default 2; 0: none)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
# shellcheck source=bench/setup.sh
source bench/setup.sh
NODE_PATH=$(bench/node_peer/install.sh)
export NODE_PATH
TABLE=bench_heroes
NCPU=$(nproc)
work=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT

mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $TABLE"
./build/rowcache load --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --from data/mp6input.csv --quiet >/dev/null
redis-cli -p "$RP" --scan --pattern 'bench:*' | xargs -r redis-cli -p "$RP" DEL >/dev/null
redis-cli -p "$RP" MSET k1 v1 k2 v2 k3 v3 >/dev/null

declare -A port pid
start() { # NAME COMMAND...: started in the background, its output in $work/NAME.out
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>&1 &
  pid[$name]=$!
  pids+=($!)
}
serve=(./build/rowcache serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --cache "$ROWCACHE_TEST_REDIS"
  --key-prefix bench:heroes: --ttl 3600 --threads 8)
start rc "${serve[@]}"
# The same service with busy polling off (--busy-poll-us 0 --busy-poll-redis-us 0), for the A/B.
start rc0 "${serve[@]}" --busy-poll-us 0 --busy-poll-redis-us 0
# ... and with the in-process near cache in front of Redis.
start rcn "${serve[@]}" --near-cache
start py /usr/bin/python3 bench/python_peer.py --port 0 --mysql-port "$MP" --redis-port "$RP" --table "$TABLE"
start node node bench/node_peer/server.js --port 0 --mysql-port "$MP" --redis-port "$RP" --table "$TABLE" \
  --key-prefix bench:node: --ttl 3600 --workers "$NCPU"
start triv ./build/rowcache bench trivial-server --listen 127.0.0.1:0 --threads "$NCPU"
names=(rc rc0 rcn py node triv)
# Each prints "... listening on http://127.0.0.1:PORT" (node: once every worker listens; it starts slowly
# on a busy machine, hence the 30 s).
for n in "${names[@]}"; do
  for _ in $(seq 300); do grep -q listening "$work/$n.out" 2>/dev/null && break; sleep 0.1; done
  port[$n]=$(grep -o '127.0.0.1:[0-9]*' "$work/$n.out" | head -1 | cut -d: -f2)
  [ -n "${port[$n]}" ] || { echo "compare: $n did not start:" >&2; cat "$work/$n.out" >&2; exit 1; }
done

# The Node peer answers reads exactly as rowcache does (byte for byte, cached and uncached).
python3 bench/node_peer/check_answers.py --rowcache "http://127.0.0.1:${port[rc]}/" \
  --peer "http://127.0.0.1:${port[node]}/" --quiet >"$work/check.txt" || { cat "$work/check.txt" >&2; exit 1; }
cat "$work/check.txt" >&2

lua() { printf 'wrk.method = "POST"\nwrk.body = %s\n' "'$1'" >"$work/$2.lua"; }
lua '{"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2, 3]}' cached
lua '{"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1, 2, 3]}' uncached

# A process and all its descendants (the Node peer's cluster workers).
tree_pids() {
  local p c kids
  for p in "$@"; do
    echo "$p"
    kids=$(cat /proc/"$p"/task/*/children 2>/dev/null || true)
    for c in $kids; do tree_pids "$c"; done
  done
}
# CPU seconds (user + system, all threads) the process tree has used so far.
cpu_s() {
  local p
  for p in $(tree_pids "$1"); do
    # Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
    sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true
  done | awk -v hz="$(getconf CLK_TCK)" '{t += $12 + $13} END {printf "%.3f\n", t / hz}'
}
# wrk: p50 (us), requests/s and the server's CPU us per request over the run.
wrk_run() { # name script conns
  local before after p50 rps total
  before=$(cpu_s "${pid[$1]}")
  wrk -t"$([ "$3" -ge 2 ] && echo 2 || echo 1)" -c"$3" -d"${DUR}s" --latency -s "$work/$2.lua" \
    "http://127.0.0.1:${port[$1]}/" >"$work/wrk.txt"
  after=$(cpu_s "${pid[$1]}")
  p50=$(awk '$1=="50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1e6}}' "$work/wrk.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  if grep -q 'Non-2xx' "$work/wrk.txt"; then
    echo "compare: $1 answered errors: $(grep 'Non-2xx' "$work/wrk.txt")" >&2
  fi
  echo "$p50 $rps $(awk -v a="$before" -v b="$after" -v n="$total" 'BEGIN {printf "%.1f", (n > 0 ? (b - a) * 1e6 / n : 0)}')"
}
# Warm the caches (the near cache: a few reads, then it must be serving).
for n in rc rc0 rcn py node; do
  for _ in 1 2 3; do curl -s "http://127.0.0.1:${port[$n]}/" -d '{"REQUEST": "read", "SQLS": [1, 2, 3]}' >/dev/null; done
done
# ... and every server under load for WARMUP seconds (default 2) at 16 clients, so that the Node peer's
# JIT has compiled its hot paths before anything is measured (and every server is treated alike).
WARMUP=${WARMUP:-2}
if [ "$WARMUP" != 0 ]; then
  for n in "${names[@]}"; do
    wrk -t2 -c16 -d"${WARMUP}s" -s "$work/cached.lua" "http://127.0.0.1:${port[$n]}/" >/dev/null
  done
fi
metric() { curl -s "http://127.0.0.1:${port[rcn]}/metrics" | awk -v m="$1" '$1==m {print $2}'; }
[ "$(metric rowcache_near_cache_serving)" = 1 ] ||
  echo "compare: WARNING: the near cache is not serving (rowcache_near_cache_serving != 1)" >&2
near_hits0=$(metric rowcache_near_cache_hits_total)
near_miss0=$(metric rowcache_near_cache_misses_total)

# ROUNDS rounds, each running every measurement once, one after the other,
# so that a slow minute on this shared VM hits all of them alike; the table
# shows the median of the rounds.
ROUNDS=${ROUNDS:-3}
n=$((DUR * 20000))
declare -A all
add() { all[$1]="${all[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"${all[$1]:-}" | awk 'NF' | sort -g | awk '{v[NR]=$1} END {print (NR == 0 ? "-" : NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
measure() { # key name script conns
  local p rps cpu
  read -r p rps cpu < <(wrk_run "$2" "$3" "$4")
  add "$1_p50" "$p"
  add "$1_rps" "$rps"
  add "$1_cpu" "$cpu"
}
started=$(date +%s)
for r in $(seq "$ROUNDS"); do
  add rb_p50 "$(redis-benchmark -p "$RP" -c 1 -n "$n" --csv MGET k1 k2 k3 | awk -F'"' 'NR==2 {print $10*1000}')"
  measure rc1 rc cached 1
  measure rcn1 rcn cached 1
  measure rc16 rc cached 16
  measure rcn16 rcn cached 16
  measure node16 node cached 16
  measure triv16 triv cached 16
  measure rc01 rc0 cached 1
  measure rc016 rc0 cached 16
  measure rcu1 rc uncached 1
  measure rcu16 rc uncached 16
  measure py16 py cached 16
  measure py1 py cached 1
  measure node1 node cached 1
  echo "round $r: redis-benchmark p50 ${all[rb_p50]##* } us, 1 client p50: rowcache ${all[rc1_p50]##* } us," \
    "near cache ${all[rcn1_p50]##* } us; 16 clients: rowcache ${all[rc16_rps]##* } req/s, near cache" \
    "${all[rcn16_rps]##* }, node peer ${all[node16_rps]##* }, python peer ${all[py16_rps]##* }," \
    "trivial server ${all[triv16_rps]##* }" >&2
done
near_hits=$(awk -v a="$near_hits0" -v b="$(metric rowcache_near_cache_hits_total)" 'BEGIN {print b - a}')
near_miss=$(awk -v a="$near_miss0" -v b="$(metric rowcache_near_cache_misses_total)" 'BEGIN {print b - a}')

printf '\n%-52s %10s %10s %10s\n' "run (median of $ROUNDS rounds, $DUR s each, $(date -u +%F))" "p50 (us)" "req/s" "CPU us/req"
row() {
  local rps=- cpu=-
  [ "$2" = rb ] || { rps=$(median "$2_rps"); cpu=$(median "$2_cpu"); }
  printf '%-52s %10s %10s %10s\n' "$1" "$(median "$2_p50")" "$rps" "$cpu"
}
row "redis-benchmark -c 1 MGET k1 k2 k3" rb
row "rowcache cached read of 3 ids, 1 client" rc1
row "rowcache cached read of 3 ids, 16 clients" rc16
row "  the same, busy polling off, 1 client" rc01
row "  the same, busy polling off, 16 clients" rc016
row "  the same, --near-cache, 1 client" rcn1
row "  the same, --near-cache, 16 clients" rcn16
row "rowcache uncached read of 3 ids, 1 client" rcu1
row "rowcache uncached read of 3 ids, 16 clients" rcu16
row "node peer cached read of 3 ids, 1 client" node1
row "node peer cached read of 3 ids, 16 clients" node16
row "python peer cached read of 3 ids, 1 client" py1
row "python peer cached read of 3 ids, 16 clients" py16
row "trivial-server ($NCPU threads), same request, 16 clients" triv16
echo "(CPU us/req: the server's utime + stime over the wrk run / requests; node: primary + $NCPU workers." \
  "near cache over all its runs: $near_hits keys hit, $near_miss missed)"
for k in rb_p50 rc1_p50 rcn1_p50 rc01_p50 rc16_rps rcn16_rps rc016_rps node16_rps py16_rps triv16_rps rcn16_cpu node16_cpu; do
  echo "rounds $k:${all[$k]}"
done
ratio() { # text a b format target
  awk -v a="$2" -v b="$3" -v t="$1" -v f="$4" -v g="$5" \
    'BEGIN {if (a == "-" || b == "-" || b == 0) {printf "ratio: %s = n/a%s\n", t, g} else printf "ratio: %s = " f "%s\n", t, a / b, g}'
}
ratio "rowcache 1-client p50 / redis-benchmark p50" "$(median rc1_p50)" "$(median rb_p50)" %.2f " (target <= 2)"
ratio "rowcache / python peer throughput at 16 clients" "$(median rc16_rps)" "$(median py16_rps)" %.1f " (target >= 10)"
ratio "uncached / cached p50 at 1 client" "$(median rcu1_p50)" "$(median rc1_p50)" %.2f ""
ratio "near-cache 1-client p50 / redis-benchmark MGET p50" "$(median rcn1_p50)" "$(median rb_p50)" %.2f " (target <= 1.0)"
ratio "near-cache / node peer throughput at 16 clients" "$(median rcn16_rps)" "$(median node16_rps)" %.2f " (target >= 4)"
ratio "near-cache / trivial-server throughput at 16 clients" "$(median rcn16_rps)" "$(median triv16_rps)" %.2f " (target >= 0.8)"
ratio "node peer / near-cache CPU per request at 16 clients" "$(median node16_cpu)" "$(median rcn16_cpu)" %.2f ""
echo "($(($(date +%s) - started)) s of measurement)"
