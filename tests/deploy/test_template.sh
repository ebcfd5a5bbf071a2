#!/usr/bin/env bash
# Offline checks of the deployment code; no AWS account or network access to
# AWS is used.
#   - deploy/template.yaml: validated by @aws/cloudformation-validate (AWS's
#     offline CloudFormation validator: cfn-lint's rules and the resource
#     schemas, compiled to WebAssembly, from npm) and checked for the
#     structural facts of the design (tests/deploy/check_template.mjs), both
#     as written and as the concrete template of each cache shape (CacheMode
#     single-shard / cluster / serverless x CacheTransitEncryption x
#     CacheAuth, the conditions resolved);
#   - cfn-lint (Python) as well, on the template and on each shape, when it is
#     on PATH (optional extra);
#   - the API Gateway mapping templates, executed (tests/deploy/render_mappings.mjs,
#     Velocity by npm's velocityjs): client requests through the request
#     templates into the real binary's Lambda runtime (ROWCACHE_BIN, default
#     build/rowcache, against the fake Runtime API of tests/e2e/fake_lambda.py),
#     its real outputs through the integration responses' selection patterns
#     (Java regex semantics; checked against java.util.regex when java is
#     installed) and response templates: status and body for 200, 400, 503, a
#     function error and an init error with a line break;
#   - deploy/*.sh: bash -n, shellcheck when it is installed, and runs of
#     deploy/load.sh, deploy/deploy.sh and deploy/teardown.sh against a
#     stand-in for the AWS CLI (tests/deploy/stub/aws; the deploy.sh part needs
#     zip and zipinfo), including the SQL load.sh sends for the function's
#     database user (to a stand-in mysql client) and, with the test MariaDB of
#     scripts/servers.sh (ROWCACHE_TEST_MYSQL_SOCKET, root by socket), that SQL
#     run for real: the user reads and writes the table and can do nothing else.
#
# Needs node >= 20 and npm (Debian 12: apt-get install -y nodejs npm), python3
# and a built rowcache binary. The npm packages pinned in
# tests/deploy/package-lock.json are installed once into
# ${ROWCACHE_NPM_CACHE:-~/.cache/rowcache-npm}/deploy-tests-<lock hash>; later
# runs reuse them. A missing node/npm/binary or a failed install is a failure,
# never a skip. The MariaDB part is skipped without the test servers, unless
# ROWCACHE_REQUIRE_SERVERS=1 (make test), which makes that a failure too.
#
# Usage: [ROWCACHE_BIN=build/rowcache] tests/deploy/test_template.sh [TEMPLATE]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
template=${1:-$root/deploy/template.yaml}
started=$(date +%s)
passed=0
failed=0

say() { printf '%s\n' "$*"; }
die() {
  say "test_template: $*" >&2
  say "deploy: $passed passed, $((failed + 1)) failed"
  exit 1
}
ok() { passed=$((passed + 1)); say "ok    $*"; }
bad() { failed=$((failed + 1)); say "FAIL  $*"; }

[[ -f $template ]] || die "no template at $template"
command -v node >/dev/null || die "node is not installed (Debian: apt-get install -y nodejs npm)"
command -v npm >/dev/null || die "npm is not installed (Debian: apt-get install -y npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "node $(node --version) is too old; 20 or newer is needed"
command -v python3 >/dev/null || die "python3 is not installed"
binary=${ROWCACHE_BIN:-$root/build/rowcache}
[[ -x $binary ]] || die "no rowcache binary at $binary (build it, or set ROWCACHE_BIN)"
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

# ---------------------------------------------------------------- install
lock_hash=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
cache_root=${ROWCACHE_NPM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/rowcache-npm}
prefix=$cache_root/deploy-tests-$lock_hash
if [[ ! -f $prefix/.installed ]]; then
  say "installing the validator (npm ci) into $prefix"
  mkdir -p "$cache_root"
  rm -rf "$prefix"
  staging=$(mktemp -d "$cache_root/.staging.XXXXXX")
  cp "$here/package.json" "$here/package-lock.json" "$staging/"
  if ! (cd "$staging" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error); then
    rm -rf "$staging"
    die "npm ci failed: the npm registry must be reachable for the first run"
  fi
  touch "$staging/.installed"
  # Another run may have finished the same install meanwhile: keep the first.
  mv -T "$staging" "$prefix" 2>/dev/null || rm -rf "$staging"
fi
[[ -f $prefix/.installed ]] || die "install in $prefix is incomplete"

