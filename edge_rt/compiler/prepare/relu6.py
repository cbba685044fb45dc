"""RELU6 (int8), as TFLite Micro computes it: the input is clamped to [zero, six] on the
*input's* grid (zero = z_in, six = z_in + round(6 / s_in) in float32, saturated to int8)
and the int8 values are stored unchanged, even when the output tensor's quantization
differs (TFLM ignores it; we reproduce the oracle).
Kernel inputs: [input]; params: [zero, six]."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..quant import tflite_round
from .common import need
from .relu import unary_operands


def prepare(g: Graph, op: Op, ks: str) -> None:
    x, y = unary_operands(g, op)
    si, zi = x.qparams()
    q = tflite_round(float(np.float32(6.0) / np.float32(si)))
    # TFLM converts the rounded float to int32 unchecked; beyond int32 that is undefined
    need(q < 2 ** 31 - 128, f"input scale {si:.6g} too small: 6 / scale overflows int32")
    six = min(127, max(-128, int(q) + zi))
    op.kernel_inputs = [op.inputs[0]]
    op.params = [zi, six]
    op.scratch_bytes = 0
