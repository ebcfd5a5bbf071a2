#!/usr/bin/env bash
# Bounded resources: another client's latency with and without abuse, side by
# side. The abuse: IDLE idle connections (default 5,000) and STALLED requests
# (default 200) that announce Content-Length: 1 MiB and send a few bytes, all
# held open for the run. The measured client: `rowcache bench`, closed loop
# on CONNS connections (default 1), cached reads of 3 ids; RATE=N makes it an
# open loop at N requests/s instead (latency from the scheduled send: on this
# shared VM one stall of the machine then lands on every request scheduled
# during it, and p99 measures the machine more than the server).
# MODE=flood replaces that abuse with FLOODERS connections (default 8) that
# keep sending requests whose request line, header, chunk header line or
# trailer never ends, reconnecting whenever the server refuses one (431 or
# 400 at its bound, docs/reliability.md "Bounds and hostile peers"); the RSS
# column then shows the peak sampled during the abuse.
# Each round measures without abuse, then with it (so that the machine's own
# noise falls on both alike); the server's RSS (from /proc) is recorded beside
# each run, and the last line compares the medians over the rounds.
#
#   bench/limits.sh                     ROUNDS=5 DURATION=5 IDLE=5000 STALLED=200 CONNS=1 [RATE=N]
#   MODE=flood bench/limits.sh          ... FLOODERS=8
#   ROWCACHE_BIN=build-x/rowcache bench/limits.sh    a given binary, without bench/setup.sh's build
#
# Results (the commands, the bench tables and a summary) go to
# bench/results/limits/summary.txt (limits-rateN/ with RATE=N). The server runs on MariaDB + Redis
# (scripts/servers.sh); the open-files limit is raised to min(hard, 16384).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
IDLE=${IDLE:-5000}
STALLED=${STALLED:-200}
CONNS=${CONNS:-1}
RATE=${RATE:-}
MODE=${MODE:-hold}
FLOODERS=${FLOODERS:-8}
load=(--connections "$CONNS" --threads 1)
if [ -n "$RATE" ]; then load+=(--rate "$RATE"); fi
if [ -n "${ROWCACHE_BIN:-}" ]; then
  B=$ROWCACHE_BIN
  env_file=$(scripts/servers.sh start)
  # shellcheck disable=SC1090
  source "$env_file"
else
  # shellcheck source=bench/setup.sh
  source bench/setup.sh
  B=./build/rowcache
fi
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 16384 ]; then hard=16384; fi
ulimit -n "$hard"
if [ "$hard" -lt $((IDLE + STALLED + 200)) ]; then
  echo "open-files hard limit $hard is below IDLE + STALLED + 200; lower IDLE" >&2
  exit 1
fi

