#!/usr/bin/env bash
# Build the C kernel extension (_ert) with AddressSanitizer + UndefinedBehaviorSanitizer into
# OUT_DIR (default build/asan), apart from the in-tree build: tools/fuzz/fuzz_ert.py loads it
# from there. UB aborts (-fno-sanitize-recover), so the fuzzer sees it as a crash.
# usage: tools/fuzz/build_asan.sh [OUT_DIR] [PYTHON]   (ASAN_OPT=-O0 builds faster)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-build/asan}
PY=${2:-${PYTHON:-python3}}
CC=${CC:-gcc}
mkdir -p "$OUT"
INC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
SUFFIX=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
C=edge_rt/kernels/c
SRC=()
for f in $("$PY" -c 'import ast, sys; t = ast.parse(open("setup.py").read())
print(" ".join(f for n in t.body if isinstance(n, (ast.Assign, ast.AugAssign))
               and getattr(n.targets[0] if isinstance(n, ast.Assign) else n.target, "id", "") == "SOURCES"
               for f in ast.literal_eval(n.value)))'); do
    SRC+=("$C/$f")
done
LIB="$OUT/_ert$SUFFIX"
if [ -f "$LIB" ] && [ -f "$OUT/covfwd.so" ] && [ -z "$(find "$C" tools/fuzz/covfwd.c -newer "$LIB" \( -name '*.c' -o -name '*.h' \))" ]; then
    echo "$LIB"  # up to date
    exit 0
fi
"$CC" -shared -fPIC ${ASAN_OPT:--O1} -g -std=gnu99 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -I"$INC" -I"$C" -o "$OUT/_ert$SUFFIX" "${SRC[@]}"
# atheris' coverage callbacks must win over libasan's no-op ones (tools/fuzz/covfwd.c)
"$CC" -shared -fPIC -O2 -o "$OUT/covfwd.so" tools/fuzz/covfwd.c -ldl
echo "$OUT/_ert$SUFFIX"
