# DEQUANTIZE, numpy: a float32 multiply. Same result as the reference's double multiply and
# cast: the exact product (24-bit scale times a 9-bit integer) is rounded once either way.
# Three calls in place on the output: widen, subtract the zero point (exact), scale.
import numpy as np


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]].reshape(x.shape)
    zp = np.float32(op.params[0])
    scale = np.float32(m.tensors[op.inputs[0]].scale)
    setitem, subtract, multiply = np.ndarray.__setitem__, np.subtract, np.multiply

    def run():
        setitem(y, Ellipsis, x)
        subtract(y, zp, y)
        multiply(y, scale, y)
    return run
