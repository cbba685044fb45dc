#!/usr/bin/env bash
# The cross-architecture check of the C kernels (docs/c_kernels.md): reference vectors made on
# the host (tools/xarch/make_vectors.py: TFLite Micro's outputs, or per-op values from the
# reference-exact run), then the C test driver (tools/xarch/driver.c + every kernel source but
# the Python glue) built and run on each target and SIMD path, 0 LSB:
#   x86-64 native: portable, avx2, avx512vnni (each where this CPU has it)
#   aarch64 (gcc-aarch64-linux-gnu, qemu-aarch64): neon on -cpu cortex-a72 (Pi 4),
#           neon-dotprod on -cpu max (Pi 5's dot-product instructions), portable
#   armv7 hard-float (gcc-arm-linux-gnueabihf, qemu-arm): portable (Raspberry Pi OS 32-bit)
# One summary line per arch/path; exit status non-zero on any mismatch or missing path.
# usage: tools/xarch_check.sh [--quick] [--vectors DIR] [--python PY] [--no-apt]
#   --quick: one model per op kind; --vectors: use the .ertv files in DIR (make_vectors.py's
#   output) instead of making them; PY defaults to .venv/bin/python, else python3
# Installs the Debian cross compilers and qemu-user with apt-get when they are missing and it
# runs as root (CI: a fresh Debian machine), unless --no-apt.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK="" APT=1 PY="" VDIR=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=--quick ;;
        --no-apt) APT=0 ;;
        --python) PY="$2"; shift ;;
        --vectors) VDIR="$2"; shift ;;
        *) echo "usage: $0 [--quick] [--vectors DIR] [--python PY] [--no-apt]" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v arm-linux-gnueabihf-gcc >/dev/null || need+=(gcc-arm-linux-gnueabihf)
{ command -v qemu-aarch64 >/dev/null && command -v qemu-arm >/dev/null; } || need+=(qemu-user)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$APT" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
    else
        echo "xarch_check: missing ${need[*]} (apt-get install ${need[*]})" >&2
        exit 2
    fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xarch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -z "$VDIR" ]; then
    VDIR="$WORK/vec"
    PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$PY" tools/xarch/make_vectors.py "$VDIR" $QUICK
fi
C=edge_rt/kernels/c
SRC=(tools/xarch/driver.c)
for f in "$C"/*.c; do [ "$(basename "$f")" = _ert.c ] || SRC+=("$f"); done  # every kernel, no Python glue
CFLAGS=(-O2 -std=gnu99 -Wall -I"$C")
gcc "${CFLAGS[@]}" -o "$WORK/drv-x86_64" "${SRC[@]}"
aarch64-linux-gnu-gcc "${CFLAGS[@]}" -static -o "$WORK/drv-aarch64" "${SRC[@]}"
arm-linux-gnueabihf-gcc "${CFLAGS[@]}" -static -o "$WORK/drv-armv7" "${SRC[@]}"

VEC=("$VDIR"/*.ertv)
fail=0
run() {  # label, path the run must take, command...
    local label=$1 path=$2
    shift 2
    "$@" -p "$path" -l "$label " "${VEC[@]}" || fail=1
}
have() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
if [ "$(uname -m)" = x86_64 ]; then
    run x86_64 portable "$WORK/drv-x86_64" -f 0
    if have avx2; then run x86_64 avx2 "$WORK/drv-x86_64" -f 1; else echo "x86_64 avx2: skipped (CPU lacks it)"; fi
    if have avx512_vnni && have avx512bw && have avx512vl && have avx512dq; then  # as cpu.c asks
        run x86_64 avx512vnni "$WORK/drv-x86_64" -f 3
    else
        echo "x86_64 avx512vnni: skipped (CPU lacks it)"
    fi
fi
run aarch64 neon qemu-aarch64 -cpu cortex-a72 "$WORK/drv-aarch64"
run aarch64 neon-dotprod qemu-aarch64 -cpu max "$WORK/drv-aarch64"
run aarch64 portable qemu-aarch64 -cpu cortex-a72 "$WORK/drv-aarch64" -f 0
run armv7 portable qemu-arm -cpu cortex-a15 "$WORK/drv-armv7"
if [ "$fail" != 0 ]; then
    echo "xarch_check: FAILED (mismatches or a path not taken, see above)" >&2
    exit 1
fi
echo "xarch_check: all paths 0 LSB"
