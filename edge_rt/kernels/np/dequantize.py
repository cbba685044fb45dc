# DEQUANTIZE, numpy: a float32 multiply. Same result as the reference's double multiply and
# cast: the exact product (24-bit scale times a 9-bit integer) is rounded once either way.
import numpy as np


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]].reshape(x.shape)
    zp = op.params[0]
    scale = np.float32(m.tensors[op.inputs[0]].scale)

    def run():
        np.multiply(x.astype(np.float32) - np.float32(zp), scale, out=y)
    return run
