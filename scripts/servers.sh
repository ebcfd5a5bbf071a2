#!/usr/bin/env bash
# Start or stop a private MariaDB and Redis on loopback for tests and benchmarks.
#
#   scripts/servers.sh start   # prints the env file path; idempotent
#   scripts/servers.sh stop
#   scripts/servers.sh env     # prints export lines for the test URLs
#
# Settings (environment): ROWCACHE_RUN_DIR (default /tmp/rowcache-servers),
# ROWCACHE_MYSQL_PORT (13306), ROWCACHE_REDIS_PORT (16379).
# The database "rowcache" and user rowcache/rowcache (all privileges on rowcache
# and rowcache_*) are created on first start.
set -euo pipefail

RUN_DIR=${ROWCACHE_RUN_DIR:-/tmp/rowcache-servers}
MYSQL_PORT=${ROWCACHE_MYSQL_PORT:-13306}
REDIS_PORT=${ROWCACHE_REDIS_PORT:-16379}
SOCK=$RUN_DIR/mysql.sock
ENV_FILE=$RUN_DIR/env

log() { echo "servers: $*" >&2; }

mysql_up() { mariadb-admin --socket="$SOCK" -uroot ping >/dev/null 2>&1; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; }

start_mysql() {
  if mysql_up; then return; fi
  mkdir -p "$RUN_DIR"
  chmod 755 "$RUN_DIR"
  if [ ! -d "$RUN_DIR/mysql-data/mysql" ]; then
    rm -rf "$RUN_DIR/mysql-data"
    mkdir -p "$RUN_DIR/mysql-data"
    chown mysql:mysql "$RUN_DIR/mysql-data"
    mariadb-install-db --user=mysql --datadir="$RUN_DIR/mysql-data" --skip-test-db \
      --auth-root-authentication-method=socket >"$RUN_DIR/mysql-install.log" 2>&1 ||
      { cat "$RUN_DIR/mysql-install.log" >&2; exit 1; }
  fi
  chown mysql:mysql "$RUN_DIR"
  # --user=mysql is required when started as root.
  mariadbd --user=mysql --datadir="$RUN_DIR/mysql-data" --socket="$SOCK" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --pid-file="$RUN_DIR/mysql.pid" \
    --log-error="$RUN_DIR/mysql.err" --skip-name-resolve --local-infile=1 \
    --innodb-buffer-pool-size=256M --max-connections=500 --innodb-io-capacity=4000 --innodb-io-capacity-max=8000 \
    --innodb-flush-log-at-trx-commit=1 >/dev/null 2>&1 &
  for _ in $(seq 1 150); do
    mysql_up && break
    sleep 0.2
  done
  mysql_up || { log "MariaDB did not start"; tail -20 "$RUN_DIR/mysql.err" >&2; exit 1; }
  mariadb --socket="$SOCK" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS rowcache CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'rowcache'@'127.0.0.1' IDENTIFIED BY 'rowcache';
CREATE USER IF NOT EXISTS 'rowcache'@'localhost' IDENTIFIED BY 'rowcache';
GRANT ALL PRIVILEGES ON \`rowcache\`.* TO 'rowcache'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`rowcache\\_%\`.* TO 'rowcache'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`rowcache\`.* TO 'rowcache'@'localhost';
GRANT ALL PRIVILEGES ON \`rowcache\\_%\`.* TO 'rowcache'@'localhost';
-- A second user for tests that kill their own connections (and only those).
CREATE USER IF NOT EXISTS 'rowcache_b'@'127.0.0.1' IDENTIFIED BY 'rowcache';
GRANT ALL PRIVILEGES ON \`rowcache\`.* TO 'rowcache_b'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  log "MariaDB on 127.0.0.1:$MYSQL_PORT (socket $SOCK)"
}

start_redis() {
  if redis_up; then return; fi
  mkdir -p "$RUN_DIR"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log" \
    --dir "$RUN_DIR" >/dev/null
  for _ in $(seq 1 100); do
    redis_up && break
    sleep 0.1
  done
  redis_up || { log "Redis did not start"; tail -20 "$RUN_DIR/redis.log" >&2; exit 1; }
  log "Redis on 127.0.0.1:$REDIS_PORT"
}

write_env() {
  cat >"$ENV_FILE" <<ENV
export ROWCACHE_TEST_MYSQL=mysql://rowcache:rowcache@127.0.0.1:$MYSQL_PORT/rowcache
export ROWCACHE_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT/0
export ROWCACHE_TEST_MYSQL_SOCKET=$SOCK
export ROWCACHE_TEST_REDIS_PORT=$REDIS_PORT
export ROWCACHE_TEST_MYSQL_PORT=$MYSQL_PORT
ENV
}

stop_all() {
  if [ -f "$RUN_DIR/redis.pid" ]; then kill "$(cat "$RUN_DIR/redis.pid")" 2>/dev/null || true; fi
  if [ -f "$RUN_DIR/mysql.pid" ]; then
    pid=$(cat "$RUN_DIR/mysql.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$RUN_DIR/redis.pid" "$RUN_DIR/mysql.pid"
}

case "${1:-start}" in
  start) start_mysql; start_redis; write_env; echo "$ENV_FILE" ;;
  stop) stop_all ;;
  env) write_env; cat "$ENV_FILE" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
