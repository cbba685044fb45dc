"""DEQUANTIZE (int8 / int16 -> float32): y = float32(s_in * (x - z_in)), TFLite Micro's reference
(the product in double, cast to float).
Kernel inputs: [input]; params: [input_zero_point] (the scale is read from the input tensor
record, which stores the float32 scale exactly)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from .common import need, need_dtype, need_quant

DTYPES = ("int8→float32", "int16→float32")
RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 1 and len(op.outputs) == 1,
         f"expected 1 input and 1 output, got {len(op.inputs)} and {len(op.outputs)}")
    x = need_dtype(g, op.inputs[0], "input", "int8", "int16")
    need_dtype(g, op.outputs[0], "output", "float32")
    y = g.tensors[op.outputs[0]]
    need(x.size == y.size, f"input shape {x.shape} and output shape {y.shape} differ in size")
    need_quant(x, "input")
    s, z = x.qparams()
    need(np.isfinite(s), f"input scale must be finite, got {s}")
    lo, hi = RANGES[x.dtype]
    need(lo <= z <= hi, f"input zero point {z} outside {x.dtype} range [{lo}, {hi}]")
    op.kernel_inputs = [op.inputs[0]]
    op.params = [z]
    op.scratch_bytes = 0
