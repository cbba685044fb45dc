"""Compare `edge-rt quantize` against TensorFlow's own int8 conversions of the MLPerf Tiny
float models, on real-signal samples (tests/data/quantize, made by tools/make_calibration.py):
calibrate on *_cal.npy, evaluate on the held-out *_eval.npy. Per model and method: output
SQNR vs the float model, top-1 agreement (classifiers), edge_rt arena bytes (numpy and ref
kernel plans) and the edge_rt latency ratio ours / TF's (interleaved invokes, one process).

    PYTHONPATH=. python tools/quantize_eval.py [--methods minmax,percentile,mse] [--models kws,ic,ad]

--int16: int8 against int16x8 (--activations int16) instead, both edge-rt mse, on the same
held-out samples, with the SQNR of the float model with int8-quantized weights (the floor
int16 activations approach: 16x8 keeps int8 weights); hello_world joins (x uniform in [0, 2 pi]).

    PYTHONPATH=. python tools/quantize_eval.py --int16 [--models kws,ic,ad,hello]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edge_rt.compiler.pack import pack  # noqa: E402
from edge_rt.compiler.quantize import load_float, quantize  # noqa: E402
from edge_rt.compiler.quantize.report import accuracy  # noqa: E402
from edge_rt.interpreter import Interpreter  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {"kws": "kws_dscnn", "ic": "ic_resnet8", "ad": "ad_autoencoder", "hello": "hello_world"}


def load_set(data_dir, key, split):
    if key == "hello":  # the sine model's input: x in [0, 2 pi], other points for evaluation
        return np.random.default_rng(split == "eval").uniform(0, 2 * np.pi, (128, 1)).astype(np.float32)
    return np.load(os.path.join(data_dir, f"{key}_{split}.npy")).astype(np.float32)


def weight_floor_db(fg, ev) -> float:
    """SQNR vs the float model of the float model with int8 per-channel weights (float activations)."""
    import copy
    from edge_rt.compiler.quantize import float_run
    from edge_rt.compiler.quantize.passes import run_float_passes
    from edge_rt.compiler.quantize.quantizer import WEIGHT_AXIS, quantize_weights
    from edge_rt.compiler.quantize.report import sqnr_db
    g, _ = run_float_passes(copy.deepcopy(fg))
    for op in g.ops:
        if op.type in WEIGHT_AXIS:
            t, axis = g.tensors[op.inputs[1]], WEIGHT_AXIS[op.type]
            q, sc = quantize_weights(t.data, axis)
            shape = [1] * t.data.ndim
            shape[axis] = -1
            t.data = (q * sc.reshape(shape)).astype(np.float32)
    a, b = float_run.run_batched(fg, [ev])[0], float_run.run_batched(g, [ev])[0]
    return sqnr_db(a.reshape(len(ev), -1), b.reshape(len(ev), -1))


def main_int16(a):
    print("| model | SQNR int8 (dB) | SQNR int16x8 (dB) | int8-weight floor (dB) | top-1 int8 / int16 "
          "| arena np int8 / int16 (B) | latency int16 / int8 (np) |")
    print("|---|---|---|---|---|---|---|")
    for key in a.models.split(","):
        name = MODELS[key]
        fg = load_float(os.path.join(a.shared, f"{name}_float32.tflite"))
        cal, ev = load_set(a.data, key, "cal"), load_set(a.data, key, "eval")
        m8, m16 = quantize(fg, cal).tflite, quantize(fg, cal, activations="int16").tflite
        out = accuracy(fg, {"int8": m8, "int16": m16}, ev)["outputs"][0]
        top = (f"{out['int8']['top1_agreement'] * 100:.1f}% / {out['int16']['top1_agreement'] * 100:.1f}%"
               if "top1_agreement" in out["int8"] else "-")
        ar = " / ".join(f"{pack(d, 'm.tflite', kernels='np', check_budget=False).plan.arena_bytes:,}"
                        for d in (m8, m16))
        lat = "-" if a.no_latency else f"{latency_ratio(m16, m8):.2f}"
        print(f"| {name} | {out['int8']['sqnr_db']:.2f} | {out['int16']['sqnr_db']:.2f} | "
              f"{weight_floor_db(fg, ev):.2f} | {top} | {ar} | {lat} |", flush=True)
    print("\ncalibration: *_cal.npy (128 samples), evaluation: *_eval.npy; data: " + a.data)


def latency_ratio(a: bytes, b: bytes, n: int = 60) -> float:
    """Median invoke time of a over b in edge_rt's numpy kernels, interleaved."""
    its = [Interpreter(pack(d, "m.tflite", check_budget=False).binary) for d in (a, b)]
    zeros = [np.zeros(it.input_details()[0]["shape"], it.input_details()[0]["dtype"]) for it in its]
    times = [[], []]
    for it, z in zip(its, zeros):
        it.set_input(0, z)
        it.invoke()
    for i in range(n):
        for k in ((0, 1) if i % 2 else (1, 0)):
            its[k].set_input(0, zeros[k])  # a plan may reuse the input's bytes once read
            t0 = time.perf_counter()
            its[k].invoke()
            times[k].append(time.perf_counter() - t0)
    return float(np.median(times[0]) / np.median(times[1]))


def arenas(d: bytes) -> str:
    return "/".join(f"{pack(d, 'm.tflite', kernels=ks, check_budget=False).plan.arena_bytes:,}" for ks in ("np", "ref"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="kws,ic,ad")
    ap.add_argument("--methods", default="minmax,percentile,mse")
    ap.add_argument("--data", default=os.path.join(ROOT, "tests", "data", "quantize"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "models"))
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--int16", action="store_true", help="int8 vs int16x8 (both mse) instead")
    a = ap.parse_args()
    if a.int16:
        return main_int16(a)
    print("| model | quantizer | SQNR vs float (dB) | top-1 agreement | arena np/ref (B) | latency vs TF int8 |")
    print("|---|---|---|---|---|---|")
    for key in a.models.split(","):
        name = MODELS[key]
        fpath = os.path.join(a.shared, f"{name}_float32.tflite")
        with open(os.path.join(a.shared, f"{name}_int8.tflite"), "rb") as f:
            tf_int8 = f.read()
        fg = load_float(fpath)
        cal, ev = load_set(a.data, key, "cal"), load_set(a.data, key, "eval")
        models = {"TF int8": tf_int8}
        for m in a.methods.split(","):
            models[f"edge-rt {m}"] = quantize(fg, cal, method=m).tflite
        rep = accuracy(fg, models, ev)
        out = rep["outputs"][0]
        for label, d in models.items():
            fig = out[label]
            top = f"{fig['top1_agreement'] * 100:.1f}%" if "top1_agreement" in fig else "-"
            lat = "1.00" if label == "TF int8" or a.no_latency else f"{latency_ratio(d, tf_int8):.2f}"
            print(f"| {name} | {label} | {fig['sqnr_db']:.2f} | {top} | {arenas(d)} | {lat} |", flush=True)
    print(f"\n{len(ev)} held-out samples per model, calibration {len(cal)} samples; data: {a.data}")


if __name__ == "__main__":
    main()
