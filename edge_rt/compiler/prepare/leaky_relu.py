"""LEAKY_RELU (int8), TFLite Micro's QuantizeLeakyRelu: with v = x - z_in,
y = clamp(z_out + mbqm(v, identity multiplier), -128, 127) for v >= 0 and
y = clamp(z_out +/- mbqm(v, |alpha multiplier|), -128, 127) for v < 0 (the sign of alpha).
identity = s_in / s_out and alpha multiplier = s_in * alpha / s_out, in double.
Kernel inputs: [input]; params: [input_zero_point, output_zero_point,
identity_multiplier, identity_shift, alpha_multiplier (>= 0), alpha_shift, alpha_sign]."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import need
from .relu import unary_operands


def prepare(g: Graph, op: Op, ks: str) -> None:
    x, y = unary_operands(g, op)
    (si, zi), (so, zo) = x.qparams(), y.qparams()
    alpha = np.float32(op.options.get("alpha", 0.0))
    need(np.isfinite(alpha), f"alpha {alpha} must be finite")
    # double arithmetic on the float32 values, as the oracle wheel (see relu.py's note)
    real_alpha = si * float(alpha) / so
    real_id = si / so
    ma, sa = quantize_multiplier(real_alpha)
    mi, s_id = quantize_multiplier(real_id)
    # the reference negates a negative alpha multiplier in int32: -(-2**31) would overflow
    need(ma != -(1 << 31), f"alpha {float(alpha)} rounds to an unrepresentable multiplier")
    for real, s in ((real_alpha, sa), (real_id, s_id)):
        need(s <= 30, f"rescale factor {real:.6g} too large (output scale {so:.6g} too small)")
    op.kernel_inputs = [op.inputs[0]]
    op.params = [zi, zo, mi, s_id, abs(ma), sa, -1 if ma < 0 else 1]
    op.scratch_bytes = 0
    if ks == "np":
        from ...kernels.np._table import scratch_bytes
        op.scratch_bytes = scratch_bytes(y.size)
