#!/usr/bin/env bash
# Start or stop private MariaDB and Redis servers on loopback for tests and benchmarks.
#
#   scripts/servers.sh start   # prints the env file path; idempotent
#   scripts/servers.sh stop
#   scripts/servers.sh env     # prints export lines for the test URLs
#
# What `start` runs (each checked with a ping first and started only when it
# does not answer):
#   mysql        MariaDB on 127.0.0.1:13306 (database "rowcache", user rowcache/rowcache),
#                TLS offered (not required) with the servers' certificate below
#   redis        plain Redis on 127.0.0.1:16379
#   redis-tls    Redis over TLS only on 127.0.0.1:16380, AUTH required (password
#                $ROWCACHE_REDIS_PASSWORD for the default user; ACL user rowcache/rowcachepw)
#   cluster      plain Redis Cluster, 3 masters + 3 replicas on 17001-17006
#   cluster-tls  Redis Cluster over TLS (bus and replication too), AUTH required, on 17101-17106
# A test CA and a server certificate (CN localhost, SAN DNS:localhost and
# IP:127.0.0.1, EC P-256, 10 years) are made once into $RUN_DIR/tls/.
#
# Settings (environment): ROWCACHE_RUN_DIR (default /tmp/rowcache-servers),
# ROWCACHE_MYSQL_PORT (13306), ROWCACHE_REDIS_PORT (16379), ROWCACHE_REDIS_TLS_PORT
# (16380), ROWCACHE_REDIS_CLUSTER_BASE_PORT (17001: the cluster uses it and the
# next five, and each port + 10000 for its bus), ROWCACHE_REDIS_CLUSTER_TLS_BASE_PORT
# (17101), ROWCACHE_REDIS_PASSWORD (rowcache-test-pw; URL-safe characters only),
# ROWCACHE_SERVERS (which to start, default "mysql redis redis-tls cluster cluster-tls").
# `stop` stops every server this run directory has a pid file for.
# Log lines go to stderr; stdout carries only the env file path (start) or its
# contents (env).
set -euo pipefail

RUN_DIR=${ROWCACHE_RUN_DIR:-/tmp/rowcache-servers}
MYSQL_PORT=${ROWCACHE_MYSQL_PORT:-13306}
REDIS_PORT=${ROWCACHE_REDIS_PORT:-16379}
REDIS_TLS_PORT=${ROWCACHE_REDIS_TLS_PORT:-16380}
CLUSTER_BASE=${ROWCACHE_REDIS_CLUSTER_BASE_PORT:-17001}
CLUSTER_TLS_BASE=${ROWCACHE_REDIS_CLUSTER_TLS_BASE_PORT:-17101}
REDIS_PASSWORD=${ROWCACHE_REDIS_PASSWORD:-rowcache-test-pw}
ACL_USER=rowcache
ACL_PASSWORD=rowcachepw
SERVERS=" ${ROWCACHE_SERVERS:-mysql redis redis-tls cluster cluster-tls} "
SERVERS=${SERVERS//,/ }
SOCK=$RUN_DIR/mysql.sock
ENV_FILE=$RUN_DIR/env
TLS_DIR=$RUN_DIR/tls
CA=$TLS_DIR/ca.crt
NODE_TIMEOUT_MS=2000

log() { echo "servers: $*" >&2; }
want() { [[ $SERVERS == *" $1 "* ]]; }

if [[ ! $REDIS_PASSWORD =~ ^[A-Za-z0-9._~-]+$ ]]; then
  log "ROWCACHE_REDIS_PASSWORD must be made of URL-safe characters (A-Z a-z 0-9 . _ ~ -)"
  exit 2
fi

cluster_ports() { seq "$1" $(($1 + 5)); }
CLUSTER_PORTS=$(cluster_ports "$CLUSTER_BASE" | paste -sd' ')
CLUSTER_TLS_PORTS=$(cluster_ports "$CLUSTER_TLS_BASE" | paste -sd' ')

# redis-cli against a plain or a TLS + AUTH server; never waits more than
# $CLI_TIMEOUT seconds (a stopped server would otherwise hang it).
CLI_TIMEOUT=5
cli_plain() {
  local port=$1
  shift
  timeout "$CLI_TIMEOUT" redis-cli -h 127.0.0.1 -p "$port" "$@"
}
cli_tls() {
  local port=$1
  shift
  REDISCLI_AUTH=$REDIS_PASSWORD timeout "$CLI_TIMEOUT" redis-cli --tls --cacert "$CA" -h 127.0.0.1 -p "$port" "$@"
}
# cli KIND PORT ARGS...: KIND is redis, redis-tls, cluster or cluster-tls.
cli() {
  local kind=$1
  shift
  case $kind in
    *-tls) cli_tls "$@" ;;
    *) cli_plain "$@" ;;
  esac
}
redis_ping() { [ "$(CLI_TIMEOUT=2 cli "$1" "$2" ping 2>/dev/null)" = PONG ]; }

