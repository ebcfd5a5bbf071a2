#!/usr/bin/env bash
# How a cached read's cost grows with the ids it asks for, side by side in one
# run: build/rowcache against a baseline binary (BASELINE=path, optional), both
# serving the same table from the same MariaDB and Redis, Redis only and with
# --near-cache, 1 connection, interleaved rounds. Every id asked is a cache
# hit (the hot set is read once before the rounds). Also the same read with
# USE_CACHE false (the database), and the floor: redis-benchmark MGET of as
# many keys holding rows of the same size. Beside each p50, the server's CPU
# per request (utime + stime from /proc/PID/stat over the run).
#
#   BASELINE=/tmp/old/rowcache bench/large_reads.sh [SECONDS per run, default 5]
#   ROUNDS=3 (median of the rounds), SIZES="1 10 100 1000"
#   ROWCACHE_BENCH_NO_BUILD=1: use build/rowcache as it is
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-"1 10 100 1000"}
# shellcheck source=bench/setup.sh
source bench/setup.sh
TABLE=bench_large
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $TABLE"
redis-cli -p "$RP" --scan --pattern 'bench:large:*' | xargs -r redis-cli -p "$RP" DEL >/dev/null

declare -A bin port pid
servers=()
add_server() { # name binary extra-flags...
  local name=$1 b=$2
  shift 2
  "$b" serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --cache "$ROWCACHE_TEST_REDIS" \
    --key-prefix "bench:large:" --ttl 3600 "$@" >"$work/$name.out" 2>&1 &
  pid[$name]=$!
  pids+=($!)
  servers+=("$name")
}
add_server new ./build/rowcache
add_server new-near ./build/rowcache --near-cache
if [ -n "${BASELINE:-}" ]; then
  add_server base "$BASELINE"
  add_server base-near "$BASELINE" --near-cache
fi
for s in "${servers[@]}"; do
  for _ in $(seq 100); do grep -q listening "$work/$s.out" 2>/dev/null && break; sleep 0.1; done
  port[$s]=$(grep -o '127.0.0.1:[0-9]*' "$work/$s.out" | head -1 | cut -d: -f2)
  [ -n "${port[$s]}" ] || { echo "large_reads: $s did not start:" >&2; cat "$work/$s.out" >&2; exit 1; }
done

cpu_s() { sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f\n", ($12 + $13) / hz}'; }
bench=(./build/rowcache bench --connections 1 --threads 1 --hot-set 1000 --quiet)
# The hot set written (1,000 rows of the autograder's random VARCHAR(20) data) and read once by each server.
"${bench[@]}" --target "http://127.0.0.1:${port[new]}/" --batch 100 --duration 1 --warmup 0 >/dev/null
for s in "${servers[@]}"; do
  "${bench[@]}" --target "http://127.0.0.1:${port[$s]}/" --batch 1000 --duration 2 --warmup 0 --no-prepare >/dev/null
done

run() { # server batch use_cache -> "p50_us cpu_us_per_req"
  local s=$1 n=$2 uc=$3 before after
  before=$(cpu_s "${pid[$s]}")
  "${bench[@]}" --target "http://127.0.0.1:${port[$s]}/" --batch "$n" --use-cache "$uc" --duration "$DUR" \
    --warmup 0 --no-prepare --json "$work/run.json" >"$work/run.txt" 2>&1 || { cat "$work/run.txt" >&2; exit 1; }
  after=$(cpu_s "${pid[$s]}")
  python3 - "$work/run.json" "$before" "$after" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
cpu = float(sys.argv[3]) - float(sys.argv[2])
assert run["errors"]["total"] == 0, run["errors"]
print(f'{run["latency_us"]["p50"]:.1f} {cpu / max(1, run["requests"]) * 1e6:.1f}')
EOF
}

floor() { # batch -> p50 us of redis-benchmark MGET of that many ~95-byte values
  local n=$1 keys=() kv=() i v
  v=$(printf '{"id": 1, "hero": "%s", "power": "%s", "name": "%s", "xp": 1, "color": "%s"}' \
    aaaaaaaaaaaa bbbbbbbbbbbb cccccccccccc dddddddddddd)
  for i in $(seq "$n"); do
    keys+=("bench:floor:$i")
    kv+=("bench:floor:$i" "$v")
  done
  redis-cli -p "$RP" MSET "${kv[@]}" >/dev/null
  [ "$(redis-cli -p "$RP" EXISTS "${keys[@]}")" = "$n" ] || { echo "large_reads: floor keys not set" >&2; exit 1; }
  redis-benchmark -p "$RP" -c 1 -n $((n >= 1000 ? 5000 : 20000)) --csv MGET "${keys[@]}" |
    awk -F'"' 'NR==2 {printf "%.1f\n", $10 * 1000}'
}

results="$work/results.txt"
for round in $(seq "$ROUNDS"); do
  for n in $SIZES; do
    for s in "${servers[@]}"; do echo "$round $n $s cached $(run "$s" "$n" true)" >>"$results"; done
    echo "$round $n new uncached $(run new "$n" false)" >>"$results"
    echo "$round $n mget floor $(floor "$n") -" >>"$results"
  done
done

python3 - "$results" "${servers[*]}" "$SIZES" <<'EOF'
import sys, statistics
from collections import defaultdict
rows = [l.split() for l in open(sys.argv[1])]
servers = sys.argv[2].split()
sizes = sys.argv[3].split()
p50 = defaultdict(list); cpu = defaultdict(list)
for rnd, n, s, mode, p, c in rows:
    p50[(n, s, mode)].append(float(p))
    if c != "-": cpu[(n, s, mode)].append(float(c))
med = lambda xs: statistics.median(xs) if xs else float("nan")
cols = [(s, "cached") for s in servers] + [("new", "uncached"), ("mget", "floor")]
print("ids | " + " | ".join(f"{s} {m} p50 us (cpu us/req)" for s, m in cols))
for n in sizes:
    cells = []
    for s, m in cols:
        c = med(cpu[(n, s, m)])
        cells.append(f"{med(p50[(n, s, m)]):.0f}" + ("" if c != c else f" ({c:.0f})"))
    print(f"{n} | " + " | ".join(cells))
if "base" in servers:
    print("\nratio of p50, new / base (median of the per-round ratios):")
    for n in sizes:
        for mode_s in (("new", "base"), ("new-near", "base-near")):
            r = [a / b for a, b in zip(p50[(n, mode_s[0], "cached")], p50[(n, mode_s[1], "cached")])]
            print(f"  {n} ids, {mode_s[0]} / {mode_s[1]}: {med(r):.2f}")
EOF
