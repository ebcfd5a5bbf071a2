#!/usr/bin/env bash
# The same service against every shape of Redis users run, side by side in
# one run: plain database 0 (the reference), database 3, AUTH (ACL user and
# password), TLS + AUTH, a 3-master cluster, and a 3-master cluster over TLS +
# AUTH. For each: cached 3-id reads at 16 connections (req/s, and the
# service's CPU per request from /proc over the run) and at 1 connection
# (p50), beside the floors redis-benchmark measures (MGET of 3 keys, 1 client,
# plain and TLS). Then, in the cluster, how a read's latency grows with the
# slots and nodes it touches.
#
#   bench/redis_modes.sh [SECONDS per run, default 10]    (ROUNDS=3: rounds, medians reported)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
# shellcheck source=bench/setup.sh
source bench/setup.sh
TABLE=bench_modes
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

CA=$ROWCACHE_TEST_REDIS_CA
PW=$ROWCACHE_TEST_REDIS_PASSWORD
TLS_PORT=$ROWCACHE_TEST_REDIS_TLS_PORT
redis-cli -p "$RP" ACL SETUSER benchuser on '>benchpw' '~*' '&*' '+@all' >/dev/null

mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $TABLE"
./build/rowcache load --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --from data/mp6input.csv --quiet >/dev/null

declare -A url port pid
modes=(plain db3 auth tls cluster cluster-tls)
url[plain]=$ROWCACHE_TEST_REDIS
url[db3]=redis://127.0.0.1:$RP/3
url[auth]=redis://benchuser:benchpw@127.0.0.1:$RP/0
url[tls]=$ROWCACHE_TEST_REDIS_TLS
url[cluster]=$ROWCACHE_TEST_REDIS_CLUSTER
url[cluster-tls]=$ROWCACHE_TEST_REDIS_CLUSTER_TLS
for m in "${modes[@]}"; do
  ./build/rowcache serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$TABLE" --cache "${url[$m]}" \
    --key-prefix "bench:modes:$m:" --ttl 3600 --threads 8 >"$work/$m.out" 2>&1 &
  pid[$m]=$!
  pids+=($!)
done
for m in "${modes[@]}"; do
  for _ in $(seq 50); do grep -q listening "$work/$m.out" 2>/dev/null && break; sleep 0.1; done
  port[$m]=$(grep -o '127.0.0.1:[0-9]*' "$work/$m.out" | head -1 | cut -d: -f2)
  [ -n "${port[$m]}" ] || { echo "rowcache ($m) did not start:" >&2; cat "$work/$m.out" >&2; exit 1; }
done

lua() { printf 'wrk.method = "POST"\nwrk.body = %s\n' "'$1'" >"$work/$2.lua"; }
lua '{"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2, 3]}' cached
for m in "${modes[@]}"; do curl -s "http://127.0.0.1:${port[$m]}/" -d '{"REQUEST": "read", "SQLS": [1, 2, 3]}' >/dev/null; done

