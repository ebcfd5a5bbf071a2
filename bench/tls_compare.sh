#!/usr/bin/env bash
# rowcache binaries side by side, each against plain Redis and against TLS +
# AUTH Redis: cached 3-id reads at 16 connections, in interleaved rounds
# (a plain, a tls, b plain, b tls, ..., then the next round; the machine's
# speed drifts, so a mode's runs sit next to each other). Medians reported:
# req/s, TLS / plain (of the medians, and the median of each round's ratio),
# and CPU us per request from /proc/PID/stat (user + system over each run)
# of the service and of the Redis server it uses. With PERF=1 the last round
# also records `perf record -g` of every service (OUT/perf-a-tls.data, ...).
#
#   bench/tls_compare.sh BINARY_A [BINARY_B ...] [SECONDS per run, default 5]
#   (ROUNDS=7 by default; OUT=/tmp/tls-compare by default; the servers of
#   scripts/servers.sh must be running: /tmp/rowcache-servers/env)
set -euo pipefail
DUR=5 ROUNDS=${ROUNDS:-7} OUT=${OUT:-/tmp/tls-compare}
declare -A bin url port pid
names=()
for arg in "$@"; do
  if [[ $arg =~ ^[0-9]+$ ]]; then DUR=$arg; continue; fi
  letters=(a b c d e f g h)
  x=${letters[${#names[@]}]}
  names+=("$x")
  bin[$x]=$(realpath "$arg")
done
[ "${#names[@]}" -ge 1 ] || { echo "usage: $0 BINARY... [SECONDS]" >&2; exit 2; }
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
# shellcheck disable=SC1091
source /tmp/rowcache-servers/env
MYSQL=mysql://rowcache:rowcache@127.0.0.1:$ROWCACHE_TEST_MYSQL_PORT/rowcache
TABLE=bench_tls_compare
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mariadb -h127.0.0.1 -P"$ROWCACHE_TEST_MYSQL_PORT" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $TABLE"
"${bin[a]}" load --db "$MYSQL?table=$TABLE" --from data/mp6input.csv --quiet >/dev/null

url[plain]=$ROWCACHE_TEST_REDIS url[tls]=$ROWCACHE_TEST_REDIS_TLS
declare -A redis_pid
redis_pid[plain]=$(pgrep -f "redis-server 127.0.0.1:$ROWCACHE_TEST_REDIS_PORT" | head -1)
redis_pid[tls]=$(pgrep -f "redis-server 127.0.0.1:$ROWCACHE_TEST_REDIS_TLS_PORT" | head -1)
runs=()
for x in "${names[@]}"; do runs+=("$x-plain" "$x-tls"); done
for r in "${runs[@]}"; do
  "${bin[${r%-*}]}" serve --listen 127.0.0.1:0 --db "$MYSQL?table=$TABLE" --cache "${url[${r#*-}]}" \
    --key-prefix "bench:tlscmp:$r:" --ttl 3600 --threads 8 >"$work/$r.out" 2>&1 &
  pid[$r]=$!
  pids+=($!)
done
for r in "${runs[@]}"; do
  for _ in $(seq 50); do grep -q listening "$work/$r.out" 2>/dev/null && break; sleep 0.1; done
  port[$r]=$(grep -o '127.0.0.1:[0-9]*' "$work/$r.out" | head -1 | cut -d: -f2)
  [ -n "${port[$r]}" ] || { echo "rowcache ($r) did not start:" >&2; cat "$work/$r.out" >&2; exit 1; }
  curl -s "http://127.0.0.1:${port[$r]}/" -d '{"REQUEST": "read", "SQLS": [1, 2, 3]}' >/dev/null
done
printf 'wrk.method = "POST"\nwrk.body = %s\n' "'{\"USE_CACHE\": \"True\", \"REQUEST\": \"read\", \"SQLS\": [1, 2, 3]}'" \
  >"$work/cached.lua"

cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
declare -A all
add() { all[$1]="${all[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"${all[$1]}" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
for round in $(seq "$ROUNDS"); do
  line="round $round:"
  for r in "${runs[@]}"; do
    perf_pid=
    if [ "${PERF:-0}" = 1 ] && [ "$round" = "$ROUNDS" ]; then
      perf record -g -o "$OUT/perf-$r.data" -p "${pid[$r]}" -- sleep "$DUR" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    before=$(cpu_s "${pid[$r]}") rbefore=$(cpu_s "${redis_pid[${r#*-}]}")
    wrk -t2 -c16 -d"${DUR}s" -s "$work/cached.lua" "http://127.0.0.1:${port[$r]}/" >"$work/wrk.txt"
    after=$(cpu_s "${pid[$r]}") rafter=$(cpu_s "${redis_pid[${r#*-}]}")
    [ -n "$perf_pid" ] && wait "$perf_pid"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
    grep -q 'Non-2xx' "$work/wrk.txt" && echo "warning: $r had non-2xx responses" >&2
    add "$r-rps" "$rps"
    add "$r-cpu" "$(awk -v a="$before" -v b="$after" -v n="$total" 'BEGIN {printf "%.1f", (b - a) * 1e6 / n}')"
    add "$r-rcpu" "$(awk -v a="$rbefore" -v b="$rafter" -v n="$total" 'BEGIN {printf "%.1f", (b - a) * 1e6 / n}')"
    line+=" $r ${rps%.*}"
  done
  for x in "${names[@]}"; do
    add "$x-ratio" "$(awk -v t="${all[$x-tls-rps]##* }" -v p="${all[$x-plain-rps]##* }" 'BEGIN {printf "%.3f", t/p}')"
  done
  echo "$line" >&2
done

printf '\n%-8s %12s %12s %10s %14s %13s %11s %14s %12s\n' "binary" "plain req/s" "tls req/s" "tls/plain" \
  "median ratio" "plain us/req" "tls us/req" "Redis plain" "Redis tls"
for x in "${names[@]}"; do
  p=$(median "$x-plain-rps") t=$(median "$x-tls-rps")
  printf '%-8s %12s %12s %10s %14s %13s %11s %14s %12s\n' "$x" "$p" "$t" "$(awk -v a="$t" -v b="$p" 'BEGIN {printf "%.3f", a/b}')" \
    "$(median "$x-ratio")" "$(median "$x-plain-cpu")" "$(median "$x-tls-cpu")" "$(median "$x-plain-rcpu")" \
    "$(median "$x-tls-rcpu")"
done
for x in "${names[@]}"; do echo "$x = ${bin[$x]}"; done
echo "(median of $ROUNDS interleaved rounds, $DUR s each, wrk -t2 -c16, $(date -u '+%F %T') UTC)"
for k in "${!all[@]}"; do echo "rounds $k:${all[$k]}"; done | sort
