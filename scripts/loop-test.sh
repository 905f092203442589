#!/usr/bin/env bash
# Runs one vitest file N times in a row and stops at the first failure (flakiness hunts; not part of npm test).
#   scripts/loop-test.sh <test file> <runs> [-t <test name pattern>]
# Prints "passed K of N" at the end; exits non-zero on the first failing run, keeping its output in the log dir.
set -uo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: scripts/loop-test.sh <test file> <runs> [extra vitest args]" >&2
  exit 2
fi
file="$1"
runs="$2"
shift 2
cd "$(dirname "$0")/.."
logs="$(mktemp -d "${TMPDIR:-/tmp}/loop-test.XXXXXX")"
for ((i = 1; i <= runs; i++)); do
  started=$(date +%s)
  if npx vitest run "$file" "$@" >"$logs/run-$i.log" 2>&1; then
    echo "run $i/$runs: passed ($(( $(date +%s) - started )) s)"
  else
    echo "run $i/$runs: FAILED ($(( $(date +%s) - started )) s), output in $logs/run-$i.log"
    tail -40 "$logs/run-$i.log"
    echo "passed $((i - 1)) of $runs"
    exit 1
  fi
done
echo "passed $runs of $runs (logs in $logs)"
