# RELU, numpy: y = clamp(mbqm(x - zi) + zo, lo, hi) depends on one int8 value, so it is
# tabulated at bind time (exact integer steps) and run as one table lookup (see _table.py).
import numpy as np

from ._table import bind_table
from .broadcast import int8_table
from .requant import exact_mbqm


def bind(op, m, v, arena):
    zi, zo, mult, shift, lo, hi = op.params
    table = int8_table(lambda x: np.clip(exact_mbqm(x - zi, mult, shift) + zo, lo, hi))
    return bind_table(v[op.inputs[0]], v[op.outputs[0]], table, arena, op.scratch_offset)
