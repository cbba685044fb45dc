#!/usr/bin/env bash
# Run the README's test command N times in a row (default 10) on a clean clone of a commit, and
# print one line per run; exits non-zero if any run failed. Release check for "no flaky test".
#   tools/repeat_tests.sh [N] [COMMIT]      (COMMIT: default HEAD of this checkout)
# The clone goes beside this checkout (so ../shared/models resolves), in ../repeat_tests; each run
# gets its own pytest temp root, so other pytest runs on the machine cannot prune its files.
set -uo pipefail
n=${1:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
rev=$(git -C "$here" rev-parse "${2:-HEAD}") || exit 2
dir=$(dirname "$here")/repeat_tests
rm -rf "$dir" && git clone -q "$here" "$dir" && git -C "$dir" checkout -q "$rev" || exit 2
cd "$dir"
npm ci --no-audit --no-fund >install.log 2>&1 && python3 -m venv .venv \
  && .venv/bin/pip install -q -e '.[test]' >>install.log 2>&1 || { echo "install failed: $dir/install.log"; exit 2; }
failed=0
for i in $(seq 1 "$n"); do
  tmp=$(mktemp -d) start=$(date +%s)
  PYTEST_DEBUG_TEMPROOT=$tmp .venv/bin/python -m pytest -q >"run$i.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || failed=$((failed + 1))
  echo "run $i/$n ${rev:0:7} rc=$rc $(( $(date +%s) - start ))s: $(tail -1 "run$i.log")"
  rm -rf "$tmp"
done
echo "$((n - failed)) of $n runs passed (logs: $dir/run*.log)"
[ $failed -eq 0 ]
