# SOFTMAX (last axis), numpy: the steps of kernels/ref/softmax.py, allocation-free. int8 first;
# int16 at the end of the file.
# Small rows (a classifier head) are dominated by per-call overhead, so a row costs a fixed,
# short list of numpy calls plus a little Python-int work:
# 1. m = the row max (argmax, a cheap C loop, then one element read).
# 2. idx = x mod 256 (a copy from the uint8 view of the input), then the two exp tables
#    gathered with take from a view chosen by m: with Q[j] = T[(255 - j) mod 256] for
#    j in [0, 511], the 256-wide view V_m = Q[s:s + 256], s = (255 - m) mod 256, satisfies
#    V_m[x mod 256] = T[m - x] for every x <= m (both halves of the int8 range).
# 3. The row sum of the Q12.19 exps: exact in float64 (integers below 2**53), as a Python int.
# 4. Its reciprocal (scale, bits_over_unit) by fast_reciprocal, then with E = bits_over_unit
#    + 23 the output rescale of the reference, rdbpot(srdhm(scale, e), E) - 128, clamped.
#    Both factors are non-negative, so the two roundings are floors of sums and merge:
#      q = (scale * e + 2**30 + 2**(30 + E)) >> (31 + E)
#    (multiply, add, shift), and a final take from a 256-entry table clips q to [0, 255],
#    subtracts 128 and narrows to int8 in one call. With 0 < sum < 2**28 (E <= 31, the only
#    sums TFLite Micro accepts) every term fits int64: scale * e < 2**62, 2**(30+E) <= 2**61.
# Other sums (>= 512 in real terms, or wrapped int32 sums of 4096+ columns) take the general
# path: the reference's reciprocal on the wrapped sum and the two roundings kept apart.
import numpy as np

from ... import format as F
from ._conv_common import r16

_MIN = -(1 << 31)
_MAX = (1 << 31) - 1
_FAST_SUM = 1 << 28     # sums below this take the merged rescale (E <= 31)
_SHORT = 32             # rows up to this long: a Python sum is cheaper than a BLAS dot


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


def fast_reciprocal(total):
    """reciprocal(total) for 0 < total < 2**31: the scale (bits_over_unit is
    total.bit_length() - 20). Here the normalized sum v = total << (32 - b) (b the bit
    length) lies in [2**31, 2**32), so the half denominator is exactly v >> 1 in
    [2**30, 2**31), every Newton iterate stays in (2**29, 2**30] and every correction term
    is small: none of the reference's wraps or saturations can trigger except the final
    doubling of x == 2**30. Checked against the reference steps for every normalized v a
    sum below 2**28 can produce (test_np_tail_speed_exact.py, EDGE_RT_EXHAUSTIVE=1)."""
    d = total << (31 - total.bit_length())
    x = 1515870810 + ((d * -1010580540 + 0x40000000) >> 31)
    x += ((x * (0x20000000 - ((d * x + 0x40000000) >> 31)) + 0x40000000) >> 31) << 2
    x += ((x * (0x20000000 - ((d * x + 0x40000000) >> 31)) + 0x40000000) >> 31) << 2
    x += ((x * (0x20000000 - ((d * x + 0x40000000) >> 31)) + 0x40000000) >> 31) << 2
    return (x << 1) if x < 0x40000000 else _MAX


def scratch_bytes(depth):
    return 3 * r16(depth * 8)


