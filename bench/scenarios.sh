#!/usr/bin/env bash
# Benchmark scenarios, each one command; results (JSON, CSV, PNG plots and the
# printed tables in summary.txt) go to bench/results/<scenario>/.
#
#   bench/scenarios.sh loopback     MariaDB + Redis on loopback, everything in memory
#   bench/scenarios.sh aws          the same through delaying proxies, calibrated so that a database
#                                   round trip takes ~1 ms and a Redis round trip ~0.3 ms (p50;
#                                   AWS_DB_RTT_US, AWS_CACHE_RTT_US change the targets)
#   bench/scenarios.sh contention   64 connections, 30% writes, zipf reads over 100,000 rows
#   bench/scenarios.sh floors       redis-benchmark MGET and sysbench oltp_point_select on the same servers
#   bench/scenarios.sh tool         the load generator itself: rowcache bench vs wrk against a trivial server
#   bench/scenarios.sh near         the near cache beside Redis only, in ROUNDS interleaved rounds: the
#                                   autograder's pattern on loopback, cached reads at 1 connection and
#                                   the autograder's pattern through the emulated AWS network
#   bench/scenarios.sh all          all of the above
#
# DURATION (environment, default 10) is the measured seconds per run.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DURATION:-10}
WARM=${WARMUP:-2}
# shellcheck source=bench/setup.sh
source bench/setup.sh
B=./build/rowcache
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

sql() { mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -e "$1"; }
fresh_table() { sql "DROP TABLE IF EXISTS $1"; redis-cli -p "$RP" --scan --pattern "bench:$1:*" | xargs -r redis-cli -p "$RP" DEL >/dev/null; }

