"""Compare `edge-rt quantize` against TensorFlow's own int8 conversions of the MLPerf Tiny
float models, on real-signal samples (tests/data/quantize, made by tools/make_calibration.py):
calibrate on *_cal.npy, evaluate on the held-out *_eval.npy. Per model and method: output
SQNR vs the float model, top-1 agreement (classifiers), edge_rt arena bytes (numpy and ref
kernel plans) and the edge_rt latency ratio ours / TF's (interleaved invokes, one process).

    PYTHONPATH=. python tools/quantize_eval.py [--methods minmax,percentile,mse] [--models kws,ic,ad]
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
MODELS = {"kws": "kws_dscnn", "ic": "ic_resnet8", "ad": "ad_autoencoder"}


def load_set(data_dir, key, split):
    return np.load(os.path.join(data_dir, f"{key}_{split}.npy")).astype(np.float32)


def latency_ratio(a: bytes, b: bytes, n: int = 60) -> float:
    """Median invoke time of a over b in edge_rt's numpy kernels, interleaved."""
    its = [Interpreter(pack(d, "m.tflite", check_budget=False).binary) for d in (a, b)]
    times = [[], []]
    for it in its:
        it.invoke()
    for i in range(n):
        for k in ((0, 1) if i % 2 else (1, 0)):
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
    a = ap.parse_args()
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
