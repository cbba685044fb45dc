# QUANTIZE, numpy. float32 -> int8 follows the steps documented in ref/quantize.py:
# float32 division (numpy's float32 divide is IEEE), rounding half away from zero in float64
# (exact: q has 24 significant bits, so |q| + 0.5 is exact below 2**52 and larger values are
# out of int32 range anyway), x86-64's INT32_MIN for out-of-range/NaN, int32 wrap of
# + zero_point, clamp. int8 -> int8 is one vectorized requantization.
import numpy as np

from .requant import Requant

MODE_FLOAT = 0
_I32_MIN = -(1 << 31)


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]].reshape(x.shape)
    if op.params[0] == MODE_FLOAT:
        zo = op.params[1]
        scale = np.float32(m.tensors[op.outputs[0]].scale)

        def run():
            with np.errstate(all="ignore"):
                q = (x / scale).astype(np.float64)
                r = np.copysign(np.floor(np.abs(q) + 0.5), q)
                ok = (r >= _I32_MIN) & (r < -_I32_MIN)      # False for NaN
                n = np.where(ok, r, _I32_MIN).astype(np.int64) + zo
            n = (n - _I32_MIN) % (1 << 32) + _I32_MIN      # int32 wrap, as the reference's add
            np.clip(n, -128, 127, out=n)
            y[...] = n
        return run

    _, zi, zo, mult, shift = op.params
    rq = Requant(mult, shift, zo, -128, 127)

    def run():
        rq(x.astype(np.int64) - zi, y)
    return run
