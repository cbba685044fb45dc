# ADD / SUB, numpy: the op tabulated over all int8 input pairs (see broadcast.py) with the
# reference's integer steps: each input offset, shifted left by 20 and rescaled, the sum
# rescaled to the output (TFLite's double rounding throughout), offset and clamped. int16
# operands (left shift 15) run those steps on int64 bands instead (_int16.py).
import numpy as np

from . import _int16
from .broadcast import bind_pair_table, pair_table
from ._mbqm import exact_mbqm


def table(params, sign=1):
    """The op's pair table (broadcast.pair_table) for ADD's params (sign -1: SUB's). The
    packer stores it as the op's extra input for this kernel set (bind computes it only when
    absent: 65,536 evaluations)."""
    off1, off2, left_shift, m1, s1, m2, s2, out_off, mo, so, lo, hi = params[:12]

    def fn(a, b):
        t1 = exact_mbqm((a + off1) << left_shift, m1, s1)
        t2 = sign * exact_mbqm((b + off2) << left_shift, m2, s2)
        return np.clip(exact_mbqm(t1 + t2, mo, so) + out_off, lo, hi)
    return pair_table(fn)


def bind_add_sub(op, v, arena, sign):
    if v[op.outputs[0]].dtype == np.int16:
        return _int16.bind_binary(op, v, arena, 12, _int16.add_sub_element_steps(op.params, sign))
    # inputs: a, b [, table() (packed for this kernel set)]
    t = v[op.inputs[2]] if len(op.inputs) > 2 else table(op.params, sign)
    return bind_pair_table(op, v, arena, 12, t)


def bind(op, m, v, arena):
    return bind_add_sub(op, v, arena, 1)
