# MUL, numpy: the op tabulated over all int8 input pairs (see broadcast.py):
# y = clamp(mbqm((a + off1) * (b + off2)) + out_off, lo, hi), as the reference. int16 operands
# run those steps on int64 bands instead (_int16.py).
import numpy as np

from . import _int16
from .broadcast import bind_pair_table, pair_table
from .requant import exact_mbqm


def table(params):
    """The op's pair table; the packer stores it as the op's extra input for this kernel set."""
    off1, off2, out_off, mult, shift, lo, hi = params[:7]

    def fn(a, b):
        return np.clip(exact_mbqm((a + off1) * (b + off2), mult, shift) + out_off, lo, hi)
    return pair_table(fn)


def bind(op, m, v, arena):
    if v[op.outputs[0]].dtype == np.int16:
        return _int16.bind_binary(op, v, arena, 7, _int16.mul_element_steps(op.params))
    # inputs: a, b [, table() (packed for this kernel set)]
    t = v[op.inputs[2]] if len(op.inputs) > 2 else table(op.params)
    return bind_pair_table(op, v, arena, 7, t)
