# PAD, numpy: fill the output with the pad value, then copy the input into its interior.
import numpy as np


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    value = v[op.inputs[1]].reshape(())
    y = v[op.outputs[0]]
    rank = op.params[0]
    before = op.params[1:1 + rank]
    inner = y[tuple(slice(b, b + d) for b, d in zip(before, x.shape))]

    copyto = np.copyto

    def run():
        copyto(y, value)
        copyto(inner, x)
    return run
