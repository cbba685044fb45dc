"""`edge-rt quantize`: float32 .tflite/.onnx -> full-integer int8 .tflite, no TensorFlow.

    graph.from_tflite | importers.onnx.import_onnx   float graph (NHWC, float32)
    passes.FLOAT_PIPELINE                             fold BN, fuse activations and pads, ...
    calibrate.collect + choose_range                  activation ranges (minmax|percentile|mse)
    quantizer.quantize_graph                          TFLite int8 spec graph
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
from .quantizer import quantize_graph
from .tflite_writer import write_tflite


@dataclass
class QuantizeResult:
    tflite: bytes
    float_graph: Graph             # as imported
    folded_graph: Graph            # after the float passes
    int8_graph: Graph
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


def quantize(model, samples: np.ndarray, method: str = "mse", io: str = "int8",
             batch: int = 32) -> QuantizeResult:
    """Quantize a float model (path, .tflite bytes or float Graph) calibrated on samples (N, ...)."""
    import copy
    if method not in calibrate.METHODS:
        raise EdgeRTError(f"calibration method {method!r} unknown; methods: {', '.join(calibrate.METHODS)}")
    if io not in ("int8", "float"):
        raise EdgeRTError(f"--io {io!r} unknown; choose int8 or float")
    fg = model if isinstance(model, Graph) else load_float(model)
    if len(fg.inputs) != 1:
        raise EdgeRTError(f"the model has {len(fg.inputs)} inputs; the quantizer takes single-input models")
    folded, report = run_float_passes(copy.deepcopy(fg))
    st = calibrate.collect(folded, samples, batch=batch, histograms=method != "minmax")
    ranges = calibrate.choose_ranges(folded, st, method)
    ig = compact(quantize_graph(folded, ranges, io))
    return QuantizeResult(write_tflite(ig), fg, folded, ig, report, ranges)
