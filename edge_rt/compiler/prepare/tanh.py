"""TANH. int8: a 256-entry table built at pack time from TFLite Micro's integer algorithm
(see logistic.py). Kernel inputs: [input, table(int8, 256) indexed by x + 128].
int16: as LOGISTIC's int16 path (tanh(x) = 2 sigmoid(2x) - 1 on the same table); the
power-of-two shortcut also covers an input scale of 2^-11.
Kernel inputs: [input, sigmoid table (int32, 256)]; params: [multiplier, right shift]."""
from __future__ import annotations

import numpy as np

from ..fixedpoint import q4_input_params, rdbpot, tanh
from ..ir import Graph, Op
from .common import need
from .logistic import prepare_sigmoid16, prepare_table_op, q4_table

DTYPES = ("int8", "int16")


def tanh_table(in_scale: float, in_zp: int) -> np.ndarray:
    """Output for every int8 input -128..127 (reference_integer_ops::Tanh)."""
    # Q0.31 in [-1, 1) -> Q0.7 (output scale 1/128, zero point 0)
    return q4_table(in_scale, in_zp, lambda q: rdbpot(tanh(q, 4), 24))


def _build(in_scale, in_zp, out_scale, out_zp):
    # TFLite Micro does not check the output quantization; it always writes Q0.7.
    need(out_zp == 0 and out_scale == 1.0 / 128,
         f"output quantization must be scale 1/128, zero point 0 (TFLite Micro's fixed "
         f"output format); got scale {out_scale:g}, zero point {out_zp}")
    need(q4_input_params(in_scale)[1] >= 0, f"input scale {in_scale:g} is too small; supported: >= 2^-28")
    return tanh_table(in_scale, in_zp)


def prepare(g: Graph, op: Op, ks: str) -> None:
    if g.tensors[op.inputs[0]].dtype == "int16":
        prepare_sigmoid16(g, op, ks, (0, 1))
    else:
        prepare_table_op(g, op, ks, _build)
