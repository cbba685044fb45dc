#!/usr/bin/env python3
"""Per model: MicroPython time per inference and heap used, on real MicroPython 1.27 (the
WebAssembly port under Node, `npm ci` first) with a fixed 256 KiB heap, constants streamed
from the file and the heap locked during invoke().

    tools/mpy_bench.py [MODEL.tflite ...] [-n 3] [--heap 262144] [--json]

Columns: file/constant bytes of the .ert (packed for the pure-Python kernels), arena and
weight-buffer bytes, heap used after load (gc.mem_alloc() after a collection: runtime modules +
tables + arena + weight buffer), median ms per invoke(). The WebAssembly port is not a
microcontroller: times show relative cost only (an RP2040 at 125 MHz is much slower)."""
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
from edge_rt.testing.reference import random_input  # noqa: E402


def bench(path, n, heap):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        r = pack(f.read(), name, kernels="ref", check_budget=False)
    it = Interpreter(r.binary, kernels="ref")
    rng = np.random.default_rng(0)
    inputs = [[random_input(d["shape"], d["dtype"], rng).tobytes() for d in it.input_details()]
              for _ in range(n)]
    row = {"model": name, "file_bytes": len(r.binary), "constant_bytes": r.constant_bytes}
    try:
        res = MP.run_model(r.binary, inputs, heap=heap, timeout=600)
    except MP.MicroPythonError as e:
        row["error"] = str(e).strip().splitlines()[0][:160]
        return row
    row.update(arena_bytes=res.arena_bytes, weight_buffer_bytes=res.weight_buffer_bytes,
               heap_after_load=res.heap_after_load, ms_per_inference=statistics.median(res.us) / 1000)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help=".tflite files (default: ../shared/models/*_int8.tflite)")
    ap.add_argument("-n", type=int, default=3, help="inferences per model (default 3)")
    ap.add_argument("--heap", type=int, default=MP.HEAP_BYTES, help="MicroPython heap bytes (default 256 KiB)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    why = MP.unavailable()
    if why:
        print(f"mpy_bench: {why}", file=sys.stderr)
        return 2
    models = a.models or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*_int8.tflite")))
    rows = []
    for path in models:
        try:
            rows.append(bench(path, a.n, a.heap))
        except EdgeRTError as e:
            rows.append({"model": os.path.basename(path), "error": str(e).splitlines()[0][:160]})
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"MicroPython 1.27 (WebAssembly), heap {a.heap:,} B fixed, heap locked during invoke()")
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
