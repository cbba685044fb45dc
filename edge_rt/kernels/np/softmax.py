# SOFTMAX (int8, last axis), numpy: the steps of kernels/ref/softmax.py, allocation-free.
# Per row: d = max - x in [0, 255] (intp, in scratch), the two exp tables gathered with
# np.take, the row sum and its fixed-point reciprocal as Python ints (one per row), then
# the rescale of every element. Both factors of that rescale
# are non-negative (exp values and a Q0.31 reciprocal), so SaturatingRoundingDoublingHighMul
# is floor((a*b + 2**30) / 2**31) and RoundingDivideByPOT is floor((q + 2**(e-1)) / 2**e):
# one multiply, add, shift, add, shift. Softmax rows are few in practice (a classifier head),
# so rows run in a Python loop; elements are vectorized.
import numpy as np

from ._conv_common import r16

_MIN = -(1 << 31)
_MAX = (1 << 31) - 1


def _srdhm(a, b):
    # floor((a*b + 2**30) / 2**31) equals the nudge-and-truncate form for every product
    # (see requant.py); only INT32_MIN * INT32_MIN saturates
    if a == _MIN and b == _MIN:
        return _MAX
    return (a * b + (1 << 30)) >> 31


def _wrap32(x):
    return ((x - _MIN) & 0xFFFFFFFF) + _MIN


def _sat_shl(x, e):
    limit = (1 << (31 - e)) - 1
    return _MAX if x > limit else (_MIN if x < -limit else x << e)


def reciprocal(total):
    """kernels/fixedpoint.reciprocal(total, 12) with the same integer steps, faster on
    CPython: (scale Q0.31, bits_over_unit)."""
    u = total & 0xFFFFFFFF
    headroom_plus_one = 32 - u.bit_length()
    a = ((u << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    s = a + _MAX  # rounding half sum of a and Q0_ONE
    s += 1 if s >= 0 else -1
    d = (abs(s) >> 1) if s >= 0 else -(abs(s) >> 1)
    x = _wrap32(1515870810 + _srdhm(d, -1010580540))
    for _ in range(3):
        err = _wrap32((1 << 29) - _srdhm(d, x))
        x = _wrap32(x + _sat_shl(_srdhm(x, err), 2))
    return _sat_shl(x, 1), 12 - headroom_plus_one


def scratch_bytes(depth):
    return 3 * r16(depth * 8)


def bind(op, m, v, arena):
    t = m.tensors[op.inputs[0]]
    depth = t.shape[-1]
    rows = t.size() // depth if depth else 0
    x = v[op.inputs[0]].reshape(rows, depth)
    y = v[op.outputs[0]].reshape(rows, depth)
    # the pack-time int32 tables widened once to int64 (constants, so outside the arena)
    exp_q31 = np.asarray(v[op.inputs[1]], np.int64)
    exp_q12 = np.asarray(v[op.inputs[2]], np.int64)
    o = op.scratch_offset
    d = np.frombuffer(arena, np.intp, depth, o)
    e12 = np.frombuffer(arena, np.int64, depth, o + r16(depth * 8))
    q = np.frombuffer(arena, np.int64, depth, o + 2 * r16(depth * 8))
    copyto, subtract, multiply, add = np.copyto, np.subtract, np.multiply, np.add
    take12, take31 = exp_q12.take, exp_q31.take
    right_shift, maximum, minimum, amax = np.right_shift, np.fmax, np.fmin, np.maximum.reduce
    i64, intp = np.int64, np.intp
    nudge, s31, s63, lo, hi = i64(1 << 30), i64(31), i64(63), i64(-128), i64(127)
    row_views = [(x[r], y[r]) for r in range(rows)]

    def run():
        for xr, yr in row_views:
            copyto(d, xr, "unsafe")
            subtract(intp(amax(xr)), d, d)
            take12(d, out=e12, mode="clip")
            scale, bits_over_unit = reciprocal(_wrap32(int(e12.sum())))
            e = bits_over_unit + 23
            take31(d, out=q, mode="clip")
            multiply(q, i64(scale), q)
            add(q, nudge, q)
            right_shift(q, s31, q)
            if scale < 0:  # only once a row's sum wraps int32: the rounding needs [q < 0]
                right_shift(q, s63, e12)
                add(q, e12, q)
            if e > 0:
                add(q, i64((1 << (e - 1)) - 128 * (1 << e)), q)  # rounding half, and the -128 offset
                right_shift(q, i64(e), q)
            else:
                add(q, i64(-128), q)
            maximum(q, lo, q)
            minimum(q, hi, q)
            copyto(yr, q, "unsafe")
    return run
