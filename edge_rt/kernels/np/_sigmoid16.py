# int16 LOGISTIC and TANH, numpy (and the LSTM's gates, Act16): kernels/ref/_sigmoid16.py's steps
# on bands of int64 arena scratch, allocation-free (every ufunc writes into a planned buffer;
# constants are 0-d arrays or bind-time tables). Per band, with v the rescaled input:
# 1. v = (x * mult + half) >> shift; a = |v|; uh = a >> B; ut = a & (2**B - 1)   (B = 9 or 8)
# 2. r = A[uh] + ut * D[uh] with A[k] = T[k] << B, D[k] = T[k+1] - T[k] for k < 255 and
#    A[255] = the saturation value, D[255] = 0: take's "clip" mode sends every uh >= 255 to 255,
#    which is exactly the reference's saturation branch.
# 3. p = (r + c) >> K, the v >= 0 result. The v < 0 result is C - p (LOGISTIC: C = 2**15,
#    since (2**25 + 2**9 - 1 - r) >> 10 == 2**15 - ((r + 2**9) >> 10); TANH: C = 0, as
#    (2**23 + 127 - r) >> 8 == -((r - 2**23 + 128) >> 8)). With s = v >> 63 (0 or -1):
#    y = (p ^ s) + (s & (C + 1)).
import numpy as np

from .requant import setitem

BAND = 1024  # elements per band: 4 int64 buffers of this length
# kind -> (B, saturated r, c, K, C)
KINDS = {"logistic": (9, 0x7FFF << 10, 1 << 9, 10, 1 << 15),
         "tanh": (8, 0xFFFF << 8, 128 - (1 << 23), 8, 0)}


def scratch_bytes(n):
    return 4 * 8 * min(n, BAND)


def _consts(kind, table):
    """Bind-time constants of the interpolation: the A and D tables and the 0-d operands."""
    b, sat, c, k, big = KINDS[kind]
    t = np.asarray(table, np.int64).reshape(-1)
    a_tab = np.empty(256, np.int64)
    d_tab = np.zeros(256, np.int64)
    a_tab[:255] = t[:255] << b
    a_tab[255] = sat
    d_tab[:255] = t[1:] - t[:255]
    i64 = np.int64
    return (np.array(b, i64), np.array((1 << b) - 1, i64), np.array(c, i64), np.array(k, i64),
            np.array(63, i64), np.array(big + 1, i64), a_tab.take, d_tab.take)


def _interp(v, uh, ut, r, k):
    """Steps 1 (after the rescale) to 3 on int64 v (clobbered) into r; uh, ut: int64 scratch."""
    cb, cmask, cc, ck, c63, cbig, a_take, d_take = k
    np.absolute(v, ut)
    np.right_shift(ut, cb, uh)
    np.bitwise_and(ut, cmask, ut)
    d_take(uh, None, r, "clip")
    np.multiply(ut, r, ut)
    a_take(uh, None, r, "clip")
    np.add(r, ut, r)
    np.add(r, cc, r)
    np.right_shift(r, ck, r)
    np.right_shift(v, c63, v)
    np.bitwise_xor(r, v, r)
    np.bitwise_and(v, cbig, v)
    np.add(r, v, r)


class Act16:
    """The int16 LOGISTIC or TANH on int64 vectors of n elements (the LSTM's gates), into buffers
    made here: act(v, out, mult, shift) rescales v (clobbered) by mult / 2**shift, rounded, then
    interpolates into out."""

    def __init__(self, kind, table, n):
        self.k = _consts(kind, table)
        self.uh, self.ut = np.empty(n, np.int64), np.empty(n, np.int64)

    def __call__(self, v, out, mult, shift):
        np.multiply(v, mult, out=v)
        if shift:
            np.add(v, 1 << (shift - 1), out=v)
            np.right_shift(v, shift, out=v)
        _interp(v, self.uh, self.ut, out, self.k)


def bind_sigmoid16(kind, x, y, table, mult, shift, arena, offset):
    """Closure computing the int16 LOGISTIC or TANH of x into y (same size)."""
    k = _consts(kind, table)
    xf, yf = x.reshape(-1), y.reshape(-1)
    n = xf.size
    band = min(n, BAND)
    bufs = [np.frombuffer(arena, np.int64, band, offset + j * 8 * band) for j in range(4)] if n else []
    steps = []
    for i in range(0, n, band):
        w = min(band, n - i)
        steps.append((xf[i:i + w], yf[i:i + w]) + tuple(q[:w] for q in bufs))
    i64 = np.int64
    cm, ch, cs = np.array(mult, i64), np.array((1 << (shift - 1)) if shift > 0 else 0, i64), np.array(shift, i64)
    multiply, add, right_shift = np.multiply, np.add, np.right_shift

    def run():
        for src, dst, v, uh, ut, r in steps:
            setitem(v, Ellipsis, src)
            multiply(v, cm, v)
            add(v, ch, v)
            right_shift(v, cs, v)
            _interp(v, uh, ut, r, k)
            setitem(dst, Ellipsis, r)
    return run
