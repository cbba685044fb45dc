"""LOGISTIC (int8): one input byte -> one output byte, so the whole op is a 256-entry table
built at pack time by re-running TFLite Micro's integer algorithm on every int8 value.
Kernel inputs: [input, table(int8, 256) indexed by x + 128]; no params.
prepare_table_op is shared with TANH and HARD_SWISH."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..fixedpoint import logistic, mbqm, q4_input_params, rdbpot
from ..ir import Graph, Op
from .common import add_const, need, need_dtype, need_quant


def prepare_table_op(g: Graph, op: Op, ks: str, build: Callable[[float, int, float, int], np.ndarray]):
    """Validate an elementwise int8 op, attach build(in_scale, in_zp, out_scale, out_zp) and
    size the numpy table kernel's scratch."""
    x = need_dtype(g, op.inputs[0], "input", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    need_quant(x, "input"); need_quant(y, "output")
    need(x.size == y.size, f"input shape {x.shape} and output shape {y.shape} differ in size")
    table = build(*x.qparams(), *y.qparams())
    assert table.shape == (256,) and table.dtype == np.int8
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "table", table)]
    op.params = []
    if ks == "np":
        from ...kernels.np._table import scratch_bytes
        op.scratch_bytes = scratch_bytes(y.size)


def q4_table(in_scale: float, in_zp: int, inside: Callable[[int], int]) -> np.ndarray:
    """Output for every int8 input -128..127 of an op on TFLite Micro's Q4.27 input path
    (LOGISTIC, TANH): beyond the input radius the output saturates; inside it,
    inside(x * input multiplier) gives the int8 value (clamped here)."""
    mult, shift, radius = q4_input_params(in_scale)
    out = np.empty(256, np.int8)
    for i in range(256):
        x = i - 128 - in_zp
        if x <= -radius:
            v = -128
        elif x >= radius:
            v = 127
        else:
            v = min(127, max(-128, inside(mbqm(x, mult, shift))))
        out[i] = v
    return out


def logistic_table(in_scale: float, in_zp: int) -> np.ndarray:
    """Output for every int8 input -128..127 (reference_integer_ops::Logistic)."""
    # Q0.31 probability -> Q0.8 (output scale 1/256), shifted by the -128 zero point
    return q4_table(in_scale, in_zp, lambda q: rdbpot(logistic(q, 4), 23) - 128)


def _build(in_scale, in_zp, out_scale, out_zp):
    need(out_zp == -128 and out_scale == 1.0 / 256,
         f"output quantization must be scale 1/256, zero point -128 (TFLite Micro's fixed "
         f"output format); got scale {out_scale:g}, zero point {out_zp}")
    need(q4_input_params(in_scale)[1] >= 0, f"input scale {in_scale:g} is too small; supported: >= 2^-28")
    return logistic_table(in_scale, in_zp)


def prepare(g: Graph, op: Op, ks: str) -> None:
    prepare_table_op(g, op, ks, _build)
