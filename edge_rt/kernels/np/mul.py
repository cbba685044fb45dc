# MUL, numpy: the op tabulated over all int8 input pairs (see broadcast.py):
# y = clamp(mbqm((a + off1) * (b + off2)) + out_off, lo, hi), as the reference.
import numpy as np

from .broadcast import bind_pair_table, pair_table
from .requant import exact_mbqm


def bind(op, m, v, arena):
    off1, off2, out_off, mult, shift, lo, hi = op.params[:7]

    def fn(a, b):
        return np.clip(exact_mbqm((a + off1) * (b + off2), mult, shift) + out_off, lo, hi)
    return bind_pair_table(op, v, arena, 7, pair_table(fn))
