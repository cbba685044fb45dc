# SLICE, numpy: one copy from the input block (a strided view made at bind) into the output.
import numpy as np

from . import _strided


def bind(op, m, v, arena):
    dims, ss, ds, _ = _strided.read(op.params, 1)
    dst, src = _strided.views(v[op.inputs[0]], op.params[0], v[op.outputs[0]], 0, dims, ss, ds)
    copyto = np.copyto

    def run():
        copyto(dst, src)
    return run