# CPU seconds (user + system) the process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# wrk: p50 (us), requests/s and the service's CPU us per request.
wrk_run() { # mode conns
  local m=$1 c=$2 before after p50 rps
  before=$(cpu_s "${pid[$m]}")
  wrk -t"$([ "$c" -ge 2 ] && echo 2 || echo 1)" -c"$c" -d"${DUR}s" --latency -s "$work/cached.lua" \
    "http://127.0.0.1:${port[$m]}/" >"$work/wrk.txt"
  after=$(cpu_s "${pid[$m]}")
  p50=$(awk '$1=="50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1e6}}' "$work/wrk.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  local total
  total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  echo "$p50 $rps $(awk -v a="$before" -v b="$after" -v n="$total" 'BEGIN {printf "%.1f", (b - a) * 1e6 / n}')"
}

ROUNDS=${ROUNDS:-3}
n=$((DUR * 20000))
declare -A all
add() { all[$1]="${all[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"${all[$1]}" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
redis-cli -p "$RP" MSET k1 v1 k2 v2 k3 v3 >/dev/null
redis-cli -p "$TLS_PORT" --tls --cacert "$CA" -a "$PW" --no-auth-warning MSET k1 v1 k2 v2 k3 v3 >/dev/null
for r in $(seq "$ROUNDS"); do
  add rb_p50 "$(redis-benchmark -p "$RP" -c 1 -n "$n" --csv MGET k1 k2 k3 | awk -F'"' 'NR==2 {print $10*1000}')"
  add rbtls_p50 "$(redis-benchmark -p "$TLS_PORT" --tls --cacert "$CA" -a "$PW" -c 1 -n "$n" --csv MGET k1 k2 k3 2>/dev/null |
    awk -F'"' 'NR==2 {print $10*1000}')"
  for m in "${modes[@]}"; do
    read -r p rps cpu < <(wrk_run "$m" 16); add "${m}_16_rps" "$rps"; add "${m}_16_cpu" "$cpu"
    read -r p rps cpu < <(wrk_run "$m" 1); add "${m}_1_p50" "$p"
  done
  echo "round $r: plain ${all[plain_16_rps]##* } req/s, tls ${all[tls_16_rps]##* }, cluster ${all[cluster_16_rps]##* }," \
    "cluster-tls ${all[cluster-tls_16_rps]##* }" >&2
done

printf '\n%-40s %12s %12s %14s %12s\n' "cache URL (median of $ROUNDS rounds, $DUR s each, $(date -u +%F))" \
  "16 conns" "vs plain" "CPU us/req" "p50 1 conn"
base=$(median plain_16_rps)
for m in "${modes[@]}"; do
  rps=$(median "${m}_16_rps")
  printf '%-40s %12s %12s %14s %12s\n' "$m" "$rps" "$(awk -v a="$rps" -v b="$base" 'BEGIN {printf "%.2fx", a/b}')" \
    "$(median "${m}_16_cpu")" "$(median "${m}_1_p50")"
done
printf '%-40s %12s %12s %14s %12s\n' "redis-benchmark -c 1 MGET (plain)" - - - "$(median rb_p50)"
printf '%-40s %12s %12s %14s %12s\n' "redis-benchmark --tls -c 1 MGET" - - - "$(median rbtls_p50)"
for k in "${!all[@]}"; do echo "rounds $k:${all[$k]}"; done | sort
awk -v a="$(median tls_16_rps)" -v b="$base" 'BEGIN {printf "ratio: TLS+AUTH / plain throughput at 16 connections = %.2f (target >= 0.8)\n", a/b}'
awk -v a="$(median tls_1_p50)" -v b="$(median rbtls_p50)" 'BEGIN {printf "ratio: TLS+AUTH 1-connection p50 / redis-benchmark --tls MGET p50 = %.2f (target <= 2)\n", a/b}'
for m in db3 auth; do
  awk -v a="$(median "${m}_16_rps")" -v b="$base" -v m="$m" 'BEGIN {printf "ratio: %s / plain throughput = %.2f (target >= 0.9)\n", m, a/b}'
done
awk -v a="$(median cluster_16_rps)" -v b="$base" 'BEGIN {printf "ratio: cluster / single-node throughput at 16 connections = %.2f (target >= 0.7)\n", a/b}'

# Cluster: p50 at 1 connection of reads touching 1 slot, 3 slots on one node,
# 3 slots on 3 nodes, and 10 ids; against the single node for the same ids.
read -r one same3 spread3 ten < <(python3 - "$ROWCACHE_TEST_REDIS_CLUSTER" "bench:modes:cluster:" <<'EOF'
import subprocess, sys
def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc
port = sys.argv[1].rsplit(":", 1)[1]
out = subprocess.run(["redis-cli", "-p", port, "CLUSTER", "SLOTS"], capture_output=True, text=True).stdout.split()
owner = {}
i = 0
while i + 3 < len(out):  # lo hi host port id ... (redis-cli prints one value per line)
    lo, hi, host, p = out[i], out[i + 1], out[i + 2], out[i + 3]
    if lo.isdigit() and hi.isdigit() and p.isdigit():
        for s in range(int(lo), int(hi) + 1):
            owner.setdefault(s, p)
        i += 4
    else:
        i += 1
node = lambda n: owner.get(crc16(f"{sys.argv[2]}{{{n}}}".encode()) % 16384)
ids = range(1, 26)
same = [n for n in ids if node(n) == node(1)][:3]
spread, seen = [], set()
for n in ids:
    if node(n) not in seen:
        seen.add(node(n)); spread.append(n)
print("1", ",".join(map(str, same)), ",".join(map(str, spread[:3])), ",".join(map(str, range(1, 11))))
EOF
)
printf '\n%-48s %14s %14s\n' "cluster read latency, 1 connection" "cluster p50" "single p50"
for ids in "$one" "$same3" "$spread3" "$ten"; do
  lua "{\"REQUEST\": \"read\", \"SQLS\": [$ids]}" cached
  for m in cluster plain; do curl -s "http://127.0.0.1:${port[$m]}/" -d "{\"REQUEST\": \"read\", \"SQLS\": [$ids]}" >/dev/null; done
  read -r pc _ _ < <(wrk_run cluster 1)
  read -r ps _ _ < <(wrk_run plain 1)
  printf '%-48s %14s %14s\n' "ids [$ids]" "$pc" "$ps"
done
echo "(ids [$same3]: 3 slots on one node; [$spread3]: 3 slots on 3 nodes; [1..10]: 10 slots on 3 nodes)"
