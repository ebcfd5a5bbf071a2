#!/usr/bin/env bash
# clang-tidy (Debian's 14) with the curated .clang-tidy over every source file
# of src/, using the compile commands of a Release build in build-lint/.
#
#   scripts/lint.sh [FILE...]   # make lint
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${LINT_BUILD_DIR:-build-lint}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(git ls-files -- 'src/*.cc'); fi
run-clang-tidy-14 -quiet -p "$BUILD" -j "$(nproc)" "${files[@]}"
