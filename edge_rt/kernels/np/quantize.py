# QUANTIZE, numpy. From an 8-bit input (int8/uint8 -> int8/uint8/int16) the output depends on one
# 8-bit value: tabulated at bind time, one table lookup per element (see _table.py). From int16 the
# reference's Requantize runs on int64 bands (_int16.py). float32 -> int8 / int16 follows
# ref/quantize.py step by step,
# in bands over arena scratch: float32 division (numpy's is IEEE), rounding half away from
# zero in float64 (exact: q has 24 significant bits, so |q| + 0.5 is exact below 2**52 and
# larger values are out of int32 range anyway), x86-64's INT32_MIN for out-of-range/NaN
# (inputs are first clamped to +-big, where big / scale >= 2**31, so nothing overflows),
# the int32 wrap of + zero_point, clamp.
import numpy as np

from . import _int16
from ._table import bind_table
from .broadcast import int8_table
from ._mbqm import exact_mbqm

MODE_FLOAT = 0
BAND = 1024
_BYTES_PER = 4 + 8 + 8 + 8  # float32 quotient, float64 value, float64/int64 work, bool mask


def _r16(n):
    return (n + 15) // 16 * 16


def scratch_bytes(n, mode, int16_input=False):
    if mode != MODE_FLOAT:
        if int16_input:
            return _int16.requant_scratch_bytes(n)
        from ._table import scratch_bytes as table_bytes
        return table_bytes(n)
    b = min(n, BAND)
    return _r16(4 * b) + _r16(8 * b) + _r16(8 * b) + _r16(b)


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    info = np.iinfo(y.dtype)
    lo, hi = int(info.min), int(info.max)
    if op.params[0] != MODE_FLOAT:
        _, zi, zo, mult, shift = op.params
        if x.dtype == np.int16:
            return _int16.bind_requant(x, y, zi, zo, mult, shift, lo, hi, arena, op.scratch_offset)
        # from int8/uint8 (compiler/prepare/quantize.py): a table over the input's 256 bit
        # patterns, clamped to the output dtype's range
        q = np.arange(256, dtype=np.int64) if x.dtype == np.uint8 else int8_table(lambda v: v)
        table = np.clip(exact_mbqm(q - zi, mult, shift) + zo, lo, hi).astype(y.dtype)
        return bind_table(x, y, table, arena, op.scratch_offset)
    zo = op.params[1]
    scale = np.float32(m.tensors[op.outputs[0]].scale)
    xf, yf = x.reshape(-1), y.reshape(-1)
    n = xf.size
    b = min(n, BAND)
    o = op.scratch_offset
    qf = np.frombuffer(arena, np.float32, b, o)
    o += _r16(4 * b)
    r = np.frombuffer(arena, np.float64, b, o)
    o += _r16(8 * b)
    a = np.frombuffer(arena, np.float64, b, o)
    t = np.frombuffer(arena, np.int64, b, o)  # same bytes as a, used once a is consumed
    ok = np.frombuffer(arena, np.bool_, b, o + _r16(8 * b))
    half, lim, imin = np.float64(0.5), np.float64(2.0 ** 31), np.float64(-2.0 ** 31)
    with np.errstate(over="ignore"):
        big = np.float32(min(float(np.finfo(np.float32).max), float(scale) * 2.0 ** 32))
    pmin, pmax = np.minimum, np.maximum  # NaN-propagating
    i64 = np.int64
    wrap_add, mask32, base = i64(zo + (1 << 31)), i64(0xFFFFFFFF), i64(-(1 << 31))
    lo, hi = i64(lo), i64(hi)
    divide, absolute, less, add, floor, copysign = np.divide, np.absolute, np.less, np.add, np.floor, np.copysign
    logical_not, bitwise_and, maximum, minimum = np.logical_not, np.bitwise_and, np.fmax, np.fmin
    bands = []
    for i in range(0, n, b):
        k = min(b, n - i)
        bands.append((xf[i:i + k], qf[:k], r[:k], a[:k], t[:k], ok[:k], yf[i:i + k]))
    c = np.copyto

    def run():
        for xs, q, rr, aa, tt, kk, ys in bands:
            pmin(xs, big, out=q)  # keeps NaN; avoids overflow warnings (and np.errstate's
            pmax(q, -big, out=q)  # memory churn): beyond +-big the quotient is out of int32
            divide(q, scale, q)
            c(rr, q)
            absolute(rr, aa)
            less(aa, lim, kk)         # False for NaN and beyond int32
            add(aa, half, aa)
            floor(aa, aa)
            copysign(aa, rr, rr)
            logical_not(kk, kk)
            c(rr, imin, where=kk)
            c(tt, rr, "unsafe")
            add(tt, wrap_add, tt)     # int32 wrap of r + zero_point
            bitwise_and(tt, mask32, tt)
            add(tt, base, tt)
            maximum(tt, lo, tt)
            minimum(tt, hi, tt)
            c(ys, tt, "unsafe")
    return run