out=bench/results/limits${RATE:+-rate$RATE}
if [ "$MODE" = flood ]; then out=bench/results/limits-flood; fi
mkdir -p "$out"
rm -f "$out"/*.json "$out"/summary.txt
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "$*" | tee -a "$out/summary.txt"; }

what="$IDLE idle connections + $STALLED stalled 1 MiB bodies"
if [ "$MODE" = flood ]; then what="$FLOODERS connections flooding endless request lines, headers, chunk extensions and trailers"; fi
say "# limits: $what against another client ($(date -u +%F), $(nproc) cores, $(uname -r), load average before: $(cut -d' ' -f1-3 /proc/loadavg); open files $(ulimit -n))"
T=bench_limits
mariadb -h127.0.0.1 -P"$ROWCACHE_TEST_MYSQL_PORT" -urowcache -prowcache rowcache -e "DROP TABLE IF EXISTS $T"
$B serve --listen 127.0.0.1:0 --db "$ROWCACHE_TEST_MYSQL?table=$T" --cache "$ROWCACHE_TEST_REDIS" \
  --key-prefix "bench:$T:" --ttl 3600 --threads 8 --idle-timeout 600 >"$work/serve.out" 2>"$work/serve.err" &
spid=$!
pids+=("$spid")
for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.out" | head -1 | cut -d: -f2)
tgt="http://127.0.0.1:$PORT/"
say "\$ rowcache serve --db mysql://...?table=$T --cache $ROWCACHE_TEST_REDIS --ttl 3600 --threads 8 --idle-timeout 600"
rss() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$spid/status"; }
conns() { curl -s "$tgt"metrics | awk '/^rowcache_http_connections_open / {print $2}'; }
maxc() { curl -s "$tgt"metrics | awk '/^rowcache_http_max_connections / {print $2}'; }
say "connection limit (--max-connections default from the open-files limit): $(maxc)"

# The abuser: holds the connections until killed.
cat >"$work/abuse.py" <<'EOF'
import signal, socket, sys
port, idle, stalled = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
held = []
for _ in range(idle):
    held.append(socket.create_connection(("127.0.0.1", port)))
head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
for _ in range(stalled):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head + b'{"REQUEST": "read", "SQLS": [1, 2, 3, ')
    held.append(s)
print("ready", flush=True)
signal.pause()
EOF
cat >"$work/flood.py" <<'EOF'
import socket, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
heads = [b"GET /", b"POST / HTTP/1.1\r\nHost: x\r\nX-Long: ",
         b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=",
         b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n0\r\nX-Long: "]
fill = b"a" * 65536
def flood(k):
    while True:
        s = None
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(heads[k % len(heads)])
            while True:
                s.sendall(fill)
        except OSError:
            pass
        finally:
            if s:
                s.close()
for k in range(n):
    threading.Thread(target=flood, args=(k,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF

bench() { # NAME
  echo "\$ rowcache bench --target $tgt ${load[*]} --batch 3 --duration $DUR --warmup 2 --name $1" >>"$out/summary.txt"
  $B bench --target "$tgt" "${load[@]}" --batch 3 --duration "$DUR" --warmup 2 \
    --quiet --name "$1" --json "$out/$1.json" | tee -a "$out/summary.txt" | grep -v '^$' | tail -1
}
p99() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['runs'][0]; print('%.1f %.1f %d' % (r['latency_us']['p50'], r['latency_us']['p99'], r['errors']['total']))" "$1"; }

rows=()
n99s=()
a99s=()
for r in $(seq "$ROUNDS"); do
  rss0=$(rss)
  bench "normal-$r" >/dev/null
  rss1=$(rss)
  if [ "$MODE" = flood ]; then
    python3 "$work/flood.py" "$PORT" "$FLOODERS" >"$work/abuse.out" &
  else
    python3 "$work/abuse.py" "$PORT" "$IDLE" "$STALLED" >"$work/abuse.out" &
  fi
  apid=$!
  pids+=("$apid")
  for _ in $(seq 600); do grep -q ready "$work/abuse.out" && break; sleep 0.1; done
  sleep 1
  open=$(conns)
  rss2=$(rss)
  peak_file=$work/peak
  echo "$rss2" >"$peak_file"
  (while kill -0 "$apid" 2>/dev/null; do r_now=$(rss); [ "$r_now" -gt "$(cat "$peak_file")" ] && echo "$r_now" >"$peak_file"; sleep 0.2; done) &
  sampler=$!
  bench "abuse-$r" >/dev/null
  rss3=$(rss)
  if [ "$MODE" = flood ]; then rss3="$rss3, peak $(cat "$peak_file")"; fi
  kill "$apid"
  wait "$apid" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sleep 1
  read -r n50 n99 nerr <<<"$(p99 "$out/normal-$r.json")"
  read -r a50 a99 aerr <<<"$(p99 "$out/abuse-$r.json")"
  n99s+=("$n99")
  a99s+=("$a99")
  rows+=("| $r | $n50 / $n99 | $a50 / $a99 | $(python3 -c "print('%.2fx' % ($a99 / $n99))") | $nerr / $aerr | $rss0 -> $rss1 | $rss2 -> $rss3 ($open open) |")
done
say ""
say "| round | normal p50 / p99 us | under abuse p50 / p99 us | p99 ratio | errors normal / abuse | RSS MB normal | RSS MB under abuse |"
say "|---|---:|---:|---:|---:|---:|---:|"
for row in "${rows[@]}"; do say "$row"; done
median() { python3 -c "import statistics, sys; print('%.1f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }
mn=$(median "${n99s[@]}")
ma=$(median "${a99s[@]}")
say "| median | p99 $mn | p99 $ma | $(python3 -c "print('%.2fx' % ($ma / $mn))") | | | |"
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
