# REDUCE_MAX, numpy: the input seen as (kept..., reduced...) through as_strided (the two
# plans of compiler/prepare/reduce_max.py), one maximum-reduction over the trailing axes into
# the output. float32 uses fmax, which like TFLite's `in > current ? in : current` lets no NaN
# win over a number.
import numpy as np

from . import _strided


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    odims, oss, _, k = _strided.read(op.params, 0)
    rdims, rss, _, _ = _strided.read(op.params, k)
    src = _strided.view(x, 0, odims + rdims, oss + rss)
    dst = y.reshape(odims)
    axes = tuple(range(len(odims), len(odims) + len(rdims)))
    reduce = (np.fmax if x.dtype.kind == "f" else np.maximum).reduce

    def run():
        reduce(src, axes, None, dst)
    return run
