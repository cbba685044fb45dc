# RESIZE_NEAREST_NEIGHBOR, numpy: one np.take of whole pixels (C channels) through the flat
# pixel table rows[i] * W + cols[j] the packer stored (its last input), widened to intp once
# at bind time (take converts other index dtypes on every call). The ndarray method with
# mode="clip" neither buffers its output nor retains anything (np.take's wrapper does);
# every index is in range by construction.
import numpy as np


def bind(op, m, v, arena):
    n, h, w, c, oh, ow = op.params[:6]
    x = v[op.inputs[0]].reshape(n, h * w, c)
    y = v[op.outputs[0]].reshape(n, oh * ow, c)
    pix = v[op.inputs[3]].reshape(oh * ow).astype(np.intp)
    take = x.take

    def run():
        take(pix, 1, y, "clip")
    return run
