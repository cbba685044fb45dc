# Exact vectorized requantization for the recurrent kernels (LSTM, SVDF): mbqm on int64 vectors
# with per-element multipliers, into buffers made at construction (a call allocates nothing):
# (x << L wrapped to int32) * M, the nudge, C's truncating division by 2**31, then the rounding
# divide by 2**R, as kernels/quant.mbqm.
import numpy as np

I32 = 1 << 31


def mbqm64_operands(mult, shift):
    """kernels/quant.mbqm64_operands on arrays: (multipliers rounded to 16 bits, total right
    shifts 15 - shift), both int64 (bind and pack time: allocates)."""
    m = np.asarray(mult, np.int64)
    rm = np.where(m < 0x7FFF0000, (m + 0x8000) >> 16, 0x7FFF)
    return rm, 15 - np.asarray(shift, np.int64)


class ExactMbqm:
    """Exact mbqm of an int64 vector against per-element multipliers, in place-free buffers."""

    def __init__(self, mult, shift):
        n = len(mult)
        self.m = np.asarray(mult, np.int64)
        shift = np.asarray(shift, np.int64)
        self.left = np.maximum(shift, 0)
        self.right = np.maximum(-shift, 0)
        self.mask = (np.int64(1) << self.right) - 1
        self.half = self.mask >> 1
        self.t = np.empty(n, np.int64)
        self.u = np.empty(n, np.int64)
        self.b1 = np.empty(n, np.bool_)
        self.b2 = np.empty(n, np.bool_)

    def __call__(self, x, q):
        """q = mbqm(x); x is clobbered."""
        t, u, b1, b2 = self.t, self.u, self.b1, self.b2
        np.left_shift(x, self.left, out=x)
        np.add(x, I32, out=x)                    # wrap to int32, as C's shift of an int32
        np.bitwise_and(x, 0xFFFFFFFF, out=x)
        np.subtract(x, I32, out=x)
        np.multiply(x, self.m, out=t)
        np.less(t, 0, out=b1)
        np.add(t, 1 << 30, out=t)                # nudge: 2**30, or 1 - 2**30 below zero
        np.multiply(b1, I32 - 1, out=u)
        np.subtract(t, u, out=t)
        np.right_shift(t, 31, out=q)             # floor, then toward zero
        np.bitwise_and(t, I32 - 1, out=u)
        np.not_equal(u, 0, out=b2)
        np.less(t, 0, out=b1)
        np.logical_and(b1, b2, out=b1)
        np.add(q, b1, out=q)
        np.bitwise_and(q, self.mask, out=u)      # rounding divide by 2**right
        np.less(q, 0, out=b1)
        np.add(self.half, b1, out=t)
        np.greater(u, t, out=b1)
        np.right_shift(q, self.right, out=q)
        np.add(q, b1, out=q)


class ExactMbqm64:
    """MultiplyByQuantizedMultiplier's int64 overload (the int16-activation LSTM's FCs) on an int64
    vector, operands as mbqm64_operands makes them: kernels/quant.mbqm64_reduced, i.e. wrap32 of
    (x * m + 2**(total - 1)) >> total. |x| < 2**47 (TFLite's bound) keeps x * m inside int64."""

    def __init__(self, mult, total):
        self.m = np.asarray(mult, np.int64)
        self.total = np.asarray(total, np.int64)
        self.rnd = np.int64(1) << (self.total - 1)

    def __call__(self, x, q):
        """q = the rescaled x; x is clobbered."""
        np.multiply(x, self.m, out=x)
        np.add(x, self.rnd, out=x)
        np.right_shift(x, self.total, out=q)
        np.add(q, I32, out=q)                    # C's cast to int32
        np.bitwise_and(q, 0xFFFFFFFF, out=q)
        np.subtract(q, I32, out=q)