def _views(table, dtype):
    """[V_m for m = 0..255] indexed by m mod 256 (so a Python list takes m in -128..127)."""
    t = np.asarray(table, np.int64)
    q = np.ascontiguousarray(t[(255 - np.arange(512)) % 256], dtype)
    return [q[(255 - m) % 256:(255 - m) % 256 + 256] for m in range(256)]


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return _bind16(op, m, v, arena)
    t = m.tensors[op.inputs[0]]
    depth = t.shape[-1]
    rows = t.size() // depth if depth else 0
    x = v[op.inputs[0]].reshape(rows, depth)
    xu = x.view(np.uint8)
    y = v[op.outputs[0]].reshape(rows, depth)
    # bind-time constants (outside the arena): the shifted table views and the output table
    v31 = _views(v[op.inputs[1]], np.int64)
    v12 = _views(v[op.inputs[2]], np.float64)
    lut = (np.arange(256) - 128).astype(np.int8)
    o = op.scratch_offset
    idx = np.frombuffer(arena, np.intp, depth, o)
    e12 = np.frombuffer(arena, np.float64, depth, o + r16(depth * 8))
    q = np.frombuffer(arena, np.int64, depth, o + 2 * r16(depth * 8))
    e12mv = memoryview(e12)
    ones = np.ones(depth, np.float64)
    short = depth <= _SHORT
    # 0-d operands: a 0-d array is used by a ufunc as is (a scalar would be converted per call)
    i64 = np.int64
    sc = np.zeros((), i64)
    kk = [np.array((1 << 30) + (1 << (30 + e)), i64) for e in range(32)]
    ll = [np.array(31 + e, i64) for e in range(32)]
    setitem, multiply, add, right_shift = np.ndarray.__setitem__, np.multiply, np.add, np.right_shift
    lut_take = lut.take
    rowdata = [(x[r], memoryview(x[r]), xu[r], y[r]) for r in range(rows)]
    out16 = y.dtype == np.int16  # int8 input, int16 output (zero point -32768): E = bits_over_unit + 15
    general = _general(idx, q, e12, 16 if out16 else 8)
    # int8 output: E = bits_over_unit + 8 = b + 3, then the int8 table; int16 output: E =
    # bits_over_unit + 15 = b - 5 (b >= 20 as the sum is at least 2**19, so E >= 15), then
    # q - 32768 clipped at 32767 (q >= 0)
    eb = -5 if out16 else 3
    minimum = np.minimum
    off, top = np.array(-32768, np.int64), np.array(32767, np.int64)

    def run():
        for xr, xmv, xur, yr in rowdata:
            mx = xmv[xr.argmax()]
            setitem(idx, Ellipsis, xur)
            v12[mx].take(idx, None, e12, "clip")
            total = int(sum(e12mv)) if short else int(ones.dot(e12))
            if total >= _FAST_SUM:
                general(v31[mx], total, yr)
                continue
            b = total.bit_length() + eb
            sc[()] = fast_reciprocal(total)
            v31[mx].take(idx, None, q, "clip")
            multiply(q, sc, q)
            add(q, kk[b], q)
            right_shift(q, ll[b], q)
            if out16:
                add(q, off, q)
                minimum(q, top, out=q)
                setitem(yr, Ellipsis, q)
            else:
                lut_take(q, None, yr, "clip")
    return run


def _general(idx, q, tmp, obits):
    """The rescale for any wrapped int32 sum, the two roundings apart (a sum of 2**28 or more
    puts 2**(30+E) beyond int64; a wrapped sum can make the scale negative)."""
    tq = tmp.view(np.int64)  # the float sums are consumed by now: reuse the buffer
    multiply, add, right_shift, fmax, fmin = np.multiply, np.add, np.right_shift, np.fmax, np.fmin
    i64 = np.int64
    omin = -(1 << (obits - 1))
    nudge, s31, s63, lo, hi = i64(1 << 30), i64(31), i64(63), i64(omin), i64(-omin - 1)

    def rescale(v31, total, yr):
        scale, bits_over_unit = reciprocal(_wrap32(total))
        e = bits_over_unit + 31 - obits
        v31.take(idx, None, q, "clip")
        multiply(q, i64(scale), q)
        add(q, nudge, q)
        right_shift(q, s31, q)
        if scale < 0:  # only once a row's sum wraps int32: the rounding needs [q < 0]
            right_shift(q, s63, tq)
            add(q, tq, q)
        if e > 0:
            add(q, i64((1 << (e - 1)) + omin * (1 << e)), q)  # rounding half, and the output offset
            right_shift(q, i64(e), q)
        else:
            add(q, i64(omin), q)
        fmax(q, lo, q)
        fmin(q, hi, q)
        np.copyto(yr, q, "unsafe")
    return rescale


