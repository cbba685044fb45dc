#!/usr/bin/env python3
"""Side-by-side median invoke latency of the int16 LOGISTIC, TANH and SOFTMAX kernels (np and ref
sets) and TFLite Micro on single-op models, interleaved per repetition in one run:

    python tools/int16_nonlinear_bench.py [--repeat N]

Models: LOGISTIC / TANH over 65,536 int16 values (scale 0.001: the multiplier path), SOFTMAX
int16 over 64 rows of 1,000 and int8 -> int16 over the same shape. Figures: docs/int16.md."""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from edge_rt.compiler.pack import pack  # noqa: E402
from edge_rt.interpreter import Interpreter  # noqa: E402
from edge_rt.testing.reference import TFLM  # noqa: E402
from edge_rt.testing.tflite_builder import ModelBuilder  # noqa: E402


def model(op, shape, in_dtype, in_q, out_q, **opts):
    b = ModelBuilder()
    x = b.tensor("x", shape, in_dtype, scale=in_q[0], zero_point=in_q[1])
    y = b.tensor("y", shape, "int16", scale=out_q[0], zero_point=out_q[1])
    b.op(op, [x], [y], "SoftmaxOptions" if opts else None, **opts)
    return b.build(inputs=[x], outputs=[y])


CASES = {
    "LOGISTIC int16 (1, 65536)": model("LOGISTIC", (1, 65536), "int16", (0.001, 0), (2 ** -15, 0)),
    "TANH int16 (1, 65536)": model("TANH", (1, 65536), "int16", (0.001, 0), (2 ** -15, 0)),
    "SOFTMAX int16 (64, 1000)": model("SOFTMAX", (64, 1000), "int16", (0.0005, 0), (1 / 32768, 0), Beta=1.0),
    "SOFTMAX int8->int16 (64, 1000)": model("SOFTMAX", (64, 1000), "int8", (0.05, 0), (1 / 65536, -32768), Beta=1.0),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'model':32s} {'np ms':>8s} {'ref ms':>8s} {'tflm ms':>8s}  np/tflm")
    for name, data in CASES.items():
        its = {ks: Interpreter(pack(data, "b.tflite", kernels=ks, check_budget=False).binary, kernels=ks)
               for ks in ("np", "ref")}
        d = its["np"].input_details()[0]
        info = np.iinfo(d["dtype"])
        x = rng.integers(info.min, info.max + 1, d["shape"]).astype(d["dtype"])
        tflm = TFLM(data)
        runs = {ks: (lambda it=it: (it.set_input(0, x), it.invoke())) for ks, it in its.items()}
        runs["tflm"] = lambda: tflm(x)
        times = {k: [] for k in runs}
        for k in range(args.repeat + 2):
            for key, fn in runs.items():
                t = time.perf_counter()
                fn()
                if k >= 2:
                    times[key].append(time.perf_counter() - t)
        med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
        print(f"{name:32s} {med['np']:8.2f} {med['ref']:8.1f} {med['tflm']:8.2f}  {med['np'] / med['tflm']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
