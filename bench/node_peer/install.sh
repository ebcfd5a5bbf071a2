#!/usr/bin/env bash
# Installs the node peer's npm packages (package-lock.json, `npm ci`) once into
# ${ROWCACHE_NPM_CACHE:-~/.cache/rowcache-npm}/node-peer-<lock hash>, as
# tests/deploy/test_template.sh does, and prints the node_modules directory to
# use as NODE_PATH. Later runs reuse the install; the first needs the npm registry.
#
#   NODE_PATH=$(bench/node_peer/install.sh) node bench/node_peer/server.js ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "node peer install: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is not installed (Debian: apt-get install -y nodejs npm)"
command -v npm >/dev/null || die "npm is not installed (Debian: apt-get install -y npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "node $(node --version) is too old; 20 or newer is needed (fastify 5, ioredis 6)"
lock_hash=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
cache_root=${ROWCACHE_NPM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/rowcache-npm}
prefix=$cache_root/node-peer-$lock_hash
if [[ ! -f $prefix/.installed ]]; then
  echo "node peer install: npm ci into $prefix" >&2
  mkdir -p "$cache_root"
  rm -rf "$prefix"
  staging=$(mktemp -d "$cache_root/.staging.XXXXXX")
  cp "$here/package.json" "$here/package-lock.json" "$staging/"
  if ! (cd "$staging" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2); then
    rm -rf "$staging"
    die "npm ci failed: the npm registry must be reachable for the first run"
  fi
  touch "$staging/.installed"
  # Another run may have finished the same install meanwhile: keep the first.
  mv -T "$staging" "$prefix" 2>/dev/null || rm -rf "$staging"
fi
[[ -f $prefix/.installed ]] || die "install in $prefix is incomplete"
echo "$prefix/node_modules"
