"""`edge-rt quantize`: float32 .tflite/.onnx -> full-integer int8 (or int16x8) .tflite, no TensorFlow.

    graph.from_tflite | importers.onnx.import_onnx   float graph (NHWC, float32)
    passes.FLOAT_PIPELINE                             fold BN, fuse activations and pads, ...
    calibrate.collect + choose_range                  activation ranges (minmax|percentile|mse)
    quantizer.quantize_graph                          TFLite int8 (or 16x8) spec graph
    tflite_writer.write_tflite                        .tflite bytes
    report.accuracy                                   SQNR / top-1 vs the float model
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ...errors import EdgeRTError
from ..ir import Graph
from . import calibrate
from .graph import compact, from_tflite  # noqa: F401 (from_tflite is API)
from .passes import run_float_passes
from .quantizer import ACTIVATIONS, quantize_graph
from .tflite_writer import write_tflite


@dataclass
class QuantizeResult:
    tflite: bytes
    float_graph: Graph             # as imported
    folded_graph: Graph            # after the float passes
    int8_graph: Graph              # the quantized graph (int16 activations with activations="int16")
    pass_report: list = field(default_factory=list)
    ranges: dict = field(default_factory=dict)


def load_float(path_or_bytes, name: str = "model") -> Graph:
    """A float graph from .tflite bytes or a .tflite/.onnx path."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        return from_tflite(bytes(path_or_bytes), name)
    path = str(path_or_bytes)
    if path.lower().endswith(".onnx"):
        from ..importers.onnx import import_onnx
        return import_onnx(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise EdgeRTError(f"cannot read {path}: {e.strerror}") from None
    return from_tflite(data, os.path.basename(path))


def quantize(model, samples: np.ndarray, method: str = "mse", io: str | None = None,
             batch: int = 32, activations: str = "int8") -> QuantizeResult:
    """Quantize a float model (path, .tflite bytes or float Graph) calibrated on samples (N, ...).
    activations: "int8" (TFLite's int8 spec) or "int16" (its 16x8 spec: int16 activations,
    int8 weights, int64 biases); io: "float" or the activation dtype (the default)."""
    import copy
    if method not in calibrate.METHODS:
        raise EdgeRTError(f"calibration method {method!r} unknown; methods: {', '.join(calibrate.METHODS)}")
    if activations not in ACTIVATIONS:
        raise EdgeRTError(f"--activations {activations!r} unknown; choose {' or '.join(ACTIVATIONS)}")
    io = io or activations
    if io not in (activations, "float"):
        raise EdgeRTError(f"--io {io} does not fit --activations {activations}; choose {activations} or float")
    fg = model if isinstance(model, Graph) else load_float(model)
    if len(fg.inputs) != 1:
        raise EdgeRTError(f"the model has {len(fg.inputs)} inputs; the quantizer takes single-input models")
    folded, report = run_float_passes(copy.deepcopy(fg))
    st = calibrate.collect(folded, samples, batch=batch, histograms=method != "minmax")
    ranges = calibrate.choose_ranges(folded, st, method, 16 if activations == "int16" else 8)
    ig = compact(quantize_graph(folded, ranges, io, activations))
    return QuantizeResult(write_tflite(ig), fg, folded, ig, report, ranges)
