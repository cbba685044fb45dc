"""The `edge-rt quantize` command body (the parser block lives in host/cli.py)."""
from __future__ import annotations

import json
import os
import sys

from ...errors import EdgeRTError
from . import calibrate
from . import load_float, quantize


def add_arguments(s) -> None:
    s.add_argument("model", metavar="MODEL", help="float32 .tflite or .onnx model")
    s.add_argument("-o", "--output", metavar="OUT.tflite",
                   help="quantized model (default: MODEL_int8.tflite, with --activations int16 MODEL_int16.tflite)")
    s.add_argument("--calibration", metavar="DATA", help=".npy array of samples (N, ...) or a folder of .npy files")
    s.add_argument("--method", choices=calibrate.METHODS, default="mse",
                   help="activation range per tensor (default mse: the MSE-optimal clipping)")
    s.add_argument("--activations", choices=["int8", "int16"], default="int8",
                   help="activation dtype: int8 (default) or int16 (TFLite's 16x8 scheme: int16 activations "
                   "with zero point 0, int8 weights, int64 biases)")
    s.add_argument("--io", choices=["int8", "int16", "float"],
                   help="model inputs/outputs: the activation dtype (default) or float32")
    s.add_argument("--random-calibration", type=int, metavar="N",
                   help="calibrate on N random samples (a warning: ranges will not fit real data)")
    s.add_argument("--report", action="store_true", help="print SQNR and top-1 agreement vs the float model")
    s.add_argument("--eval", metavar="DATA", help="held-out samples for --report (default: every 4th "
                   "calibration sample, then left out of calibration)")
    s.add_argument("--json", metavar="FILE", help="write the --report figures as JSON")
    s.add_argument("--compare", metavar="OTHER_int8.tflite", help="another quantized model to report beside ours")


def run(a) -> int:
    fg = load_float(a.model)
    if a.calibration and a.random_calibration:
        raise EdgeRTError("quantize: give --calibration or --random-calibration, not both")
    if a.calibration:
        samples = calibrate.load_samples(a.calibration, fg)
    elif a.random_calibration:
        samples = calibrate.random_samples(fg, a.random_calibration)
    else:
        raise EdgeRTError("quantize: --calibration DATA is required (real samples; "
                          "--random-calibration N only for a smoke test)")
    held = None
    if a.report or a.json:
        if a.eval:
            held = calibrate.load_samples(a.eval, fg)
        elif len(samples) >= 2:
            import numpy as np
            k = np.arange(len(samples)) % 4 == 3 if len(samples) >= 4 else np.arange(len(samples)) == 0
            held, samples = samples[k], samples[~k]
        else:
            raise EdgeRTError("quantize --report: give --eval DATA or at least 2 calibration samples")
    r = quantize(fg, samples, method=a.method, io=a.io, activations=a.activations)
    io = a.io or a.activations
    out = a.output or os.path.splitext(a.model)[0] + f"_{a.activations}.tflite"
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(r.tflite)
    os.replace(tmp, out)
    print(f"quantized {a.model} -> {out}: {len(r.int8_graph.ops)} {a.activations} ops (float model: "
          f"{len(r.float_graph.ops)}), {len(samples)} calibration samples, method {a.method}, I/O {io}")
    for name, note in r.pass_report:
        print(f"  pass {name}: {note}")
    if held is not None:
        from .report import accuracy, format_report
        models = {"edge_rt": r.tflite}
        if a.compare:
            try:
                with open(a.compare, "rb") as f:
                    models["compare"] = f.read()
            except OSError as e:
                raise EdgeRTError(f"--compare: cannot read {a.compare}: {e.strerror}") from None
        rep = accuracy(r.float_graph, models, held)
        rep.update(model=a.model, output=out, method=a.method, activations=a.activations, calibration_samples=len(samples),
                   compare=a.compare, passes=[list(p) for p in r.pass_report])
        print(format_report(rep))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(rep, f, indent=2)
            print(f"wrote {a.json}", file=sys.stderr)
    return 0
