# MEAN (int8), numpy: int64 sums over the reduced (merged) axes into arena scratch, then
# TFLite's requantization with the 1/num factor folded into the multiplier at pack time.
import numpy as np

from .requant import Requant


def scratch_bytes(n_out):
    return n_out * 8


def bind(op, m, v, arena):
    mult, shift, out_zp, offset, nd = op.params[:5]
    dims = op.params[5:5 + nd]
    flags = op.params[5 + nd:5 + 2 * nd]
    x = v[op.inputs[0]].reshape(dims)
    y = v[op.outputs[0]]
    axes = tuple(d for d in range(nd) if flags[d])
    # keepdims shapes stay >= 1-D even when every dim is reduced (Requant needs arrays)
    kshape = [1 if flags[d] else dims[d] for d in range(nd)]
    acc = np.frombuffer(arena, np.int64, y.size, op.scratch_offset).reshape(kshape)
    yk = y.reshape(kshape)
    rq = Requant(mult, shift, out_zp, -128, 127)

    def run():
        np.sum(x, axis=axes, dtype=np.int64, out=acc, keepdims=True)
        np.add(acc, offset, out=acc)
        rq(acc, yk)
    return run
