#!/usr/bin/env python3
"""Side-by-side latency of the numpy kernel set vs TFLite Micro, LiteRT-ref (LiteRT's reference
kernels, BUILTIN_REF) and LiteRT-XNNPACK (its default path), single thread, medians, measured in one run.

    python tools/np_kernel_bench.py [MODEL.tflite ...] [--repeat N] [--ops] [--no-peers]

--ops adds a per-op breakdown of our kernels (median us per bound closure). Default models:
every *_int8.tflite in ../shared/models. The runtimes are interleaved per repetition so
machine noise hits all alike."""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from edge_rt.compiler.pack import pack  # noqa: E402
from edge_rt.interpreter import Interpreter  # noqa: E402
from edge_rt.testing.reference import TFLM, LiteRT, random_input  # noqa: E402


def _ours(it):
    def run(xs):
        for i, x in enumerate(xs):
            it.set_input(i, x)
        it.invoke()
    return run


def _peer(r):
    def run(xs):
        r(*xs)
    return run


def measure(path: str, repeat: int, peers: bool, ops: bool) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    res = pack(data, name, kernels="np", check_budget=False)
    it = Interpreter(res.binary, kernels="np")
    runners = {"ours": _ours(it)}
    if peers:
        runners["tflm"] = _peer(TFLM(data))
        runners["ref"] = _peer(LiteRT(data, "ref"))
        runners["xnnpack"] = _peer(LiteRT(data, "xnnpack"))
    rng = np.random.default_rng(0)
    xs = [random_input(d["shape"], d["dtype"], rng) for d in it.input_details()]
    for _ in range(10):
        for r in runners.values():
            r(xs)
    times = {k: [] for k in runners}
    for _ in range(repeat):
        for k, r in runners.items():
            t0 = time.perf_counter()
            r(xs)
            times[k].append(time.perf_counter() - t0)
    row = {"model": name, "arena_np": res.plan.arena_bytes}
    row.update({k: float(np.median(v) * 1e6) for k, v in times.items()})
    if ops:
        per = [[] for _ in it._run]
        for _ in range(repeat):
            for j, fn in enumerate(it._run):
                t0 = time.perf_counter()
                fn()
                per[j].append(time.perf_counter() - t0)
        row["ops"] = [(op.name, float(np.median(p) * 1e6)) for op, p in zip(it.model.ops, per)]
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--ops", action="store_true", help="per-op breakdown of our kernels")
    ap.add_argument("--no-peers", action="store_true", help="time only our kernels")
    a = ap.parse_args(argv)
    models = a.models or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*_int8.tflite")))
    print(f"{'model':26s} {'np arena B':>10s} {'ours us':>9s} {'TFLM':>9s} {'LiteRT-ref':>10s} {'XNNPACK':>9s} "
          f"{'/TFLM':>6s} {'/ref':>6s} {'/XNN':>6s}")
    for p in models:
        r = measure(p, a.repeat, not a.no_peers, a.ops)
        o = r["ours"]
        if a.no_peers:
            print(f"{r['model']:26s} {r['arena_np']:>10,} {o:>9,.1f}")
        else:
            print(f"{r['model']:26s} {r['arena_np']:>10,} {o:>9,.1f} {r['tflm']:>9,.1f} {r['ref']:>10,.1f} "
                  f"{r['xnnpack']:>9,.1f} {o / r['tflm']:6.2f} {o / r['ref']:6.2f} {o / r['xnnpack']:6.2f}")
        for opname, us in r.get("ops", []):
            print(f"    {opname:24s} {us:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
