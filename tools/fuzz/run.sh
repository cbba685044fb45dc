#!/usr/bin/env bash
# Fuzz .ert loading + invoking for SECONDS (default 600) with the C kernels under ASan/UBSan:
# builds the ASan extension (tools/fuzz/build_asan.sh) into build/asan, seeds build/fuzz/corpus,
# runs tools/fuzz/fuzz_ert.py under libFuzzer (atheris) with the ASan runtime preloaded.
# Findings (crash-*, timeout-*, oom-*) land in build/fuzz/; exit status non-zero on any.
# usage: tools/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]   (PYTHON=... picks the interpreter)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-600}
shift || true
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT=${FUZZ_DIR:-build/fuzz}
mkdir -p "$OUT/corpus"
EXT=$(tools/fuzz/build_asan.sh "${ASAN_DIR:-build/asan}" "$PY" | tail -1)
# covfwd.so first (atheris' coverage callbacks, tools/fuzz/covfwd.c), then the ASan runtime;
# PYTHONMALLOC=malloc: every Python buffer (arena, file bytes) gets ASan redzones
export ATHERIS_CORE=$("$PY" -c 'import atheris, glob, os; print(glob.glob(os.path.join(os.path.dirname(atheris.__file__), "core_with_libfuzzer*.so"))[0])')
export LD_PRELOAD="$(dirname "$EXT")/covfwd.so:$(${CC:-gcc} -print-file-name=libasan.so)"
export PYTHONMALLOC=malloc
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:verify_asan_link_order=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" tools/fuzz/fuzz_ert.py "$EXT" "$OUT/corpus" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="$OUT/" -print_final_stats=1 "$@"
