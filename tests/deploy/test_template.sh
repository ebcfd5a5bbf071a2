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
#   - deploy/*.sh: bash -n, shellcheck when it is installed, and a run of
#     deploy/load.sh and deploy/deploy.sh against a stand-in for the AWS CLI
#     (tests/deploy/stub/aws; the deploy.sh part needs zip and zipinfo).
#
# Needs node >= 18 and npm (Debian 12: apt-get install -y nodejs npm). The two
# npm packages pinned in tests/deploy/package-lock.json are installed once into
# ${ROWCACHE_NPM_CACHE:-~/.cache/rowcache-npm}/deploy-tests-<lock hash>; later
# runs reuse them. A missing node/npm or a failed install is a failure, never a
# skip.
#
# Usage: tests/deploy/test_template.sh [TEMPLATE]
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
((node_major >= 18)) || die "node $(node --version) is too old; 18 or newer is needed"

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
shapes=$(mktemp -d)
trap 'rm -f "$runner"; rm -rf "$shapes"' EXIT
cp "$here/check_template.mjs" "$runner"
say "== $template"
set +e
ROWCACHE_RENDERED_DIR=$shapes node "$runner" "$template" | tee "$runner.out"
node_rc=${PIPESTATUS[0]}
set -e
summary=$(tail -n 1 "$runner.out")
rm -f "$runner.out"
if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
  if ((node_rc != 0 && BASH_REMATCH[2] == 0)); then bad "check_template.mjs exited $node_rc"; fi
else
  bad "check_template.mjs did not finish (exit $node_rc)"
fi

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
trap 'rm -f "$runner"; rm -rf "$shapes" "$stub"' EXIT
mkdir -p "$stub/bin"
cp "$here/stub/aws" "$stub/bin/aws"
stub_run() { # NAME SCRIPT ARGS...: run with the stub first on PATH; output in $stub/NAME.out
  local name=$1
  shift
  : >"$stub/calls.log"
  env PATH="$stub/bin:$PATH" STUB_DIR="$stub" AWS_PROFILE= AWS_REGION=us-east-1 \
    "$@" >"$stub/$name.out" 2>&1
}
has() { grep -qF -- "$2" "$stub/$1"; }

if stub_run load bash "$root/deploy/load.sh" --stack rowcache-test &&
  has calls.log "aws s3 cp --only-show-errors $root/data/mp6input.csv s3://stub-data-bucket/mp6input.csv" &&
  has load.out "LOAD DATA FROM S3 's3://stub-data-bucket/mp6input.csv'" &&
  has load.out "FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n'" &&
  has load.out "IGNORE 1 LINES" &&
  has load.out "(id, hero, power, name, xp, color);" &&
  has load.out "--cache-url rediss://master.stub-cache.abc.use1.cache.amazonaws.com:6379 --cache-secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-cache-XyZ"; then
  ok "deploy/load.sh (stub AWS CLI): uploads data/mp6input.csv, prints LOAD DATA FROM S3 skipping its blank first line"
else
  bad "deploy/load.sh (stub AWS CLI):"
  sed 's/^/      /' "$stub/load.out" "$stub/calls.log"
fi

# --via rowcache with a stand-in rowcache that records its arguments and
# ROWCACHE_DB: the cache's AUTH token from the cache secret, percent-encoded
# into the --cache URL, and never printed.
# shellcheck disable=SC2016 # the stand-in's own text: expanded when it runs
printf '%s\n' '#!/usr/bin/env bash' \
  'printf "%s\n" "$@" >"$STUB_DIR/rowcache.args"' \
  'printf "%s\n" "$ROWCACHE_DB" >"$STUB_DIR/rowcache.db"' >"$stub/bin/rowcache"
chmod 755 "$stub/bin/rowcache"
if stub_run rowcache env AWS_ACCESS_KEY_ID=AKIDSTUB AWS_SECRET_ACCESS_KEY=stub \
  bash "$root/deploy/load.sh" --stack rowcache-test --via rowcache --rowcache "$stub/bin/rowcache" &&
  has calls.log "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-cache-XyZ" &&
  has rowcache.args "rediss://:Cache%2BToken%2F0123456789%25@master.stub-cache.abc.use1.cache.amazonaws.com:6379" &&
  has rowcache.db "mysql://admin:DbPassw0rd@stub-cluster.cluster-abc.us-east-1.rds.amazonaws.com:3306/rowcache" &&
  has rowcache.out "--cache rediss://:***@master.stub-cache.abc.use1.cache.amazonaws.com:6379" &&
  ! grep -qE 'Cache.Token|Cache%2BToken|DbPassw0rd' "$stub/rowcache.out"; then
  ok "deploy/load.sh --via rowcache (stub AWS CLI): the cache password from CacheSecretArn, percent-encoded into --cache, not printed"
else
  bad "deploy/load.sh --via rowcache (stub AWS CLI):"
  sed 's/^/      /' "$stub/rowcache.out" "$stub/calls.log" "$stub/rowcache.args" 2>&1
fi

if command -v zip >/dev/null && command -v zipinfo >/dev/null; then
  mkdir -p "$stub/pkg"
  printf '#!/bin/sh\n' >"$stub/pkg/bootstrap"
  chmod 755 "$stub/pkg/bootstrap"
  (cd "$stub/pkg" && zip -q ../good.zip bootstrap)
  chmod 644 "$stub/pkg/bootstrap"
  (cd "$stub/pkg" && zip -q ../noexec.zip bootstrap)
  if stub_run deploy bash "$root/deploy/deploy.sh" -s rowcache-test -z "$stub/good.zip" --cache-mode serverless -- CacheTtl=600 &&
    has calls.log "aws s3 cp --only-show-errors $stub/good.zip s3://rowcache-code-123456789012-us-east-1/rowcache/rowcache-lambda-" &&
    has calls.log "aws cloudformation deploy --stack-name rowcache-test --template-file $root/deploy/template.yaml" &&
    has calls.log "--capabilities CAPABILITY_IAM" &&
    has calls.log "--parameter-overrides CodeBucket=rowcache-code-123456789012-us-east-1 CodeKey=rowcache/rowcache-lambda-" &&
    has calls.log ".zip CacheMode=serverless CacheTtl=600" &&
    has deploy.out "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"; then
    ok "deploy/deploy.sh (stub AWS CLI): uploads the package under a content-addressed key, runs cloudformation deploy, prints the outputs"
  else
    bad "deploy/deploy.sh (stub AWS CLI):"
    sed 's/^/      /' "$stub/deploy.out" "$stub/calls.log"
  fi
  if ! stub_run noexec bash "$root/deploy/deploy.sh" -z "$stub/noexec.zip" && has noexec.out "is not executable" &&
    ! grep -q "cloudformation deploy" "$stub/calls.log"; then
    ok "deploy/deploy.sh refuses a package whose bootstrap is not executable"
  else
    bad "deploy/deploy.sh accepted a package whose bootstrap is not executable"
    sed 's/^/      /' "$stub/noexec.out"
  fi
else
  say "note  zip/zipinfo not installed: deploy/deploy.sh not run against the stub (Debian: apt-get install -y zip unzip)"
fi

say "time  $(($(date +%s) - started)) s"
say "deploy: $passed passed, $failed failed"
((failed == 0))
