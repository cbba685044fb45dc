# int16 activations (the int16x8 scheme) on the numpy set: the reference's integer steps on int64
# bands in arena scratch, allocation-free. The 8-bit ops are tabulated (broadcast.py, _table.py);
# int16 operands have too many values (2**32 pairs) for a table, so each band is widened to int64
# and requantized by mbqm_steps:
#   1. a left shift (multiplier >= 1) shifts, then wraps to int32 as the reference's int32 product;
#   2. with e = the right shift, S = 31 + e and x in int32 range, TFLite's double rounding
#      RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, M), e) is
#        (x*M + 2**30) >> 31                              for e == 0,
#        (x*M + 2**30 + 2**(30+e) + (x & -2**31)) >> S    for e >= 1
#      (kernels/np/requant.py derives it; x & -2**31 is -2**31 for negative x, else 0). |x*M| < 2**62
#      and e <= 31 (quantize_multiplier flushes smaller shifts), so nothing leaves int64.
# Every ufunc runs in place on contiguous same-shape int64 views with 0-d constants: numpy then
# neither buffers nor allocates (see requant.py's note).
import numpy as np

from ..broadcast import unpack_params
from .broadcast import band_rows, operand_views
from .requant import setitem

BAND = 2048  # output elements per band: each of the three int64 buffers is BAND * 8 bytes
_I32_MIN = -(1 << 31)


def _c(v):
    return np.array(v, np.int64)  # a 0-d operand: no conversion (or allocation) per call


def mbqm_steps(t, mult, shift, s):
    """Steps turning int64 t (values in int32 range; after a left shift any int64 that fits) into
    mbqm(t, mult, shift) in place; s: int64 scratch of t's shape (the sign term)."""
    steps = []
    if shift > 0:
        steps += [(np.left_shift, (t, _c(shift), t)), (np.subtract, (t, _c(_I32_MIN), t)),
                  (np.bitwise_and, (t, _c(0xFFFFFFFF), t)), (np.add, (t, _c(_I32_MIN), t))]
    e = max(-shift, 0)
    if e == 0:
        return steps + [(np.multiply, (t, _c(mult), t)), (np.add, (t, _c(1 << 30), t)),
                        (np.right_shift, (t, _c(31), t))]
    return steps + [(np.bitwise_and, (t, _c(_I32_MIN), s)), (np.multiply, (t, _c(mult), t)),
                    (np.add, (t, _c((1 << 30) + (1 << (30 + e))), t)), (np.add, (t, s, t)),
                    (np.right_shift, (t, _c(31 + e), t))]


def clamp_store_steps(t, offset, lo, hi, y):
    """Steps y = clamp(t + offset, lo, hi) (t int64, modified; y any integer view of t's shape)."""
    steps = [(np.add, (t, _c(offset), t))] if offset else []
    return steps + [(np.fmax, (t, _c(lo), t)), (np.fmin, (t, _c(hi), t)), (setitem, (y, Ellipsis, t))]


def binary_scratch_bytes(params, start):
    """Scratch of an int16 binary op whose broadcast plan is params[start:]: three int64 bands."""
    dims, _, _ = unpack_params(params, start)
    rows, inner = band_rows(dims, BAND)
    return 3 * rows * inner * 8


def bind_binary(op, v, arena, start, element_steps):
    """Closure running an int16 binary op band by band: element_steps(ta, tb, s) gives the steps
    turning band ta (input 1, int64) and tb (input 2) into the int64 result in ta."""
    a, b, y = operand_views(v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], op.params, start)
    dims = y.shape
    rows, inner = band_rows(dims, BAND)
    n = rows * inner
    o = op.scratch_offset
    bufs = [np.frombuffer(arena, np.int64, n, o + 8 * n * k) for k in range(3)]
    steps = []
    for r0 in range(0, dims[0], rows):
        r1 = min(dims[0], r0 + rows)
        k = (r1 - r0) * inner
        ta, tb, ts = (buf[:k] for buf in bufs)
        shape = (r1 - r0,) + tuple(dims[1:])
        steps += [(setitem, (ta.reshape(shape), Ellipsis, a[r0:r1])),
                  (setitem, (tb.reshape(shape), Ellipsis, b[r0:r1]))]
        steps += element_steps(ta, tb, ts)
        steps.append((setitem, (y[r0:r1].reshape(k), Ellipsis, ta)))

    def run():
        for fn, args in steps:
            fn(*args)
    return run


def add_sub_element_steps(params, sign):
    """element_steps of ADD (sign 1) / SUB (-1): ADD's 12 params (compiler/prepare/add.py)."""
    off1, off2, left, m1, s1, m2, s2, out_off, mo, so, lo, hi = params[:12]

    def element_steps(ta, tb, ts):
        steps = []
        for t, off, m, s in ((ta, off1, m1, s1), (tb, off2, m2, s2)):
            if off:
                steps.append((np.add, (t, _c(off), t)))
            steps.append((np.left_shift, (t, _c(left), t)))
            steps += mbqm_steps(t, m, s, ts)
        steps.append((np.add if sign > 0 else np.subtract, (ta, tb, ta)))
        steps += mbqm_steps(ta, mo, so, ts)
        # clamp in place; the store into the output happens in bind_binary
        return steps + clamp_store_steps(ta, out_off, lo, hi, ta)[:-1]
    return element_steps


def mul_element_steps(params):
    """element_steps of MUL: its 7 params (compiler/prepare/mul.py)."""
    off1, off2, out_off, mult, shift, lo, hi = params[:7]

    def element_steps(ta, tb, ts):
        steps = [(np.add, (t, _c(off), t)) for t, off in ((ta, off1), (tb, off2)) if off]
        steps.append((np.multiply, (ta, tb, ta)))
        steps += mbqm_steps(ta, mult, shift, ts)
        return steps + clamp_store_steps(ta, out_off, lo, hi, ta)[:-1]
    return element_steps


def requant_scratch_bytes(n):
    """Scratch of bind_requant over n elements: two int64 bands."""
    return 2 * min(n, BAND) * 8


def bind_requant(x, y, zi, zo, mult, shift, lo, hi, arena, offset):
    """Closure y = clamp(mbqm(x - zi, mult, shift) + zo, lo, hi) elementwise (TFLite's Requantize),
    for any integer x and y of the same size."""
    xf, yf = x.reshape(-1), y.reshape(-1)
    n = xf.size
    band = min(n, BAND)
    t = np.frombuffer(arena, np.int64, band, offset) if n else None
    s = np.frombuffer(arena, np.int64, band, offset + 8 * band) if n else None
    steps = []
    for i in range(0, n, band):
        k = min(band, n - i)
        tk, sk = t[:k], s[:k]
        steps.append((setitem, (tk, Ellipsis, xf[i:i + k])))
        if zi:
            steps.append((np.subtract, (tk, _c(zi), tk)))
        steps += mbqm_steps(tk, mult, shift, sk)
        steps += clamp_store_steps(tk, zo, lo, hi, yf[i:i + k])

    def run():
        for fn, args in steps:
            fn(*args)
    return run
