"""PRELU (int8 as TFLite Micro's BroadcastPrelu4DSlow; alpha broadcast onto the input, up to
4-D): with v = x - z_in, y = clamp(z_out + mbqm(v, m1, s1)) for v >= 0 and
y = clamp(z_out + mbqm(v * (a - z_alpha), m2, s2)) for v < 0, clamped to [-128, 127].
m1 = s_in / s_out and m2 = s_in * s_alpha / s_out in double from the float32 scales, as
CalculatePreluParams. alpha may be a constant or a computed tensor.
Kernel inputs: [input, alpha] (+ for the numpy set the 65,536-entry pair table);
params: [input_offset, alpha_offset, output_offset, m1, s1, m2, s2] + broadcast plan
(kernels/broadcast.py)."""
from __future__ import annotations

import numpy as np

from ...kernels import broadcast
from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import OpProblem, need, need_dtype, need_quant, np_constants

DTYPES = ("int8",)
MAX_RANK = 4  # the reference's broadcast is 4-D


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, alpha) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    a = need_dtype(g, op.inputs[1], "alpha", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    for t, role in ((x, "input"), (a, "alpha"), (y, "output")):
        need_quant(t, role)
        s, _ = t.qparams()
        need(s > 0 and np.isfinite(s), f"{role} scale must be positive and finite, got {s}")
        need(len(t.shape) <= MAX_RANK, f"{role} has rank {len(t.shape)}; supported: up to {MAX_RANK}")
        need(all(d > 0 for d in t.shape), f"{role} shape {t.shape} has an empty dimension")
    try:
        p = broadcast.plan(x.shape, a.shape, y.shape)
    except ValueError as e:
        raise OpProblem(str(e)) from None
    (si, zi), (sa, za), (so, zo) = x.qparams(), a.qparams(), y.qparams()
    m1, s1 = quantize_multiplier(si / so)
    m2, s2 = quantize_multiplier(si * sa / so)
    # the reference forms x * (1 << shift) in int32: a shift of 31 or more is undefined there
    for real, s in ((si / so, s1), (si * sa / so, s2)):
        need(s <= 30, f"rescale factor {real:.6g} too large (output scale {so:.6g} too small)")
    op.kernel_inputs = [op.inputs[0], op.inputs[1]]
    op.params = [-zi, -za, zo, m1, s1, m2, s2] + broadcast.pack_params(p)
    op.scratch_bytes = 0
    if ks == "np":
        from ...kernels.np.broadcast import scratch_bytes
        from ...kernels.np.prelu import table
        op.scratch_bytes = scratch_bytes(op.params, 7)
        np_constants(g, op, table(op.params))
