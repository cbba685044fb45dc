# MAXIMUM, numpy: np.fmax with numpy broadcasting (the same rule as the plan) for the
# integer dtypes (equal to np.maximum on integers, whose positional out numpy 2.4 deprecates:
# the warning retains memory on every call). float32 follows TFLite's `a > b ? a : b` exactly (np.maximum differs on
# NaN and on -0.0 vs 0.0): a bool mask a > b in the op's scratch, y = b, then y = a where
# the mask is set.
import numpy as np


def bind(op, m, v, arena, ufunc=np.fmax, cmp=np.greater):
    a, b, y = v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]]
    if y.dtype.kind != "f":
        def run():
            ufunc(a, b, y)
        return run
    mask = np.frombuffer(arena, np.bool_, y.size, op.scratch_offset).reshape(y.shape)
    copyto = np.copyto

    def run_float():
        cmp(a, b, mask)
        copyto(y, b)
        copyto(y, a, "same_kind", mask)
    return run_float
