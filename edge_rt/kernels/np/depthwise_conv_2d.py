# DEPTHWISE_CONV_2D, numpy: one vectorized multiply-accumulate per kernel tap over a
# strided view of the (zero-point padded) input; int32 accumulation as the reference.
import numpy as np

from ._conv_common import pad_bytes, stage
from .requant import Requant


def scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl):
    return pad_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl)


def bind(op, m, v, arena):
    x, w, bias, mult, shift = [v[i] for i in op.inputs]
    y = v[op.outputs[0]]
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi, dm = op.params
    _, kh, kw, oc = w.shape
    n, oh, ow, _ = y.shape
    ic = x.shape[3]
    copy_in, win = stage(x, arena, op.scratch_offset, y.shape, kh, kw, dh, dw, sh, sw, pt, pl, in_zp)
    taps = [(i, j) for i in range(kh) for j in range(kw)]
    wk = w.reshape(kh, kw, ic, dm).astype(np.int32)
    b = bias.astype(np.int64)
    rq = Requant(np.reshape(mult, (ic, dm)), np.reshape(shift, (ic, dm)), out_off, lo, hi)
    acc = np.zeros((n, oh, ow, ic, dm), np.int32)
    b2 = b.reshape(ic, dm)
    y5 = y.reshape(n, oh, ow, ic, dm)

    def run():
        if copy_in is not None:
            copy_in()
        acc[...] = 0
        for i, j in taps:
            np.add(acc, win[:, :, :, i, j, :, None] * wk[i, j], out=acc)
        rq(acc.astype(np.int64) + b2, y5)
    return run
