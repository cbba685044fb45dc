# READ_VARIABLE (and ASSIGN_VARIABLE), numpy: one copy between views made at bind.
import numpy as np


def bind(op, m, v, arena):
    y = v[op.outputs[0]]
    x = v[op.inputs[0]].reshape(y.shape)
    copyto = np.copyto

    def run():
        copyto(y, x)
    return run
