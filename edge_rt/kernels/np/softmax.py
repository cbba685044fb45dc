# SOFTMAX (int8, last axis), numpy: the steps of kernels/ref/softmax.py vectorized over all
# rows at once (no Python loop over rows or elements). Values are int32 held in int64.
import numpy as np

_MIN = -(1 << 31)
_MAX = (1 << 31) - 1
_LOW31 = (1 << 31) - 1


def _srdhm(a, b):
    """SaturatingRoundingDoublingHighMul, elementwise (see kernels/quant.py)."""
    ab = a * b
    t = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = (t >> 31) + ((t < 0) & ((t & _LOW31) != 0))  # C division truncates toward zero
    return np.where((a == _MIN) & (b == _MIN), _MAX, q)


def _rdbpot(x, exponent):
    mask = (np.int64(1) << exponent) - 1
    return (x >> exponent) + ((x & mask) > (mask >> 1) + (x < 0))


def _wrap32(x):
    return ((x - _MIN) & 0xFFFFFFFF) + _MIN


def _sat_shl(x, exponent):
    limit = (1 << (31 - exponent)) - 1
    return np.where(x > limit, _MAX, np.where(x < -limit, _MIN, x << exponent))


def _reciprocal(total):
    """kernels/fixedpoint.reciprocal(total, 12) per element: (scale Q0.31, bits_over_unit)."""
    u = total & 0xFFFFFFFF
    # leading zeros of a uint32: its bit length is frexp's exponent (exact in float64)
    headroom_plus_one = 32 - np.frexp(u.astype(np.float64))[1].astype(np.int64)
    a = ((u << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    s = a + _MAX
    s += np.where(s >= 0, 1, -1)
    d = (s >> 1) + ((s < 0) & ((s & 1) != 0))  # rounding half sum: C division by 2
    x = _wrap32(1515870810 + _srdhm(d, np.int64(-1010580540)))
    for _ in range(3):
        err = _wrap32((1 << 29) - _srdhm(d, x))
        x = _wrap32(x + _sat_shl(_srdhm(x, err), 2))
    return _sat_shl(x, 1), 12 - headroom_plus_one


def bind(op, m, v, arena):
    t = m.tensors[op.inputs[0]]
    depth = t.shape[-1]
    rows = t.size() // depth if depth else 0
    x = v[op.inputs[0]].reshape(rows, depth)
    y = v[op.outputs[0]].reshape(rows, depth)
    exp_q31 = v[op.inputs[1]].astype(np.int64)
    exp_q12 = v[op.inputs[2]].astype(np.int64)

    def run():
        d = x.max(axis=1, keepdims=True).astype(np.intp) - x  # in [0, 255]
        total = _wrap32(np.take(exp_q12, d).sum(axis=1, keepdims=True))
        scale, bits_over_unit = _reciprocal(total)
        q = _rdbpot(_srdhm(scale, np.take(exp_q31, d)), bits_over_unit + 23) - 128
        np.clip(q, -128, 127, out=q)
        y[...] = q
    return run