# --------------------------------------------------- validator + structure
# ES modules resolve packages next to the importing file, so the check script
# runs from a copy inside the install directory.
runner=$(mktemp "$prefix/check.XXXXXX.mjs")
mapper=$(mktemp "$prefix/mappings.XXXXXX.mjs")
shapes=$(mktemp -d)
trap 'rm -f "$runner" "$mapper"; rm -rf "$shapes"' EXIT
cp "$here/check_template.mjs" "$runner"
cp "$here/render_mappings.mjs" "$mapper"
node_checks() { # NAME SCRIPT ARGS...: run, add its "N passed, N failed" to ours
  local name=$1 script=$2 rc summary
  shift 2
  set +e
  node "$script" "$@" | tee "$script.out"
  rc=${PIPESTATUS[0]}
  set -e
  summary=$(tail -n 1 "$script.out")
  rm -f "$script.out"
  if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    if ((rc != 0 && BASH_REMATCH[2] == 0)); then bad "$name exited $rc"; fi
  else
    bad "$name did not finish (exit $rc)"
  fi
}
say "== $template"
ROWCACHE_RENDERED_DIR=$shapes node_checks check_template.mjs "$runner" "$template"
say "== API Gateway mapping templates against $binary"
ROWCACHE_BIN=$binary ROWCACHE_DEPLOY_TESTS_DIR=$here node_checks render_mappings.mjs "$mapper" "$template"

# ------------------------------------------------------ optional cfn-lint
if command -v cfn-lint >/dev/null; then
  shopt -s nullglob
  shape_files=("$shapes"/shape-*.yaml)
  shopt -u nullglob
  if out=$(cfn-lint --regions us-east-1 -- "$template" "${shape_files[@]}" 2>&1); then
    ok "cfn-lint $(cfn-lint --version 2>&1 | awk '{print $NF}'): no errors or warnings (the template and ${#shape_files[@]} cache shapes)"
  else
    bad "cfn-lint:"
    say "$out" | sed 's/^/      /'
  fi
else
  say "note  cfn-lint (Python) not on PATH: not run (the npm validator above covers the same rules)"
fi

