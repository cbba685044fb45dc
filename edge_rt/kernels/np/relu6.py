# RELU6, numpy: a clamp of the int8 values (zero <= six always, so the order is moot).
import numpy as np


def bind(op, m, v, arena):
    zero, six = op.params
    x, y = v[op.inputs[0]], v[op.outputs[0]].reshape(v[op.inputs[0]].shape)
    lo, hi = np.int8(zero), np.int8(six)
    maximum, minimum = np.fmax, np.fmin  # fmax/fmin: positional out allowed

    def run():
        maximum(x, lo, y)
        minimum(y, hi, y)
    return run
