#!/usr/bin/env bash
# The loader against the floor, in one run: a generated CSV of N rows
# (default 1,000,000) loaded into MariaDB
#   1. by `mariadb --local-infile -e "LOAD DATA LOCAL INFILE ..."` from the local file;
#   2. by `rowcache load --from s3://...` streamed from a local S3 (s3rver);
#   3. by `rowcache load --from FILE` (the same, without S3 in the way).
# Each into an empty table, on a quiet server, REPEAT (3) rounds interleaved;
# prints median seconds, rows/s, the ratio to the floor and rowcache's peak
# memory (max RSS).
#
#   bench/load_compare.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
scripts/deps.sh
scripts/test-tools.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target rowcache >/dev/null
env_file=$(scripts/servers.sh start)
# shellcheck disable=SC1090
source "$env_file"
MP=$ROWCACHE_TEST_MYSQL_PORT
work=$(mktemp -d)
s3pid=""
cleanup() { [ -n "$s3pid" ] && kill "$s3pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
sql() { mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache -N -B -e "$1"; }

python3 bench/gen_csv.py "$ROWS" >"$work/rows.csv"
mb=$(du -m "$work/rows.csv" | cut -f1)
echo "bench: $ROWS rows, $mb MB"

S3PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/s3data"
"$HOME/.cache/rowcache-tools/node_modules/.bin/s3rver" -d "$work/s3data" -a 127.0.0.1 -p "$S3PORT" -s \
  --configure-bucket bench >/dev/null 2>&1 &
s3pid=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$S3PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
curl -s -f -X PUT --data-binary @"$work/rows.csv" -H 'Content-Type: text/csv' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
  --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER "http://127.0.0.1:$S3PORT/bench/rows.csv" >/dev/null

schema="(id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, hero VARCHAR(20) NOT NULL, power VARCHAR(20) NOT NULL,
  name VARCHAR(20) NOT NULL, xp INT NOT NULL, color VARCHAR(20) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
# Each load starts on a quiet server: the previous load's dirty pages are
# flushed first (as root over the servers' socket), or the redo-log
# checkpoint would make whichever load runs later pay for them.
quiesce() {
  local dirty=0
  mariadb --socket="$ROWCACHE_TEST_MYSQL_SOCKET" -uroot -e "SET GLOBAL innodb_max_dirty_pages_pct = 0"
  for _ in $(seq 240); do
    dirty=$(sql "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
                 WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'")
    [ "$dirty" -lt 50 ] && break
    sleep 0.5
  done
  mariadb --socket="$ROWCACHE_TEST_MYSQL_SOCKET" -uroot -e "SET GLOBAL innodb_max_dirty_pages_pct = 90"
  [ "$dirty" -lt 50 ] || echo "bench: warning: $dirty dirty pages still being flushed" >&2
}
fresh() { sql "DROP TABLE IF EXISTS $1; CREATE TABLE $1 $schema"; quiesce; }
now() { date +%s.%N; }

floor_run() {
  fresh bench_load_floor
  local t0 t1
  t0=$(now)
  mariadb -h127.0.0.1 -P"$MP" -urowcache -prowcache rowcache --local-infile=1 -e \
    "LOAD DATA LOCAL INFILE '$work/rows.csv' INTO TABLE bench_load_floor FIELDS TERMINATED BY ','
     OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES (id, hero, power, name, xp, color)"
  t1=$(now)
  echo "$(echo "$t1 - $t0" | bc -l) 0 $(sql "SELECT COUNT(*) FROM bench_load_floor")"
}
run_rowcache() { # table source extra...
  local table=$1 src=$2
  shift 2
  fresh "$table"
  local t0 t1
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" ./build/rowcache load --db "$ROWCACHE_TEST_MYSQL?table=$table" \
    --from "$src" --quiet "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  t1=$(now)
  echo "$(echo "$t1 - $t0" | bc -l) $(cat "$work/rss") $(sql "SELECT COUNT(*) FROM $table")"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# REPEAT rounds, the three loads interleaved in each; medians reported.
REPEAT=${REPEAT:-3}
: >"$work/floor.t"; : >"$work/s3.t"; : >"$work/file.t"
for round in $(seq "$REPEAT"); do
  floor_run >>"$work/floor.t"
  run_rowcache bench_load_s3 s3://bench/rows.csv --s3-endpoint "http://127.0.0.1:$S3PORT" >>"$work/s3.t"
  run_rowcache bench_load_file "$work/rows.csv" >>"$work/file.t"
  echo "bench: round $round: floor $(tail -1 "$work/floor.t" | cut -d' ' -f1) s," \
       "s3 $(tail -1 "$work/s3.t" | cut -d' ' -f1) s, file $(tail -1 "$work/file.t" | cut -d' ' -f1) s" >&2
done
floor_s=$(cut -d' ' -f1 "$work/floor.t" | median); floor_n=$(tail -1 "$work/floor.t" | cut -d' ' -f3)
s3_s=$(cut -d' ' -f1 "$work/s3.t" | median); s3_n=$(tail -1 "$work/s3.t" | cut -d' ' -f3)
s3_kb=$(cut -d' ' -f2 "$work/s3.t" | sort -g | tail -1)
file_s=$(cut -d' ' -f1 "$work/file.t" | median); file_n=$(tail -1 "$work/file.t" | cut -d' ' -f3)
file_kb=$(cut -d' ' -f2 "$work/file.t" | sort -g | tail -1)
same=$(sql "SELECT (SELECT COUNT(*) FROM bench_load_floor f JOIN bench_load_s3 s USING (id)
  WHERE f.hero = s.hero AND f.power = s.power AND f.name = s.name AND f.xp = s.xp AND f.color = s.color)")

printf '\n%-58s %9s %12s %10s %8s\n' "load of $ROWS rows ($mb MB), median of $REPEAT, $(date -u +%F)" seconds rows/s "max RSS" rows
printf '%-58s %9.2f %12.0f %10s %8s\n' "mariadb --local-infile: LOAD DATA LOCAL INFILE (file)" "$floor_s" \
  "$(echo "$floor_n / $floor_s" | bc -l)" - "$floor_n"
printf '%-58s %9.2f %12.0f %7d MB %8s\n' "rowcache load --from s3:// (s3rver on loopback)" "$s3_s" \
  "$(echo "$s3_n / $s3_s" | bc -l)" "$((s3_kb / 1024))" "$s3_n"
printf '%-58s %9.2f %12.0f %7d MB %8s\n' "rowcache load --from FILE" "$file_s" \
  "$(echo "$file_n / $file_s" | bc -l)" "$((file_kb / 1024))" "$file_n"
echo "rows identical to the floor's load: $same of $floor_n"
awk -v a="$floor_s" -v b="$s3_s" 'BEGIN {printf "ratio: rowcache from S3 rows/s / LOAD DATA LOCAL INFILE rows/s = %.2f (target >= 0.8)\n", a/b}'
sql "DROP TABLE bench_load_floor; DROP TABLE bench_load_s3; DROP TABLE bench_load_file"