# start NAME MARKER CMD...: runs CMD in the background, waits for "MARKER HOST:PORT"
# on its stdout and sets PORT.
start() {
  local name=$1 marker=$2
  shift 2
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "$marker" "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(grep -o "${marker}[^0-9]*127.0.0.1:[0-9]*" "$work/$name.out" | head -1 | grep -o '[0-9]*$') ||
    { cat "$work/$name.err" >&2; exit 1; }
}
serve() { # NAME DB_URL CACHE_URL [flags...]
  local name=$1 db=$2 cache=$3
  shift 3
  start "$name" "listening on http://" $B serve --listen 127.0.0.1:0 --db "$db" --cache "$cache" --threads 8 "$@"
}
run() { # OUTDIR NAME bench-flags...: prints the command and the table, keeps both in summary.txt
  local out=$1 name=$2
  shift 2
  mkdir -p "$out"
  echo "\$ rowcache bench $* --name $name" | tee -a "$out/summary.txt"
  $B bench "$@" --name "$name" --json "$out/$name.json" --csv "$out/$name.csv" --plot "$out" \
    2> >(grep -v '^plot:' >&2) | tee -a "$out/summary.txt"
  echo | tee -a "$out/summary.txt"
}
header() { # OUTDIR TITLE
  mkdir -p "$1"
  rm -f "$1"/*.json "$1"/*.csv "$1"/*.png "$1"/*.dat "$1"/*.gnuplot "$1"/summary.txt
  echo "# $2 ($(date -u +%F), $(nproc) cores, $(uname -r), load average before: $(cut -d' ' -f1-3 /proc/loadavg))" |
    tee "$1/summary.txt"
}

loopback() {
  local out=bench/results/loopback T=bench_loopback
  header "$out" "loopback: MariaDB + Redis on 127.0.0.1"
  fresh_table $T
  local db="$ROWCACHE_TEST_MYSQL?table=$T"
  serve rc "$db" "$ROWCACHE_TEST_REDIS" --key-prefix "bench:$T:" --ttl 3600
  local tgt="http://127.0.0.1:$PORT/"
  run $out c1 --target "$tgt" --connections 1 --threads 1 --use-cache both --duration "$DUR" --warmup "$WARM"
  run $out c16 --target "$tgt" --connections 16 --use-cache both --duration "$DUR" --warmup "$WARM"
  run $out inproc-c1 --target inproc --db "$db" --cache "$ROWCACHE_TEST_REDIS" --key-prefix "bench:$T:" --ttl 3600 \
    --connections 1 --use-cache both --duration "$DUR" --warmup "$WARM"
  run $out inproc-memory-c1 --target inproc --db "$db" --cache memory:// --connections 1 --use-cache both \
    --duration "$DUR" --warmup "$WARM"
  run $out sweep --target "$tgt" --connections 32 --rates 2000,5000,8000,11000,14000 --use-cache both \
    --duration "$((DUR / 2 > 3 ? DUR / 2 : 3))" --warmup 1
  run $out autograder --target "$tgt" --scenario autograder --rows 1000 --passes 5
  # The Python peer (bench/python_peer.py) on the same table, same tool, 16 connections.
  start peer "listening" /usr/bin/python3 bench/python_peer.py --port 0 --mysql-port "$MP" --redis-port "$RP" \
    --table $T --prefix "bench:$T:peer:"
  run $out python-peer-c16 --target "http://127.0.0.1:$PORT/" --connections 16 --duration "$DUR" --warmup "$WARM" \
    --no-prepare
}

# Round trips through a delaying proxy, in us (p50): a 3-key MGET, and a
# MariaDB primary-key SELECT (sysbench oltp_point_select, 1 thread).
redis_rtt() { redis-benchmark -p "$1" -c 1 -n 3000 --csv MGET k1 k2 k3 | awk -F'"' 'NR==2 {printf "%d", $10*1000}'; }
db_rtt() {
  "${SB_AWS[@]}" --mysql-port="$1" --threads=1 --time=3 --percentile=50 run |
    awk '/50th percentile:/ {printf "%d", $3*1000}'
}
# calibrate NAME TO_PORT TARGET_US MEASURE: starts `rowcache bench proxy` to
# TO_PORT and adjusts --delay-us until MEASURE through it reads TARGET_US
# (+-4%), since the proxy's own hops and timers add to the delay it is given;
# leaves it running and sets PORT.
calibrate() {
  local name=$1 to=$2 target=$3 measure=$4 d=$(($3 / 2)) m i
  for i in 1 2 3 4 5 6; do
    start "$name" "proxy listening on" $B bench proxy --listen 127.0.0.1:0 --to "127.0.0.1:$to" --delay-us "$d"
    m=$($measure "$PORT")
    echo "calibration: $name --delay-us $d -> round trip p50 $m us (target $target us)" | tee -a "$out/summary.txt"
    if [ $((m * 100)) -ge $((target * 96)) ] && [ $((m * 100)) -le $((target * 104)) ]; then break; fi
    [ "$i" = 6 ] && break
    kill "${pids[-1]}"
    d=$((d + (target - m) / 2))
    [ "$d" -lt 0 ] && d=0
  done
}

# The emulated AWS network (the caller's $out gets the calibration lines):
# sysbench's table for the database round trip, a delaying proxy to MariaDB
# (DBP) and one to Redis (RPP), each calibrated.
aws_network() {
  redis-cli -p "$RP" MSET k1 v1 k2 v2 k3 v3 >/dev/null
  SB_AWS=(sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=rowcache
    --mysql-password=rowcache --mysql-db=rowcache --tables=1 --table-size=1000)
  "${SB_AWS[@]}" --mysql-port="$MP" cleanup >/dev/null 2>&1 || true
  "${SB_AWS[@]}" --mysql-port="$MP" prepare >/dev/null
  calibrate dbproxy "$MP" "${AWS_DB_RTT_US:-1000}" db_rtt
  DBP=$PORT
  calibrate redisproxy "$RP" "${AWS_CACHE_RTT_US:-300}" redis_rtt
  RPP=$PORT
}

aws() {
  local out=bench/results/aws T=bench_aws
  header "$out" "emulated AWS network: database round trip ~1 ms, Redis round trip ~0.3 ms (rowcache bench proxy)"
  fresh_table $T
  aws_network
  local dbp=$DBP rp=$RPP
  local db="mysql://rowcache:rowcache@127.0.0.1:$dbp/rowcache?table=$T" cache="redis://127.0.0.1:$rp/0"
  serve rc "$db" "$cache" --key-prefix "bench:$T:" --ttl 3600
  local tgt="http://127.0.0.1:$PORT/"
  run $out c1 --target "$tgt" --connections 1 --threads 1 --use-cache both --duration "$DUR" --warmup "$WARM"
  run $out c16 --target "$tgt" --connections 16 --use-cache both --duration "$DUR" --warmup "$WARM"
  # The core alone through the same emulated network (no HTTP, no hand-offs).
  run $out inproc-c1 --target inproc --db "$db" --cache "$cache" --key-prefix "bench:$T:" --ttl 3600 \
    --connections 1 --use-cache both --duration "$DUR" --warmup "$WARM" --no-prepare
  # A 90% hit ratio: entries live 2 s; at 1,000 reads/s the hot set is sized so
  # that about one id read in ten finds its entry expired (lazy loading refills it).
  serve rcttl "$db" "$cache" --key-prefix "bench:$T:ttl:" --ttl 2 --ttl-jitter 0
  local tgt2="http://127.0.0.1:$PORT/"
  run $out hit90-batch1 --target "$tgt2" --rate 1000 --connections 16 --batch 1 --hot-set 200 --use-cache both \
    --duration "$DUR" --warmup "$WARM"
  run $out hit90-batch3 --target "$tgt2" --rate 1000 --connections 16 --batch 3 --hot-set 600 --use-cache both \
    --duration "$DUR" --warmup "$WARM"
  run $out autograder --target "$tgt" --scenario autograder --rows 300 --passes 3
  # The round trips again after the runs, to show the emulated network held still.
  echo "after the runs: Redis round trip p50 $(redis_rtt "$rp") us, database $(db_rtt "$dbp") us" |
    tee -a "$out/summary.txt"
  "${SB_AWS[@]}" --mysql-port="$MP" cleanup >/dev/null
}

# The near cache (--near-cache) and Redis only, two servers on one table with
# their own key prefixes, measured alternately in ROUNDS rounds (medians in
# docs/benchmarks.md come from the rounds' figures printed here).
near() {
  local out=bench/results/near T=bench_near rounds=${ROUNDS:-3} r
  header "$out" "near cache vs Redis only, side by side ($rounds rounds): loopback, then an emulated AWS network"
  fresh_table $T
  # pair DB_URL CACHE_URL NAME: a Redis-only and a near-cache server on them; sets R and N.
  pair() {
    serve "$3r" "$1" "$2" --key-prefix "bench:$T:$3r:" --ttl 3600
    R="http://127.0.0.1:$PORT/"
    serve "$3n" "$1" "$2" --key-prefix "bench:$T:$3n:" --ttl 3600 --near-cache
    N="http://127.0.0.1:$PORT/"
  }
  pair "$ROWCACHE_TEST_MYSQL?table=$T" "$ROWCACHE_TEST_REDIS" l
  for r in $(seq "$rounds"); do
    run $out "loopback-autograder-redis-r$r" --target "$R" --scenario autograder --rows 1000 --passes 5
    run $out "loopback-autograder-near-r$r" --target "$N" --scenario autograder --rows 1000 --passes 5
  done
  kill "${pids[-1]}" "${pids[-2]}"
  aws_network
  local rp=$RPP
  pair "mysql://rowcache:rowcache@127.0.0.1:$DBP/rowcache?table=$T" "redis://127.0.0.1:$rp/0" a
  for r in $(seq "$rounds"); do
    run $out "aws-c1-redis-r$r" --target "$R" --connections 1 --threads 1 --duration "$DUR" --warmup "$WARM"
    run $out "aws-c1-near-r$r" --target "$N" --connections 1 --threads 1 --duration "$DUR" --warmup "$WARM"
    run $out "aws-autograder-redis-r$r" --target "$R" --scenario autograder --rows 300 --passes 3
    run $out "aws-autograder-near-r$r" --target "$N" --scenario autograder --rows 300 --passes 3
  done
  echo "after the runs: Redis round trip p50 $(redis_rtt "$rp") us, database $(db_rtt "$DBP") us" |
    tee -a "$out/summary.txt"
  "${SB_AWS[@]}" --mysql-port="$MP" cleanup >/dev/null
}

contention() {
  local out=bench/results/contention T=bench_contention
  header "$out" "database under contention: 64 connections, 70:30 read:write, zipf over 100,000 rows"
  fresh_table $T
  local db="$ROWCACHE_TEST_MYSQL?table=$T"
  serve rc "$db" "$ROWCACHE_TEST_REDIS" --key-prefix "bench:$T:" --ttl 3600 --db-pool 32
  local tgt="http://127.0.0.1:$PORT/"
  run $out mixed --target "$tgt" --connections 64 --mix 70:30 --keys zipf --hot-set 100000 --use-cache both \
    --duration "$DUR" --warmup "$WARM"
  run $out readonly-uniform --target "$tgt" --connections 64 --keys uniform --hot-set 100000 --use-cache both \
    --duration "$DUR" --warmup "$WARM" --no-prepare
}

floors() {
  local out=bench/results/floors
  header "$out" "floors: redis-benchmark MGET and sysbench oltp_point_select on the same servers"
  redis-cli -p "$RP" MSET k1 v1 k2 v2 k3 v3 >/dev/null
  local n=$((DUR * 20000))
  for c in 1 16; do
    echo "\$ redis-benchmark -p $RP -c $c -n $n --csv MGET k1 k2 k3" | tee -a "$out/summary.txt"
    redis-benchmark -p "$RP" -c "$c" -n "$n" --csv MGET k1 k2 k3 | tee -a "$out/summary.txt"
  done
  local sb=(sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$MP"
    --mysql-user=rowcache --mysql-password=rowcache --mysql-db=rowcache --tables=1 --table-size=10000)
  "${sb[@]}" cleanup >/dev/null 2>&1 || true
  "${sb[@]}" prepare >/dev/null
  for t in 1 16; do
    echo "\$ ${sb[*]} --threads=$t --time=$DUR --percentile=50 run" | tee -a "$out/summary.txt"
    "${sb[@]}" --threads="$t" --time="$DUR" --percentile=50 run |
      grep -E 'queries:|transactions:|min:|avg:|50th percentile:|max:' | tee -a "$out/summary.txt"
  done
  "${sb[@]}" cleanup >/dev/null
}

tool() {
  local out=bench/results/tool
  header "$out" "the load generator: rowcache bench vs wrk, GET / of a trivial server (1 server thread, 1 client thread)"
  start triv "trivial server listening on" $B bench trivial-server --listen 127.0.0.1:0 --threads 1
  local tgt="http://127.0.0.1:$PORT/"
  for c in 1 16 64; do
    echo "\$ wrk -t1 -c$c -d${DUR}s --latency $tgt" | tee -a "$out/summary.txt"
    wrk -t1 -c"$c" -d"${DUR}s" --latency "$tgt" | grep -E 'Requests/sec|50%|99%' | tee -a "$out/summary.txt"
    run $out "c$c" --target "$tgt" --get / --threads 1 --connections "$c" --duration "$DUR" --warmup 1
  done
}

case "${1:-}" in
  loopback) loopback ;;
  aws) aws ;;
  near) near ;;
  contention) contention ;;
  floors) floors ;;
  tool) tool ;;
  all) floors; tool; loopback; aws; contention ;;
  *) sed -n '2,15p' "$0"; exit 2 ;;
esac
