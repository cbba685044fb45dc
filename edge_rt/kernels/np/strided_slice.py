# STRIDED_SLICE, numpy: bind makes the strided view of the input once (basic slicing of the
# arena view, negative steps included) and the output view of the same shape; run copies.
import numpy as np


def bind(op, m, v, arena):
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    p = op.params
    x5 = x.reshape(tuple(p[0:5]))
    index = []
    for a in range(5):
        s, st, n = p[5 + 3 * a:8 + 3 * a]
        stop = s + n * st
        # a stop below 0 means "past the front" for a negative step: slice with None, not -1
        index.append(slice(s, stop if stop >= 0 else None, st) if n else slice(0, 0))
    src = x5[tuple(index)]
    dst = y.reshape(src.shape)
    copyto = np.copyto

    def run():
        copyto(dst, src)
    return run
