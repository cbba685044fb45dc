#!/usr/bin/env python3
"""Measure what the graph passes buy, per model: run-time ops, arena bytes (both kernel sets),
MACs (the ref plan's: patch-based streaming recomputes halos) and numpy latency with all
passes on vs all off, measured side by side in one run; --ref-repeat N also times the
pure-Python plans (the MCU target, where patch streaming and row overlap apply).

    python tools/pass_effect.py [MODEL.tflite ...] [--repeat N] [--ref-repeat N] [--synthetic] [--json]

Default models: every int8 model in ../shared/models (--synthetic adds the MobileNets and the
1-D DS-CNN of edge_rt.testing.mobilenets). Latencies are medians over the repeats, the two
variants interleaved so machine noise hits both alike."""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from edge_rt.compiler.pack import pack  # noqa: E402
from edge_rt.compiler.passes import pass_names  # noqa: E402
from edge_rt.compiler.passes.patch_streaming import model_macs  # noqa: E402
from edge_rt.interpreter import Interpreter  # noqa: E402
from edge_rt.testing.reference import random_input  # noqa: E402


def _timed(its: dict, xs, repeat: int, warm: int) -> dict:
    """Median CPU time of this process per invoke (the pure-Python kernels are single-threaded;
    CPU time is less disturbed by other load than wall time)."""
    times = {tag: [] for tag in its}
    for k in range(warm + repeat):
        for tag, it in its.items():
            for i, x in enumerate(xs):
                it.set_input(i, x)
            t0 = time.process_time()
            it.invoke()
            if k >= warm:
                times[tag].append(time.process_time() - t0)
    return {tag: float(np.median(t) * 1e6) for tag, t in times.items()}


def measure(path: str, repeat: int, ref_repeat: int = 0, data: bytes | None = None) -> dict:
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    name = os.path.basename(path)
    variants = {"off": tuple(pass_names()), "on": ()}
    row = {"model": name}
    its, refs = {}, {}
    for tag, disable in variants.items():
        for ks in ("ref", "np"):
            r = pack(data, name, kernels=ks, disable=disable, check_budget=False)
            row[f"arena_{ks}_{tag}"] = r.plan.arena_bytes
            row[f"ops_{ks}_{tag}"] = len(r.graph.ops)
            if ks == "np":
                its[tag] = Interpreter(r.binary)
            else:
                row[f"macs_{tag}"] = model_macs(r.graph)
                refs[tag] = Interpreter(r.binary)
    rng = np.random.default_rng(0)
    xs = [random_input(d["shape"], d["dtype"], rng) for d in its["on"].input_details()]
    times = {tag: [] for tag in its}
    for _ in range(10):  # warm-up
        for it in its.values():
            for i, x in enumerate(xs):
                it.set_input(i, x)
            it.invoke()
    for _ in range(repeat):
        for tag, it in its.items():
            for i, x in enumerate(xs):
                it.set_input(i, x)
            t0 = time.perf_counter()
            it.invoke()
            times[tag].append(time.perf_counter() - t0)
    for tag in its:
        row[f"latency_us_{tag}"] = float(np.median(times[tag]) * 1e6)
    row["latency_ratio"] = row["latency_us_on"] / row["latency_us_off"]
    outs = {}
    for tag, it in its.items():
        for i, x in enumerate(xs):
            it.set_input(i, x)
        it.invoke()
        outs[tag] = [it.get_output(i) for i in range(len(it.output_details()))]
    row["outputs_equal"] = all(np.array_equal(a, b) for a, b in zip(outs["on"], outs["off"]))
    if ref_repeat:
        lat = _timed(refs, xs, ref_repeat, 1)
        row["ref_latency_us_off"], row["ref_latency_us_on"] = lat["off"], lat["on"]
        outs = {}
        for tag, it in refs.items():
            outs[tag] = [np.array(o) for o in _run(it, xs)]
        row["ref_outputs_equal"] = all(np.array_equal(a, b) for a, b in zip(outs["on"], outs["off"]))
    return row


def _run(it, xs):
    for i, x in enumerate(xs):
        it.set_input(i, x)
    it.invoke()
    return [it.get_output(i) for i in range(len(it.output_details()))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help=".tflite files (default: ../shared/models/*int8*.tflite)")
    ap.add_argument("--repeat", type=int, default=200, help="timed invocations per variant (default 200)")
    ap.add_argument("--ref-repeat", type=int, default=0, help="also time the pure-Python plans (default 0: off)")
    ap.add_argument("--synthetic", action="store_true", help="add the synthetic MobileNet / DS-CNN models")
    ap.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    a = ap.parse_args(argv)
    models = a.models or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*_int8.tflite")))
    rows = [measure(p, a.repeat, a.ref_repeat) for p in models]
    if a.synthetic:
        from edge_rt.testing.mobilenets import BENCH_MODELS
        rows += [measure(n + ".tflite", a.repeat, a.ref_repeat, build()) for n, build in BENCH_MODELS.items()]
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':26s} {'ref ops off->on':>12s} {'ref arena off->on':>20s} {'np arena off->on':>22s} "
          f"{'ref MACs off->on':>24s} {'np latency us off->on':>24s} {'ratio':>6s} same"
          + (f" {'ref CPU ms off->on':>24s}" if a.ref_repeat else ""))
    for r in rows:
        line = (f"{r['model']:26s} {r['ops_ref_off']:>5d} -> {r['ops_ref_on']:<4d} "
                f"{r['arena_ref_off']:>8,} -> {r['arena_ref_on']:<8,} {r['arena_np_off']:>9,} -> {r['arena_np_on']:<9,} "
                f"{r['macs_off']:>11,} -> {r['macs_on']:<11,} "
                f"{r['latency_us_off']:>10,.1f} -> {r['latency_us_on']:<10,.1f} {r['latency_ratio']:6.2f} "
                f"{'yes' if r['outputs_equal'] else 'NO'}")
        if a.ref_repeat:
            line += (f" {r['ref_latency_us_off'] / 1e3:>10,.1f} -> {r['ref_latency_us_on'] / 1e3:<10,.1f}"
                     f" {'yes' if r['ref_outputs_equal'] else 'NO'}")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
