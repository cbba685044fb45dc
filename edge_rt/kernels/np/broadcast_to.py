# BROADCAST_TO, numpy: one copy from the input seen with stride 0 on the repeated axes.
import numpy as np

from . import _strided


def bind(op, m, v, arena):
    dims, ss, ds, _ = _strided.read(op.params, 0)
    dst, src = _strided.views(v[op.inputs[0]], 0, v[op.outputs[0]], 0, dims, ss, ds)
    copyto = np.copyto

    def run():
        copyto(dst, src)
    return run