mysql_up() { mariadb-admin --socket="$SOCK" -uroot ping >/dev/null 2>&1; }
# True when the running MariaDB offers TLS (a server started by an older
# version of this script does not, and is restarted).
mysql_tls_on() {
  [ "$(mariadb --socket="$SOCK" -uroot -N -e 'SELECT @@have_ssl' 2>/dev/null)" = YES ]
}
redis_up() { redis_ping redis "$REDIS_PORT"; }

# The pid in pid file $1 when it is alive and is one of our servers (never
# some other process that was given a recycled pid).
live_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  grep -qaE 'redis-server|mariadbd' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# Stops the servers of the given pid files together: SIGTERM (after SIGCONT,
# for a server a test left stopped), up to 10 s, then SIGKILL; removes the files.
stop_pidfiles() {
  local f pid pids=()
  for f in "$@"; do
    if pid=$(live_pid "$f"); then
      kill -CONT "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$@"
}

# The database and users (idempotent; again on every start).
mysql_users() {
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
-- A user the server admits only over TLS (REQUIRE SSL): proves a connection is encrypted.
CREATE USER IF NOT EXISTS 'rowcache_tls'@'127.0.0.1' IDENTIFIED BY 'rowcache' REQUIRE SSL;
GRANT ALL PRIVILEGES ON \`rowcache\`.* TO 'rowcache_tls'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`rowcache\\_%\`.* TO 'rowcache_tls'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
}

start_mysql() {
  if mysql_up; then
    if mysql_tls_on && [ "${CERTS_NEW:-0}" = 0 ]; then
      mysql_users
      return
    fi
    log "MariaDB without TLS or on an older certificate: restarting it"
    stop_pidfiles "$RUN_DIR/mysql.pid"
  fi
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
    --ssl-cert="$TLS_DIR/redis.crt" --ssl-key="$TLS_DIR/redis.key" --ssl-ca="$CA" \
    --innodb-buffer-pool-size=256M --max-connections=500 --innodb-io-capacity=4000 --innodb-io-capacity-max=8000 \
    --innodb-flush-log-at-trx-commit=1 >/dev/null 2>&1 &
  for _ in $(seq 1 150); do
    mysql_up && break
    sleep 0.2
  done
  mysql_up || { log "MariaDB did not start"; tail -20 "$RUN_DIR/mysql.err" >&2; exit 1; }
  mysql_users
  mysql_tls_on || { log "MariaDB started without TLS"; tail -20 "$RUN_DIR/mysql.err" >&2; exit 1; }
  log "MariaDB on 127.0.0.1:$MYSQL_PORT (socket $SOCK), TLS offered"
}

# Waits up to $3 tenths of a second for `redis_ping KIND PORT`.
wait_redis() {
  for _ in $(seq 1 "$3"); do
    redis_ping "$1" "$2" && return 0
    sleep 0.1
  done
  redis_ping "$1" "$2"
}

start_redis() {
  if redis_up; then return; fi
  mkdir -p "$RUN_DIR"
  stop_pidfiles "$RUN_DIR/redis.pid" # a leftover that no longer answers
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log" \
    --dir "$RUN_DIR" >/dev/null
  wait_redis redis "$REDIS_PORT" 100 || { log "Redis did not start"; tail -20 "$RUN_DIR/redis.log" >&2; exit 1; }
  log "Redis on 127.0.0.1:$REDIS_PORT"
}

# The test CA and the servers' certificate, made once (again only when a file
# is missing or the certificate no longer verifies against the CA).
make_certs() {
  local d=$TLS_DIR
  mkdir -p "$d"
  chmod 755 "$d"
  if [ -s "$d/ca.crt" ] && [ -s "$d/ca.key" ] && [ -s "$d/redis.crt" ] && [ -s "$d/redis.key" ] &&
    openssl verify -CAfile "$d/ca.crt" "$d/redis.crt" >/dev/null 2>&1; then
    return
  fi
  local t
  t=$(mktemp -d "$d/new.XXXXXX")
  {
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -days 3650 \
      -subj "/CN=rowcache test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$t/ca.key" -out "$t/ca.crt" &&
      openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=localhost" \
        -keyout "$t/redis.key" -out "$t/redis.csr" &&
      printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" >"$t/ext.cnf" &&
      openssl x509 -req -in "$t/redis.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 3650 -sha256 -extfile "$t/ext.cnf" -out "$t/redis.crt"
  } >"$t/openssl.log" 2>&1 || { cat "$t/openssl.log" >&2; rm -rf "$t"; log "could not make the test certificates"; exit 1; }
  # A test-only key: readable by whoever runs the servers (and by tests that
  # want a client certificate); the CA key stays private.
  chmod 644 "$t/ca.crt" "$t/redis.crt" "$t/redis.key"
  chmod 600 "$t/ca.key"
  mv -f "$t/ca.key" "$t/ca.crt" "$t/redis.key" "$t/redis.crt" "$d/"
  rm -rf "$t"
  log "test CA and server certificate made in $d"
  CERTS_NEW=1
}
CERTS_NEW=0

TLS_FLAGS=()
tls_flags() {
  TLS_FLAGS=(--tls-cert-file "$TLS_DIR/redis.crt" --tls-key-file "$TLS_DIR/redis.key"
    --tls-ca-cert-file "$CA" --tls-auth-clients no)
}

start_redis_tls() {
  local port=$REDIS_TLS_PORT dir=$RUN_DIR/redis-tls
  if ! redis_ping redis-tls "$port"; then
    mkdir -p "$dir"
    stop_pidfiles "$RUN_DIR/redis-tls.pid"
    tls_flags
    redis-server --port 0 --tls-port "$port" "${TLS_FLAGS[@]}" --requirepass "$REDIS_PASSWORD" \
      --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile "$RUN_DIR/redis-tls.pid" \
      --logfile "$RUN_DIR/redis-tls.log" --dir "$dir" >/dev/null
    wait_redis redis-tls "$port" 100 ||
      { log "Redis (TLS) did not start"; tail -20 "$RUN_DIR/redis-tls.log" >&2; exit 1; }
    log "Redis over TLS with AUTH on 127.0.0.1:$port"
  fi
  # The ACL user (again on every start: cheap, and sure to be there).
  [ "$(cli redis-tls "$port" ACL SETUSER "$ACL_USER" reset on ">$ACL_PASSWORD" '~*' '&*' +@all 2>&1)" = OK ] ||
    { log "ACL SETUSER $ACL_USER failed on 127.0.0.1:$port"; exit 1; }
}

# --- Redis Cluster ------------------------------------------------------------
# Each node: $RUN_DIR/KIND/PORT/ (its dir), $RUN_DIR/KIND/nodes-PORT.conf,
# redis-PORT.pid and redis-PORT.log.

start_node() {
  local kind=$1 port=$2 d=$RUN_DIR/$1
  mkdir -p "$d/$port"
  stop_pidfiles "$d/redis-$port.pid"
  local flags=(--bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir "$d/$port"
    --pidfile "$d/redis-$port.pid" --logfile "$d/redis-$port.log"
    --cluster-enabled yes --cluster-config-file "$d/nodes-$port.conf" --cluster-node-timeout "$NODE_TIMEOUT_MS"
    --cluster-replica-validity-factor 0 --repl-diskless-sync yes --repl-diskless-sync-delay 0)
  if [ "$kind" = cluster-tls ]; then
    tls_flags
    flags+=(--port 0 --tls-port "$port" --tls-cluster yes --tls-replication yes "${TLS_FLAGS[@]}"
      --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD")
  else
    flags+=(--port "$port")
  fi
  redis-server "${flags[@]}" >/dev/null
}

# A field of CLUSTER INFO or INFO output ("name:value" lines, CRLF).
field() { tr -d '\r' | sed -n "s/^$1://p"; }

# True when every node answers and says: cluster_state ok, all 16384 slots ok,
# 6 known nodes; and every replica's link to its master is up.
cluster_ready() {
  local kind=$1 ports=$2 p info repl
  for p in $ports; do
    info=$(cli "$kind" "$p" CLUSTER INFO 2>/dev/null) || return 1
    [ "$(field cluster_state <<<"$info")" = ok ] || return 1
    [ "$(field cluster_slots_ok <<<"$info")" = 16384 ] || return 1
    [ "$(field cluster_known_nodes <<<"$info")" = 6 ] || return 1
    repl=$(cli "$kind" "$p" INFO replication 2>/dev/null) || return 1
    if [ "$(field role <<<"$repl")" = slave ]; then
      [ "$(field master_link_status <<<"$repl")" = up ] || return 1
    fi
  done
}

wait_cluster_ready() { # KIND PORTS TENTHS
  for _ in $(seq 1 "$3"); do
    cluster_ready "$1" "$2" && return 0
    sleep 0.1
  done
  cluster_ready "$1" "$2"
}

# True when the saved configuration is one cluster of exactly these 6 nodes:
# every nodes-PORT.conf present, naming itself at its port and the 6 ports.
cluster_conf_sane() {
  local d=$RUN_DIR/$1 ports=$2 p f
  for p in $ports; do
    f=$d/nodes-$p.conf
    [ -s "$f" ] || return 1
    grep -q "127\.0\.0\.1:$p@[0-9]*.*myself" "$f" || return 1
    [ "$(grep -vc '^vars ' "$f")" = 6 ] || return 1
    local q
    for q in $ports; do grep -q ":$q@" "$f" || return 1; done
  done
}

# True when no node knows another or serves a slot (fresh nodes, ready for
# `redis-cli --cluster create`).
cluster_fresh() {
  local kind=$1 ports=$2 p info
  for p in $ports; do
    info=$(cli "$kind" "$p" CLUSTER INFO 2>/dev/null) || return 1
    [ "$(field cluster_known_nodes <<<"$info")" = 1 ] || return 1
    [ "$(field cluster_slots_assigned <<<"$info")" = 0 ] || return 1
  done
}

# Starts the nodes that do not answer and waits until all do.
start_nodes() {
  local kind=$1 ports=$2 p
  for p in $ports; do redis_ping "$kind" "$p" || start_node "$kind" "$p"; done
  for p in $ports; do
    wait_redis "$kind" "$p" 100 ||
      { log "$kind node $p did not start"; tail -20 "$RUN_DIR/$kind/redis-$p.log" >&2; exit 1; }
  done
}

wipe_cluster() {
  local d=$RUN_DIR/$1
  stop_pidfiles "$d"/redis-*.pid
  rm -rf "$d"
}

create_cluster() {
  local kind=$1 ports=$2 p addrs=() cmd=(timeout 60 redis-cli)
  for p in $ports; do addrs+=("127.0.0.1:$p"); done
  [ "$kind" = cluster-tls ] && cmd=(env "REDISCLI_AUTH=$REDIS_PASSWORD" "${cmd[@]}" --tls --cacert "$CA")
  "${cmd[@]}" --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$RUN_DIR/$kind/create.log" 2>&1 ||
    { cat "$RUN_DIR/$kind/create.log" >&2; log "$kind: redis-cli --cluster create failed"; exit 1; }
}

start_cluster() {
  local kind=$1 ports=$2
  if cluster_ready "$kind" "$ports"; then return; fi
  local running=0 p
  for p in $ports; do live_pid "$RUN_DIR/$kind/redis-$p.pid" >/dev/null && running=1; done
  # Nothing running and a saved configuration that is not one cluster of these
  # 6 nodes: start over at once rather than wait for it to fail.
  if [ $running = 0 ] && [ -d "$RUN_DIR/$kind" ] && ! cluster_conf_sane "$kind" "$ports"; then
    log "$kind: stale node configuration; recreating the cluster"
    wipe_cluster "$kind"
  fi
  start_nodes "$kind" "$ports"
  if cluster_fresh "$kind" "$ports"; then
    create_cluster "$kind" "$ports"
  elif ! wait_cluster_ready "$kind" "$ports" 150; then
    log "$kind: the existing cluster did not become ready; recreating it"
    wipe_cluster "$kind"
    start_nodes "$kind" "$ports"
    create_cluster "$kind" "$ports"
  fi
  wait_cluster_ready "$kind" "$ports" 300 ||
    { log "$kind: the cluster did not reach cluster_state:ok with its replicas in sync"; exit 1; }
  log "Redis Cluster ($kind) on 127.0.0.1 ports $ports"
}

write_env() {
  {
    if want mysql; then
      echo "export ROWCACHE_TEST_MYSQL=mysql://rowcache:rowcache@127.0.0.1:$MYSQL_PORT/rowcache"
    fi
    if want redis; then echo "export ROWCACHE_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT/0"; fi
    if want mysql; then
      echo "export ROWCACHE_TEST_MYSQL_SOCKET=$SOCK"
      # Verified TLS (chain and host name: the certificate names 127.0.0.1).
      echo "export ROWCACHE_TEST_MYSQL_TLS='mysql://rowcache:rowcache@127.0.0.1:$MYSQL_PORT/rowcache?ssl-mode=VERIFY_IDENTITY&ssl-ca=$CA'"
      echo "export ROWCACHE_TEST_MYSQL_CA='$CA'"
    fi
    if want redis; then echo "export ROWCACHE_TEST_REDIS_PORT=$REDIS_PORT"; fi
    if want mysql; then echo "export ROWCACHE_TEST_MYSQL_PORT=$MYSQL_PORT"; fi
    if want redis-tls || want cluster-tls; then
      echo "export ROWCACHE_TEST_REDIS_CA='$CA'"
      echo "export ROWCACHE_TEST_REDIS_PASSWORD='$REDIS_PASSWORD'"
    fi
    if want redis-tls; then
      echo "export ROWCACHE_TEST_REDIS_TLS_PORT=$REDIS_TLS_PORT"
      echo "export ROWCACHE_TEST_REDIS_TLS='rediss://:$REDIS_PASSWORD@localhost:$REDIS_TLS_PORT/0?ca=$CA'"
      echo "export ROWCACHE_TEST_REDIS_TLS_USER='rediss://$ACL_USER:$ACL_PASSWORD@localhost:$REDIS_TLS_PORT/2?ca=$CA'"
      echo "export ROWCACHE_TEST_REDIS_ACL_USER='$ACL_USER'"
      echo "export ROWCACHE_TEST_REDIS_ACL_PASSWORD='$ACL_PASSWORD'"
    fi
    if want cluster; then
      echo "export ROWCACHE_TEST_REDIS_CLUSTER=redis://127.0.0.1:$CLUSTER_BASE"
      echo "export ROWCACHE_TEST_REDIS_CLUSTER_PORTS='$CLUSTER_PORTS'"
    fi
    if want cluster-tls; then
      echo "export ROWCACHE_TEST_REDIS_CLUSTER_TLS='rediss://:$REDIS_PASSWORD@127.0.0.1:$CLUSTER_TLS_BASE?ca=$CA'"
      echo "export ROWCACHE_TEST_REDIS_CLUSTER_TLS_PORTS='$CLUSTER_TLS_PORTS'"
    fi
  } >"$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

start_all() {
  mkdir -p "$RUN_DIR"
  chmod 755 "$RUN_DIR"
  local mysql_job=""
  # The certificates first: MariaDB uses them too.
  if want mysql || want redis-tls || want cluster-tls; then make_certs; fi
  # MariaDB starts in the background while the Redis servers start.
  if want mysql; then
    start_mysql &
    mysql_job=$!
  fi
  if [ $CERTS_NEW = 1 ]; then
    # TLS servers still running on an older certificate: stop them all at once
    # (a cluster restarted node by node would mix certificates on its bus).
    shopt -s nullglob
    stop_pidfiles "$RUN_DIR/redis-tls.pid" "$RUN_DIR"/cluster-tls/redis-*.pid
    shopt -u nullglob
  fi
  if want redis; then start_redis; fi
  if want redis-tls; then start_redis_tls; fi
  # The two clusters come up side by side.
  local jobs=() j failed=0
  if want cluster; then
    start_cluster cluster "$CLUSTER_PORTS" &
    jobs+=($!)
  fi
  if want cluster-tls; then
    start_cluster cluster-tls "$CLUSTER_TLS_PORTS" &
    jobs+=($!)
  fi
  for j in "${jobs[@]}"; do wait "$j" || failed=1; done
  if [ -n "$mysql_job" ]; then wait "$mysql_job" || failed=1; fi
  [ $failed = 0 ] || exit 1
  write_env
}

stop_all() {
  stop_pidfiles "$RUN_DIR/redis.pid" "$RUN_DIR/redis-tls.pid" "$RUN_DIR"/cluster/redis-*.pid \
    "$RUN_DIR"/cluster-tls/redis-*.pid "$RUN_DIR/mysql.pid"
}

case "${1:-start}" in
  start) start_all; echo "$ENV_FILE" ;;
  stop) shopt -s nullglob; stop_all ;;
  env) mkdir -p "$RUN_DIR"; write_env; cat "$ENV_FILE" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
