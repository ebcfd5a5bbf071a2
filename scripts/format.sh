#!/usr/bin/env bash
# Formatting of every C++ file git tracks, with Debian's clang-format-14 and
# the project's .clang-format.
#
#   scripts/format.sh          # rewrite files in place (make format)
#   scripts/format.sh --check  # list the files that differ and fail (make test)
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format-14}
mapfile -t files < <(git ls-files -- '*.cc' '*.h')
if [ "${1:-}" = --check ]; then
  bad=()
  for f in "${files[@]}"; do
    "$CF" --style=file --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    printf 'format: %s differs from .clang-format\n' "${bad[@]}" >&2
    echo "format: ${#bad[@]} of ${#files[@]} files differ; run make format" >&2
    exit 1
  fi
  echo "format: all ${#files[@]} C++ files match .clang-format"
else
  "$CF" --style=file -i "${files[@]}"
fi