# --------------------------------------------------------- deploy scripts
shopt -s nullglob
scripts=("$root"/deploy/*.sh)
shopt -u nullglob
((${#scripts[@]} > 0)) || bad "no deploy/*.sh scripts"
for s in "${scripts[@]}"; do
  [[ -f $s ]] || continue
  if bash -n "$s"; then ok "bash -n ${s#"$root"/}"; else bad "bash -n ${s#"$root"/}"; fi
done
if command -v shellcheck >/dev/null; then
  if out=$(shellcheck -x "${scripts[@]}" "$here/test_template.sh" "$here/stub/aws" 2>&1); then
    ok "shellcheck $(shellcheck --version | awk '/^version:/{print $2}'): deploy/*.sh and this script are clean"
  else
    bad "shellcheck:"
    say "$out" | sed 's/^/      /'
  fi
else
  say "note  shellcheck not installed: not run (Debian: apt-get install -y shellcheck)"
fi

# ------------------------------- deploy scripts against a stub AWS CLI
stub=$(mktemp -d)
trap 'rm -f "$runner" "$mapper"; rm -rf "$shapes" "$stub"' EXIT
mkdir -p "$stub/bin" "$stub/mysqlbin" "$stub/secrets"
cp "$here/stub/aws" "$stub/bin/aws"
stub_run() { # NAME SCRIPT ARGS...: run with the stub first on PATH; output in $stub/NAME.out
  local name=$1
  shift
  : >"$stub/calls.log"
  env PATH="$stub/bin:${STUB_PATH_EXTRA:+$STUB_PATH_EXTRA:}$PATH" STUB_DIR="$stub" AWS_PROFILE= AWS_REGION=us-east-1 \
    "$@" >"$stub/$name.out" 2>&1 </dev/null
}
# A stand-in mysql client: records its option file, arguments and standard
# input (the SQL); answers SELECT VERSION() as Aurora MySQL 3 does.
# shellcheck disable=SC2016 # the stand-in's own text: expanded when it runs
printf '%s\n' '#!/usr/bin/env bash' \
  'for a in "$@"; do case $a in --defaults-extra-file=*) cp "${a#*=}" "$STUB_DIR/mysql.cnf" ;; esac; done' \
  'printf "%s\n" "$*" >>"$STUB_DIR/mysql.args"' \
  'if [[ $* == *"SELECT VERSION()"* ]]; then echo 8.0.mysql_aurora.3.10.0; exit 0; fi' \
  'cat >>"$STUB_DIR/mysql.sql"' >"$stub/mysqlbin/mysql"
chmod 755 "$stub/mysqlbin/mysql"
has() { grep -qF -- "$2" "$stub/$1"; }

if stub_run load bash "$root/deploy/load.sh" --stack rowcache-test &&
  has calls.log "aws s3 cp --only-show-errors $root/data/mp6input.csv s3://stub-data-bucket/mp6input.csv" &&
  has load.out "LOAD DATA FROM S3 's3://stub-data-bucket/mp6input.csv'" &&
  has load.out "FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n'" &&
  has load.out "IGNORE 1 LINES" &&
  has load.out "(id, hero, power, name, xp, color);" &&
  has load.out "--cache-url rediss://master.stub-cache.abc.use1.cache.amazonaws.com:6379 --cache-secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-cache-XyZ" &&
  has load.out "--app-secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-app-QwErTy" &&
  has load.out "GRANT SELECT, INSERT, UPDATE, DELETE ON \`rowcache\`.\`heroes\` TO 'USER'@'%';" &&
  ! grep -qE 'AppPassw0rd|DbPassw0rd' "$stub/load.out"; then
  ok "deploy/load.sh (stub AWS CLI): uploads data/mp6input.csv, prints LOAD DATA FROM S3 skipping its blank first line, and the function's user's grants (no password)"
else
  bad "deploy/load.sh (stub AWS CLI):"
  sed 's/^/      /' "$stub/load.out" "$stub/calls.log"
fi

# --via rowcache with a stand-in rowcache that records its arguments,
# ROWCACHE_DB and the password files it is given: the cache's AUTH token from
# the cache secret and the database's password each in a mode-600 file
# (--cache-password-file, ROWCACHE_DB_PASSWORD_FILE), on no command line and
# never printed.
# shellcheck disable=SC2016 # the stand-in's own text: expanded when it runs
printf '%s\n' '#!/usr/bin/env bash' \
  'printf "%s\n" "$@" >"$STUB_DIR/rowcache.args"' \
  'printf "%s\n" "$ROWCACHE_DB" >"$STUB_DIR/rowcache.db"' \
  'cat "$ROWCACHE_DB_PASSWORD_FILE" >"$STUB_DIR/rowcache.dbpw"; stat -c %a "$ROWCACHE_DB_PASSWORD_FILE" >>"$STUB_DIR/rowcache.modes"' \
  'while (($#)); do if [[ $1 == --cache-password-file ]]; then cat "$2" >"$STUB_DIR/rowcache.cachepw"; stat -c %a "$2" >>"$STUB_DIR/rowcache.modes"; fi; shift; done' >"$stub/bin/rowcache"
chmod 755 "$stub/bin/rowcache"
if STUB_PATH_EXTRA=$stub/mysqlbin stub_run rowcache env AWS_ACCESS_KEY_ID=AKIDSTUB AWS_SECRET_ACCESS_KEY=stub \
  bash "$root/deploy/load.sh" --stack rowcache-test --via rowcache --rowcache "$stub/bin/rowcache" &&
  has calls.log "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-cache-XyZ" &&
  has rowcache.args "rediss://master.stub-cache.abc.use1.cache.amazonaws.com:6379" &&
  has rowcache.args "--cache-password-file" &&
  [[ $(cat "$stub/rowcache.cachepw") == 'Cache+Token/0123456789%' ]] &&
  has rowcache.db "mysql://admin@stub-cluster.cluster-abc.us-east-1.rds.amazonaws.com:3306/rowcache" &&
  [[ $(cat "$stub/rowcache.dbpw") == DbPassw0rd ]] &&
  [[ $(sort -u "$stub/rowcache.modes") == 600 ]] &&
  ! grep -qE 'Cache.Token|Cache%2BToken|DbPassw0rd' "$stub/rowcache.args" "$stub/rowcache.db" &&
  grep -q "^GRANT SELECT, INSERT, UPDATE, DELETE ON \`rowcache\`.\`heroes\` TO 'rowcache_app'@'%';$" "$stub/mysql.sql" &&
  ! grep -qE 'Cache.Token|Cache%2BToken|DbPassw0rd|AppPassw0rd' "$stub/rowcache.out"; then
  ok "deploy/load.sh --via rowcache (stub AWS CLI): the cache password from CacheSecretArn and the database's in mode-600 files (--cache-password-file, ROWCACHE_DB_PASSWORD_FILE), on no command line, not printed; then the function's database user"
else
  bad "deploy/load.sh --via rowcache (stub AWS CLI):"
  sed 's/^/      /' "$stub/rowcache.out" "$stub/calls.log" "$stub/rowcache.args" 2>&1
fi

# --via sql: the SQL for the function's database user, sent (with the table and
# LOAD DATA) to a stand-in mysql client that records its option file, its
# arguments and its standard input: exactly these four statements on the
# user, the password from AppDbSecretArn, run as the master user, before the load.
rm -f "$stub/mysql.sql" "$stub/mysql.args" "$stub/mysql.cnf"
want_grants="CREATE USER IF NOT EXISTS 'rowcache_app'@'%' IDENTIFIED WITH mysql_native_password BY 'AppPassw0rdFromSecret';
ALTER USER 'rowcache_app'@'%' IDENTIFIED WITH mysql_native_password BY 'AppPassw0rdFromSecret';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'rowcache_app'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`rowcache\`.\`heroes\` TO 'rowcache_app'@'%';"
if STUB_PATH_EXTRA=$stub/mysqlbin stub_run sql bash "$root/deploy/load.sh" --stack rowcache-test --via sql &&
  has calls.log "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-app-QwErTy" &&
  [[ $(grep -E '^(CREATE USER|ALTER USER|REVOKE|GRANT|SET ROLE|SET DEFAULT ROLE)' "$stub/mysql.sql") == "$want_grants" ]] &&
  [[ $(grep -c '^GRANT ' "$stub/mysql.sql") == 1 ]] &&
  awk '/^GRANT /{g=NR} /^LOAD DATA FROM S3/{l=NR} /^CREATE TABLE IF NOT EXISTS heroes/{t=NR} END{exit !(t && g && l && t < g && g < l)}' "$stub/mysql.sql" &&
  grep -qx 'user=admin' "$stub/mysql.cnf" && grep -qx 'password=DbPassw0rd' "$stub/mysql.cnf" &&
  ! grep -qE 'AppPassw0rd|DbPassw0rd' "$stub/sql.out" "$stub/mysql.args"; then
  ok "deploy/load.sh --via sql (stand-in mysql): as the master user, the table, then CREATE USER IF NOT EXISTS / ALTER USER (password from AppDbSecretArn) / REVOKE ALL / GRANT SELECT, INSERT, UPDATE, DELETE on rowcache.heroes only, then LOAD DATA; no password on a command line or in the output"
else
  bad "deploy/load.sh --via sql (stand-in mysql):"
  sed 's/^/      /' "$stub/sql.out" "$stub/calls.log" "$stub/mysql.sql" 2>&1
fi
if ! STUB_PATH_EXTRA=$stub/mysqlbin stub_run same bash "$root/deploy/load.sh" --via grants --no-upload \
  --bucket b --db-host h --secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-AbCdEf \
  --app-secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-AbCdEf &&
  has same.out "is the master user"; then
  ok "deploy/load.sh refuses to use the master user as the function's database user"
else
  bad "deploy/load.sh accepted the master user as the function's database user:"
  sed 's/^/      /' "$stub/same.out"
fi

# The same SQL, run for real on the test MariaDB (scripts/servers.sh) as an
# administrator made for the purpose, into a database of its own: then the
# function's user may read and write its table and nothing else, and a second
# run (a rotated password in the secret, a privilege granted by hand meanwhile)
# sets the new password and takes the extra privilege away again.
servers_env=${ROWCACHE_SERVERS_ENV:-/tmp/rowcache-servers/env}
if [[ -z ${ROWCACHE_TEST_MYSQL_SOCKET:-} && -f $servers_env ]]; then
  # shellcheck disable=SC1090
  source "$servers_env"
fi
if [[ -n ${ROWCACHE_TEST_MYSQL_SOCKET:-} ]] && command -v mariadb >/dev/null &&
  mariadb --socket="$ROWCACHE_TEST_MYSQL_SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  tag=lp_$$_$RANDOM
  lp_db=rowcache_$tag lp_admin=rc_admin_$tag lp_app=rc_app_$tag
  lp_port=${ROWCACHE_TEST_MYSQL_PORT:-13306}
  lp_admin_pw=Adm1n$RANDOM$RANDOM lp_pw1=First$RANDOM$RANDOM lp_pw2=Second$RANDOM$RANDOM
  root_sql() { mariadb --socket="$ROWCACHE_TEST_MYSQL_SOCKET" -uroot -N -B -e "$1"; }
  app_sql() { MYSQL_PWD=$1 mariadb -h127.0.0.1 -P"$lp_port" -u"$lp_app" -N -B "$lp_db" -e "$2" 2>&1; }
  lp_cleanup() {
    root_sql "DROP USER IF EXISTS '$lp_app'@'%'; DROP USER IF EXISTS '$lp_admin'@'127.0.0.1';
      DROP DATABASE IF EXISTS \`$lp_db\`" >/dev/null 2>&1 || true
  }
  trap 'lp_cleanup; rm -f "$runner" "$mapper"; rm -rf "$shapes" "$stub"' EXIT
  root_sql "CREATE DATABASE \`$lp_db\`; CREATE TABLE \`$lp_db\`.other (id INT PRIMARY KEY); INSERT INTO \`$lp_db\`.other VALUES (1);
    CREATE USER '$lp_admin'@'127.0.0.1' IDENTIFIED BY '$lp_admin_pw';
    GRANT ALL PRIVILEGES ON *.* TO '$lp_admin'@'127.0.0.1' WITH GRANT OPTION"
  printf '{"username": "%s", "password": "%s", "engine": "mysql"}' "$lp_admin" "$lp_admin_pw" >"$stub/secrets/lp-master"
  printf '{"username": "%s", "password": "%s", "engine": "mysql"}' "$lp_app" "$lp_pw1" >"$stub/secrets/lp-app"
  lp_args=(--via grants --region us-east-1 --no-upload --bucket unused --db-host 127.0.0.1 --db-port "$lp_port"
    --secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:lp-master
    --app-secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:lp-app --db-name "$lp_db" --db-user "$lp_admin")
  expect() { # PASSWORD SQL WANT: the app user's SQL succeeds with output WANT
    lp_detail=$(app_sql "$1" "$2") && [[ $lp_detail == "$3" ]] && return 0
    lp_detail="$2: $lp_detail"
    return 1
  }
  expect_denied() { # PASSWORD SQL: refused for want of a privilege
    if lp_detail=$(app_sql "$1" "$2"); then
      lp_detail="$2 was allowed"
      return 1
    fi
    [[ $lp_detail == *"ERROR 1142"* || $lp_detail == *"ERROR 1044"* ]] && return 0
    lp_detail="$2: $lp_detail"
    return 1
  }
  grants_ok() { # PASSWORD: the user's grants are exactly USAGE and the four on the table
    local g
    g=$(app_sql "$1" 'SHOW GRANTS') &&
      [[ $(wc -l <<<"$g") == 2 ]] && grep -q '^GRANT USAGE ON \*\.\* TO' <<<"$g" &&
      grep -qx "GRANT SELECT, INSERT, UPDATE, DELETE ON \`$lp_db\`.\`heroes\` TO \`$lp_app\`@\`%\`" <<<"$g" && return 0
    lp_detail="SHOW GRANTS: $g"
    return 1
  }
  first_run() {
    expect "$lp_pw1" "INSERT INTO heroes (hero, power, name, xp, color) VALUES ('yes', 'fly', 'batman', 100, 'black')" "" &&
      expect "$lp_pw1" "SELECT name FROM heroes" batman &&
      expect "$lp_pw1" "UPDATE heroes SET xp = 7 WHERE name = 'batman'" "" &&
      expect "$lp_pw1" "DELETE FROM heroes" "" &&
      expect_denied "$lp_pw1" "DROP TABLE heroes" &&
      expect_denied "$lp_pw1" "TRUNCATE TABLE heroes" &&
      expect_denied "$lp_pw1" "CREATE TABLE t2 (id INT)" &&
      expect_denied "$lp_pw1" "SELECT * FROM other" &&
      expect_denied "$lp_pw1" "ALTER TABLE heroes ADD COLUMN x INT" &&
      grants_ok "$lp_pw1"
  }
  second_run() {
    expect "$lp_pw2" "SELECT COUNT(*) FROM heroes" 0 &&
      { ! lp_detail=$(app_sql "$lp_pw1" "SELECT 1") && [[ $lp_detail == *"ERROR 1045"* ]] || { lp_detail="old password: $lp_detail"; false; }; } &&
      expect_denied "$lp_pw2" "SELECT * FROM other" &&
      grants_ok "$lp_pw2"
  }
  lp_detail=
  if stub_run lpgrants bash "$root/deploy/load.sh" "${lp_args[@]}" &&
    has lpgrants.out "creating or updating the function's database user $lp_app" && first_run; then
    ok "deploy/load.sh --via grants on MariaDB: the function's user inserts, reads, updates and deletes rows of heroes; DROP, TRUNCATE, ALTER, CREATE and another table are denied; SHOW GRANTS is exactly USAGE + those four on heroes"
  else
    bad "deploy/load.sh --via grants on MariaDB: ${lp_detail:0:300}"
    sed 's/^/      /' "$stub/lpgrants.out"
  fi
  root_sql "GRANT SELECT ON \`$lp_db\`.other TO '$lp_app'@'%'"
  printf '{"username": "%s", "password": "%s", "engine": "mysql"}' "$lp_app" "$lp_pw2" >"$stub/secrets/lp-app"
  lp_detail=
  if stub_run lpgrants2 bash "$root/deploy/load.sh" "${lp_args[@]}" && second_run; then
    ok "deploy/load.sh --via grants again (idempotent): the password now in the secret replaces the old one, a privilege granted by hand meanwhile is revoked"
  else
    bad "deploy/load.sh --via grants, second run: ${lp_detail:0:300}"
    sed 's/^/      /' "$stub/lpgrants2.out"
  fi
  lp_cleanup
elif [[ ${ROWCACHE_REQUIRE_SERVERS:-0} == 1 ]]; then
  bad "the test MariaDB is not reachable as root through ROWCACHE_TEST_MYSQL_SOCKET (ROWCACHE_REQUIRE_SERVERS=1)"
else
  say "note  no test MariaDB (scripts/servers.sh start; ROWCACHE_TEST_MYSQL_SOCKET): the function's user's grants were not run for real"
fi

if command -v zip >/dev/null && command -v zipinfo >/dev/null; then
  mkdir -p "$stub/pkg"
  printf '#!/bin/sh\n' >"$stub/pkg/bootstrap"
  chmod 755 "$stub/pkg/bootstrap"
  (cd "$stub/pkg" && zip -q ../good.zip bootstrap)
  chmod 644 "$stub/pkg/bootstrap"
  (cd "$stub/pkg" && zip -q ../noexec.zip bootstrap)
  # A stand-in for the Amazon RDS CA bundle (deploy.sh adds it to the package;
  # every run here passes it, or a stand-in curl, so no network is needed).
  printf '%s\n' '-----BEGIN CERTIFICATE-----' 'cm93Y2FjaGUgdGVzdCBzdGFuZC1pbg==' '-----END CERTIFICATE-----' >"$stub/rds-ca.pem"
  # The package deploy.sh uploaded last (the newest object under rowcache/ in the stub S3).
  uploaded() { find "$stub/s3" -path '*/rowcache/rowcache-lambda-*.zip' -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-; }
  # PKG holds an executable bootstrap and rds-global-bundle.pem equal to FILE.
  package_ok() {
    [[ -f $1 ]] && zipinfo "$1" bootstrap | grep -q '^-..x' &&
      unzip -p "$1" rds-global-bundle.pem | cmp -s - "$2"
  }
  if stub_run deploy bash "$root/deploy/deploy.sh" -s rowcache-test -z "$stub/good.zip" --rds-ca "$stub/rds-ca.pem" --cache-mode serverless --api-auth NONE -- CacheTtl=600 &&
    has calls.log "aws s3 cp --only-show-errors " &&
    has calls.log " s3://rowcache-code-123456789012-us-east-1/rowcache/rowcache-lambda-" &&
    package_ok "$(uploaded)" "$stub/rds-ca.pem" &&
    has calls.log "aws cloudformation deploy --stack-name rowcache-test --template-file $root/deploy/template.yaml" &&
    has calls.log "--capabilities CAPABILITY_IAM" &&
    has calls.log "--parameter-overrides CodeBucket=rowcache-code-123456789012-us-east-1 CodeKey=rowcache/rowcache-lambda-" &&
    has calls.log ".zip CacheMode=serverless ApiAuth=NONE CacheTtl=600" &&
    has calls.log "aws apigateway create-deployment --rest-api-id abc123 --stage-name prod" &&
    has deploy.out "https://abc123.execute-api.us-east-1.amazonaws.com/prod/" &&
    has deploy.out "--aws-sigv4 'aws:amz:us-east-1:execute-api'"; then
    ok "deploy/deploy.sh (stub AWS CLI): uploads the package (bootstrap + the --rds-ca bundle as rds-global-bundle.pem) under a content-addressed key, runs cloudformation deploy (--api-auth as ApiAuth), deploys the existing stack's API stage again, prints the outputs and a SigV4-signed call"
  else
    bad "deploy/deploy.sh (stub AWS CLI):"
    sed 's/^/      /' "$stub/deploy.out" "$stub/calls.log"
  fi
  touch "$stub/no-stack"
  if stub_run deploynew bash "$root/deploy/deploy.sh" -s rowcache-new -z "$stub/good.zip" --rds-ca "$stub/rds-ca.pem" &&
    has calls.log "aws cloudformation deploy --stack-name rowcache-new" &&
    ! grep -q "create-deployment" "$stub/calls.log"; then
    ok "deploy/deploy.sh on a new stack: no extra API deployment (CloudFormation's is current)"
  else
    bad "deploy/deploy.sh on a new stack:"
    sed 's/^/      /' "$stub/deploynew.out" "$stub/calls.log"
  fi
  rm -f "$stub/no-stack"
  # Without --rds-ca the bundle is downloaded at deploy time: a stand-in curl
  # (first on PATH for this run only) records the URL and writes a stand-in.
  mkdir -p "$stub/curlbin"
  # shellcheck disable=SC2016 # the stand-in's own text: expanded when it runs
  printf '%s\n' '#!/usr/bin/env bash' 'printf "%s\n" "$*" >>"$STUB_DIR/curl.log"' \
    'while [[ $# -gt 0 ]]; do [[ $1 == -o ]] && { cp "$STUB_DIR/rds-ca2.pem" "$2"; shift; }; shift; done' >"$stub/curlbin/curl"
  chmod 755 "$stub/curlbin/curl"
  printf '%s\n' '-----BEGIN CERTIFICATE-----' 'ZG93bmxvYWRlZCBzdGFuZC1pbg==' '-----END CERTIFICATE-----' >"$stub/rds-ca2.pem"
  : >"$stub/curl.log"
  if stub_run deployca env PATH="$stub/curlbin:$stub/bin:$PATH" bash "$root/deploy/deploy.sh" -s rowcache-test -z "$stub/good.zip" &&
    grep -q 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem' "$stub/curl.log" &&
    package_ok "$(uploaded)" "$stub/rds-ca2.pem" &&
    stub_run deployca2 env PATH="$stub/curlbin:$stub/bin:$PATH" bash "$root/deploy/deploy.sh" -s rowcache-test -z "$stub/good.zip" &&
    has deployca2.out "package already uploaded"; then
    ok "deploy/deploy.sh without --rds-ca: downloads https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem at deploy time into the package; the same build and bundle give the same key (no new upload)"
  else
    bad "deploy/deploy.sh without --rds-ca:"
    sed 's/^/      /' "$stub/deployca.out" "$stub/curl.log" "$stub/deployca2.out" 2>&1
  fi
  printf 'not a certificate\n' >"$stub/notpem.txt"
  if ! stub_run notpem bash "$root/deploy/deploy.sh" -s rowcache-test -z "$stub/good.zip" --rds-ca "$stub/notpem.txt" &&
    has notpem.out "no PEM certificate" && ! grep -q "cloudformation deploy" "$stub/calls.log"; then
    ok "deploy/deploy.sh refuses an --rds-ca file without a PEM certificate"
  else
    bad "deploy/deploy.sh accepted an --rds-ca file without a PEM certificate"
    sed 's/^/      /' "$stub/notpem.out"
  fi
  if ! stub_run noexec bash "$root/deploy/deploy.sh" -z "$stub/noexec.zip" --rds-ca "$stub/rds-ca.pem" && has noexec.out "is not executable" &&
    ! grep -q "cloudformation deploy" "$stub/calls.log"; then
    ok "deploy/deploy.sh refuses a package whose bootstrap is not executable"
  else
    bad "deploy/deploy.sh accepted a package whose bootstrap is not executable"
    sed 's/^/      /' "$stub/noexec.out"
  fi
else
  say "note  zip/zipinfo not installed: deploy/deploy.sh not run against the stub (Debian: apt-get install -y zip unzip)"
fi

# --via api with ApiAuth AWS_IAM (the stand-in's ApiAuth output): the rows
# POSTed by the real curl, signed with --aws-sigv4, to a stand-in API that
# checks each request's Signature V4 and session token (fake_apigw.py).
: >"$stub/apigw.log"
python3 "$here/fake_apigw.py" AKIDAPITEST 'api/secret+key' us-east-1 api-session-token "$stub/apigw.log" >"$stub/apigw.port" &
apigw_pid=$!
for _ in $(seq 50); do [[ -s $stub/apigw.port ]] && break; sleep 0.1; done
apigw_port=$(head -n 1 "$stub/apigw.port")
if stub_run api env AWS_ACCESS_KEY_ID=AKIDAPITEST AWS_SECRET_ACCESS_KEY='api/secret+key' AWS_SESSION_TOKEN=api-session-token \
  bash "$root/deploy/load.sh" --stack rowcache-test --via api --api-url "http://127.0.0.1:$apigw_port/prod/" &&
  has api.out "wrote 25 rows through http://127.0.0.1:$apigw_port/prod/" &&
  [[ $(grep -c '^ok ' "$stub/apigw.log") == 2 ]] && ! grep -q '^refused' "$stub/apigw.log" &&
  ! grep -q 'assigned ids' "$stub/api.out"; then
  ok "deploy/load.sh --via api, ApiAuth AWS_IAM: curl --aws-sigv4 requests (a read, a write) accepted by an independent SigV4 check, session token included ($(head -n 1 "$stub/apigw.log"))"
else
  bad "deploy/load.sh --via api, ApiAuth AWS_IAM:"
  sed 's/^/      /' "$stub/api.out" "$stub/apigw.log"
fi
if ! stub_run apibad env AWS_ACCESS_KEY_ID=AKIDAPITEST AWS_SECRET_ACCESS_KEY='not the key' AWS_SESSION_TOKEN=api-session-token \
  bash "$root/deploy/load.sh" --stack rowcache-test --via api --api-url "http://127.0.0.1:$apigw_port/prod/" &&
  grep -q '^refused signature does not match' "$stub/apigw.log"; then
  ok "deploy/load.sh --via api with a wrong secret key: refused by the stand-in (the check is not vacuous), load.sh stops"
else
  bad "deploy/load.sh --via api with a wrong secret key was not refused:"
  sed 's/^/      /' "$stub/apibad.out" "$stub/apigw.log"
fi
kill "$apigw_pid" 2>/dev/null || true
wait "$apigw_pid" 2>/dev/null || true

# ------------------------------------------------------- deploy/teardown.sh
# Against the stand-in, whose stack deletion fails (DELETE_FAILED) while the
# data bucket holds objects, as CloudFormation's does.
mkdir -p "$stub/s3/stub-data-bucket/more"
printf 'x\n' >"$stub/s3/stub-data-bucket/more/extra.csv"
printf 'x\n' >"$stub/s3/stub-data-bucket/mp6input.csv"
if ! stub_run tdno bash "$root/deploy/teardown.sh" -s rowcache-test && has tdno.out "pass --yes" &&
  ! grep -q "delete-stack" "$stub/calls.log" && [[ -f $stub/s3/stub-data-bucket/mp6input.csv ]]; then
  ok "deploy/teardown.sh without --yes and without a terminal: shows the plan, deletes nothing"
else
  bad "deploy/teardown.sh without --yes:"
  sed 's/^/      /' "$stub/tdno.out" "$stub/calls.log"
fi
if stub_run td bash "$root/deploy/teardown.sh" -s rowcache-test --yes &&
  awk '/^aws s3 rm s3:\/\/stub-data-bucket --recursive/{r=NR} /^aws cloudformation delete-stack --stack-name rowcache-test/{d=NR}
       /^aws cloudformation wait stack-delete-complete --stack-name rowcache-test/{w=NR} END{exit !(r && d && w && r < d && d < w)}' "$stub/calls.log" &&
  [[ ! -e $stub/s3/stub-data-bucket ]] && has td.out "stack rowcache-test deleted" &&
  has td.out "aws rds delete-db-cluster-snapshot --region us-east-1 --db-cluster-snapshot-identifier stub-cluster-final-snapshot"; then
  ok "deploy/teardown.sh --yes: empties the stack's own data bucket (DataBucket), deletes the stack, waits; the bucket goes with it; the final snapshot is named"
else
  bad "deploy/teardown.sh --yes:"
  sed 's/^/      /' "$stub/td.out" "$stub/calls.log"
fi
if stub_run td2 bash "$root/deploy/teardown.sh" -s rowcache-test --yes && has td2.out "nothing to delete" &&
  ! grep -q "delete-stack" "$stub/calls.log"; then
  ok "deploy/teardown.sh again: the stack is gone, nothing to do, exit 0"
else
  bad "deploy/teardown.sh on a deleted stack:"
  sed 's/^/      /' "$stub/td2.out"
fi
rm -f "$stub/deleted-rowcache-test"
mkdir -p "$stub/s3/stub-data-bucket"
printf 'x\n' >"$stub/s3/stub-data-bucket/late.csv"
# A bucket written to between its emptying and the deletion: the stand-in's
# "s3 rm" leaves that file, the deletion fails and teardown.sh says why.
if ! stub_run td3 env STUB_S3_RM_KEEP=late.csv bash "$root/deploy/teardown.sh" -s rowcache-test --yes &&
  has td3.out "The bucket you tried to delete is not empty" && has td3.out "was not deleted"; then
  ok "deploy/teardown.sh when the deletion fails: exit 1 with CloudFormation's reason"
else
  bad "deploy/teardown.sh, a failed deletion:"
  sed 's/^/      /' "$stub/td3.out" "$stub/calls.log"
fi

say "time  $(($(date +%s) - started)) s"
say "deploy: $passed passed, $failed failed"
((failed == 0))
