#!/usr/bin/env bash
# npm test tools, installed once into a cache folder outside the repository:
#   s3rver 3.7.1 (a local S3 for the loader's tests and benchmark)
# Prints nothing when they are already there. ROWCACHE_TOOLS_DIR to relocate.
set -euo pipefail
DIR=${ROWCACHE_TOOLS_DIR:-$HOME/.cache/rowcache-tools}
mkdir -p "$DIR"
if [ ! -x "$DIR/node_modules/.bin/s3rver" ]; then
  command -v npm >/dev/null || { echo "test-tools: npm is needed (Node.js 18+)" >&2; exit 1; }
  echo "test-tools: installing s3rver into $DIR" >&2
  (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error s3rver@3.7.1 >/dev/null)
fi
