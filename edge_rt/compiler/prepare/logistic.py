"""LOGISTIC. int8: one input byte -> one output byte, so the whole op is a 256-entry table
built at pack time by re-running TFLite Micro's integer algorithm on every int8 value.
Kernel inputs: [input, table(int8, 256) indexed by x + 128]; no params.
int16 (zero points 0, output scale 2^-15): TFLite's interpolated 256-entry sigmoid table, the
input rescaled to its grid by the multiplier and shift computed here (compiler/act16.py).
Kernel inputs: [input, sigmoid table (int32, 256)]; params: [multiplier, right shift].
prepare_table_op is shared with TANH and HARD_SWISH, prepare_sigmoid16 with TANH."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..fixedpoint import logistic, mbqm, q4_input_params, rdbpot
from ..ir import Graph, Op
from .common import add_const, need, need_dtype, need_quant

DTYPES = ("int8", "int16")


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


def prepare_sigmoid16(g: Graph, op: Op, ks: str, pot_shifts: tuple[int, ...]) -> None:
    """Validate an int16 LOGISTIC/TANH (TFLite Micro's checks), attach the sigmoid table and the
    input rescale, and size the numpy kernel's scratch."""
    from ..act16 import need_q015_output, sigmoid_input_params
    from ..sigmoid16 import SIGMOID_TABLE_U16
    x = need_dtype(g, op.inputs[0], "input", "int16")
    y = need_dtype(g, op.outputs[0], "output", "int16")
    need_quant(x, "input"); need_quant(y, "output")
    need(x.size == y.size, f"input shape {x.shape} and output shape {y.shape} differ in size")
    in_scale, in_zp = x.qparams()
    need(in_zp == 0, f"int16 input zero point must be 0 (TFLite Micro requires it); got {in_zp}")
    need_q015_output(*y.qparams())
    mult, shift = sigmoid_input_params(in_scale, pot_shifts)
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "sigmoid16", np.array(SIGMOID_TABLE_U16, np.int32))]
    op.params = [mult, shift]
    if ks == "np":
        from ...kernels.np._sigmoid16 import scratch_bytes
        op.scratch_bytes = scratch_bytes(y.size)


def prepare(g: Graph, op: Op, ks: str) -> None:
    if g.tensors[op.inputs[0]].dtype == "int16":
        prepare_sigmoid16(g, op, ks, (0,))
    else:
        prepare_table_op(g, op, ks, _build)