# int16 (kernels/ref/softmax.py's int16 steps), per row on int64 arena scratch:
# 1. d = x - max (<= 0), then mbqm merged into one multiply-add-shift: with the left shift L and
#    right shift R of `shift` (one of them 0), P = d * M * 2**L and
#      mbqm(d) = (P + 2**30 + (2**(R-1) - 1) * 2**31) >> (31 + R)
#    (nested floors by powers of two merge; the rounding's [q < 0] term may be taken for every
#    element since d <= 0 and d = 0 gives 0 either way; R = 0: no term). |P| < 2**62.
# 2. clamp(d + 32767) to int16, then the interpolated lookup: idx = 256 + (v >> 7) in [0, 511],
#    e = lut[idx] + ((slope[idx] * (v & 127) + 64) >> 7).
# 3. the row's reciprocal (Python ints, once per row), then y = clip((e * rec + 2**(s-1)) >> s).


def scratch_bytes16(depth):
    return 3 * r16(depth * 8)


def _lookup16(value, lut):
    i = 256 + (value >> 7)
    return int(lut[i]) + (((int(lut[i + 1]) - int(lut[i])) * (value & 0x7F) + 64) >> 7)


def _bind16(op, m, v, arena):
    t = m.tensors[op.inputs[0]]
    depth = t.shape[-1]
    rows = t.size() // depth if depth else 0
    x = v[op.inputs[0]].reshape(rows, depth)
    y = v[op.outputs[0]].reshape(rows, depth)
    exp_lut = np.asarray(v[op.inputs[1]], np.int64)
    rec_lut = [int(q) for q in v[op.inputs[2]]]
    mult, shift = int(v[op.inputs[3]][0]), op.params[0]
    left, right = max(shift, 0), max(-shift, 0)
    i64 = np.int64
    base_t = np.ascontiguousarray(exp_lut[:512])
    slope_t = np.ascontiguousarray(exp_lut[1:] - exp_lut[:512])
    cm = np.array(mult << left, i64)
    ck = np.array((1 << 30) + ((((1 << (right - 1)) - 1) << 31) if right else 0), i64)
    cs = np.array(31 + right, i64)
    lo, hi, c7, c127, c64, c256 = (np.array(q, i64) for q in (-32768, 32767, 7, 127, 64, 256))
    o = op.scratch_offset
    d, idx, w = (np.frombuffer(arena, i64, depth, o + j * r16(depth * 8)) for j in range(3))
    multiply, add, right_shift, bitwise_and = np.multiply, np.add, np.right_shift, np.bitwise_and
    maximum, minimum = np.maximum, np.minimum
    base_take, slope_take = base_t.take, slope_t.take
    rowdata = [(x[r], memoryview(x[r]), y[r]) for r in range(rows)]
    zero, top = np.array(0, i64), np.array(32767, i64)
    neg_mx, rec, half, sh = (np.zeros((), i64) for _ in range(4))  # per-row 0-d operands
    setitem = np.ndarray.__setitem__

    def run():
        for xr, xmv, yr in rowdata:
            mx = xmv[xr.argmax()]
            setitem(d, Ellipsis, xr)
            neg_mx[()] = -mx
            add(d, neg_mx, d)
            multiply(d, cm, d)
            add(d, ck, d)
            right_shift(d, cs, d)
            add(d, hi, d)                 # recentred: [-65535, 0] -> [-32768, 32767]
            maximum(d, lo, out=d)
            minimum(d, hi, out=d)
            right_shift(d, c7, idx)
            add(idx, c256, idx)
            bitwise_and(d, c127, d)
            slope_take(idx, None, w, "clip")
            multiply(w, d, w)
            add(w, c64, w)
            right_shift(w, c7, w)
            base_take(idx, None, d, "clip")
            add(d, w, d)                  # e, the Q0.15 exps
            total = int(d.sum())
            h = 32 - total.bit_length()
            n = (total << (h - 15)) if h > 14 else ((total + (1 << (14 - h))) >> (15 - h))
            n = min(max(n - (3 << 15), -32768), 32767)
            rec[()] = _lookup16(n, rec_lut)
            half[()] = 1 << (30 - h)
            sh[()] = 31 - h
            multiply(d, rec, d)
            add(d, half, d)
            right_shift(d, sh, d)
            maximum(d, zero, out=d)
            minimum(d, top, out=d)
            setitem(yr, Ellipsis, d)
    return run
