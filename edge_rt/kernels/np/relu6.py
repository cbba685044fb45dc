# RELU6, numpy: a clip on the int8 values (zero <= six always, so clip's order is moot).
import numpy as np


def bind(op, m, v, arena):
    zero, six = op.params
    x, y = v[op.inputs[0]], v[op.outputs[0]].reshape(v[op.inputs[0]].shape)

    def run():
        np.clip(x, zero, six, out=y)
    return run
