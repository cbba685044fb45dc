# MUL, numpy: offset both inputs (int64), broadcast multiply, one vectorized requantization.
import numpy as np

from .broadcast import operand_views
from .requant import Requant


def bind(op, m, v, arena):
    off1, off2, out_off, mult, shift, lo, hi = op.params[:7]
    a, b, y = operand_views(v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], op.params, 7)
    rq = Requant(mult, shift, out_off, lo, hi)

    def run():
        rq((a.astype(np.int64) + off1) * (b.astype(np.int64) + off2), y)
    return run
