#!/usr/bin/env bash
# Install what rowcache needs to build, test and benchmark, from Debian 12's
# packages (and npm for a few test tools). Idempotent and quick when all is there.
#
#   scripts/deps.sh          # build + test dependencies
#   scripts/deps.sh bench    # also the benchmark tools
set -euo pipefail

PACKAGES=(
  g++ cmake make pkg-config
  libboost1.81-dev libmariadb-dev libhiredis-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev
  mariadb-server mariadb-client redis-server redis-tools
  python3 curl binutils openssl clang libclang-rt-14-dev clang-format-14 clang-tidy-14 zip unzip shellcheck gnuplot-nox
)
if [ "${1:-}" = bench ]; then
  PACKAGES+=(wrk gnuplot-nox sysbench python3-pymysql python3-redis)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # The servers are started by scripts/servers.sh, never by the package's service scripts.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
