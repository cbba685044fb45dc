# LEAKY_RELU, numpy: both branches requantized vectorized, selected per element by the sign.
import numpy as np

from .requant import Requant


def bind(op, m, v, arena):
    zi, zo, mi, si, ma, sa, sign = op.params
    x, y = v[op.inputs[0]], v[op.outputs[0]].reshape(v[op.inputs[0]].shape)
    ident = Requant(mi, si, 0, 0, 0)
    alpha = Requant(ma, sa, 0, 0, 0)

    def run():
        d = x.astype(np.int64) - zi
        r = np.where(d >= 0, ident.mbqm(d), sign * alpha.mbqm(d)) + zo
        np.clip(r, -128, 127, out=r)
        y[...] = r
    return run
