#!/usr/bin/env bash
# What busy polling costs at light load: rowcache with its default busy
# polling against the same service with `--busy-poll-us 0 --busy-poll-redis-us 0`,
# each driven open loop (`rowcache bench --rate 1000 --connections 2`: requests
# due on a fixed schedule, latency from the scheduled send) with cached reads of
# 3 ids. Reports p50 / p99 latency, the server's CPU seconds over the run
# (utime + stime of the process, all threads, from /proc/PID/stat) and its CPU
# us per request, side by side, in interleaved rounds (medians).
#
#   bench/light_load.sh [SECONDS per run, default 10]    (ROUNDS=3, RATE=1000, CONNS=2)
#   ROWCACHE_BENCH_NO_BUILD=1: use build/rowcache as it is (no cmake), just start the servers
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
RATE=${RATE:-1000}
CONNS=${CONNS:-2}
ROUNDS=${ROUNDS:-3}
# shellcheck source=bench/setup.sh
source bench/setup.sh
TABLE=bench_light
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $TABLE"
./build/rowcache load --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --from data/mp6input.csv --quiet >/dev/null
redis-cli -p "$RP" --scan --pattern 'bench:light:*' | xargs -r redis-cli -p "$RP" DEL >/dev/null

declare -A port pid label
modes=(poll nopoll)
label[poll]="busy polling on (default: --busy-poll-us 100 --busy-poll-redis-us 1000)"
label[nopoll]="busy polling off (--busy-poll-us 0 --busy-poll-redis-us 0)"
serve=(./build/rowcache serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --cache "$ROWCACHE_TEST_REDIS"
  --key-prefix bench:light: --ttl 3600 --threads 8)
"${serve[@]}" >"$work/poll.out" 2>&1 &
pid[poll]=$!
pids+=($!)
"${serve[@]}" --busy-poll-us 0 --busy-poll-redis-us 0 >"$work/nopoll.out" 2>&1 &
pid[nopoll]=$!
pids+=($!)
for m in "${modes[@]}"; do
  for _ in $(seq 100); do grep -q listening "$work/$m.out" 2>/dev/null && break; sleep 0.1; done
  port[$m]=$(grep -o '127.0.0.1:[0-9]*' "$work/$m.out" | head -1 | cut -d: -f2)
  [ -n "${port[$m]}" ] || { echo "light_load: rowcache ($m) did not start:" >&2; cat "$work/$m.out" >&2; exit 1; }
done

# CPU seconds (user + system, all threads) the process has used so far.
cpu_s() { sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f\n", ($12 + $13) / hz}'; }
# Reads of 3 ids out of the table's 25 rows, all cached after the first pass.
bench=(./build/rowcache bench --rate "$RATE" --connections "$CONNS" --threads 1 --batch 3 --hot-set 25 --use-cache true --quiet)

# Once per server, untimed: reads every id (fills the cache) and warms up.
for m in "${modes[@]}"; do
  "${bench[@]}" --target "http://127.0.0.1:${port[$m]}/" --duration 2 --warmup 0 >/dev/null
done

# One measured run: the bench process's life is the window (no warm-up, no preparation),
# so the server's CPU from before it starts to after it ends is the window's.
run() { # mode -> "p50 p99 req/s cpu_s cpu_us_per_req errors unfinished hit%"
  local m=$1 before after
  before=$(cpu_s "${pid[$m]}")
  "${bench[@]}" --target "http://127.0.0.1:${port[$m]}/" --duration "$DUR" --warmup 0 --no-prepare \
    --json "$work/run.json" >"$work/run.txt" 2>&1 || { cat "$work/run.txt" >&2; exit 1; }
  after=$(cpu_s "${pid[$m]}")
  python3 - "$work/run.json" "$before" "$after" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
cpu = float(sys.argv[3]) - float(sys.argv[2])
n = run["requests"]
print(f'{run["latency_us"]["p50"]:.1f} {run["latency_us"]["p99"]:.1f} {run["throughput"]:.0f} {cpu:.2f} '
      f'{cpu * 1e6 / n if n else 0:.1f} {run["errors"]["total"]} {run["unfinished"]} '
      f'{100 * run.get("cache_hit_ratio", 0):.1f}')
EOF
}

declare -A all
add() { all[$1]="${all[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"${all[$1]:-}" | awk 'NF' | sort -g | awk '{v[NR]=$1} END {print (NR == 0 ? "-" : NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
started=$(date +%s)
for r in $(seq "$ROUNDS"); do
  # Alternate which goes first, so neither always follows the other.
  order=("${modes[@]}")
  [ $((r % 2)) = 0 ] && order=(nopoll poll)
  line="round $r:"
  for m in "${order[@]}"; do
    read -r p50 p99 rps cpu cpureq errs unfinished hit < <(run "$m")
    add "${m}_p50" "$p50"
    add "${m}_p99" "$p99"
    add "${m}_rps" "$rps"
    add "${m}_cpu" "$cpu"
    add "${m}_cpureq" "$cpureq"
    add "${m}_err" "$errs"
    add "${m}_unf" "$unfinished"
    add "${m}_hit" "$hit"
    line+=" $m p50 $p50 us, p99 $p99 us, $cpu CPU s ($cpureq us/req);"
  done
  echo "$line" >&2
done

printf '\nopen loop, %s req/s, %s connections, cached reads of 3 ids, %s s per run, median of %s rounds (%s)\n' \
  "$RATE" "$CONNS" "$DUR" "$ROUNDS" "$(date -u +%F)"
fmt='%-72s %9s %9s %7s %7s %10s %6s %6s %6s\n'
# shellcheck disable=SC2059
printf "$fmt" "server" "p50 us" "p99 us" "req/s" "CPU s" "CPU us/req" "errors" "unfin." "hit%"
for m in "${modes[@]}"; do
  # shellcheck disable=SC2059
  printf "$fmt" "${label[$m]}" "$(median "${m}_p50")" "$(median "${m}_p99")" "$(median "${m}_rps")" \
    "$(median "${m}_cpu")" "$(median "${m}_cpureq")" "$(median "${m}_err")" "$(median "${m}_unf")" "$(median "${m}_hit")"
done
echo "(CPU s: the server's utime + stime over the run, all its threads; unfin.: requests still due or in flight"
echo " when the window closed, not in the latencies; a server that keeps up has ~0. All columns: medians.)"
for k in "${!all[@]}"; do echo "rounds $k:${all[$k]}"; done | sort
awk -v a="$(median poll_cpu)" -v b="$(median nopoll_cpu)" -v d="$DUR" \
  'BEGIN {printf "busy polling costs %.2f CPU s more per %s s (%.0f%% of a core); CPU ratio on / off = %.2f\n", a - b, d, (a - b) * 100 / d, (b > 0 ? a / b : 0)}'
awk -v a="$(median poll_p50)" -v b="$(median nopoll_p50)" -v c="$(median poll_p99)" -v e="$(median nopoll_p99)" \
  'BEGIN {printf "and buys p50 %.1f -> %.1f us (%.2fx), p99 %.1f -> %.1f us (%.2fx)\n", b, a, (a > 0 ? b / a : 0), e, c, (c > 0 ? e / c : 0)}'
echo "($(($(date +%s) - started)) s of measurement)"
