"""RELU (int8): y = clamp(mbqm(x - z_in, multiplier, shift) + z_out, max(-128, z_out), 127),
TFLite Micro's ReluQuantized: the input is requantized to the output's scale by
s_in / s_out, so input and output quantization may differ.
Kernel inputs: [input]; params: [input_zero_point, output_zero_point, multiplier, shift,
act_min, act_max].

s_in / s_out is divided in double. The mirrored TFLM source at HEAD divides in float32 and
widens (PR #1501's fix, later reverted), but the `tflite_micro` wheel we verify against
matches the double division on every exhaustive int8 check where the two differ (the same
holds for SUB and LEAKY_RELU; tests/test_ops_elementwise.py pins such cases)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import need, need_dtype, need_quant


def unary_operands(g: Graph, op: Op, what: str = "input"):
    """Validate an int8 -> int8 element-wise op; return (x, y)."""
    need(len(op.inputs) >= 1 and len(op.outputs) == 1,
         f"expected 1 input and 1 output, got {len(op.inputs)} and {len(op.outputs)}")
    x = need_dtype(g, op.inputs[0], "input", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    for t, role in ((x, "input"), (y, "output")):
        need_quant(t, role)
        s, z = t.qparams()
        need(s > 0 and np.isfinite(s), f"{role} scale must be positive and finite, got {s}")
        need(-128 <= z <= 127, f"{role} zero point {z} outside int8 range [-128, 127]")
    need(x.size == y.size, f"input shape {x.shape} and output shape {y.shape} differ in size")
    return x, y


def prepare(g: Graph, op: Op, ks: str) -> None:
    x, y = unary_operands(g, op)
    (si, zi), (so, zo) = x.qparams(), y.qparams()
    # double division of the float32 scales: see the note at the top of the file
    real = si / so
    mult, shift = quantize_multiplier(real)
    need(shift <= 30, f"rescale factor {real:.6g} too large (output scale {so:.6g} too small)")
    op.kernel_inputs = [op.inputs[0]]
    # act_min = z_out + round(0 / s_out); act_max is +inf in real terms, i.e. the int8 top
    op.params = [zi, zo, mult, shift, max(-128, zo), 127]
    op.scratch_bytes = 0
    if ks == "np":
        from ...kernels.np._table import scratch_bytes
        op.scratch_bytes = scratch_bytes(y.size)
