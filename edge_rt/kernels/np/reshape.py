# RESHAPE, numpy: copy the input's elements into the output view (same row-major order).
# When a memory pass has placed both tensors on the same bytes there is nothing to do.
import numpy as np


def bind(op, m, v, arena):
    ti, to = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    if ti.kind == to.kind and ti.offset == to.offset:
        return lambda: None
    x = v[op.inputs[0]].reshape(v[op.outputs[0]].shape)
    y = v[op.outputs[0]]

    copyto = np.copyto

    def run():
        copyto(y, x)
    return run
